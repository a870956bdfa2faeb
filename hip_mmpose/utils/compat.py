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
4. ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` would make every ``torch.load`` that does
   not pass ``weights_only`` unpickle arbitrary code: importing hip_mmpose with it
   set is refused (checked first, before torch is imported).
5. MMEngine's local checkpoint loader calls ``torch.load`` without
   ``weights_only``; ours passes ``weights_only=True`` explicitly, names the file
   and what it refused, says which file to use instead of a truncated one, and
   checks the config embedded in a published file (as the inference loader does).
6. MMEngine writes checkpoints in place (a kill mid-save leaves a truncated
   file); ours writes a temporary file beside the target and renames it.
7. numpy 1 and numpy 2 pickle arrays under different module names; both
   spellings of the two functions involved are allowed.
8. mmpretrain 1.2 imports its multimodal models under transformers >= 5, where
   they fail at import; its ``WITH_MULTIMODAL`` flag is switched off first.
9. Distributed runs without CUDA (``launcher='pytorch'`` on CPU processes): MMPose
   asks for nccl, MMEngine calls ``torch.cuda.set_device`` and wraps the model with
   GPU ``device_ids``; :func:`use_gloo_without_cuda` switches a run's config to gloo
   (not at import: :mod:`hip_mmpose.apis` applies it to each Runner's config when a
   launcher is set) and :func:`finish_distributed` closes the process group before
   the interpreter exits.
10. MMEngine's ``ConfigDict.setdefault`` stores a *copy* of a new value and returns
   the value given, so ``cfg.x.setdefault('k', {}).update(...)`` is lost where ``k``
   was missing; :func:`config_entry` sets, then reads back (fix 9 and
   :mod:`hip_mmpose.apis.run_config` use it).
11. Known warnings of the pinned stack, each printed by every process or Runner and
   none of them about this project's use: setuptools' ``pkg_resources is deprecated``
   (mmengine and others import ``pkg_resources``; ignored before anything imports
   it) and MMEngine's own ``"FileClient" will be deprecated`` / ``"HardDiskBackend" is
   the alias of "LocalBackend"`` (its hooks still use them): exactly these messages
   are dropped (:func:`quiet_known_warnings`), every other warning still shows.
12. MMEngine formats a config with yapf (``Config.pretty_text``) each time a Runner
   logs it, dumps it, hands it to a visualisation backend and saves a checkpoint: 0.3 s
   per distinct text in a fresh process, 2-3 s in one holding a model (yapf's search
   for line breaks), and every Runner's text is distinct (its work dir and experiment
   name): a sixth of a short cascade run's CPU time. The text is written in MMEngine's
   own layout instead, as ``Config(format_python_code=False)`` writes it (one key per
   line, valid Python that ``Config.fromfile`` reads back to the same config), still
   checked to parse as Python as yapf checked it (:func:`lay_out_configs_without_yapf`).
13. MMEngine's ``CheckpointHook`` keeps the best checkpoint's absolute path in the
   checkpoint and, on resuming, deletes that file when a better one arrives: resuming
   a *copy* of a work dir deleted the original run's best weights. The path is read
   back as this run's file of the same name (or none where there is none), so a run
   only ever removes files in its own folder (:func:`keep_best_checkpoints_inside_run`).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import pickle
import re
import sys
import types
import warnings
import zipfile
from pathlib import Path

UNSAFE_LOAD_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
_TRUE_VALUES = ('1', 'y', 'yes', 'true')  # what torch.serialization treats as set


class UnsafeEnvironmentError(SystemExit):
    """The environment would switch off safe loading; the tools stop with this message.

    A ``SystemExit`` so that a command-line tool prints the one-line message and
    exits with status 1 instead of a traceback.
    """


def refuse_unsafe_load_env(environ=None) -> None:
    """Refuse to run with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` set.

    Args:
        environ (Mapping[str, str], optional): the environment to check. Defaults
            to None (``os.environ``).

    Raises:
        UnsafeEnvironmentError: when the variable is set to a value torch obeys.
    """
    environ = os.environ if environ is None else environ
    if str(environ.get(UNSAFE_LOAD_ENV, '0')).strip().lower() in _TRUE_VALUES:
        raise UnsafeEnvironmentError(
            f'error: {UNSAFE_LOAD_ENV}={environ[UNSAFE_LOAD_ENV]} is set: it makes torch '
            f'unpickle (run) code from checkpoints. hip_mmpose refuses to run with it; '
            f'unset it (files hip_mmpose writes load without it).'
        )


refuse_unsafe_load_env()  # before torch is imported: nothing has been loaded yet

#: setuptools' warnings on ``import pkg_resources`` (fix 11): a regular expression
#: of ``warnings.filterwarnings``
PKG_RESOURCES_WARNING = r'pkg_resources is deprecated as an API'
#: the starts of MMEngine's own deprecation warnings its hooks set off (fix 11)
MMENGINE_FILE_CLIENT_WARNINGS = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)
# before anything imports pkg_resources (mmengine does on import)
warnings.filterwarnings('ignore', message=PKG_RESOURCES_WARNING, category=UserWarning)

import torch  # noqa: E402

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
    """Define the nms/qnms schemas if torchvision's ``_C`` cannot load (fix 1).

    Patches the ``torchvision`` operator namespace of ``torch.ops``: a
    ``torch.library.Library('torchvision', 'FRAGMENT')`` defines the missing
    ``torchvision::nms``/``qnms`` schemas (no kernels), so ``import torchvision``
    succeeds. Nothing is done once torchvision is imported or its ``_C`` loads.

    Returns:
        bool: True when the schemas were defined here (the patch was needed).
    """
    global _torchvision_library
    if 'torchvision' in sys.modules or _torchvision_extension_loads():
        return False
    missing = [
        name
        for name in _TORCHVISION_SCHEMAS
        if not torch._C._jit_get_schemas_for_operator(f'torchvision::{name}')
    ]
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
                f'install the full mmcv build.'
            )

        missing_op.__name__ = name
        return missing_op


def patch_mmcv_ext() -> bool:
    """Install a placeholder ``mmcv._ext`` when mmcv has none (fix 2).

    Patches ``sys.modules['mmcv._ext']`` with a module whose every attribute is a
    function raising a ``RuntimeError`` naming the op; its spec has no loader, so
    ``mmengine``'s ``mmcv_full_available()`` still answers False.

    Returns:
        bool: True when the placeholder was installed here (mmcv is installed
        without ``mmcv._ext``).
    """
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
        f'HistoryBuffer statistics methods are allowed when loading weights_only'
    )


def mmengine_checkpoint_globals() -> list:
    """The non-tensor globals found in checkpoints that mmengine's Runner writes.

    Returns:
        list: for ``torch.serialization.add_safe_globals``: ``HistoryBuffer``, numpy's
        ``ndarray``, ``dtype`` (and its ``DType`` classes), ``_reconstruct`` and
        ``scalar``, and ``(stand-in, 'builtins.getattr')`` pairs that resolve only
        HistoryBuffer's statistics methods.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    numpy_core = np.core if hasattr(np, 'core') else np._core
    allowed = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        numpy_core.multiarray._reconstruct,
        numpy_core.multiarray.scalar,
        (_history_buffer_getattr, 'builtins.getattr'),
        (_history_buffer_getattr, '__builtin__.getattr'),
    ]
    # numpy >= 1.25 pickles dtypes by their concrete class (Float64DType, ...).
    if hasattr(np, 'dtypes'):
        allowed += [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith('DType')]
    return allowed


