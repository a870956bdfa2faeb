"""Measuring a reviewer's points: the record and the lines the page draws.

Every number comes from :mod:`hip_mmpose.geometry` through
:func:`hip_mmpose.utils.records.film_record` (the record ``tools/infer.py`` writes);
the page draws the segments :func:`lines` returns and computes nothing itself.
"""

from __future__ import annotations

import numpy as np

from hip_mmpose import geometry
from hip_mmpose.utils import records

#: the score a point the reviewer placed or moved gets (a person put it there)
PLACED_SCORE = 1.0


def _rounded(value):
    """Nested lists of numbers rounded to the records' pixels, None where not finite."""
    array = np.asarray(value, np.float64)
    flat = [
        round(float(v), records.DIGITS['px']) if np.isfinite(v) else None for v in array.ravel()
    ]
    return np.array(flat, dtype=object).reshape(array.shape).tolist()


def complete(points) -> bool:
    """Whether ``points`` are the 12 points of a film, each a finite ``[x, y]``.

    Args:
        points (list): ``[[x, y] or None, ...]``.

    Returns:
        bool: True for 12 finite points.
    """
    return (
        len(points) == geometry.NUM_KEYPOINTS
        and all(p is not None and None not in p[:2] for p in points)
        and bool(np.isfinite(np.asarray([p[:2] for p in points], np.float64)).all())
    )


def lines(points) -> dict | None:
    """What the page draws of 12 points: the reference lines and H-points, film pixels.

    Args:
        points (array-like): ``(12, 2)`` points in film pixels.

    Returns:
        dict | None: ``h_line``, ``p_line``, ``d_line`` and ``roof`` (per hip
        ``[[x1, y1], [x2, y2]]``, :func:`geometry.reference_lines`), ``h_point``
        (per hip ``[x, y]``) and ``h_point_px`` (the H-point's signed distances in
        pixels, :func:`geometry.h_point_offsets`, per hip); None when the points are
        not 12 finite points.
    """
    if not complete(points):
        return None
    pts = np.asarray([p[:2] for p in points], np.float64)
    with np.errstate(invalid='ignore', over='ignore'):
        segments = geometry.reference_lines(pts)
        h_point = geometry.h_points(pts)
        offsets = geometry.h_point_offsets(pts)
    out = {name: _rounded(segment) for name, segment in segments.items()}
    out['h_point'] = _rounded(h_point)
    out['h_point_px'] = {
        hip: {key: _rounded(value[i]) for key, value in offsets.items()}
        for i, hip in enumerate(geometry.HIP_NAMES)
    }
    return out


def measure(
    points,
    scores,
    image_size,
    pixel_spacing=None,
    score_thr: float = geometry.SCORE_THR,
    keypoint_names=None,
    p_line_shift: float = 0.0,
    file: str | None = None,
) -> dict:
    """The record of a film's current points (:func:`records.film_record`).

    Args:
        points (array-like): ``(12, 2)`` points in film pixels.
        scores (array-like): ``(12,)`` their scores (:data:`PLACED_SCORE` for a
            point the reviewer placed).
        image_size (tuple[int, int]): the film's ``(width, height)``.
        pixel_spacing (tuple[float, float], optional): mm per pixel. Defaults to None.
        score_thr (float): the low-confidence threshold. Defaults to
            :data:`geometry.SCORE_THR`.
        keypoint_names (Sequence[str], optional): the 12 names for the flags.
            Defaults to None.
        p_line_shift (float): where the grade is decided (0: the clinical P-line).
            Defaults to 0.0.
        file (str, optional): the film's file name. Defaults to None.

    Returns:
        dict: the record (:data:`records.PREDICTION_FIELDS`).
    """
    return records.film_record(
        np.asarray(points, np.float64),
        np.asarray(scores, np.float64),
        file=file,
        image_size=image_size,
        pixel_spacing=pixel_spacing,
        score_thr=score_thr,
        keypoint_names=keypoint_names,
        p_line_shift=p_line_shift,
    )
