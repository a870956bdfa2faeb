"""Hip geometry of an AP pelvis film: acetabular index, H-point, P/D-lines, IHDI.

The one place these measures are defined. The metric, the figures and inference
all call this module, so a clinician's definition is written down exactly once.

Pure numpy, vectorised over any leading shape: ``points`` is ``(..., 12, 2)`` in
pixels (x to the right, y downwards). Keypoints are numbered 1-12 in the data
README; here they are 0-based, so point 3 is ``points[..., 2, :]``.

Every result has a last axis of length 2: ``[image-left hip, image-right hip]``.
Degenerate input (coincident points, NaN) gives NaN (angles, distances) or grade 0
and never raises.
"""
from __future__ import annotations

import numpy as np

# 0-based indices of the keypoints each hip uses, [image-left, image-right].
ROOF_LATERAL = (0, 8)     # points 1 and 9: lateral edge of the acetabular roof
ROOF_MIDDLE = (1, 7)      # points 2 and 8
TRIRADIATE = (2, 6)       # points 3 and 7: Hilgenreiner's line runs 3 -> 7
METAPHYSIS_LATERAL = (3, 11)  # points 4 and 12
METAPHYSIS_MIDDLE = (4, 10)   # points 5 and 11
METAPHYSIS_MEDIAL = (5, 9)    # points 6 and 10

#: The six points of each hip in one anatomical order (roof lateral, roof middle,
#: triradiate, metaphysis lateral, middle, medial): ``HIP_KEYPOINTS[h][j]`` is the
#: 12-point index of hip ``h``'s j-th point. The image-right hip mirrored left-right
#: looks like an image-left hip with its points in this order (the per-hip stage).
HIP_KEYPOINTS = tuple(zip(ROOF_LATERAL, ROOF_MIDDLE, TRIRADIATE, METAPHYSIS_LATERAL,
                          METAPHYSIS_MIDDLE, METAPHYSIS_MEDIAL))

GRADE_UNDEFINED = 0
GRADE_NAMES = {0: 'undefined', 1: 'I', 2: 'II', 3: 'III', 4: 'IV'}
HIP_NAMES = ('image_left', 'image_right')


def _as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2:] != (12, 2):
        raise ValueError(f'expected points of shape (..., 12, 2), got {pts.shape}')
    return pts


