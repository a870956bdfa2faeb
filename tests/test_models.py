"""CBAM and the EfficientNetV2 + multi-scale CBAM backbone."""

import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS

from hip_mmpose.models import CBAM, EfficientNetV2CBAM
from tests.conftest import REPO


@pytest.mark.parametrize('reduction', [1, 4, 16])
def test_cbam_keeps_shape_and_maps_are_probabilities(reduction):
    torch.manual_seed(0)
    cbam = MODELS.build(dict(type='CBAM', channels=32, reduction=reduction))
    assert cbam.channel_attention.mlp[0].out_channels == 32 // reduction
    x = torch.randn(2, 32, 9, 7)
    out, channel_map, spatial_map = cbam(x, return_maps=True)
    assert out.shape == x.shape
    assert channel_map.shape == (2, 32, 1, 1) and spatial_map.shape == (2, 1, 9, 7)
    for m in (channel_map, spatial_map):
        assert (m > 0).all() and (m < 1).all()
    # the output is the input scaled by both maps, never amplified
    assert torch.allclose(out, x * channel_map * spatial_map, atol=1e-6)


def test_cbam_gradients_reach_the_input():
    cbam = CBAM(16, reduction=4)
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    cbam(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in cbam.parameters())


def test_cbam_rejects_even_spatial_kernel():
    with pytest.raises(ValueError, match='odd'):
        CBAM(8, spatial_kernel=6)


@pytest.mark.parametrize(
    'arch,layers,channels',
    [
        ('b0', [3, 5, 6], [48, 112, 192]),
        ('s', [3, 5, 6], [64, 160, 256]),
        ('m', [3, 5, 7], [80, 176, 512]),
    ],
)
def test_backbone_default_scales_are_strides_8_16_32(arch, layers, channels):
    net = EfficientNetV2CBAM(arch=arch, fuse_channels=32)
    assert net.cbam_layers == layers
    assert [net.strides[i] for i in layers] == [8, 16, 32]
    assert [c.channel_attention.mlp[0].in_channels for c in net.cbams] == channels
    (out,) = net(torch.zeros(1, 3, 128, 96))
    assert out.shape == (1, 32, 32, 24)  # stride 4


def test_backbone_template_choice_and_stride_8_are_reachable():
    # the template's last three layers (b0: 5, 6, 7 = strides 16, 32, 32)
    template = EfficientNetV2CBAM(
        arch='b0', cbam_layers=(-3, -2, -1), out_stride=16, fuse_channels=16
    )
    assert [template.strides[i] for i in template.cbam_layers] == [16, 32, 32]
    assert template(torch.zeros(1, 3, 64, 64))[0].shape == (1, 16, 4, 4)
    eight = EfficientNetV2CBAM(arch='b0', out_stride=8, fuse_channels=16)
    assert eight.skip_layers == [] and eight(torch.zeros(1, 3, 64, 64))[0].shape[-1] == 8
    with pytest.raises(ValueError, match='out_stride'):
        EfficientNetV2CBAM(arch='b0', out_stride=16)  # finer layers are attended


def test_attention_can_be_switched_off_for_ablation():
    plain = EfficientNetV2CBAM(arch='b0', fuse_channels=16, attention=False)
    assert all(isinstance(m, torch.nn.Identity) for m in plain.cbams)
    assert plain(torch.zeros(1, 3, 64, 64))[0].shape == (1, 16, 16, 16)


