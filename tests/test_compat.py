"""Each stack fix is applied once, is a no-op afterwards, and keeps loading safe."""

import os
import pickle
import sys

import numpy as np
import pytest
import torch

from hip_mmpose.utils import compat


def test_second_application_is_a_noop():
    # hip_mmpose was imported by conftest, so everything needed is already in place
    assert compat.apply_all() == dict(
        torchvision_ops=False,
        mmcv_ext=False,
        checkpoint_globals=False,
        checkpoint_load=False,
        checkpoint_save=False,
        numpy_pickle_aliases=False,
        mmpretrain_multimodal=False,
        known_warnings=False,
        config_layout=False,
        best_checkpoint_inside_run=False,
    )


def test_config_text_is_mmengines_layout_read_back_alike():
    import mmengine.config.config as mmengine_config
    from mmengine.config import Config
    from yapf.yapflib.yapf_api import FormatCode

    from tests.conftest import DEMO_CONFIG

    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = 'work_dirs/layout-check'
    text = cfg.pretty_text
    # MMEngine's own layout, one key per line: not what yapf makes of it
    assert 'auto_scale_lr=dict(\n    base_batch_size=16)' in text
    assert FormatCode(text, style_config=dict(based_on_style='pep8'))[0] != text
    # and read back to the same config
    again = Config.fromstring(text, '.py')
    assert again.to_dict() == cfg.to_dict()
    assert again.pretty_text == text
    # a text that is not Python is still refused (MMEngine's SyntaxError names it)
    with pytest.raises(SyntaxError):
        mmengine_config.FormatCode('x = dict(a=1', style_config={})


def test_torchvision_imports_beside_local_torch():
    import torchvision
    import torchvision.ops  # noqa: F401

    assert torchvision.__version__
    assert torch._C._jit_get_schemas_for_operator('torchvision::nms')


def test_mmcv_ext_placeholder_names_the_missing_op():
    import mmcv.ops  # noqa: F401  (would raise without the placeholder)
    from mmengine.utils.dl_utils import mmcv_full_available

    ext = sys.modules['mmcv._ext']
    with pytest.raises(RuntimeError, match='nms'):
        ext.nms()
    assert mmcv_full_available() is False  # mmcv-lite must still report itself as lite


def test_mmcv_ext_patch_skips_when_module_present():
    assert compat.patch_mmcv_ext() is False


def test_runner_checkpoint_loads_weights_only(tmp_path):
    """A checkpoint shaped like mmengine's (log history, numpy meta) loads safely."""
    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance('compat-test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', 0.25)
    ckpt = dict(
        meta=dict(seed=np.int64(3), arr=np.arange(3.0), epoch=1),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict(),
    )
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, map_location='cpu')  # torch >= 2.6: weights_only=True
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(0.375)
    assert loaded['meta']['arr'].tolist() == [0.0, 1.0, 2.0]


class _Exploit:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_arbitrary_code_in_checkpoint_is_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _Exploit()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu')


class _GetattrExploit:
    def __reduce__(self):  # reaching past the statistics methods: refused
        from mmengine.logging.history_buffer import HistoryBuffer

        return (getattr, (HistoryBuffer, '__init__'))


def test_only_history_buffer_getattr_is_allowed(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': _GetattrExploit()}, path)
    with pytest.raises((RuntimeError, pickle.UnpicklingError), match='refused'):
        torch.load(path, map_location='cpu')
    from mmengine.logging.history_buffer import HistoryBuffer

    with pytest.raises(RuntimeError, match='refused'):
        compat._history_buffer_getattr(HistoryBuffer, '__init__')
    assert compat._history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean


@pytest.mark.parametrize('legacy', [False, True])
def test_checkpoint_from_the_other_numpy_loads(tmp_path, legacy):
    """numpy 1 pickles arrays via numpy.core.multiarray, numpy 2 via numpy._core:
    a checkpoint written under either loads under the other (weights_only)."""
    import io
    import zipfile

    buf = io.BytesIO()
    torch.save(
        {'meta': dict(arr=np.arange(3.0), seed=np.int64(3))},
        buf,
        _use_new_zipfile_serialization=not legacy,
    )
    ours = np.arange(0).__reduce__()[0].__module__.encode()  # this numpy's spelling
    other = b'numpy.core.multiarray' if b'_core' in ours else b'numpy._core.multiarray'
    path = tmp_path / 'other_numpy.pth'
    if legacy:
        data = buf.getvalue()
        assert ours + b'\n' in data
        path.write_bytes(data.replace(ours + b'\n', other + b'\n'))
    else:
        with (
            zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src,
            zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as dst,
        ):
            for item in src.infolist():
                data = src.read(item)
                if item.filename.endswith('data.pkl'):
                    assert ours + b'\n' in data
                    data = data.replace(ours + b'\n', other + b'\n')
                dst.writestr(item, data)
    loaded = torch.load(path, map_location='cpu')  # torch >= 2.6: weights_only=True
    assert loaded['meta']['arr'].tolist() == [0.0, 1.0, 2.0]
    assert loaded['meta']['seed'] == 3


def test_gloo_without_cuda_rewrites_the_config_only():
    """Fix 9 on a CPU machine: gloo and a DDP wrapper without device_ids; with no
    launcher set no process group is started, and finishing one that is not open is
    a no-op."""
    import torch.distributed as dist
    from mmengine.config import Config

    if torch.cuda.is_available():
        pytest.skip('with CUDA the config is left as it is')
    cfg = compat.use_gloo_without_cuda(Config(dict(launcher='none')))
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    kept = compat.use_gloo_without_cuda(
        Config(
            dict(
                launcher='none', env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
            )
        )
    )
    assert kept.env_cfg == dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
    assert cfg.model_wrapper_cfg.device_ids is None
    assert not dist.is_initialized()
    compat.finish_distributed()
