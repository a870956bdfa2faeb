"""MMPose's top-down estimator with the refining stage's per-side point offsets."""

from __future__ import annotations

import numpy as np
import torch
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS

from hip_mmpose import geometry
from hip_mmpose.utils import uncertainty
from hip_mmpose.utils.hip_crops import IMAGE_LEFT
from hip_mmpose.utils.model_schema import check_keypoint_offsets


@MODELS.register_module()
class HipTopdownPoseEstimator(TopdownPoseEstimator):
    """:class:`mmpose.models.TopdownPoseEstimator` that adds a fixed offset per hip
    side and point to its predictions.

    The refining stage sees both hips in image-left orientation, so it cannot learn
    what differs between the sides, and its heatmaps' peaks need not sit at the mean
    of the readers' clicks. On its own training films the remaining mean error per
    point is 0.3-2 px (``tools/train.py`` measures it there after training, with
    :func:`hip_mmpose.utils.hip_crops.fit_hip_offsets`, and stores it in this model's
    ``keypoint_offsets`` buffer, which travels in its checkpoints and published
    files). Offsets are in units of the crop's scale, added in the network's
    orientation (``metainfo['hip_side']`` picks the row); all zero, the
    model is MMPose's estimator unchanged. Training and the loss are untouched.

    Its ``p_line_shift`` buffer (a scalar, 0 by default) is where the IHDI grade of
    its points is decided (:func:`hip_mmpose.geometry.ihdi_grades`): ``tools/train.py``
    fits it on the val films (:func:`hip_mmpose.geometry.fit_p_line_shift`); each
    predicted sample carries it as ``p_line_shift``, which ``HipMetric`` and the
    inferencers grade with.

    Its ``uncertainty`` buffer (:data:`uncertainty.CALIBRATION_KEYS`, all zero until
    ``tools/train.py`` fits it on the val films) turns each prediction into an interval:
    every predicted sample carries ``keypoint_spread`` (each point's heatmap spread
    around its peak, film px, :func:`uncertainty.heatmap_spread`) in its
    ``pred_instances`` and, once fitted, the calibration as ``uncertainty`` in its
    metainfo, from which HipMetric and the inferencers make the AI intervals,
    P(grade >= II) and the review flag (:func:`uncertainty.measure`).

    Args:
        num_keypoints (int): points per hip. Defaults to
            ``geometry.HIP_NUM_KEYPOINTS`` (6).
        **kwargs: :class:`TopdownPoseEstimator`'s arguments.
    """

    def __init__(self, num_keypoints: int = geometry.HIP_NUM_KEYPOINTS, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer('keypoint_offsets', torch.zeros(2, num_keypoints, 2))
        self.register_buffer('p_line_shift', torch.zeros(()))
        self.register_buffer('uncertainty', torch.zeros(uncertainty.NUM_CALIBRATION))
        # the heatmaps give each point's spread; kept on the samples only if asked for
        self._keep_heatmaps = bool(self.test_cfg.get('output_heatmaps', False))
        self.test_cfg['output_heatmaps'] = True

    def set_keypoint_offsets(self, offsets) -> None:
        """Store offsets ``(2, K, 2)`` (image-left, image-right) in crop-scale units.

        Args:
            offsets (array-like): the offsets, e.g. from ``fit_hip_offsets``.

        Raises:
            ValueError: another shape, a non-finite value, or one beyond
                ``model_schema.KEYPOINT_OFFSET_LIMIT``.
        """
        value = torch.as_tensor(offsets, dtype=self.keypoint_offsets.dtype)
        if value.shape != self.keypoint_offsets.shape or not torch.isfinite(value).all():
            raise ValueError(
                f'keypoint offsets must be finite, shape '
                f'{tuple(self.keypoint_offsets.shape)}; got {tuple(value.shape)}'
            )
        check_keypoint_offsets(value.double().numpy(), value.shape[1])
        self.keypoint_offsets.copy_(value.to(self.keypoint_offsets.device))

    def set_p_line_shift(self, shift: float) -> None:
        """Store the grade's P-line shift (a fraction of the H-line's length).

        Args:
            shift (float): e.g. from :func:`hip_mmpose.geometry.fit_p_line_shift`.

        Raises:
            ValueError: not a finite number within ``geometry.P_LINE_SHIFT_LIMIT``.
        """
        self.p_line_shift.fill_(geometry.checked_p_line_shift(shift))

    def set_uncertainty(self, values: dict) -> None:
        """Store the fitted uncertainty calibration.

        Args:
            values (dict): :data:`uncertainty.CALIBRATION_KEYS` values, e.g. from
                :func:`uncertainty.fit_calibration`.

        Raises:
            ValueError: a value missing, not finite or out of its bounds.
        """
        vector = [values[k] for k in uncertainty.CALIBRATION_KEYS]
        uncertainty.checked_calibration(vector)
        self.uncertainty.copy_(torch.as_tensor(vector, dtype=self.uncertainty.dtype))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # weights saved before the offsets (the shift) existed load as a model without
        state_dict.setdefault(prefix + 'keypoint_offsets', torch.zeros_like(self.keypoint_offsets))
        state_dict.setdefault(prefix + 'p_line_shift', torch.zeros_like(self.p_line_shift))
        state_dict.setdefault(prefix + 'uncertainty', torch.zeros_like(self.uncertainty))
        calibration = state_dict[prefix + 'uncertainty']
        if torch.is_tensor(calibration):  # a file's values, checked
            checked = uncertainty.checked_calibration(
                calibration.detach().cpu().numpy(), 'checkpoint'
            )
            if calibration.shape != self.uncertainty.shape:  # before flag_q / the edge
                vector = [checked.get(k, 0.0) for k in uncertainty.CALIBRATION_KEYS]
                state_dict[prefix + 'uncertainty'] = torch.as_tensor(
                    vector, dtype=self.uncertainty.dtype
                )
        shift = state_dict[prefix + 'p_line_shift']
        if torch.is_tensor(shift) and shift.numel() == 1:  # a file's value, checked
            geometry.checked_p_line_shift(float(shift))
        offsets = state_dict[prefix + 'keypoint_offsets']
        if torch.is_tensor(offsets) and offsets.shape == self.keypoint_offsets.shape:
            check_keypoint_offsets(offsets.detach().cpu().double().numpy(), offsets.shape[1])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def add_pred_to_datasample(self, batch_pred_instances, batch_pred_fields, batch_data_samples):
        """MMPose's mapping back to film pixels, then each hip's side's offsets;
        each sample carries the grade's ``p_line_shift`` where it is not 0.

        Args:
            batch_pred_instances (list[InstanceData]): the head's predictions.
            batch_pred_fields (list[PixelData] | None): predicted heatmaps.
            batch_data_samples (list[PoseDataSample]): the batch's samples.

        Returns:
            list[PoseDataSample]: the samples with ``pred_instances`` set.
        """
        samples = super().add_pred_to_datasample(
            batch_pred_instances, batch_pred_fields, batch_data_samples
        )
        shift = float(self.p_line_shift)
        calibration = self.uncertainty.detach().cpu().numpy()
        for sample in samples:
            if shift:
                sample.set_metainfo(dict(p_line_shift=shift))
            if calibration.any():
                sample.set_metainfo(dict(uncertainty=calibration.tolist()))
            if 'pred_fields' in sample and 'heatmaps' in sample.pred_fields:
                heatmaps = sample.pred_fields.heatmaps
                heatmaps = (
                    heatmaps.detach().cpu().numpy() if torch.is_tensor(heatmaps) else heatmaps
                )
                spread = uncertainty.heatmap_spread(heatmaps)  # heatmap px
                scale = np.asarray(sample.metainfo['input_scale'], np.float64)
                spread = spread * float(np.mean(scale / heatmaps.shape[-2:][::-1]))
                sample.pred_instances.keypoint_spread = spread[None]
                if not self._keep_heatmaps:
                    del sample.pred_fields
        offsets = self.keypoint_offsets.detach().cpu().numpy()
        if not offsets.any():
            return samples
        for sample in samples:
            side = int(sample.metainfo.get('hip_side', IMAGE_LEFT))
            keypoints = sample.pred_instances.keypoints
            keypoints[..., :2] += offsets[side] * sample.metainfo['input_scale']
        return samples
