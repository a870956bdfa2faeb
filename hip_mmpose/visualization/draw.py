"""Drawing the hip geometry onto a film (OpenCV), shared by inference and the visualizer.

The dataset browser and the per-film report figures draw through it too. The lines
come from :mod:`geometry`.
"""

from __future__ import annotations

import cv2
import numpy as np

from hip_mmpose import geometry
from hip_mmpose.utils.film_io import to_bgr8

# BGR colours; chosen to stay distinct on a grey film and for red-green colour blindness
COLOURS = dict(
    h_line=(255, 0, 255),
    roof=(0, 165, 255),
    p_line=(255, 255, 0),
    d_line=(0, 255, 255),
    h_point=(0, 0, 255),
    point=(0, 255, 0),
    low=(0, 0, 255),
    text=(255, 255, 255),
    decision=(160, 160, 160),
    review=(0, 0, 255),
)


def _pt(p):
    return tuple(int(round(v)) for v in p)


def draw_hip_geometry(
    img: np.ndarray,
    points,
    scores=None,
    score_thr: float = geometry.SCORE_THR,
    label: str | None = None,
    numbers: bool = False,
    not_measured: dict | None = None,
    p_line_shift: float = 0.0,
    intervals: dict | None = None,
    patient_side: dict | None = None,
    review: dict | None = None,
) -> np.ndarray:
    """Return a copy of ``img`` with lines, H-points, AI and IHDI grade of each hip.

    The H-line, roof lines, P- and D-lines (:func:`geometry.reference_lines`) and
    the H-points are drawn only when all 12 points are finite; each finite point
    is drawn as a dot; each hip's AI (degrees) and IHDI grade are written along
    the bottom. Sizes scale with the film (line width ~2 px per 1024 px).

    Args:
        img (np.ndarray): the film, ``(H, W)`` or ``(H, W, 3|4)`` (BGR/BGRA), any
            bit depth (converted by :func:`film_io.to_bgr8`; not modified).
        points (array-like): the 12 points ``(12, 2)`` in film pixels.
        scores (array-like, optional): ``(12,)`` scores; points below
            ``score_thr`` are drawn red. Defaults to None (all green).
        score_thr (float): the score below which a point is drawn red. Defaults
            to :data:`hip_mmpose.geometry.SCORE_THR`.
        label (str, optional): a caption at the top left. Defaults to None.
        numbers (bool): write the 1-based keypoint numbers (for checking labels).
            Defaults to False.
        not_measured (dict, optional): ``{hip name (geometry.HIP_NAMES): reason}``;
            such a hip shows "not measured (reason)" instead of its AI and grade.
            Defaults to None.
        p_line_shift (float): where the grade is decided (:func:`geometry.ihdi_grades`);
            not 0, that line is drawn thin and grey beside the P-line. Defaults to 0.0.
        intervals (dict, optional): ``{hip name: [low, high] or None}``, each AI's
            calibrated interval (a record's ``acetabular_index_interval``), written
            after the AI: ``24.5 deg (22.1-26.9)``. Defaults to None.
        patient_side (dict, optional): ``{hip name: 'patient_right' or
            'patient_left'}`` (a record's ``patient_side``), written after each image
            side. Defaults to None (an AP film: the patient's right on the image's
            left, :func:`geometry.patient_sides`).
        review (dict, optional): ``{hip name: {'flag': bool, 'reason': str} or
            None}`` (a record's ``review``); a flagged hip's caption is written in
            red, with ``review: <reason>`` on a line above it. Defaults to None.

    Returns:
        np.ndarray: the drawing, ``(H, W, 3)`` uint8 BGR.
    """
    canvas = to_bgr8(img)
    points = np.asarray(points, float)
    scale = max(canvas.shape[:2]) / 1024
    thick = max(1, int(round(2 * scale)))
    font = 0.5 * max(scale, 0.6)
    if np.isfinite(points).all():
        lines = geometry.reference_lines(points)
        for name in ('h_line', 'roof', 'p_line', 'd_line'):
            for hip in range(2):
                a, b = lines[name][hip]
                if np.isfinite([a, b]).all():
                    cv2.line(canvas, _pt(a), _pt(b), COLOURS[name], thick, cv2.LINE_AA)
        if p_line_shift:
            outward, _ = geometry.hip_frames(points)
            moved = (
                lines['p_line']
                + (p_line_shift * geometry.h_line_lengths(points) * outward)[:, None, :]
            )
            for a, b in moved:
                if np.isfinite([a, b]).all():
                    cv2.line(canvas, _pt(a), _pt(b), COLOURS['decision'], 1, cv2.LINE_AA)
        for hp in geometry.h_points(points):
            cv2.drawMarker(
                canvas, _pt(hp), COLOURS['h_point'], cv2.MARKER_CROSS, int(14 * scale) + 6, thick
            )
    for k, p in enumerate(points):
        if not np.isfinite(p).all():
            continue
        low = scores is not None and scores[k] < score_thr
        cv2.circle(canvas, _pt(p), thick + 2, COLOURS['low' if low else 'point'], -1, cv2.LINE_AA)
        if numbers:
            cv2.putText(
                canvas,
                str(k + 1),
                _pt(p + [4, -4]),
                cv2.FONT_HERSHEY_SIMPLEX,
                font,
                COLOURS['text'],
                1,
                cv2.LINE_AA,
            )
    ai = geometry.acetabular_indices(points)
    grades = geometry.ihdi_grades(points, p_line_shift)
    h, w = canvas.shape[:2]
    sides = patient_side or dict(zip(geometry.HIP_NAMES, geometry.patient_sides()))
    for hip, x in ((0, 10), (1, w // 2 + 10)):
        side = geometry.PATIENT_LABELS.get(sides.get(geometry.HIP_NAMES[hip]), '?')
        ai_txt = 'n/a' if np.isnan(ai[hip]) else f'{ai[hip]:.1f} deg'
        interval = (intervals or {}).get(geometry.HIP_NAMES[hip])
        if interval and not np.isnan(ai[hip]):
            ai_txt += f' ({interval[0]:.1f}-{interval[1]:.1f})'
        text = (
            f'{geometry.HIP_LABELS[hip]} ({side}): AI {ai_txt}, '
            f'IHDI {geometry.GRADE_NAMES[int(grades[hip])]}'
        )
        if (not_measured or {}).get(geometry.HIP_NAMES[hip]):  # no confident-looking numbers
            text = (
                f'{geometry.HIP_LABELS[hip]} ({side}): not measured '
                f'({not_measured[geometry.HIP_NAMES[hip]]})'
            )[:72]
        flag = (review or {}).get(geometry.HIP_NAMES[hip]) or {}
        colour = COLOURS['review' if flag.get('flag') else 'text']
        _label(canvas, text, (x, h - 12), font, colour)
        if flag.get('flag'):  # why, on a line above, cut to its half of the film
            why = _fitted(f'review: {flag.get("reason") or "flagged"}', font, w // 2 - 20)
            (_, th), base = cv2.getTextSize(why, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
            _label(canvas, why, (x, h - 12 - th - base - 8), font, colour)
    if label:
        _label(canvas, label, (10, int(24 * max(scale, 0.6))), font)
    return canvas


def _fitted(text: str, font: float, width: int) -> str:
    """``text``, cut (ending in ``...``) to at most ``width`` px at ``font``."""

    def fits(t):
        return cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, font, 1)[0][0] <= width

    if fits(text):
        return text
    while len(text) > 1 and not fits(text + '...'):
        text = text[:-1]
    return text + '...'


def _label(canvas, text, origin, font, colour=COLOURS['text']):
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
    x, y = origin
    cv2.rectangle(canvas, (x - 3, y - th - 4), (x + tw + 3, y + base + 1), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font, colour, 1, cv2.LINE_AA)
