"""AcetabularLineLoss against hand-computed values."""
import pytest
import torch

from hip_mmpose.models import AcetabularLineLoss, acetabular_lines
from mmpose.registry import MODELS


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
    cfg = Config.fromfile(str(Path(__file__).parents[1] / 'configs' / 'ablations'
                              / 'hip_refine_integral_line_cpu.py'))
    model = MODELS.build(cfg.model)
    assert isinstance(model.head.loss_module, AcetabularLineLoss)
    sample = PoseDataSample()
    sample.gt_instance_labels = InstanceData(
        keypoint_labels=_hip(TRUE), keypoint_weights=torch.ones(1, 6))
    sample.set_metainfo(dict(input_size=(192, 192)))
    torch.manual_seed(0)
    feats = model.extract_feat(torch.randn(1, 3, 192, 192))
    losses = model.head.loss(feats, [sample])
    losses['loss_kpt'].backward()
    grad = model.head.final_layer.weight.grad
    assert losses['loss_kpt'].item() > 0 and torch.isfinite(grad).all() and grad.abs().sum() > 0