def allow_mmengine_checkpoints() -> bool:
    """Allow-list mmengine's checkpoint globals for ``weights_only`` loading (fix 3).

    Patches torch's safe-globals list (``torch.serialization.add_safe_globals``)
    with :func:`mmengine_checkpoint_globals` not already on it. Only matters where
    ``torch.load`` defaults to ``weights_only=True`` (torch >= 2.6).

    Returns:
        bool: True if anything was added; False where torch has no safe globals.
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


class CheckpointLoadError(RuntimeError):
    """A checkpoint that cannot be loaded; the message starts with its path."""


_GLOBAL_NAME = re.compile(r'GLOBAL ([\w.]+)')


def _is_whole_zip(path: Path) -> bool:
    """Whether ``path`` opens as a zip archive (torch's format; truncation breaks it)."""
    try:
        with zipfile.ZipFile(path):
            return True
    except (OSError, zipfile.BadZipFile):
        return False


def _intact_checkpoints_beside(path: Path) -> list[Path]:
    """Other checkpoints in ``path``'s folder that are whole zip files, newest first.

    A truncated file loses the zip central directory at its end, so opening the
    archive is a cheap test that does not unpickle anything.
    """
    found = []
    for other in sorted(path.parent.glob('*.pth'), key=lambda p: p.stat().st_mtime, reverse=True):
        if other.resolve() != path.resolve() and _is_whole_zip(other):
            found.append(other)
    return found


#: Checks run on every checkpoint :func:`load_checkpoint_file` loads, each
#: ``check(checkpoint, path)`` raising to refuse it. ``hip_mmpose.apis.model_files``
#: registers the check of a published file's embedded configs at import (so this module
#: imports nothing of the layers above it).
CHECKPOINT_CHECKS: list = []


def register_checkpoint_check(check) -> None:
    """Add a check that every checkpoint loaded through fix 5 must pass.

    Args:
        check (callable): ``check(checkpoint, path)``; raises to refuse the file.
    """
    if check not in CHECKPOINT_CHECKS:
        CHECKPOINT_CHECKS.append(check)


def load_checkpoint_file(filename, map_location=None, resume_advice: bool = True):
    """``torch.load(filename, weights_only=True)`` with errors that say what to do.

    Args:
        filename (str | Path): a local checkpoint file (``~`` is expanded).
        map_location (optional): as for :func:`torch.load`. Defaults to None.
        resume_advice (bool): for a truncated file, name the newest intact
            checkpoint beside it (training's resume, MMEngine's loader). False for a
            model given to inference or export, where another file in the same
            folder is no advice to follow. Defaults to True.

    Returns:
        dict: the loaded checkpoint (whatever object the file holds). A published
        file (``hip_mmpose-published-v1``/``-v2``) has its embedded configs checked
        by :func:`hip_mmpose.apis.config_check.load_published_config`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointLoadError: the file holds code or objects that ``weights_only``
            refuses (the message names the refused global), or it is truncated or
            corrupt (the message names the newest intact checkpoint beside it).
    """
    path = Path(os.path.expanduser(str(filename)))
    if not path.is_file():
        raise FileNotFoundError(f'{path} can not be found.')
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        names = _GLOBAL_NAME.findall(str(err))
        what = f'it names {names[0]}' if names else str(err).strip().splitlines()[-1]
        raise CheckpointLoadError(
            f'{path}: refused: {what}; only tensors and plain data load '
            f'(weights_only=True), no pickled code'
        ) from None
    except RecursionError:
        raise CheckpointLoadError(f'{path}: refused: nested too deep to load') from None
    except MemoryError:
        raise CheckpointLoadError(f'{path}: refused: too large to load (out of memory)') from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if 'refused' in str(err):
            raise CheckpointLoadError(f'{path}: {err}') from None
        if _is_whole_zip(path) and not isinstance(err, EOFError):  # whole file, other trouble
            raise CheckpointLoadError(
                f'{path}: cannot be loaded ({type(err).__name__}: {reason[:200]})'
            ) from err
        good = _intact_checkpoints_beside(path) if resume_advice else []
        advice = (
            f'; the newest intact checkpoint beside it is {good[0]} (resume from that)'
            if good
            else '; no intact checkpoint is beside it'
            if resume_advice
            else ''
        )
        raise CheckpointLoadError(
            f'{path}: truncated or corrupt checkpoint ({type(err).__name__}: '
            f'{reason[:120]}){advice}'
        ) from None
    for check in CHECKPOINT_CHECKS:  # e.g. a published file's embedded configs
        check(checkpoint, path)  # raises if poisoned
    return checkpoint


def patch_mmengine_checkpoint_load() -> bool:
    """Route MMEngine's local-file checkpoint loading through :func:`load_checkpoint_file`.

    Covers ``Runner.resume``/``load_from``, ``mmengine.runner.load_checkpoint`` and
    MMPose's ``init_model`` (fix 5): patches ``CheckpointLoader``'s scheme ``''``
    (local paths); remote schemes keep MMEngine's loaders.

    Returns:
        bool: True if the loader was replaced here (False when already replaced).
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    if CheckpointLoader._schemes.get('') is _mmengine_local_loader:
        return False
    CheckpointLoader.register_scheme(prefixes='', loader=_mmengine_local_loader, force=True)
    return True


def _mmengine_local_loader(filename, map_location):
    return load_checkpoint_file(filename, map_location)


_original_save_checkpoint = None


def save_checkpoint_atomically(checkpoint, filename, file_client_args=None, backend_args=None):
    """MMEngine's ``save_checkpoint``, but a local file is written whole or not at all.

    The checkpoint goes to a temporary file in the target's folder, is flushed to
    disk and then renamed over ``filename``; a kill mid-save leaves the previous
    file (if any) and a ``.tmp`` file, never a truncated ``.pth``. Other
    destinations (``s3://``, ``pavi://``, backends) use MMEngine's own code.
    Installed in place of ``mmengine.runner.save_checkpoint`` (fix 6).

    Args:
        checkpoint (dict): what to save (``torch.save``).
        filename (str | Path): the destination; its folder is created.
        file_client_args (dict, optional): MMEngine's deprecated file client
            arguments; given, MMEngine's own save is used. Defaults to None.
        backend_args (dict, optional): MMEngine's storage backend arguments; given,
            MMEngine's own save is used. Defaults to None.

    Returns:
        None: what MMEngine's ``save_checkpoint`` returns.
    """
    if '://' in str(filename) or file_client_args is not None or backend_args is not None:
        return _original_save_checkpoint(checkpoint, filename, file_client_args, backend_args)
    from hip_mmpose.utils.atomic import write_atomic

    target = Path(filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda fh: torch.save(checkpoint, fh))


def patch_mmengine_checkpoint_save() -> bool:
    """Make every name MMEngine saves checkpoints through atomic (fix 6).

    Patches ``save_checkpoint`` in ``mmengine.runner.checkpoint``,
    ``mmengine.runner.runner`` and ``mmengine.runner`` to
    :func:`save_checkpoint_atomically`, keeping the original for remote files.

    Returns:
        bool: True if patched here (False when already patched).
    """
    global _original_save_checkpoint
    import mmengine.runner
    import mmengine.runner.checkpoint as ckpt_module
    import mmengine.runner.runner as runner_module

    if ckpt_module.save_checkpoint is save_checkpoint_atomically:
        return False
    _original_save_checkpoint = ckpt_module.save_checkpoint
    for module in (ckpt_module, runner_module, mmengine.runner):
        module.save_checkpoint = save_checkpoint_atomically
    return True


def apply_all() -> dict:
    """Apply every import-time fix (1-3, 5-8, 11-13); fix 4 runs before torch is
    imported (and fix 11's ``pkg_resources`` filter with it).

    Returns:
        dict[str, bool]: per fix (``torchvision_ops``, ``mmcv_ext``,
        ``checkpoint_globals``, ``checkpoint_load``, ``checkpoint_save``,
        ``numpy_pickle_aliases``, ``mmpretrain_multimodal``, ``known_warnings``,
        ``config_layout``, ``best_checkpoint_inside_run``) whether it was
        needed.
    """
    return dict(
        torchvision_ops=patch_torchvision_ops(),
        mmcv_ext=patch_mmcv_ext(),
        checkpoint_globals=allow_mmengine_checkpoints(),
        checkpoint_load=patch_mmengine_checkpoint_load(),
        checkpoint_save=patch_mmengine_checkpoint_save(),
        numpy_pickle_aliases=allow_numpy_pickle_aliases(),
        mmpretrain_multimodal=skip_mmpretrain_multimodal(),
        known_warnings=quiet_known_warnings(),
        config_layout=lay_out_configs_without_yapf(),
        best_checkpoint_inside_run=keep_best_checkpoints_inside_run(),
    )


def keep_best_checkpoints_inside_run() -> bool:
    """A resumed run's previous best checkpoint is its own folder's (fix 13).

    ``CheckpointHook.before_train`` is wrapped: after MMEngine reads the best
    checkpoints' paths back from the resumed checkpoint, each becomes the file of the
    same name in this run's ``out_dir`` if there is one, else None (nothing to remove).

    Returns:
        bool: True if the method was wrapped here; False where it already was.
    """
    from mmengine.hooks import CheckpointHook

    if getattr(CheckpointHook.before_train, 'hip_mmpose_inside', False):
        return False
    before_train = CheckpointHook.before_train

    def inside(hook, path):
        if not path:
            return path
        local = hook.file_backend.join_path(hook.out_dir, os.path.basename(str(path).rstrip('/')))
        return local if hook.file_backend.exists(local) else None

    def before_train_inside(self, runner) -> None:
        before_train(self, runner)
        if getattr(self, 'best_ckpt_path', None):
            self.best_ckpt_path = inside(self, self.best_ckpt_path)
        for key, path in (getattr(self, 'best_ckpt_path_dict', None) or {}).items():
            self.best_ckpt_path_dict[key] = inside(self, path)

    before_train_inside.hip_mmpose_inside = True
    CheckpointHook.before_train = before_train_inside
    return True


def lay_out_configs_without_yapf() -> bool:
    """Write config texts in MMEngine's own layout, without yapf (fix 12).

    ``mmengine.config.config.FormatCode`` (yapf's, called by ``Config.pretty_text``) is
    replaced by a function that returns the text as MMEngine laid it out (what
    ``Config(format_python_code=False)`` writes) after checking that it parses as
    Python, as yapf did: a text that does not still raises, and MMEngine reports it as
    its ``SyntaxError``.

    Returns:
        bool: True if the function was replaced here; False where it already was.
    """
    import ast

    import mmengine.config.config as mmengine_config

    if getattr(mmengine_config.FormatCode, 'hip_mmpose_layout', False):
        return False

    def laid_out(text, style_config=None, **kwargs):
        ast.parse(text)
        return text, False

    laid_out.hip_mmpose_layout = True
    mmengine_config.FormatCode = laid_out
    return True


def quiet_known_warnings() -> bool:
    """Drop MMEngine's known deprecation warnings on ``FileClient`` (fix 11).

    MMEngine's ``CheckpointHook`` and ``LoggerHook`` still build the ``FileClient``
    it deprecates, so every Runner logs the warnings of
    :data:`MMENGINE_FILE_CLIENT_WARNINGS`. ``mmengine.fileio.file_client``'s
    ``print_log`` is replaced by one that drops exactly those messages at WARNING and
    passes everything else on. (The ``pkg_resources`` warning is ignored at import of
    this module, before anything imports ``pkg_resources``.)

    Returns:
        bool: True if the function was replaced here; False where it already was.
    """
    from mmengine.fileio import file_client

    if getattr(file_client.print_log, 'hip_mmpose_quiet', False):
        return False
    print_log = file_client.print_log

    def quiet_print_log(msg, logger=None, level=logging.INFO):
        if level == logging.WARNING and str(msg).startswith(MMENGINE_FILE_CLIENT_WARNINGS):
            return None
        return print_log(msg, logger=logger, level=level)

    quiet_print_log.hip_mmpose_quiet = True
    file_client.print_log = quiet_print_log
    return True


_NUMPY_PICKLE_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')


def allow_numpy_pickle_aliases() -> bool:
    """Let ``weights_only`` loading read checkpoints written under the other numpy.

    numpy 1.x pickles arrays as ``numpy.core.multiarray._reconstruct``/``scalar``,
    numpy 2 as ``numpy._core.multiarray...``; the allow-list above names only the
    running numpy's module, so a checkpoint trained on the CPU machine (numpy 1.26)
    is refused on a numpy 2 machine and the reverse. We allow the other spelling
    of exactly those two functions, resolved to this numpy's own objects (nothing
    is imported by name). Patches torch's safe-globals list (fix 7).

    Returns:
        bool: True if anything was added; False where torch has no safe globals.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False
    import numpy as np

    multiarray = (
        np._core if hasattr(np, '_core') and hasattr(np._core, 'multiarray') else np.core
    ).multiarray
    present = {_global_key(g) for g in torch.serialization.get_safe_globals()}
    new = [
        (getattr(multiarray, name), f'{module}.{name}')
        for module in _NUMPY_PICKLE_MODULES
        for name in ('_reconstruct', 'scalar')
        if f'{module}.{name}' not in present
    ]
    if new:
        torch.serialization.add_safe_globals(new)
    return bool(new)


def skip_mmpretrain_multimodal() -> bool:
    """Keep mmpretrain's multimodal models (BLIP, ...) out when transformers >= 5.

    mmpretrain 1.2 imports them whenever ``transformers>=4.28`` is installed, and
    under transformers 5 their classes fail at import (``TypeError: NoneType takes
    no arguments``), so ``import mmpretrain.models`` dies although we use none of
    them. With such a transformers we set mmpretrain's ``WITH_MULTIMODAL`` flag to
    False before its models are imported (fix 8): patches
    ``mmpretrain.utils.dependency.WITH_MULTIMODAL``.

    Returns:
        bool: True if it was switched off here; False without transformers >= 5,
        once ``mmpretrain.models`` is imported, or without mmpretrain.
    """
    from importlib import metadata

    try:
        major = int(metadata.version('transformers').split('.')[0])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    if major < 5 or 'mmpretrain.models' in sys.modules:
        return False
    try:
        from mmpretrain.utils import dependency
    except ImportError:
        return False
    dependency.WITH_MULTIMODAL = False
    return True


def config_entry(node, key: str, default):
    """``node[key]``, set to ``default`` first where missing or None (fix 10).

    ``ConfigDict.setdefault`` would store a copy of ``default`` and return the
    original, so changes made through its result would be lost.

    Args:
        node (ConfigDict | dict): a config or one of its dicts.
        key (str): the entry.
        default (Any): its value where it is missing or None.

    Returns:
        Any: the entry as stored in ``node`` (changes to it stay in the config).
    """
    if node.get(key) is None:
        node[key] = default
    return node[key]


def use_gloo_without_cuda(cfg):
    """Let ``launcher='pytorch'`` run on machines without CUDA (CPU processes, gloo).

    MMPose's runtime asks for nccl, MMEngine's pytorch launcher calls
    ``torch.cuda.set_device`` (absent from CPU builds), and its DDP wrapper passes
    ``device_ids=[LOCAL_RANK]`` (GPU only). Without CUDA we therefore start the gloo
    process group ourselves - the Runner then skips its own start - and wrap the
    model with ``device_ids=None``. With CUDA nothing changes.

    Args:
        cfg (Config): a Runner's config; ``cfg.launcher`` says whether to start the
            process group here (``'pytorch'``: rank and world size from torchrun's
            environment).

    Returns:
        Config: ``cfg``, changed in place.
    """
    import torch.distributed as dist

    if torch.cuda.is_available():
        return cfg
    config_entry(config_entry(cfg, 'env_cfg', {}), 'dist_cfg', {}).backend = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
        )
    if cfg.get('launcher') == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')  # rank/world size from torchrun's env
    return cfg


GLOO_THREADS_LEFT = 'gloo threads still running after the process group closed'


def _gloo_threads() -> list[str]:
    """The names of this process's gloo threads (Linux's ``/proc``; elsewhere none)."""
    names = []
    task = Path('/proc/self/task')
    for thread in task.iterdir() if task.is_dir() else ():
        try:
            name = (thread / 'comm').read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        if 'gloo' in name:
            names.append(name)
    return sorted(names)


def finish_distributed() -> list[str]:
    """Wait for every rank, then close the process group before the interpreter exits.

    Left open, gloo's background threads can be torn down mid-flight at exit and
    abort a rank ('terminate called without an active exception'), failing the run.
    Closing the group is not enough: the Runner's model wrapper holds the gloo
    backend (in a reference cycle once the Runner is let go), so its threads
    (``pt_gloo_runloop``, ``gloo_tcp_loop``) outlived ``destroy_process_group`` until
    the interpreter's final teardown, where they aborted a rank at exit in 5 of 40
    test launches on two busy cores. Called after the Runner is let go, a garbage
    collection right after frees the backend and joins its threads while the
    interpreter is still whole (no abort in 146). A no-op when no process group is open.

    Returns:
        list[str]: the gloo threads still running after that (Linux; a warning
        names them), empty when the group closed cleanly or none was open.
    """
    import gc

    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return []
    dist.barrier()
    dist.destroy_process_group()
    gc.collect()
    left = _gloo_threads()
    if left:
        warnings.warn(
            f'{GLOO_THREADS_LEFT} ({", ".join(left)}): this rank may abort at exit',
            RuntimeWarning,
            stacklevel=2,
        )
    return left
