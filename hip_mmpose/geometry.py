"""Hip geometry of an AP pelvis film: acetabular index, H-point, P/D-lines, IHDI.

The one place these measures are defined. The metric, the figures and inference
all call this module, so a clinician's definition is written down exactly once.

Pure numpy, vectorised over any leading shape: ``points`` is ``(..., 12, 2)`` in
pixels (x to the right, y downwards). Keypoints are numbered 1-12 in the data
README; here they are 0-based, so point 3 is ``points[..., 2, :]``.

Every result has a last axis of length 2: ``[image-left hip, image-right hip]``.
Degenerate input (coincident points, NaN, inf, or coordinates so large that the
arithmetic overflows) gives NaN (angles, distances) or grade 0 and never raises.
:func:`measurability` says, per hip, whether predicted points are worth measuring;
:func:`plausibility_flags` what a reader should check by eye; :func:`doubts` which
hips the review flag sends to a reader for it.
"""

from __future__ import annotations

import numpy as np

# 0-based indices of the keypoints each hip uses, [image-left, image-right].
ROOF_LATERAL = (0, 8)  # points 1 and 9: lateral edge of the acetabular roof
ROOF_MIDDLE = (1, 7)  # points 2 and 8
TRIRADIATE = (2, 6)  # points 3 and 7: Hilgenreiner's line runs 3 -> 7
METAPHYSIS_LATERAL = (3, 11)  # points 4 and 12
METAPHYSIS_MIDDLE = (4, 10)  # points 5 and 11
METAPHYSIS_MEDIAL = (5, 9)  # points 6 and 10

#: The six points of each hip in one anatomical order (roof lateral, roof middle,
#: triradiate, metaphysis lateral, middle, medial): ``HIP_KEYPOINTS[h][j]`` is the
#: 12-point index of hip ``h``'s j-th point. The image-right hip mirrored left-right
#: looks like an image-left hip with its points in this order (the per-hip stage).
HIP_KEYPOINTS = tuple(
    zip(
        ROOF_LATERAL,
        ROOF_MIDDLE,
        TRIRADIATE,
        METAPHYSIS_LATERAL,
        METAPHYSIS_MIDDLE,
        METAPHYSIS_MEDIAL,
    )
)
#: Points on a film (12) and on one hip (6, the per-hip stage's model).
NUM_KEYPOINTS = sum(len(hip) for hip in HIP_KEYPOINTS)
HIP_NUM_KEYPOINTS = len(HIP_KEYPOINTS[0])

GRADE_UNDEFINED = 0
#: The IHDI grades a hip can have (1-4 for I-IV); 0 is :data:`GRADE_UNDEFINED`.
GRADES = (1, 2, 3, 4)
GRADE_NAMES = {0: 'undefined', 1: 'I', 2: 'II', 3: 'III', 4: 'IV'}
#: Hip keys of every per-hip result, and the words for a reader, [image-left, image-right].
HIP_NAMES = ('image_left', 'image_right')
HIP_LABELS = ('image-left', 'image-right')
#: How a film is stored: ``'ap'`` as an AP film is read, facing the patient (the
#: patient's right on the image's left), or ``'mirrored'`` (flipped left-right).
ORIENTATIONS = ('ap', 'mirrored')
#: The patient's side of each hip of an AP film, [image-left, image-right], and the
#: words for a reader.
PATIENT_SIDES = ('patient_right', 'patient_left')
PATIENT_LABELS = {'patient_right': 'right hip', 'patient_left': 'left hip'}
#: 0-based keypoints each hip's AI depends on: its roof edge, its end of the H-line
#: and the other end (1, 3, 7 for the image-left hip; 9, 7, 3 for the image-right).
AI_POINTS = tuple((ROOF_LATERAL[h], TRIRADIATE[h], TRIRADIATE[1 - h]) for h in range(2))
#: 0-based keypoints each hip's AI and grade depend on (the H-line's 3 and 7 for both).
HIP_POINTS = tuple(AI_POINTS[h] + (METAPHYSIS_LATERAL[h], METAPHYSIS_MEDIAL[h]) for h in range(2))
AI_PLAUSIBLE = (0.0, 50.0)  # degrees; outside it a predicted AI is not believed
H_LINE_MAX_TILT = 15.0  # degrees from horizontal; a steeper H-line is flagged
SCORE_THR = 0.3  # keypoint scores below it are low confidence (the tools' default)
COORD_LIMIT = 1e9  # px; no film is that large, and squares of larger numbers overflow sooner


