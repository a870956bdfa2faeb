"""A keypoint loss that also weighs the lines the acetabular index is read from."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn

from ..geometry import HIP_KEYPOINTS, HIP_NUM_KEYPOINTS, NUM_KEYPOINTS, ROOF_LATERAL, TRIRADIATE


def acetabular_lines(num_keypoints: int) -> tuple[tuple[int, int], ...]:
    """The (from, to) keypoint pairs of the lines that set the acetabular index.

    Args:
        num_keypoints (int): 12 (whole film: both hips' acetabular lines, roof edge
            to triradiate, and Hilgenreiner's line between the triradiates) or 6 (one
            hip in image-left orientation, the refining stage: its acetabular line).

    Returns:
        tuple[tuple[int, int], ...]: index pairs into the model's keypoints.

    Raises:
        ValueError: any other number of keypoints.
    """
    if num_keypoints == NUM_KEYPOINTS:
        return tuple((ROOF_LATERAL[h], TRIRADIATE[h]) for h in range(2)) + (TRIRADIATE,)
    if num_keypoints == HIP_NUM_KEYPOINTS:
        hip = HIP_KEYPOINTS[0]
        return ((hip.index(ROOF_LATERAL[0]), hip.index(TRIRADIATE[0])),)
    raise ValueError(f'no acetabular lines for {num_keypoints} keypoints (12 or 6)')


@MODELS.register_module()
class AcetabularLineLoss(nn.Module):
    """A coordinate loss plus the same loss on the acetabular index's lines.

    The point loss treats each point on its own; the acetabular index is an angle
    between short lines (a hip's roof edge to its triradiate cartilage, ~40 film px),
    so two points off in opposite directions cost the angle far more than two points
    off together. The line term compares the predicted and true line vectors
    (``p[from] - p[to]``): a shared shift costs nothing, a turn or a stretch does.
    For coordinate (regression / integral) heads.

    Args:
        point_loss (dict): config of the per-point loss (an MMPose regression loss
            called as ``loss(output, target, target_weight)``). Defaults to
            ``SmoothL1Loss`` with target weights.
        point_weight (float): weight of the point term; 0 leaves it out (the line
            term alone, beside a heatmap loss). Defaults to 1.0.
        line_weight (float): weight of the line term. Defaults to 1.0.
        loss_weight (float): weight of the sum. Defaults to 1.0.
    """

    def __init__(
        self,
        point_loss: dict | None = None,
        point_weight: float = 1.0,
        line_weight: float = 1.0,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.point_loss = MODELS.build(
            point_loss or dict(type='SmoothL1Loss', use_target_weight=True)
        )
        self.point_weight = point_weight
        self.line_weight = line_weight
        self.loss_weight = loss_weight

    def forward(
        self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            output (torch.Tensor): predicted coordinates, (N, K, 2).
            target (torch.Tensor): true coordinates, (N, K, 2).
            target_weight (torch.Tensor, optional): per-point weights, (N, K); a line
                counts with the smaller weight of its two ends (0 where one end is
                missing). Defaults to None (all 1).

        Returns:
            torch.Tensor: the scalar loss.
        """
        if target_weight is None:
            target_weight = output.new_ones(output.shape[:2])
        lines = acetabular_lines(output.shape[1])
        ends = [a for a, _ in lines], [b for _, b in lines]
        weight = torch.minimum(target_weight[:, ends[0]], target_weight[:, ends[1]])
        weight = weight.unsqueeze(-1)
        pred = output[:, ends[0]] - output[:, ends[1]]
        true = target[:, ends[0]] - target[:, ends[1]]
        line = F.smooth_l1_loss(pred * weight, true * weight)
        loss = self.line_weight * line
        if self.point_weight:
            loss = loss + self.point_weight * self.point_loss(output, target, target_weight)
        return self.loss_weight * loss
