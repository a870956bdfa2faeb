"""MMPose's heatmap head with the acetabular-line term added to its training loss."""

from __future__ import annotations

import torch
from mmengine.logging import MessageHub
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from torch import Tensor


def soft_argmax(heatmaps: Tensor, beta: float) -> Tensor:
    """Expected location under ``softmax(beta * heatmap)``, a differentiable argmax.

    With heatmaps of peak ~1 (MMPose's Gaussian targets, sigma 2) and ``beta`` 20 the
    weight is ~10 % one heatmap pixel from the peak and ~0.04 % two away, and the
    2304 background pixels of a 48x48 map weigh ~5e-6 together: the expectation is
    the peak to ~0.03 heatmap px. Sharper (50) snaps it to the pixel grid (0.2 px
    off), softer (10) lets the background pull it towards the centre (0.8 px).

    Args:
        heatmaps (Tensor): (N, K, H, W) maps.
        beta (float): the softmax's sharpness.

    Returns:
        Tensor: (N, K, 2) x, y in [0, 1) (heatmap pixels divided by W and H).
    """
    n, k, h, w = heatmaps.shape
    # (a first try divided each map by its detached peak, to sharpen a network's
    # low peaks: with line weight 5 the term then grew from 0.009 to 0.25 within an
    # epoch and the point error from 4 to 59 px; a gradient that grows as the peak
    # falls is the likely cause)
    prob = torch.softmax(beta * heatmaps.reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)
    xs = torch.arange(w, dtype=prob.dtype, device=prob.device) / w
    ys = torch.arange(h, dtype=prob.dtype, device=prob.device) / h
    return torch.stack(((prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)), dim=-1)


@MODELS.register_module()
class HeatmapLineHead(HeatmapHead):
    """:class:`mmpose.models.heads.HeatmapHead` whose training loss also weighs the
    acetabular index's lines.

    The heatmap loss treats every point alone. This adds ``line_loss`` (default
    :class:`AcetabularLineLoss` without its point term) between the soft-argmax
    locations of the predicted and the target heatmaps, as ``loss_line``. Forward,
    prediction, decoding and weights are the heatmap head's: a model trained with it
    loads, exports and measures as one trained without. The term starts at epoch
    ``line_begin_epoch``: before the maps have peaks, their soft-argmax is noise and
    the term only fights the heatmap loss (from the first epoch it held the point
    error at 25 px after 6 epochs, against 4 px without it).

    Args:
        line_loss (dict): config of the coordinate loss on soft-argmax locations.
            Defaults to ``AcetabularLineLoss`` with ``point_weight=0``.
        beta (float): sharpness of the soft-argmax (:func:`soft_argmax`).
            Defaults to 20.
        line_begin_epoch (int): first (0-based) training epoch with the line term;
            ``loss_line`` is 0 before it. Defaults to 5.
        **kwargs: :class:`HeatmapHead`'s arguments.
    """

    def __init__(
        self, line_loss: dict | None = None, beta: float = 20.0, line_begin_epoch: int = 5, **kwargs
    ):
        super().__init__(**kwargs)
        self.line_begin_epoch = line_begin_epoch
        self.line_loss = MODELS.build(
            line_loss or dict(type='AcetabularLineLoss', point_weight=0.0)
        )
        self.beta = beta

    def loss(self, feats, batch_data_samples, train_cfg: dict = {}) -> dict:  # noqa: B006 (MMPose's signature)
        """The heatmap head's losses plus ``loss_line``.

        Args:
            feats (tuple[Tensor]): the neck's or backbone's feature maps.
            batch_data_samples (list[PoseDataSample]): with target heatmaps and
                keypoint weights (``GenerateTarget``).
            train_cfg (dict): the model's training config. Defaults to {}.

        Returns:
            dict: ``loss_kpt``, ``loss_line`` and (by default) ``acc_pose``.
        """
        losses = super().loss(feats, batch_data_samples, train_cfg)
        epoch = MessageHub.get_current_instance().get_info('epoch')
        if epoch is not None and epoch < self.line_begin_epoch:
            losses['loss_line'] = losses['loss_kpt'].new_zeros(())
            return losses
        pred = self.forward(feats)
        target = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
        weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in batch_data_samples])
        losses['loss_line'] = self.line_loss(
            soft_argmax(pred, self.beta), soft_argmax(target, self.beta), weights
        )
        return losses