def test_main_and_cpu_configs_build_and_run():
    """Every stage of the GPU and CPU models: input size, heatmap stride, keypoints."""
    for name, size, keypoints, stride in (
        ('hip_effv2_cbam_film.py', (384, 512), 12, 4),
        ('hip_effv2_cbam_film_cpu.py', (192, 256), 12, 4),
        ('hip_effv2_cbam.py', (192, 192), 6, 2),  # per-hip refining stages
        ('hip_effv2_cbam_cpu.py', (192, 192), 6, 4),
        ('ablations/hip_refine_stride2_cpu.py', (192, 192), 6, 2),
        ('ablations/hip_refine_256_cpu.py', (256, 256), 6, 2),
        ('hip_effv2_baseline.py', (256, 256), 12, 4),
    ):
        cfg = Config.fromfile(str(REPO / 'configs' / name))
        model = MODELS.build(cfg.model)
        model.eval()
        with torch.no_grad():
            heatmaps = model(torch.zeros(1, 3, *size), None, mode='tensor')
        assert heatmaps.shape == (1, keypoints, size[0] // stride, size[1] // stride), name


@pytest.mark.parametrize(
    'name', sorted(p.name for p in (REPO / 'configs' / 'ablations').glob('*.py'))
)
def test_every_ablation_config_builds(name, mmpose_scope):
    """Each ablation's model runs, its pipelines' transforms and its hooks build, and
    its loss is the one it names (a config that only parses would not show a typo)."""
    from mmcv.transforms import Compose
    from mmengine.registry import HOOKS

    cfg = Config.fromfile(str(REPO / 'configs' / 'ablations' / name))
    model = MODELS.build(cfg.model)
    model.eval()
    size = cfg.codec['input_size'][::-1]
    with torch.no_grad():
        out = model(torch.zeros(1, 3, *size), None, mode='tensor')
    # a refining stage's 6 points, or the whole film's 12 (hip_film_*)
    points = 12 if name.startswith('hip_film_') else 6
    assert (out[0] if isinstance(out, tuple) else out).shape[:2] == (1, points), name
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        Compose(cfg[loader].dataset.pipeline)
    for hook in cfg.get('custom_hooks', []):
        HOOKS.build(dict(hook))
    assert type(model.head.loss_module).__name__ == cfg.model.head.loss['type'], name


def _state_with_prefix(net, prefix):
    return {prefix + k: v.clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize('prefix', ['backbone.', ''])
def test_pretrained_weights_arrive_through_the_config(tmp_path, prefix):
    """MMEngine's ``Pretrained`` initialiser loads an mmpretrain classifier (keys
    'backbone.layers...', ``prefix='backbone.'``) or a bare backbone (keys
    'layers...', no prefix) into the wrapped EfficientNetV2, as for mmpretrain's
    own backbones; CBAM and the fusion layers keep their fresh initialisation."""
    from mmpretrain.models import EfficientNetV2

    torch.manual_seed(123)
    source = EfficientNetV2(arch='b0')
    for p in source.parameters():
        torch.nn.init.normal_(p)  # unmistakable values
    path = tmp_path / 'effnetv2_b0_imagenet.pth'
    torch.save(
        {
            'state_dict': {
                **_state_with_prefix(source, prefix),
                'head.fc.weight': torch.zeros(10, 1280),
            }
        },
        path,
    )

    init = dict(type='Pretrained', checkpoint=str(path))
    if prefix:
        init['prefix'] = prefix
    net = MODELS.build(dict(type='EfficientNetV2CBAM', arch='b0', init_cfg=init))
    before = net.cbams[0].spatial_attention.conv.weight.clone()
    net.init_weights()
    src = source.state_dict()
    for key, value in net.effnet.state_dict().items():
        assert torch.equal(value, src[key]), key
    assert not torch.equal(before, torch.zeros_like(before))  # CBAM still initialised


def test_scratch_and_bad_checkpoint(tmp_path):
    torch.manual_seed(0)
    net = EfficientNetV2CBAM(arch='b0')
    conv = net.effnet.layers[0].conv.weight
    torch.nn.init.zeros_(conv)
    net.init_weights()  # from scratch: mmpretrain's own (Kaiming) initialisation
    assert conv.abs().sum() > 0
    bad = tmp_path / 'other.pth'
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, bad)
    # a classifier prefix the file does not have: MMEngine's initialiser says so
    with pytest.raises(AssertionError, match='backbone.* is not in the pretrained model'):
        EfficientNetV2CBAM(
            arch='b0', init_cfg=dict(type='Pretrained', checkpoint=str(bad), prefix='backbone.')
        ).init_weights()
