"""AcetabularLineLoss against hand-computed values."""

import pytest
import torch
from mmpose.registry import MODELS

from hip_mmpose.models import AcetabularLineLoss, acetabular_lines


def _hip(points):
    return torch.tensor([points], dtype=torch.float32)


TRUE = [[0.2, 0.3], [0.4, 0.3], [0.6, 0.5], [0.3, 0.6], [0.4, 0.6], [0.5, 0.6]]


def test_lines_are_the_acetabular_index_lines():
    # one hip: roof edge (0) to triradiate (2); a film: 1 -> 3, 9 -> 7 and 3 -> 7 (1-based)
    assert acetabular_lines(6) == ((0, 2),)
    assert acetabular_lines(12) == ((0, 2), (8, 6), (2, 6))
    with pytest.raises(ValueError, match='7 keypoints'):
        acetabular_lines(7)


def test_shift_costs_points_only_and_a_turn_costs_the_line():
    loss = MODELS.build(dict(type='AcetabularLineLoss', line_weight=2.0))
    true = _hip(TRUE)
    assert loss(true, true).item() == 0.0
    # every point 0.1 right: smooth L1 (beta 1) 0.5 * 0.1^2 on 6 of 12 values -> 0.0025;
    # the line vector is unchanged
    shifted = true + torch.tensor([0.1, 0.0])
    assert loss(shifted, true).item() == pytest.approx(0.0025)
    # only the roof edge 0.1 down: point term 0.5 * 0.01 / 12, line vector off by 0.1
    # in y: 0.5 * 0.01 / 2, weighted 2
    turned = true.clone()
    turned[0, 0, 1] += 0.1
    assert loss(turned, true).item() == pytest.approx(0.005 / 12 + 2 * 0.005 / 2)


def test_a_missing_end_drops_its_line():
    loss = AcetabularLineLoss(line_weight=1.0)
    true = _hip(TRUE)
    turned = true.clone()
    turned[0, 0, 1] += 0.1
    weight = torch.ones(1, 6)
    weight[0, 2] = 0.0  # triradiate not annotated: no line; the point term keeps point 0
    assert loss(turned, true, weight).item() == pytest.approx(0.005 / 12)


def test_integral_ablation_with_the_line_loss_trains():
    """The ablation config's head (MMPose's IntegralRegressionHead) takes the loss
    from the config, and a training step's loss has a finite gradient."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    from mmpose.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(
        str(Path(__file__).parents[1] / 'configs' / 'ablations' / 'hip_refine_integral_line_cpu.py')
    )
    model = MODELS.build(cfg.model)
    assert isinstance(model.head.loss_module, AcetabularLineLoss)
    sample = PoseDataSample()
    sample.gt_instance_labels = InstanceData(
        keypoint_labels=_hip(TRUE), keypoint_weights=torch.ones(1, 6)
    )
    sample.set_metainfo(dict(input_size=(192, 192)))
    torch.manual_seed(0)
    feats = model.extract_feat(torch.randn(1, 3, 192, 192))
    losses = model.head.loss(feats, [sample])
    losses['loss_kpt'].backward()
    grad = model.head.final_layer.weight.grad
    assert losses['loss_kpt'].item() > 0 and torch.isfinite(grad).all() and grad.abs().sum() > 0


def _gaussian(x, y, size=48, sigma=2.0):
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32),
        torch.arange(size, dtype=torch.float32),
        indexing='ij',
    )
    return torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))


def test_soft_argmax_finds_a_sub_pixel_peak():
    from hip_mmpose.models import soft_argmax

    maps = torch.stack([_gaussian(10.0, 20.0), _gaussian(30.4, 7.6), _gaussian(2.3, 45.7)])
    xy = soft_argmax(maps[None], beta=20.0)[0] * 48
    assert torch.allclose(xy[0], torch.tensor([10.0, 20.0]), atol=1e-3)
    assert torch.allclose(xy[1], torch.tensor([30.4, 7.6]), atol=0.05)
    assert torch.allclose(xy[2], torch.tensor([2.3, 45.7]), atol=0.05)  # near the edge
    # too sharp a softmax snaps to the pixel grid, too soft a one drifts to the centre
    assert (
        soft_argmax(maps[None], beta=50.0)[0, 1] * 48 - torch.tensor([30.4, 7.6])
    ).abs().max() > 0.1
    assert (
        soft_argmax(maps[None], beta=10.0)[0, 2] * 48 - torch.tensor([2.3, 45.7])
    ).abs().max() > 0.5


def test_heatmap_line_head_adds_the_line_term():
    """The ablation config's head: the heatmap head's loss plus ``loss_line``, zero
    when the predicted heatmaps are the targets, positive (with a gradient) when the
    roof edge's map moves, and 0 before its first epoch; its state dict is the
    plain heatmap head's."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.structures import InstanceData, PixelData
    from mmpose.structures import PoseDataSample
    from mmpose.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(
        str(Path(__file__).parents[1] / 'configs' / 'ablations' / 'hip_refine_line_cpu.py')
    )
    head = MODELS.build(cfg.model.head)
    plain = MODELS.build(
        {k: v for k, v in cfg.model.head.items() if k not in ('line_loss', 'beta')}
        | {'type': 'HeatmapHead'}
    )
    assert head.state_dict().keys() == plain.state_dict().keys()

    target = torch.stack([_gaussian(8.0 * (j + 1), 10.0 + 4 * j) for j in range(6)])
    sample = PoseDataSample()
    sample.gt_fields = PixelData(heatmaps=target)
    sample.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 6))

    from mmengine.logging import MessageHub

    hub = MessageHub.get_instance('test_heatmap_line_head')  # now the current one

    def losses_for(pred, epoch=head.line_begin_epoch):
        hub.update_info('epoch', epoch)
        head.forward = lambda feats: pred
        return head.loss(None, [sample], dict(compute_acc=False))

    same = losses_for(target[None].clone())
    assert same['loss_kpt'].item() == pytest.approx(0.0, abs=1e-9)
    assert same['loss_line'].item() == pytest.approx(0.0, abs=1e-9)
    moved = target[None].clone()
    moved[0, 0] = _gaussian(8.0, 14.0)  # roof edge 4 heatmap px down: the line turns
    moved.requires_grad_(True)
    out = losses_for(moved)
    # line vector off by 4/48 in y: smooth L1 0.5 * (4/48)^2 over the line's 2 values,
    # times the config's line weight
    weight = cfg.model.head.line_loss.line_weight
    assert out['loss_line'].item() == pytest.approx(weight * 0.5 * (4 / 48) ** 2 / 2, rel=1e-3)
    out['loss_line'].backward()
    assert moved.grad[0, 0].abs().sum() > 0 and moved.grad[0, 3].abs().sum() == 0
    # before line_begin_epoch the maps have no peaks yet: no line term
    assert head.line_begin_epoch > 0
    assert losses_for(moved, epoch=head.line_begin_epoch - 1)['loss_line'].item() == 0.0
