"""HipInferencer: keypoints, acetabular indices and IHDI grades for new films."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from hip_mmpose import geometry
from hip_mmpose.apis.cascade import refine_passes
from hip_mmpose.apis.model_files import load_pose_models
from hip_mmpose.datasets.hip_crops import MIRRORED_HIP, hip_box, merge_hips
from hip_mmpose.film_io import FilmReadError, read_film, to_bgr8
from hip_mmpose.visualization import overlay_visualizer

HIPS = geometry.HIP_NAMES


class HipInferencer:
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

    def __init__(self, checkpoint, config=None, device: str = 'cpu', flip_test: bool = True,
                 batch_size: int = 8, score_thr: float = 0.3):
        models = load_pose_models(checkpoint, config, device)
        self.model = models['film']
        self.refiner = models.get('hip')
        # as tools/test.py: pass k refines around pass k-1's points
        self.refine_passes = (refine_passes(self.refiner.cfg) if self.refiner is not None else 0)
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
            info = dict(info, bbox=np.asarray(info['bbox'], np.float32)[None],
                        bbox_score=np.ones(1, np.float32))
            info.update(model.dataset_meta)
            data.append(pipeline(info))
        with torch.no_grad():
            samples = model.test_step(pseudo_collate(data))
        keypoints = np.stack([s.pred_instances.keypoints[0] for s in samples])
        scores = np.stack([s.pred_instances.keypoint_scores[0] for s in samples])
        return keypoints, scores

    def predict_arrays(self, films: list[np.ndarray], spacings: list | None = None) -> list[dict]:
        """Results for decoded films (stored arrays, any bit depth: the network
        sees them as :func:`film_io.to_bgr8` makes them, as in training).

        Args:
            films (list[np.ndarray]): the films.
            spacings (list, optional): ``(x, y)`` mm per pixel (or None) per film.
                Defaults to None (unknown).

        Returns:
            list[dict]: one record per film (:meth:`measure`).
        """
        films = [to_bgr8(f) for f in films]
        spacings = list(spacings) if spacings is not None else [None] * len(films)
        results = []
        for start in range(0, len(films), self.batch_size):
            batch = films[start:start + self.batch_size]
            keypoints, scores = self._run(self.model, [
                dict(img=f, bbox=[0, 0, f.shape[1], f.shape[0]]) for f in batch])
            for _ in range(self.refine_passes):
                keypoints, scores = self._refine(batch, keypoints)
            results += [self.measure(k, s, (f.shape[1], f.shape[0]), spacing)
                        for k, s, f, spacing in zip(keypoints, scores, batch,
                                                    spacings[start:start + self.batch_size])]
        return results

    def _refine(self, films: list[np.ndarray], keypoints: np.ndarray):
        """Each hip again, around the whole-film stage's points (both hips of a
        film in one batch; the image-right hip mirrored as in training)."""
        infos = [dict(img=film, bbox=hip_box(points[list(index)]), hip_side=side,
                      mirror=side == MIRRORED_HIP)
                 for film, points in zip(films, keypoints)
                 for side, index in enumerate(geometry.HIP_KEYPOINTS)]
        hip_points, hip_scores = self._run(self.refiner, infos)
        joined = [merge_hips([np.column_stack([hip_points[2 * i + s], hip_scores[2 * i + s]])
                              for s in (0, 1)], film.shape[1])
                  for i, film in enumerate(films)]
        return (np.stack([j[:, :2] for j in joined]), np.stack([j[:, 2] for j in joined]))

    def measure(self, keypoints: np.ndarray, scores: np.ndarray, image_size=None,
                pixel_spacing=None) -> dict:
        """The output record of one film from its keypoints (12, 2) and scores (12,).

        A hip that :func:`geometry.measurability` rejects (most points low
        confidence, implausible geometry, non-finite points) gets null AI and grade
        and its reason in ``not_measured`` (``{}`` when both hips were measured).
        With ``pixel_spacing`` (``(x, y)`` mm per pixel) the record gives it as
        ``pixel_spacing_mm`` and each measured hip's H-point distances to its
        reference lines in mm (``h_point_mm``: ``lateral_of_p``, ``below_h``,
        ``lateral_of_d``, see :func:`geometry.h_point_offsets`); both are null
        without a spacing. Keypoints stay in pixels.
        """
        def _number(value, digits: int):  # JSON has no NaN/inf: None instead
            return round(float(value), digits) if np.isfinite(value) else None

        keypoints = np.asarray(keypoints, np.float64)
        ai = geometry.acetabular_indices(keypoints)
        grades = geometry.ihdi_grades(keypoints)
        reasons = geometry.measurability(keypoints, scores, image_size, self.score_thr)
        h_point_mm = None
        if pixel_spacing is not None:
            with np.errstate(invalid='ignore', over='ignore'):
                offsets = geometry.h_point_offsets(keypoints * np.asarray(pixel_spacing))
            h_point_mm = {h: (None if r else {k: _number(v[i], 2) for k, v in offsets.items()})
                          for i, (h, r) in enumerate(zip(HIPS, reasons))}
        return dict(
            keypoints=[[_number(x, 2), _number(y, 2), _number(s, 4)]
                       for (x, y), s in zip(keypoints, scores)],
            acetabular_index={h: (None if r or np.isnan(a) else round(float(a), 2))
                              for h, a, r in zip(HIPS, ai, reasons)},
            ihdi_grade={h: (None if r else geometry.GRADE_NAMES[int(g)])
                        for h, g, r in zip(HIPS, grades, reasons)},
            not_measured={h: r for h, r in zip(HIPS, reasons) if r},
            pixel_spacing_mm=(None if pixel_spacing is None
                              else [round(float(v), 6) for v in pixel_spacing]),
            h_point_mm=h_point_mm,
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
    def predict_files(self, paths: Iterable, spacings: dict | None = None) -> Iterator[tuple]:
        """Yield ``(path, film, result, error)`` per film, in order of reading.

        Films are read with :func:`film_io.read_film` (JPEG, PNG, DICOM), as in
        training; ``film`` is the 8-bit BGR image the network saw. An unreadable
        file yields ``(path, None, None, message)`` and the rest go on.

        Args:
            paths (Iterable): film files.
            spacings (dict, optional): ``{file name: (x, y) mm per pixel}`` (a
                ``spacing.csv``); overrides a DICOM header's. Defaults to None.
        """
        spacings = spacings or {}
        pending: list = []
        for path in map(Path, paths):
            try:
                pending.append((path, read_film(path, pixel_spacing=spacings.get(path.name))))
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
        results = self.predict_arrays([f.image for _, f in pending],
                                      [f.pixel_spacing for _, f in pending])
        for (path, film), result in zip(pending, results):
            result['file'] = path.name
            result['image_size'] = list(film.size)
            yield path, film.image, result, None

    def overlay(self, film: np.ndarray, result: dict) -> np.ndarray:
        """The film with the result's points, lines, AI and grade (8-bit BGR),
        drawn by :class:`HipPoseVisualizer`."""
        kp = np.array(result['keypoints'], dtype=float)  # None (JSON null) -> nan
        return overlay_visualizer(self.score_thr).draw_hip_geometry(
            film, kp[:, :2], kp[:, 2], label=f'{result.get("file", "")} (prediction)',
            not_measured=result.get('not_measured'))