def _unit(vec: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; NaN where the length is zero."""
    norm = np.linalg.norm(vec, axis=-1, keepdims=True)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(norm > 0, vec / np.where(norm > 0, norm, 1.0), np.nan)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors a and b in degrees, NaN if either is zero.

    atan2(|a x b|, a . b) equals arccos of the normalised dot product (the
    template's formula) but stays accurate near 0 and 180 degrees.
    """
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = (a * b).sum(-1)
    zero = (np.linalg.norm(a, axis=-1) == 0) | (np.linalg.norm(b, axis=-1) == 0)
    angle = np.degrees(np.arctan2(np.abs(cross), dot))
    return np.where(zero, np.nan, angle)


def acetabular_indices(points) -> np.ndarray:
    """AI in degrees, ``(..., 2)``.

    Image-left hip: angle between the H-line (3 -> 7) and the roof line (1 -> 3).
    Image-right hip: angle between (7 -> 3) and the roof line (9 -> 7).
    """
    p = _as_points(points)
    p1, p3, p7, p9 = p[..., 0, :], p[..., 2, :], p[..., 6, :], p[..., 8, :]
    left = _angle_deg(p7 - p3, p3 - p1)
    right = _angle_deg(p3 - p7, p7 - p9)
    return np.stack([left, right], axis=-1)


def h_points(points) -> np.ndarray:
    """H-points ``(..., 2, 2)``: midpoint of 4 and 6 (image-left), of 10 and 12."""
    p = _as_points(points)
    lat = p[..., list(METAPHYSIS_LATERAL), :]
    med = p[..., list(METAPHYSIS_MEDIAL), :]
    return (lat + med) / 2.0


def hip_frames(points):
    """Per-hip directions ``outward`` and ``down``, each ``(..., 2, 2)``.

    ``outward`` runs along the H-line away from the midline (towards image-left for
    the image-left hip); ``down`` is perpendicular to the H-line and points to the
    feet (positive image y for an upright film). Both are unit vectors or NaN.
    """
    p = _as_points(points)
    along = _unit(p[..., 6, :] - p[..., 2, :])           # 3 -> 7, left to right
    down = np.stack([-along[..., 1], along[..., 0]], -1)  # rotate +90 deg in image axes
    outward = np.stack([-along, along], axis=-2)
    return outward, np.stack([down, down], axis=-2)


def h_line_feet(points) -> np.ndarray:
    """Where each P-line meets the H-line ``(..., 2, 2)``: foot of 1 (9) on line 3-7."""
    p = _as_points(points)
    outward, down = hip_frames(points)
    p3 = p[..., 2, :][..., None, :]
    roof = p[..., list(ROOF_LATERAL), :]
    depth = ((roof - p3) * down).sum(-1, keepdims=True)
    return roof - depth * down


def h_point_offsets(points) -> dict:
    """Signed distances (px) of each hip's H-point to its reference lines, ``(..., 2)``.

    - ``lateral_of_p``: distance lateral of the P-line (> 0 lateral, <= 0 medial);
    - ``below_h``: distance below the H-line (> 0 below, < 0 above);
    - ``lateral_of_d``: perpendicular distance lateral of the D-line (> 0 lateral).
    """
    outward, down = hip_frames(points)
    rel = h_points(points) - h_line_feet(points)
    lateral = (rel * outward).sum(-1)
    below = (rel * down).sum(-1)
    # The D-line runs along (outward + down) / sqrt(2) from the foot; lateral of it
    # means further outward than down.
    return dict(lateral_of_p=lateral, below_h=below,
                lateral_of_d=(lateral - below) / np.sqrt(2.0))


def ihdi_grades(points) -> np.ndarray:
    """IHDI grade per hip, ``(..., 2)`` ints: 1-4 for I-IV, 0 where undefined.

    I: H-point at or medial to the P-line. II: lateral to the P-line and at or
    medial to the D-line. III: lateral to the D-line and at or below the H-line.
    IV: above the H-line (and lateral to the P-line).
    """
    off = h_point_offsets(points)
    lat, below = off['lateral_of_p'], off['below_h']
    grade = np.select(
        [lat <= 0, below < 0, lat <= below, lat > below],
        [1, 4, 2, 3], default=GRADE_UNDEFINED)
    defined = np.isfinite(lat) & np.isfinite(below)
    return np.where(defined, grade, GRADE_UNDEFINED).astype(np.int64)


def reference_lines(points, length: float | None = None) -> dict:
    """Line segments for drawing, each ``(..., 2, 2, 2)`` = [hip][start/end][x/y].

    ``h_line`` is the same segment for both hips (3 -> 7, extended past both roofs);
    ``p_line`` runs down from the H-line through point 1 (9); ``d_line`` runs at 45
    degrees down and out from the same foot; ``roof`` is 1 -> 3 and 9 -> 7.
    ``length`` (px) defaults to half the distance between points 3 and 7.
    """
    p = _as_points(points)
    outward, down = hip_frames(points)
    feet = h_line_feet(points)
    p3, p7 = p[..., 2, :], p[..., 6, :]
    if length is None:
        length = 0.5 * np.linalg.norm(p7 - p3, axis=-1)[..., None, None]
    seg = lambda start, direction: np.stack([start, start + length * direction], -2)
    along = (p7 - p3)
    h_start, h_end = p3 - 0.6 * along, p7 + 0.6 * along
    h_line = np.stack([np.stack([h_start, h_end], -2)] * 2, axis=-3)
    roof = np.stack([np.stack([p[..., 0, :], p3], -2),
                     np.stack([p[..., 8, :], p7], -2)], axis=-3)
    return dict(
        h_line=h_line,
        p_line=np.stack([feet - 0.3 * length * down, feet + length * down], -2),
        d_line=seg(feet, (outward + down) / np.sqrt(2.0)),
        roof=roof,
    )
