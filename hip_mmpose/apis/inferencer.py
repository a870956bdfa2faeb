"""HipInferencer: keypoints, acetabular indices and IHDI grades for new films."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from hip_mmpose import geometry
from hip_mmpose.apis.model_files import load_pose_model
from hip_mmpose.film_io import FilmReadError, load_film
from hip_mmpose.visualization import draw_hip_geometry, to_bgr8

HIPS = geometry.HIP_NAMES


class HipInferencer:
    """Predict the 12 keypoints on films without annotations and measure them.

    Args:
        checkpoint: training checkpoint (with ``config``) or a published file.
        config: model config; optional for published files.
        device: 'cpu', 'cuda', 'cuda:1', ...
        flip_test: average with the mirrored film (on by default, as in testing).
        batch_size: films per forward pass.
        refine_checkpoint / refine_config: optional second stage that re-looks at
            the box around the first stage's points (configs/*refine*).
        score_thr: keypoints scoring below it are flagged as low confidence.
    """

    def __init__(self, checkpoint, config=None, device: str = 'cpu', flip_test: bool = True,
                 batch_size: int = 8, refine_checkpoint=None, refine_config=None,
                 score_thr: float = 0.3):
        self.model = load_pose_model(checkpoint, config, device)
        self.refiner = (load_pose_model(refine_checkpoint, refine_config, device)
                        if refine_checkpoint else None)
        for model in filter(None, (self.model, self.refiner)):
            model.test_cfg['flip_test'] = flip_test
        self.batch_size = batch_size
        self.score_thr = score_thr
        meta = self.model.dataset_meta
        self.keypoint_names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]

    # -------------------------------------------------------------- prediction
    def _run(self, model, films: list[np.ndarray], boxes: list[np.ndarray]):
        init_default_scope(model.cfg.get('default_scope', 'mmpose'))
        pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
        data = []
        for film, box in zip(films, boxes):
            info = dict(img=film, bbox=np.asarray(box, np.float32)[None],
                        bbox_score=np.ones(1, np.float32))
            info.update(model.dataset_meta)
            data.append(pipeline(info))
        with torch.no_grad():
            samples = model.test_step(pseudo_collate(data))
        keypoints = np.stack([s.pred_instances.keypoints[0] for s in samples])
        scores = np.stack([s.pred_instances.keypoint_scores[0] for s in samples])
        return keypoints, scores

    def predict_arrays(self, films: list[np.ndarray]) -> list[dict]:
        """Results for decoded films (as :func:`load_film` returns them)."""
        films = [to_bgr8(f) for f in films]
        results = []
        for start in range(0, len(films), self.batch_size):
            batch = films[start:start + self.batch_size]
            boxes = [np.array([0, 0, f.shape[1], f.shape[0]]) for f in batch]
            keypoints, scores = self._run(self.model, batch, boxes)
            if self.refiner is not None:
                boxes = [np.concatenate([k.min(0), k.max(0)]) for k in keypoints]
                keypoints, scores = self._run(self.refiner, batch, boxes)
            results += [self.measure(k, s, (f.shape[1], f.shape[0]))
                        for k, s, f in zip(keypoints, scores, batch)]
        return results

    def measure(self, keypoints: np.ndarray, scores: np.ndarray, image_size=None) -> dict:
        """The output record of one film from its keypoints (12, 2) and scores (12,).

        A hip that :func:`geometry.measurability` rejects (most points low
        confidence, implausible geometry, non-finite points) gets null AI and grade
        and its reason in ``not_measured`` (``{}`` when both hips were measured).
        """
        def _number(value, digits: int):  # JSON has no NaN/inf: None instead
            return round(float(value), digits) if np.isfinite(value) else None

        keypoints = np.asarray(keypoints, np.float64)
        ai = geometry.acetabular_indices(keypoints)
        grades = geometry.ihdi_grades(keypoints)
        reasons = geometry.measurability(keypoints, scores, image_size, self.score_thr)
        return dict(
            keypoints=[[_number(x, 2), _number(y, 2), _number(s, 4)]
                       for (x, y), s in zip(keypoints, scores)],
            acetabular_index={h: (None if r or np.isnan(a) else round(float(a), 2))
                              for h, a, r in zip(HIPS, ai, reasons)},
            ihdi_grade={h: (None if r else geometry.GRADE_NAMES[int(g)])
                        for h, g, r in zip(HIPS, grades, reasons)},
            not_measured={h: r for h, r in zip(HIPS, reasons) if r},
            flags=self.flags(keypoints, scores, image_size))

    def flags(self, keypoints: np.ndarray, scores: np.ndarray, image_size=None) -> list[str]:
        """Reasons a reader should check this film by eye (empty when none)."""
        flags = [f'low confidence: {self.keypoint_names[k]} ({scores[k]:.2f})'
                 for k in np.flatnonzero(scores < self.score_thr)]
        if image_size is not None:
            w, h = image_size
            outside = np.flatnonzero((keypoints[:, 0] < 0) | (keypoints[:, 0] > w)
                                     | (keypoints[:, 1] < 0) | (keypoints[:, 1] > h))
            flags += [f'outside the film: {self.keypoint_names[k]}' for k in outside]
        p = keypoints
        ai = geometry.acetabular_indices(p)
        for hip, angle in zip(HIPS, ai):
            if np.isnan(angle):
                flags.append(f'implausible geometry: {hip} acetabular index undefined')
            elif not 0 <= angle <= 50:
                flags.append(f'implausible geometry: {hip} acetabular index {angle:.1f} deg '
                             'outside 0-50')
        h_line = p[6] - p[2]
        if h_line[0] <= 0:
            flags.append('implausible geometry: point 3 is not left of point 7 (hips swapped?)')
        elif abs(np.degrees(np.arctan2(h_line[1], h_line[0]))) > 15:
            flags.append('implausible geometry: H-line tilted more than 15 deg')
        if not (p[0, 0] < p[2, 0] and p[8, 0] > p[6, 0]):
            flags.append('implausible geometry: a roof edge (1 or 9) is not lateral '
                         'of its triradiate point')
        return flags

    # -------------------------------------------------------------- files
    def predict_files(self, paths: Iterable) -> Iterator[tuple]:
        """Yield ``(path, film, result, error)`` per film, in order of reading.

        An unreadable file yields ``(path, None, None, message)`` and the rest go on.
        """
        pending: list[tuple[Path, np.ndarray]] = []
        for path in map(Path, paths):
            try:
                pending.append((path, load_film(path)))
            except FilmReadError as err:
                yield path, None, None, str(err)
                continue
            if len(pending) == self.batch_size:
                yield from self._flush(pending)
                pending = []
        yield from self._flush(pending)

    def _flush(self, pending):
        if not pending:
            return
        for (path, film), result in zip(pending,
                                        self.predict_arrays([f for _, f in pending])):
            result['file'] = path.name
            result['image_size'] = [int(film.shape[1]), int(film.shape[0])]
            yield path, film, result, None

    def overlay(self, film: np.ndarray, result: dict) -> np.ndarray:
        kp = np.array(result['keypoints'])
        return draw_hip_geometry(film, kp[:, :2], kp[:, 2], self.score_thr,
                                 label=f'{result.get("file", "")} (prediction)')