def patient_sides(orientation: str = 'ap') -> tuple[str, str]:
    """The patient's side of each hip, [image-left, image-right], of a film stored so.

    Args:
        orientation (str): one of :data:`ORIENTATIONS`. Defaults to ``'ap'``.

    Returns:
        tuple[str, str]: names from :data:`PATIENT_SIDES`; ``('patient_right',
        'patient_left')`` for an AP film, the other way round for a mirrored one.

    Raises:
        ValueError: an orientation not in :data:`ORIENTATIONS`.
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f'orientation {orientation!r}: expected one of {ORIENTATIONS}')
    return PATIENT_SIDES if orientation == 'ap' else PATIENT_SIDES[::-1]


def _as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2:] != (12, 2):
        raise ValueError(f'expected points of shape (..., 12, 2), got {pts.shape}')
    return pts


def _unit(vec: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; NaN where the length is zero or not finite."""
    with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
        norm = np.linalg.norm(vec, axis=-1, keepdims=True)
        ok = (norm > 0) & np.isfinite(norm)
        return np.where(ok, vec / np.where(ok, norm, 1.0), np.nan)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors a and b in degrees, NaN if either is zero.

    atan2(|a x b|, a . b) equals arccos of the normalised dot product (the
    template's formula) but stays accurate near 0 and 180 degrees.
    """
    with np.errstate(invalid='ignore', over='ignore'):
        cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
        dot = (a * b).sum(-1)
        norm_a, norm_b = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
        angle = np.degrees(np.arctan2(np.abs(cross), dot))
    # inf or overflowing coordinates would give a number (inf gives 135 deg): undefined
    defined = (
        (norm_a > 0)
        & (norm_b > 0)
        & np.isfinite(norm_a)
        & np.isfinite(norm_b)
        & np.isfinite(cross)
        & np.isfinite(dot)
    )
    return np.where(defined, angle, np.nan)


def acetabular_indices(points) -> np.ndarray:
    """Acetabular index of each hip, in degrees.

    Image-left hip: angle between the H-line (3 -> 7) and the roof line (1 -> 3).
    Image-right hip: angle between (7 -> 3) and the roof line (9 -> 7).

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.

    Returns:
        np.ndarray: ``(..., 2)`` acetabular index in degrees, [image-left, image-right];
        NaN where a line has zero length or the input is not finite.
    """
    p = _as_points(points)
    p1, p3, p7, p9 = p[..., 0, :], p[..., 2, :], p[..., 6, :], p[..., 8, :]
    left = _angle_deg(p7 - p3, p3 - p1)
    right = _angle_deg(p3 - p7, p7 - p9)
    return np.stack([left, right], axis=-1)


def h_points(points) -> np.ndarray:
    """H-point of each hip: the midpoint of points 4 and 6 (image-left), of 12 and 10.

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.

    Returns:
        np.ndarray: ``(..., 2, 2)`` H-points in film pixels, [image-left, image-right][x/y].
    """
    p = _as_points(points)
    lat = p[..., list(METAPHYSIS_LATERAL), :]
    med = p[..., list(METAPHYSIS_MEDIAL), :]
    return (lat + med) / 2.0


def hip_frames(points):
    """Per-hip directions ``outward`` and ``down``, each ``(..., 2, 2)``.

    ``outward`` runs along the H-line away from the midline (towards image-left for
    the image-left hip); ``down`` is perpendicular to the H-line and points to the
    feet (positive image y for an upright film). Both are unit vectors or NaN.

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(outward, down)``, each ``(..., 2, 2)``
        = [image-left, image-right][x/y]; ``down`` is the same for both hips.
    """
    p = _as_points(points)
    along = _unit(p[..., 6, :] - p[..., 2, :])  # 3 -> 7, left to right
    down = np.stack([-along[..., 1], along[..., 0]], -1)  # rotate +90 deg in image axes
    outward = np.stack([-along, along], axis=-2)
    return outward, np.stack([down, down], axis=-2)


def h_line_feet(points) -> np.ndarray:
    """Where each P-line meets the H-line: the foot of point 1 (9) on the line 3-7.

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.

    Returns:
        np.ndarray: ``(..., 2, 2)`` feet in film pixels, [image-left, image-right][x/y].
    """
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

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.

    Returns:
        dict[str, np.ndarray]: ``lateral_of_p``, ``below_h`` and ``lateral_of_d``, each
        ``(..., 2)`` in film pixels, [image-left, image-right]; NaN where undefined.
    """
    outward, down = hip_frames(points)
    rel = h_points(points) - h_line_feet(points)
    lateral = (rel * outward).sum(-1)
    below = (rel * down).sum(-1)
    # The D-line runs along (outward + down) / sqrt(2) from the foot; lateral of it
    # means further outward than down.
    return dict(lateral_of_p=lateral, below_h=below, lateral_of_d=(lateral - below) / np.sqrt(2.0))


def ihdi_grades(points, p_line_shift=0.0) -> np.ndarray:
    """IHDI grade per hip, ``(..., 2)`` ints: 1-4 for I-IV, 0 where undefined.

    I: H-point at or medial to the P-line. II: lateral to the P-line and at or
    medial to the D-line. III: lateral to the D-line and at or below the H-line.
    IV: above the H-line (and lateral to the P-line).

    With ``p_line_shift`` the decision is taken at a P-line moved outward by that
    fraction of the H-line's length (3 -> 7), its D-line with it (negative: medially).
    0 is the clinical definition and grades true points; a model whose predicted
    offsets regress toward the population's mean reads a hip that sits on the P-line
    slightly medial of it, and :func:`fit_p_line_shift` measures where.

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.
        p_line_shift (float | array-like): the decision's P-line shift, a fraction of
            the H-line's length; broadcast against the films (shape ``(...)``).
            Defaults to 0.0.

    Returns:
        np.ndarray: ``(..., 2)`` int64 grades, [image-left, image-right]; 1-4 for I-IV,
        :data:`GRADE_UNDEFINED` (0) where the H-point's offsets are not finite.
    """
    with np.errstate(invalid='ignore', over='ignore'):
        off = h_point_offsets(points)
        lat, below = off['lateral_of_p'], off['below_h']
        shift = np.asarray(p_line_shift, np.float64)
        if shift.any():
            lat = lat - shift[..., None] * h_line_lengths(points)[..., None]
    grade = np.select(
        [lat <= 0, below < 0, lat <= below, lat > below], [1, 4, 2, 3], default=GRADE_UNDEFINED
    )
    defined = np.isfinite(lat) & np.isfinite(below)
    return np.where(defined, grade, GRADE_UNDEFINED).astype(np.int64)


def h_line_lengths(points) -> np.ndarray:
    """Length of the H-line, points 3 to 7, ``(...)`` in film pixels.

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.

    Returns:
        np.ndarray: ``(...)`` lengths (NaN or inf where the points are not finite).
    """
    p = _as_points(points)
    with np.errstate(invalid='ignore', over='ignore'):
        return np.linalg.norm(p[..., TRIRADIATE[1], :] - p[..., TRIRADIATE[0], :], axis=-1)


#: :func:`fit_p_line_shift` refuses a shift beyond this fraction of the H-line (~4 %
#: of it is 11 px on a 280-px H-line, several times the shifts measured on real films)
P_LINE_SHIFT_LIMIT = 0.04
#: and a fit on fewer hips than this
P_LINE_SHIFT_MIN_HIPS = 40


def checked_p_line_shift(shift) -> float:
    """``shift`` as a float, or an error naming what is wrong with it.

    Args:
        shift: a P-line shift (fraction of the H-line's length).

    Returns:
        float: the shift.

    Raises:
        ValueError: not a finite number (a bool is not one) within
            :data:`P_LINE_SHIFT_LIMIT`.
    """
    if isinstance(shift, (bool, np.bool_)):
        raise ValueError(f'p_line_shift must be a number; got {shift!r}')
    try:
        value = float(shift)
    except (TypeError, ValueError):
        raise ValueError(f'p_line_shift must be a number; got {shift!r}') from None
    if not abs(value) <= P_LINE_SHIFT_LIMIT:
        raise ValueError(
            f'p_line_shift {value!r}: expected a finite number within '
            f'+-{P_LINE_SHIFT_LIMIT} of the H-line'
        )
    return value


def fit_p_line_shift(pred, truth) -> float:
    """Where a hip that sits on the P-line reads: the grade's decision point.

    Each hip's H-point offset lateral of the P-line, as a fraction of the H-line's
    length, predicted against true: the intercept of the least-squares line
    ``pred = a + b * true`` is ``a``, the predicted offset of a hip whose true H-point
    lies on the P-line. A model whose offsets regress toward the mean (``b < 1``,
    most hips medial of the line) reads such hips medial of it (``a < 0``) and grades
    too few of them II; :func:`ihdi_grades` with ``p_line_shift=a`` decides there.
    Fit it on films the model was not trained on (the val split).

    Args:
        pred (array-like): ``(N, 12, 2)`` predicted points in film pixels.
        truth (array-like): ``(N, 12, 2)`` the true points.

    Returns:
        float: the shift ``a`` (fraction of the H-line's length).

    Raises:
        ValueError: other shapes, fewer than :data:`P_LINE_SHIFT_MIN_HIPS` hips with
            finite offsets, true offsets that do not vary, or a fit beyond
            :data:`P_LINE_SHIFT_LIMIT`.
    """
    pred, truth = _as_points(pred), _as_points(truth)
    if pred.shape != truth.shape or pred.ndim != 3:
        raise ValueError(
            f'expected predicted and true points of one shape (N, 12, 2); '
            f'got {pred.shape} and {truth.shape}'
        )
    with np.errstate(invalid='ignore', over='ignore', divide='ignore'):
        rel_pred = h_point_offsets(pred)['lateral_of_p'] / h_line_lengths(pred)[:, None]
        rel_true = h_point_offsets(truth)['lateral_of_p'] / h_line_lengths(truth)[:, None]
    ok = np.isfinite(rel_pred) & np.isfinite(rel_true)
    x, y = rel_true[ok], rel_pred[ok]
    if x.size < P_LINE_SHIFT_MIN_HIPS:
        raise ValueError(
            f'{x.size} hips with finite offsets; fitting the P-line shift '
            f'needs at least {P_LINE_SHIFT_MIN_HIPS}'
        )
    spread = x - x.mean()
    if not x.std() > 1e-6:  # a millionth of the H-line: no spread to fit a line to
        raise ValueError('the true offsets do not vary; no line can be fitted')
    slope = (spread * (y - y.mean())).sum() / (spread**2).sum()
    shift = float(y.mean() - slope * x.mean())
    if not abs(shift) <= P_LINE_SHIFT_LIMIT:
        raise ValueError(
            f'fitted P-line shift {shift:+.4f} of the H-line is beyond '
            f'+-{P_LINE_SHIFT_LIMIT}; the predicted offsets do not follow '
            'the true ones'
        )
    return shift


def reference_lines(points, length: float | None = None) -> dict:
    """Line segments for drawing, each ``(..., 2, 2, 2)`` = [hip][start/end][x/y].

    ``h_line`` is the same segment for both hips (3 -> 7, extended past both roofs);
    ``p_line`` runs down from the H-line through point 1 (9); ``d_line`` runs at 45
    degrees down and out from the same foot; ``roof`` is 1 -> 3 and 9 -> 7.

    Args:
        points (array-like): ``(..., 12, 2)`` keypoints in film pixels.
        length (float, optional): length in film pixels of the P- and D-line segments
            (the P-line also reaches ``0.3 * length`` above the H-line). Defaults to
            None: half the distance between points 3 and 7.

    Returns:
        dict[str, np.ndarray]: ``h_line``, ``p_line``, ``d_line`` and ``roof``, each
        ``(..., 2, 2, 2)`` in film pixels.
    """
    p = _as_points(points)
    outward, down = hip_frames(points)
    feet = h_line_feet(points)
    p3, p7 = p[..., 2, :], p[..., 6, :]
    if length is None:
        length = 0.5 * h_line_lengths(p)[..., None, None]
    seg = lambda start, direction: np.stack([start, start + length * direction], -2)
    along = p7 - p3
    h_start, h_end = p3 - 0.6 * along, p7 + 0.6 * along
    h_line = np.stack([np.stack([h_start, h_end], -2)] * 2, axis=-3)
    roof = np.stack([np.stack([p[..., 0, :], p3], -2), np.stack([p[..., 8, :], p7], -2)], axis=-3)
    return dict(
        h_line=h_line,
        p_line=np.stack([feet - 0.3 * length * down, feet + length * down], -2),
        d_line=seg(feet, (outward + down) / np.sqrt(2.0)),
        roof=roof,
    )


def measurability(points, scores=None, image_size=None, score_thr: float = SCORE_THR) -> list:
    """Whether each hip of one film's *predicted* points is worth measuring.

    A hip is not measurable when a point its AI or grade uses (:data:`HIP_POINTS`)
    is not finite (or beyond :data:`COORD_LIMIT`), when most of those points score
    below ``score_thr``, when one lies outside the film, when points 3 and 7 are
    swapped, when its roof edge is not lateral of its triradiate point, or when its
    AI is undefined or outside :data:`AI_PLAUSIBLE`. The first applicable reason is
    given.

    Args:
        points (array-like): ``(12, 2)`` keypoints in film pixels.
        scores (array-like, optional): ``(12,)`` keypoint scores. Defaults to None
            (the confidence rule is skipped).
        image_size (tuple[int, int], optional): film ``(width, height)`` in pixels.
            Defaults to None (the outside-the-film rule is skipped).
        score_thr (float): scores below it count as low confidence. Defaults to
            :data:`SCORE_THR`.

    Returns:
        list[str | None]: ``[reason or None, reason or None]`` for the [image-left,
        image-right] hip; None means measurable.
    """
    p = _as_points(points)
    if p.shape != (12, 2):
        raise ValueError(f'expected the points of one film (12, 2), got {p.shape}')
    with np.errstate(invalid='ignore', over='ignore'):
        ai = acetabular_indices(p)
    reasons = []
    for hip, used in enumerate(HIP_POINTS):
        used = list(used)
        roof, tri = p[ROOF_LATERAL[hip]], p[TRIRADIATE[hip]]
        outward = -1 if hip == 0 else 1  # image-left hip's lateral side is x smaller
        with np.errstate(invalid='ignore', over='ignore'):
            low = (
                int(np.sum(~(np.asarray(scores, float)[used] >= score_thr)))
                if scores is not None
                else 0
            )
        if not (np.isfinite(p[used]).all() and (np.abs(p[used]) < COORD_LIMIT).all()):
            reason = 'non-finite or overflowing keypoint coordinates'
        elif low > len(used) / 2:
            reason = (
                f'most of its keypoints are low confidence ({low} of {len(used)} '
                f'score below {score_thr:g})'
            )
        elif image_size is not None and not (
            (p[used] >= 0).all()
            and (p[used, 0] <= image_size[0]).all()
            and (p[used, 1] <= image_size[1]).all()
        ):
            reason = 'a keypoint lies outside the film'
        elif not p[TRIRADIATE[1], 0] > p[TRIRADIATE[0], 0]:
            reason = (
                f'implausible geometry: point {TRIRADIATE[0] + 1} is not left of '
                f'point {TRIRADIATE[1] + 1}'
            )
        elif not outward * (roof[0] - tri[0]) > 0:
            reason = 'implausible geometry: roof edge not lateral of the triradiate point'
        elif np.isnan(ai[hip]):
            reason = 'acetabular index undefined'
        elif not AI_PLAUSIBLE[0] <= ai[hip] <= AI_PLAUSIBLE[1]:
            reason = (
                f'implausible acetabular index {ai[hip]:.1f} deg (outside '
                f'{AI_PLAUSIBLE[0]:g}-{AI_PLAUSIBLE[1]:g})'
            )
        else:
            reason = None
        reasons.append(reason)
    return reasons


#: the tilt rule's message (:func:`doubts`, :func:`plausibility_flags`)
H_LINE_TILTED = f'H-line tilted more than {H_LINE_MAX_TILT:g} deg'


def _h_line_tilted(p: np.ndarray) -> bool:
    """Whether one film's H-line (3 -> 7) is steeper than :data:`H_LINE_MAX_TILT`
    (False where it is not finite)."""
    with np.errstate(invalid='ignore', over='ignore'):
        h_line = p[TRIRADIATE[1]] - p[TRIRADIATE[0]]
        return bool(abs(np.degrees(np.arctan2(h_line[1], h_line[0]))) > H_LINE_MAX_TILT)


def doubts(
    points, scores=None, image_size=None, score_thr: float = SCORE_THR, keypoint_names=None
) -> list:
    """Why each hip of one film's *predicted* points should be checked by a reader.

    A hip is in doubt when it is not measurable (:func:`measurability`'s reason),
    when any point its AI or grade uses (:data:`HIP_POINTS`) scores below
    ``score_thr``, or when the H-line is tilted more than :data:`H_LINE_MAX_TILT`
    (the points or the pelvis askew). The review flag carries these beside the
    intervals' rules (:func:`hip_mmpose.utils.uncertainty.measure`): the network's
    own doubts about a hip, whatever its interval says.

    Args:
        points (array-like): ``(12, 2)`` keypoints in film pixels.
        scores (array-like, optional): ``(12,)`` keypoint scores. Defaults to None
            (the confidence rules are skipped).
        image_size (tuple[int, int], optional): film ``(width, height)`` in pixels.
            Defaults to None (the outside-the-film rule is skipped).
        score_thr (float): scores below it are low confidence. Defaults to
            :data:`SCORE_THR`.
        keypoint_names (Sequence[str], optional): names for the messages.
            Defaults to None (``point 1`` ... ``point 12``).

    Returns:
        list[str | None]: ``[reason or None, reason or None]`` for the [image-left,
        image-right] hip; None means no doubt.
    """
    reasons = measurability(points, scores, image_size, score_thr)
    p = _as_points(points)
    names = keypoint_names or [f'point {k + 1}' for k in range(len(p))]
    tilted = _h_line_tilted(p)
    with np.errstate(invalid='ignore', over='ignore'):
        s = np.full(len(p), np.inf) if scores is None else np.asarray(scores, np.float64)
        low = ~(s >= score_thr)
    out = []
    for hip, reason in enumerate(reasons):
        doubtful = [k for k in HIP_POINTS[hip] if low[k]]
        if reason is None and doubtful:
            reason = 'low confidence: ' + ', '.join(f'{names[k]} ({s[k]:.2f})' for k in doubtful)
        if reason is None and tilted:
            reason = H_LINE_TILTED
        out.append(reason)
    return out


def plausibility_flags(
    points, scores=None, image_size=None, score_thr: float = SCORE_THR, keypoint_names=None, ai=None
) -> list:
    """Reasons a reader should check one film's predicted points by eye.

    Broader than :func:`measurability` (which decides what is withheld): every
    low-confidence point, every point outside the film, an AI outside
    :data:`AI_PLAUSIBLE` or undefined, points 3 and 7 swapped, an H-line tilted more
    than :data:`H_LINE_MAX_TILT`, a roof edge not lateral of its triradiate point.

    Args:
        points (array-like): ``(12, 2)`` keypoints in film pixels.
        scores (array-like, optional): ``(12,)`` keypoint scores. Defaults to None
            (no confidence flags).
        image_size (tuple[int, int], optional): film ``(width, height)`` in pixels.
            Defaults to None (no outside-the-film flags).
        score_thr (float): scores below it are low confidence. Defaults to
            :data:`SCORE_THR`.
        keypoint_names (Sequence[str], optional): names for the messages.
            Defaults to None (``point 1`` ... ``point 12``).
        ai (array-like, optional): the film's two acetabular indices in degrees,
            [image-left, image-right], when the caller has them. Defaults to None
            (computed here).

    Returns:
        list[str]: the flags, empty when none.
    """
    p = _as_points(points)
    if p.shape != (12, 2):
        raise ValueError(f'expected the points of one film (12, 2), got {p.shape}')
    names = keypoint_names or [f'point {k + 1}' for k in range(len(p))]
    flags = []
    if scores is not None:
        scores = np.asarray(scores, np.float64)
        with np.errstate(invalid='ignore'):
            flags += [
                f'low confidence: {names[k]} ({scores[k]:.2f})'
                for k in np.flatnonzero(scores < score_thr)
            ]
    if image_size is not None:
        w, h = image_size
        with np.errstate(invalid='ignore'):
            outside = np.flatnonzero((p[:, 0] < 0) | (p[:, 0] > w) | (p[:, 1] < 0) | (p[:, 1] > h))
        flags += [f'outside the film: {names[k]}' for k in outside]
    if ai is None:
        with np.errstate(invalid='ignore', over='ignore'):
            ai = acetabular_indices(p)
    low, high = AI_PLAUSIBLE
    for hip, angle in zip(HIP_NAMES, ai):
        if np.isnan(angle):
            flags.append(f'implausible geometry: {hip} acetabular index undefined')
        elif not low <= angle <= high:
            flags.append(
                f'implausible geometry: {hip} acetabular index {angle:.1f} deg '
                f'outside {low:g}-{high:g}'
            )
    (left_tri, right_tri), (left_roof, right_roof) = TRIRADIATE, ROOF_LATERAL
    with np.errstate(invalid='ignore', over='ignore'):
        h_line = p[right_tri] - p[left_tri]
        if h_line[0] <= 0:
            flags.append(
                f'implausible geometry: point {left_tri + 1} is not left of point '
                f'{right_tri + 1} (hips swapped?)'
            )
        elif _h_line_tilted(p):
            flags.append(f'implausible geometry: {H_LINE_TILTED}')
        if not (p[left_roof, 0] < p[left_tri, 0] and p[right_roof, 0] > p[right_tri, 0]):
            flags.append(
                f'implausible geometry: a roof edge ({left_roof + 1} or '
                f'{right_roof + 1}) is not lateral of its triradiate point'
            )
    return flags


def radial_errors(points, truth, spacing=None) -> np.ndarray:
    """Distance of each point from its true position, ``(..., K)``.

    Args:
        points (array-like): ``(..., K, 2)`` predicted points in film pixels.
        truth (array-like): ``(..., K, 2)`` true points in film pixels.
        spacing (array-like, optional): ``(..., 2)`` mm per pixel (x, y) to give the
            errors in mm (the x and y offsets times the x and y spacing). Defaults to
            None (errors in pixels).

    Returns:
        np.ndarray: ``(..., K)`` the errors, in film pixels or mm.
    """
    diff = np.asarray(points, np.float64) - np.asarray(truth, np.float64)
    if spacing is not None:
        diff = diff * np.asarray(spacing, np.float64)[..., None, :]
    return np.linalg.norm(diff, axis=-1)
