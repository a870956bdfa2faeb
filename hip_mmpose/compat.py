"""Work-arounds for the pinned stack, each a no-op where it is not needed.

Imported by ``hip_mmpose/__init__.py`` before anything from OpenMMLab, so every
entry point (tools, tests, user code) gets the same fixes in the same order:

1. torchvision from the package index ships a ``_C`` extension built against a
   different torch; when it does not load, ``import torchvision`` dies registering
   fake kernels for ``torchvision::nms``/``qnms`` whose schemas ``_C`` would have
   defined. We define just those two schemas (no kernels: calling nms raises).
2. mmcv-lite has no compiled ``mmcv._ext`` but mmpose imports ``mmcv.ops`` at
   import time; a placeholder module satisfies the import and raises a clear
   error if a compiled op is ever called.
3. torch >= 2.6 loads checkpoints with ``weights_only=True`` which rejects the
   few non-tensor objects mmengine stores (its log history, numpy scalars). We
   allow-list exactly those classes; arbitrary pickled code is still refused.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

import torch

_TORCHVISION_SCHEMAS = {
    'nms': 'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
    'qnms': 'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
}
_torchvision_library = None  # keeps the schema registration alive


def _torchvision_extension_loads() -> bool:
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return True  # torchvision not installed: nothing to patch
    for folder in spec.submodule_search_locations:
        for lib in Path(folder).glob('_C*.so'):
            try:
                torch.ops.load_library(str(lib))
                return True
            except (OSError, ImportError, RuntimeError):
                return False
    return False


def patch_torchvision_ops() -> bool:
    """Define the nms/qnms schemas if torchvision's ``_C`` cannot load.

    Returns True when the schemas were defined here (the patch was needed).
    """
    global _torchvision_library
    if 'torchvision' in sys.modules or _torchvision_extension_loads():
        return False
    missing = [name for name in _TORCHVISION_SCHEMAS
               if not torch._C._jit_get_schemas_for_operator(f'torchvision::{name}')]
    if not missing:
        return False
    _torchvision_library = torch.library.Library('torchvision', 'FRAGMENT')
    for name in missing:
        _torchvision_library.define(_TORCHVISION_SCHEMAS[name])
    return True


class _MissingMmcvExt(types.ModuleType):
    """Stands in for mmcv-lite's absent compiled ops; any call names the op."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)

        def missing_op(*args, **kwargs):
            raise RuntimeError(
                f'mmcv compiled op "{name}" is not available: mmcv-lite has no '
                f'mmcv._ext. hip_mmpose does not need it; a config that does must '
                f'install the full mmcv build.')
        missing_op.__name__ = name
        return missing_op


def patch_mmcv_ext() -> bool:
    """Install a placeholder ``mmcv._ext`` when mmcv has none. True if installed."""
    if 'mmcv._ext' in sys.modules or importlib.util.find_spec('mmcv') is None:
        return False
    if importlib.util.find_spec('mmcv._ext') is not None:
        return False
    placeholder = _MissingMmcvExt('mmcv._ext')
    # A spec without a loader: mmengine's mmcv_full_available() then reports
    # False (it asks pkgutil for a loader), as it should for mmcv-lite.
    placeholder.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', loader=None)
    sys.modules['mmcv._ext'] = placeholder
    return True


_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(owner, name):
    """The only ``getattr`` a checkpoint may call: HistoryBuffer's statistics.

    mmengine pickles ``HistoryBuffer._statistics_methods`` as
    ``getattr(HistoryBuffer, 'mean')`` etc. Allowing the real ``getattr`` would let
    a crafted file reach any attribute of any allowed object; this stand-in
    allows exactly those look-ups and refuses the rest.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(owner, name)
    raise RuntimeError(
        f'checkpoint refused: it calls getattr({owner!r}, {name!r}); only '
        f'HistoryBuffer statistics methods are allowed when loading weights_only')


def mmengine_checkpoint_globals() -> list:
    """The non-tensor globals found in checkpoints that mmengine's Runner writes."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    numpy_core = np.core if hasattr(np, 'core') else np._core
    allowed = [HistoryBuffer, np.ndarray, np.dtype,
               numpy_core.multiarray._reconstruct, numpy_core.multiarray.scalar,
               (_history_buffer_getattr, 'builtins.getattr'),
               (_history_buffer_getattr, '__builtin__.getattr')]
    # numpy >= 1.25 pickles dtypes by their concrete class (Float64DType, ...).
    if hasattr(np, 'dtypes'):
        allowed += [getattr(np.dtypes, name) for name in dir(np.dtypes)
                    if name.endswith('DType')]
    return allowed


def allow_mmengine_checkpoints() -> bool:
    """Allow-list mmengine's checkpoint globals for ``weights_only`` loading.

    Only matters where ``torch.load`` defaults to ``weights_only=True`` (torch >=
    2.6). Returns True if anything was added.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False
    present = {_global_key(g) for g in torch.serialization.get_safe_globals()}
    new = [g for g in mmengine_checkpoint_globals() if _global_key(g) not in present]
    if new:
        torch.serialization.add_safe_globals(new)
    return bool(new)


def _global_key(entry):
    return entry[1] if isinstance(entry, tuple) else id(entry)


def apply_all() -> dict:
    """Apply every fix; returns which ones were needed (for logs and tests)."""
    return dict(torchvision_ops=patch_torchvision_ops(),
                mmcv_ext=patch_mmcv_ext(),
                checkpoint_globals=allow_mmengine_checkpoints())
