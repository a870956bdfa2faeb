"""HipInferencer: keypoints, acetabular indices and IHDI grades for new films."""

from __future__ import annotations

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from hip_mmpose import geometry
from hip_mmpose.apis.cascade import refine_passes
from hip_mmpose.apis.model_files import load_pose_models
from hip_mmpose.runtime.measuring import HipMeasurer
from hip_mmpose.utils import records, uncertainty


class HipInferencer(HipMeasurer):
    """Predict the 12 keypoints on films without annotations and measure them.

    A two-stage model (a run's ``best_cascade.pth`` or its published file) finds
    the points on the whole film, then refines each hip around them with the
    per-hip stage (the image-right hip mirrored, as in training).

    Args:
        checkpoint (str): a published file (one or two stages), or a single-stage
            training checkpoint with ``config``.
        config (str, optional): model config; optional for published files.
        device (str): 'cpu', 'cuda', 'cuda:1', ...
        flip_test (bool): average the whole-film stage with the mirrored film (on
            by default, as in testing). The per-hip stage sees each hip in one
            orientation and never flips.
        batch_size (int): films per forward pass.
        score_thr (float): keypoints scoring below it are flagged as low confidence.
    """

    def __init__(
        self,
        checkpoint,
        config=None,
        device: str = 'cpu',
        flip_test: bool = True,
        batch_size: int = 8,
        score_thr: float = geometry.SCORE_THR,
    ):
        models = load_pose_models(checkpoint, config, device)
        self.model_sha256 = records.file_sha256(checkpoint)  # provenance of every record
        self.model = models['film']
        self.refiner = models.get('hip')
        # as tools/test.py: pass k refines around pass k-1's points
        self.refine_passes = refine_passes(self.refiner.cfg) if self.refiner is not None else 0
        # the grade's decision point, fitted on val by tools/train.py (0 if none)
        last = self.refiner if self.refiner is not None else self.model
        self.p_line_shift = float(getattr(last, 'p_line_shift', 0.0))
        # the intervals' calibration, fitted on val by tools/train.py ({} if none)
        calibration = getattr(last, 'uncertainty', None)
        self.uncertainty = (
            {}
            if calibration is None
            else uncertainty.checked_calibration(calibration.cpu().numpy(), str(checkpoint))
        )
        self.model.test_cfg['flip_test'] = flip_test
        self.batch_size = batch_size
        self.score_thr = score_thr
        meta = self.model.dataset_meta
        self.keypoint_names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]

    # -------------------------------------------------------------- prediction
    def _run(self, model, infos: list[dict]):
        """Keypoints ``(N, K, 2)`` and scores ``(N, K)`` of one crop per info
        (``img``, ``bbox`` [x1, y1, x2, y2], and what the pipeline reads)."""
        init_default_scope(model.cfg.get('default_scope', 'mmpose'))
        pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
        data = []
        for info in infos:
            info = dict(
                info,
                bbox=np.asarray(info['bbox'], np.float32)[None],
                bbox_score=np.ones(1, np.float32),
            )
            info.update(model.dataset_meta)
            data.append(pipeline(info))
        with torch.no_grad():
            samples = model.test_step(pseudo_collate(data))
        keypoints = np.stack([s.pred_instances.keypoints[0] for s in samples])
        scores = np.stack([s.pred_instances.keypoint_scores[0] for s in samples])
        spreads = np.stack(
            [
                s.pred_instances.get('keypoint_spread', np.full((1, keypoints.shape[1]), np.nan))[0]
                for s in samples
            ]
        )
        return keypoints, scores, spreads

    def _film_points(self, films: list[np.ndarray]):
        return self._run(
            self.model, [dict(img=f, bbox=[0, 0, f.shape[1], f.shape[0]]) for f in films]
        )[:2]

    def _hip_points(self, crops: list[dict]):
        return self._run(self.refiner, crops)
