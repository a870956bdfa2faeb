"""What both measuring paths share: the two-stage loop and the output records.

:class:`HipMeasurer` runs the whole-film stage, then the per-hip stage around its
points (``refine_passes`` times), and turns the 12 points of each film into its
record (:mod:`hip_mmpose.utils.records`: keypoints, acetabular indices, IHDI grades, what
was not measured and why, flags) that ``tools/infer.py`` writes. Subclasses supply
the two stages: :class:`hip_mmpose.apis.HipInferencer` with MMPose models (torch), and
:class:`hip_mmpose.runtime.OnnxHipInferencer` with onnxruntime. This module imports
neither torch nor any OpenMMLab package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from hip_mmpose import geometry
from hip_mmpose.utils import records, uncertainty
from hip_mmpose.utils.film_io import FilmReadError, read_film, to_bgr8
from hip_mmpose.utils.hip_crops import MIRRORED_HIP, hip_box, merge_hips
from hip_mmpose.visualization.draw import draw_hip_geometry


def failure_message(path, err: BaseException, what: str | None = None) -> str:
    """One line on why a film failed, naming it by its file name only.

    Args:
        path (str | Path): the film.
        err (BaseException): what went wrong; a message that starts with the film's
            path (the readers' errors) has it replaced by the name.
        what (str, optional): what failed, e.g. ``'not measured'``; the message is
            then ``'<name>: <what> (<Type>: <first line of err>)'``. Defaults to None
            (the error's own message).

    Returns:
        str: the message, one line.
    """
    path = Path(path)
    text = (str(err).strip().splitlines() or [''])[0][:300]
    if what is not None:
        return f'{path.name}: {what} ({type(err).__name__}: {text})'
    for prefix in (str(path), str(path.resolve())):
        if text.startswith(prefix):
            return path.name + text[len(prefix) :]
    return f'{path.name}: {text}'


def _shifted(box: np.ndarray, shift, mirrored: bool) -> np.ndarray:
    """``box`` ``[x1, y1, x2, y2]`` moved by ``shift`` times its side (x mirrored for
    the mirrored hip, so both hips move alike in their own frames)."""
    if not any(shift):
        return box
    side = box[2:] - box[:2]
    move = np.array([-shift[0] if mirrored else shift[0], shift[1]]) * side
    return (box + np.tile(move, 2)).astype(box.dtype)


class HipMeasurer:
    """Films in, output records out; the stages are the subclass's.

    A subclass sets ``keypoint_names`` (the 12 names, in order), ``batch_size``,
    ``score_thr``, ``refine_passes`` (0 for a single-stage model) and
    ``p_line_shift`` (where the model's grades are decided,
    :func:`geometry.ihdi_grades`; 0 where the model names none), and implements
    :meth:`_film_points` and :meth:`_hip_points`; ``model_sha256``
    (:func:`records.file_sha256` of its model file) goes into every record.
    """

    keypoint_names: list
    batch_size: int = 8
    score_thr: float = geometry.SCORE_THR
    refine_passes: int = 0
    p_line_shift: float = 0.0
    #: the intervals' calibration (:func:`uncertainty.checked_calibration`; {}: none)
    uncertainty: dict = {}
    #: how films are stored whose file does not say (a DICOM's PatientOrientation
    #: does): one of :data:`geometry.ORIENTATIONS`; None: AP (``tools/infer.py
    #: --orientation``)
    orientation: str | None = None
    model_sha256: str | None = None

    # -------------------------------------------------------------- stages
    def _film_points(self, films: list[np.ndarray]):
        """The whole-film stage on 8-bit BGR films.

        Args:
            films (list[np.ndarray]): ``(H, W, 3)`` uint8 BGR films.

        Returns:
            tuple[np.ndarray, np.ndarray]: keypoints ``(N, 12, 2)`` in film pixels
            and scores ``(N, 12)``.
        """
        raise NotImplementedError

    def _hip_points(self, crops: list[dict]):
        """The per-hip stage on one crop per entry.

        Args:
            crops (list[dict]): ``img`` (8-bit BGR film), ``bbox`` (``[x1, y1, x2,
                y2]`` around the hip in film pixels), ``hip_side`` (index in
                ``geometry.HIP_NAMES``) and ``mirror`` (mirror the film and box
                left-right first, as :class:`MirrorHip` does).

        Returns:
            tuple[np.ndarray, np.ndarray, np.ndarray]: keypoints ``(M, 6, 2)`` (in the
            mirrored film where ``mirror``), scores ``(M, 6)`` and each point's
            heatmap spread ``(M, 6)`` in film px (:func:`uncertainty.heatmap_spread`).
        """
        raise NotImplementedError

    def predict_points(self, films: list[np.ndarray]):
        """The final points of decoded films, before rounding (both stages).

        Args:
            films (list[np.ndarray]): the films (stored arrays, any bit depth: the
                network sees them as :func:`film_io.to_bgr8` makes them).

        Returns:
            tuple[np.ndarray, np.ndarray]: keypoints ``(N, 12, 2)`` in film pixels
            and scores ``(N, 12)``.
        """
        return self._predict(films)[:2]

    def _predict(self, films: list[np.ndarray]):
        """:meth:`predict_points` plus each point's heatmap spread ``(N, 12)``, film
        px (NaN without a refining stage), and the films as the stages saw them
        (8-bit BGR, :func:`film_io.to_bgr8`)."""
        films = [to_bgr8(f, copy=False) for f in films]  # the stages only read them
        count = len(self.keypoint_names)
        keypoints, scores = [np.zeros((0, count, 2))], [np.zeros((0, count))]
        spreads = [np.zeros((0, count))]
        for start in range(0, len(films), self.batch_size):
            batch = films[start : start + self.batch_size]
            points, score = self._film_points(batch)
            spread = np.full(score.shape, np.nan)
            for _ in range(self.refine_passes):
                points, score, spread = self._refine(batch, points)
            keypoints.append(points)
            scores.append(score)
            spreads.append(spread)
        return (
            np.concatenate(keypoints),
            np.concatenate(scores),
            np.concatenate(spreads),
            films,
        )

    def predict_arrays(
        self, films: list[np.ndarray], spacings: list | None = None, film_info: list | None = None
    ) -> list[dict]:
        """One record per decoded film, both stages run on it.

        Args:
            films (list[np.ndarray]): the films (stored arrays, any bit depth: the
                network sees them as :func:`film_io.to_bgr8` makes them, as in
                training).
            spacings (list, optional): ``(x, y)`` mm per pixel (or None) per film.
                Defaults to None (unknown).
            film_info (list[dict], optional): per film what its file says
                (:meth:`film_info`: ``file``, ``orientation``, ...). Defaults to None
                (no file name; this measurer's orientation).

        Returns:
            list[dict]: one record per film (:meth:`measure`).
        """
        spacings = list(spacings) if spacings is not None else [None] * len(films)
        film_info = list(film_info) if film_info is not None else [self.film_info()] * len(films)
        keypoints, scores, spreads, seen = self._predict(films)
        edges = [
            uncertainty.roof_edges(f, k) if np.isfinite(spread).any() else None
            for f, k, spread in zip(seen, keypoints, spreads)
        ]
        return [
            self.measure(k, s, (f.shape[1], f.shape[0]), spacing, spread, edges=e, **info)
            for k, s, f, spacing, spread, e, info in zip(
                keypoints, scores, films, spacings, spreads, edges, film_info
            )
        ]

    def film_info(self, path=None, film=None) -> dict:
        """What a film's file says for its record: its name and how it is stored (its
        DICOM header's ``PatientOrientation`` where it has one, else this measurer's
        ``orientation``, else AP).

        Args:
            path (str | Path, optional): the film's file. Defaults to None.
            film (film_io.Film, optional): the film as read. Defaults to None.

        Returns:
            dict: ``file`` (the file name or None), ``orientation``,
            ``orientation_source`` (``'PatientOrientation'``, ``'option'`` or
            ``'default'``) and ``laterality`` (the header's ``ImageLaterality`` or
            None): keyword arguments of :func:`records.film_record`.
        """
        info = dict(
            file=None if path is None else Path(path).name,
            laterality=getattr(film, 'laterality', None),
        )
        if getattr(film, 'orientation', None):
            return dict(info, orientation=film.orientation, orientation_source='PatientOrientation')
        if self.orientation:
            return dict(info, orientation=self.orientation, orientation_source='option')
        return dict(info, orientation='ap', orientation_source='default')

    def _refine(self, films: list[np.ndarray], keypoints: np.ndarray, shift=(0.0, 0.0)):
        """Each hip again, around the whole-film stage's points (both hips of a
        film in one batch; the image-right hip mirrored as in training).

        The crops sit around the points at the precision the records carry
        (:data:`records.DIGITS`, 0.01 px): ``tools/test.py`` crops around the first
        stage's per-film records, so both paths cut the same crops from the same
        points (a barely trained model's flat heatmaps can tip on 0.005 px).
        ``shift`` moves every box by that fraction of its side along x and y (in the
        hip's own frame: x towards the film's edge for both hips), the probe of
        ``tools/benchmark_uncertainty.py --checkpoint``; measuring uses (0, 0)."""
        keypoints = np.round(keypoints, records.DIGITS['px'])
        crops = [
            dict(
                img=film,
                bbox=_shifted(hip_box(points[list(index)]), shift, side == MIRRORED_HIP),
                hip_side=side,
                mirror=side == MIRRORED_HIP,
            )
            for film, points in zip(films, keypoints)
            for side, index in enumerate(geometry.HIP_KEYPOINTS)
        ]
        hip_points, hip_scores, hip_spreads = self._hip_points(crops)
        hips = len(geometry.HIP_KEYPOINTS)  # crops per film, in hip_side order
        joined = [
            merge_hips(
                [
                    np.column_stack(
                        [
                            hip_points[hips * i + s],
                            hip_scores[hips * i + s],
                            hip_spreads[hips * i + s],
                        ]
                    )
                    for s in range(hips)
                ],
                film.shape[1],
            )
            for i, film in enumerate(films)
        ]
        return tuple(np.stack([j[:, c] for j in joined]) for c in (slice(0, 2), 2, 3))

    # -------------------------------------------------------------- records
    def measure(
        self,
        keypoints: np.ndarray,
        scores: np.ndarray,
        image_size=None,
        pixel_spacing=None,
        spreads=None,
        edges=None,
        **info,
    ) -> dict:
        """The record of one film (:func:`records.film_record`) from its keypoints.

        The record uses this measurer's ``score_thr`` and ``keypoint_names``. A hip
        that :func:`geometry.measurability` rejects (most points low confidence,
        implausible geometry, non-finite points) gets null AI, grade and
        ``h_point_mm``, and its reason in ``not_measured`` (``{}`` when both hips were
        measured); ``file`` is the one ``info`` names (None without).

        Args:
            keypoints (np.ndarray): ``(12, 2)`` predicted points in film pixels.
            scores (np.ndarray): ``(12,)`` their scores.
            image_size (tuple[int, int], optional): the film's ``(width, height)`` in
                pixels; enables the outside-the-film rules. Defaults to None.
            pixel_spacing (tuple[float, float], optional): ``(x, y)`` mm per pixel;
                adds ``pixel_spacing_mm`` and each measured hip's H-point distances in
                mm (``h_point_mm``); keypoints stay in pixels. Defaults to None.
            spreads (np.ndarray, optional): ``(12,)`` the points' heatmap spreads
                (film px); with this measurer's ``uncertainty`` calibration they give
                the record's AI intervals, P(grade >= II) and review flags.
                Defaults to None.
            edges (np.ndarray, optional): ``(2,)`` the hips' roof edges on the film
                (:func:`uncertainty.roof_edges`), where the calibration widens the
                intervals by them. Defaults to None.
            **info: ``file``, ``orientation``, ``orientation_source`` and
                ``laterality`` of :func:`records.film_record` (:meth:`film_info`;
                default: no file name, this measurer's orientation).

        Returns:
            dict: the film's record (fields of :data:`records.PREDICTION_FIELDS`).
        """
        return records.film_record(
            keypoints,
            scores,
            image_size=image_size,
            pixel_spacing=pixel_spacing,
            score_thr=self.score_thr,
            keypoint_names=self.keypoint_names,
            p_line_shift=self.p_line_shift,
            spreads=spreads,
            edges=edges,
            uncertainty=self.uncertainty,
            **(info or self.film_info()),
            model_sha256=self.model_sha256,
        )

    # -------------------------------------------------------------- files
    def predict_files(self, paths: Iterable, spacings: dict | None = None) -> Iterator[tuple]:
        """Yield ``(path, film, result, error)`` per film, in order of reading.

        Films are read with :func:`film_io.read_film` (JPEG, PNG, DICOM), as in
        training; ``film`` is the 8-bit BGR image the network saw. A file that cannot
        be read, or that the stages fail on (a batch that fails is run again film by
        film, so only the films that fail alone are lost), yields
        ``(path, None, None, message)`` and the rest go on; the message names the
        file by its name only (:func:`failure_message`).

        Args:
            paths (Iterable): film files.
            spacings (dict, optional): ``{file name: (x, y) mm per pixel}`` (a
                ``spacing.csv``); overrides a DICOM header's. Defaults to None.

        Yields:
            tuple: ``(path, film, result, error)``: the ``Path``, the ``(H, W, 3)``
            uint8 BGR film, its record (:meth:`measure`, with ``file`` set to the
            file name) and None; or ``(path, None, None, message)`` for a film that
            could not be read or measured.
        """
        spacings = spacings or {}
        pending: list = []
        for path in map(Path, paths):
            try:
                pending.append((path, read_film(path, pixel_spacing=spacings.get(path.name))))
            except FilmReadError as err:
                yield path, None, None, failure_message(path, err)
                continue
            if len(pending) == self.batch_size:
                yield from self._flush(pending)
                pending = []
        yield from self._flush(pending)

    def _flush(self, pending):
        if not pending:
            return
        try:
            results = self.predict_arrays(
                [f.image for _, f in pending],
                [f.pixel_spacing for _, f in pending],
                [self.film_info(path, f) for path, f in pending],
            )
        except Exception as err:  # a runtime's, a decoder's or numpy's own error
            if len(pending) > 1:  # again film by film: only the film that fails is lost
                for one in pending:
                    yield from self._flush([one])
                return
            path = pending[0][0]
            yield path, None, None, failure_message(path, err, 'not measured')
            return
        for (path, film), result in zip(pending, results):
            yield path, film.image, result, None

    def overlay(self, film: np.ndarray, result: dict) -> np.ndarray:
        """Draw a film's record on it (:func:`visualization.draw_hip_geometry`).

        Points scoring below ``score_thr`` are drawn red, null points are left out, and
        a hip in the record's ``not_measured`` shows its reason instead of AI and grade,
        and a hip its ``review`` flags is captioned in red under its reason; the grade
        is the record's (decided at this measurer's ``p_line_shift``).

        Args:
            film (np.ndarray): the film, e.g. the 8-bit BGR image
                :meth:`predict_files` yields (any bit depth; not modified).
            result (dict): its record, as :meth:`measure` makes it.

        Returns:
            np.ndarray: the drawing, ``(H, W, 3)`` uint8 BGR, labelled with the
            record's ``file``.
        """
        kp = np.array(result['keypoints'], np.float64)  # null (non-finite) -> NaN
        return draw_hip_geometry(
            film,
            kp[:, :2],
            kp[:, 2],
            self.score_thr,
            label=f'{result.get("file") or ""} (prediction)',
            not_measured=result.get('not_measured'),
            p_line_shift=result.get('ihdi_p_line_shift') or 0.0,
            intervals=result.get('acetabular_index_interval'),
            patient_side=result.get('patient_side'),
            review=result.get('review'),
        )
