"""How far each measurement may be off: AI intervals, P(grade >= II), the review flag.

Pure numpy, shared by the torch and ONNX paths, ``HipMetric`` and ``tools/train.py``.

The difficulty signal is the refining stage's own heatmaps: the *spread* of each
point's heatmap around its peak (:func:`heatmap_spread`, film px), carried into the
acetabular index through the angle's sensitivity to each of its three points
(:func:`ai_sd`: first-order propagation, ``sqrt(sum_i |dAI/dp_i|^2 s_i^2 / 2)``) and
into the H-point's distance from the P-line (:func:`p_line_z`). Both cost nothing at
test time beyond the heatmaps the network already produced. Beside them, the film:
how clearly the predicted roof line lies on an edge (:func:`roof_edges`, the
gradient along the line over its surroundings'); faint roofs are where the readers
and the model place the AI's points least surely.

Calibration (:func:`fit_calibration`, on the val films after training):

- **AI interval**: normalised split-conformal prediction (Lei et al. 2018; Jonkers et
  al. 2025 for landmarks). Each hip's scale is ``sigma = sqrt(floor^2 + ai_sd^2) x
  (edge_ref / edge) ** edge_power`` (:func:`ai_sigma`), ``floor`` the median ``ai_sd``
  of the calibration hips (label-free), ``edge_ref`` their median roof edge and
  ``edge_power`` the exponent (of ``edge_powers``) under which their AI errors are
  likeliest (Laplace, the scale profiled out; 0: the edge left out); the
  conformity score is ``|AI - AI_ref| / sigma``; ``q`` is its
  ``ceil((n + 1) * level)``-th smallest value (:func:`conformal_quantile`, the
  finite-sample correction), and the interval is ``AI +- q * sigma``. Under
  exchangeability of calibration and new hips it covers the reference AI with
  probability >= ``level``.
- **P(grade >= II)**: logistic (Platt) scaling of ``z`` = the H-point's signed
  distance lateral of the model's P-line (at its fitted shift) in H-line lengths,
  over its own propagated sd (floored as above): ``p = 1 / (1 + exp(-(a + b z)))``.
- **Review (triage) flag**: a hip is flagged when its *triage* interval
  ``AI +- flag_q * sigma`` crosses ``ai_threshold`` (30 deg: a clinical line in the
  first year) or its probability lies in ``[p_low, p_high]``. ``flag_q`` is the
  conformal quantile at a level picked from ``flag_levels`` (0.5-0.9, never above
  ``level``): for each, the band below is fitted, and the level that flags the fewest
  val hips is kept (ties: the higher level). A narrower AI rule flags fewer hips near
  30 deg and leaves the misses to the band, which widens to keep them at
  ``target_missed``; the reported interval stays at ``level``. For each level,
  ``p_low`` is the largest value whose misses ``m`` (of the ``n`` calibration hips
  the reference calls abnormal: AI above the threshold or grade >= II, called normal
  without a flag) satisfy
  ``(m + 1) / (n + 1) <= target_missed``: conformal risk control (Angelopoulos et
  al. 2022) for the miss, a loss that only falls as the band widens, so that the
  expected share of new abnormal hips missed is at most ``target_missed``
  (exchangeable hips). With ``n < 1 / target_missed - 1`` no band meets it and
  ``p_low`` is 0 (every hip called normal flagged). ``band='normal_calls'``:
  ``p_high`` is the probability at the model's own grade decision (``logistic(a)``,
  the H-point on the shifted P-line), so the band flags the hips the model calls
  grade I whose probability is not low: the screening question, "which normal calls
  to check". ``band='symmetric'``: ``p_high = 1 - p_low``, which flags uncertain
  calls of grade >= II as well (more flags, the same misses: every hip called normal
  has ``p <= logistic(a)``).

The fitted values travel as one fixed vector (:data:`CALIBRATION_KEYS`; all zero: not
calibrated) in the refining stage's ``uncertainty`` buffer, its checkpoints, published
files and the ONNX metadata, checked by :func:`checked_calibration` wherever read.
"""

from __future__ import annotations

import math

import numpy as np

from hip_mmpose import geometry

#: The calibration vector's entries, in order (the model buffer and the ONNX metadata).
CALIBRATION_KEYS = (
    'level',  # the intervals' nominal coverage, e.g. 0.9
    'ai_q',  # conformal quantile of |AI error| / sigma
    'ai_floor',  # deg: sigma = sqrt(ai_floor^2 + ai_sd^2)
    'grade_a',  # logistic intercept of P(grade >= II)
    'grade_b',  # logistic slope on z
    'grade_floor',  # H-line lengths: sd of the P-line distance floored at it
    'p_low',  # review band of P(grade >= II)
    'p_high',
    'ai_threshold',  # deg: an interval crossing it is flagged
    'flag_q',  # conformal quantile of the review's AI rule (AI +- flag_q * sigma)
    'edge_power',  # sigma grows as (edge_ref / roof edge) ** edge_power (0: not used)
    'edge_ref',  # the calibration hips' median roof edge (roof_edges)
)
NUM_CALIBRATION = len(CALIBRATION_KEYS)
#: bounds of each fitted value, beyond anything the calibration can produce (a file
#: with a value outside them is refused, not used)
CALIBRATION_BOUNDS = dict(
    level=(0.5, 0.999),
    ai_q=(0.01, 100.0),
    ai_floor=(0.01, 30.0),
    grade_a=(-50.0, 50.0),
    grade_b=(0.0, 100.0),
    grade_floor=(1e-5, 1.0),
    p_low=(0.0, 1.0),
    p_high=(0.0, 1.0),
    ai_threshold=(0.0, 60.0),
    flag_q=(0.01, 100.0),
    edge_power=(0.0, 2.0),
    edge_ref=(0.0, 100.0),
)
#: how many values files of earlier 0.2.0 development versions hold: 9 (before
#: ``flag_q``, read with ``flag_q = ai_q``) and 10 (before the roof edge, read with
#: ``edge_power = 0``); each is read with the rule it was measured with
EARLIER_LENGTHS = (9, 10)
#: The defaults of the fit (config keys ``calibration.uncertainty``).
DEFAULT_LEVEL = 0.9
DEFAULT_AI_THRESHOLD = 30.0
#: the expected share of abnormal hips called normal without a flag (conformal risk
#: control), below the 0.05 a screening split is judged by: docs/uncertainty.md
DEFAULT_TARGET_MISSED = 0.04
#: the levels the review's AI rule is picked from (config ``calibration.uncertainty.flag_levels``)
DEFAULT_FLAG_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9)
#: how the review band's upper end is set (config ``calibration.uncertainty.band``)
BANDS = ('normal_calls', 'symmetric')
#: the exponents the roof edge's power is picked from (config
#: ``calibration.uncertainty.edge_powers``; ``(0.0,)`` leaves the edge out)
DEFAULT_EDGE_POWERS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: a hip's roof edge counts at most this many times weaker or stronger than edge_ref
EDGE_CLIP = 4.0
#: the finite-difference step of the AI's sensitivity to a point (px)
_STEP = 0.5


# ------------------------------------------------------------------ the signal
def heatmap_spread(heatmaps, threshold: float = 0.1) -> np.ndarray:
    """Each heatmap's spread around its peak, in heatmap pixels.

    The root mean square distance from the peak, weighting each pixel by how far it
    rises above ``threshold`` times the peak (``max(h - threshold * h_max, 0)``):
    a sharp single peak gives about the target's sigma, a blurred peak or a second
    peak elsewhere (the network hesitating between two structures) much more.

    Args:
        heatmaps (array-like): ``(..., H, W)`` heatmaps (one per keypoint).
        threshold (float): the share of the peak below which pixels count nothing.
            Defaults to 0.1.

    Returns:
        np.ndarray: ``(...)`` spreads in heatmap pixels (NaN for an all-zero or
        non-finite heatmap).
    """
    h = np.asarray(heatmaps, np.float64)
    lead, (rows, cols) = h.shape[:-2], h.shape[-2:]
    flat = h.reshape(-1, rows * cols)
    peak = flat.argmax(-1)
    top = flat[np.arange(len(flat)), peak]
    weight = np.clip(flat - threshold * top[:, None], 0.0, None)
    ys, xs = np.divmod(np.arange(rows * cols), cols)
    d2 = (xs[None] - (peak % cols)[:, None]) ** 2 + (ys[None] - (peak // cols)[:, None]) ** 2
    with np.errstate(invalid='ignore', divide='ignore'):
        spread = np.sqrt((weight * d2).sum(-1) / weight.sum(-1))
    spread[~(np.isfinite(top) & (top > 0))] = np.nan
    return spread.reshape(lead)


def _sensitivity(func, points) -> np.ndarray:
    """``d func / d point`` by central differences: ``(..., out, 12, 2)``."""
    p = np.asarray(points, np.float64)
    k = p.shape[-2]
    eye = np.eye(k * 2).reshape(k * 2, k, 2) * _STEP  # one coordinate moved at a time
    with np.errstate(invalid='ignore', over='ignore'):
        plus, minus = (func(p[..., None, :, :] + e) for e in (eye, -eye))  # (..., 2k, out)
    grad = (plus - minus) / (2 * _STEP)
    grad = np.moveaxis(grad, -1, -2)  # (..., out, 2k)
    return grad.reshape(grad.shape[:-1] + (k, 2))


def ai_sd(points, spreads) -> np.ndarray:
    """The acetabular index's sd from its points' spreads (first-order propagation).

    Args:
        points (array-like): ``(..., 12, 2)`` predicted points, film pixels.
        spreads (array-like): ``(..., 12)`` each point's spread (film px, radial:
            each axis carries half its square).

    Returns:
        np.ndarray: ``(..., 2)`` degrees, [image-left, image-right].
    """
    grad = _sensitivity(geometry.acetabular_indices, points)  # (..., 2, 12, 2)
    s2 = np.asarray(spreads, np.float64)[..., None, :] ** 2 / 2.0
    with np.errstate(invalid='ignore', over='ignore'):
        return np.sqrt(((grad**2).sum(-1) * s2).sum(-1))


def roof_edges(film, points) -> np.ndarray:
    """How clearly each hip's predicted acetabular roof line lies on an edge of the film.

    The mean grey-level gradient along the roof line (lateral roof edge to
    triradiate point, 32 samples) over the mean gradient of the square around it
    (side 1.5 roof lengths), the film smoothed by a Gaussian of ``roof length / 70``
    (at least 0.5 px). About 1 where the line runs through texture like its
    surroundings, 2-4 on a crisp sourcil; a faint roof, or a line that missed the
    edge, gives little: the hips whose AI the readers and the model place least
    surely. A ratio: any grey-level scaling of the film (a normalisation) leaves it.

    Args:
        film (array-like): ``(H, W)`` or ``(H, W, C)`` the film the points were
            found on (8-bit or float; channels averaged).
        points (array-like): ``(12, 2)`` the predicted points, film pixels.

    Returns:
        np.ndarray: ``(2,)`` [image-left, image-right]; NaN for a hip whose roof
        line is not finite, shorter than 4 px, longer than half the film, off the film
        or has no texture around it.
    """
    img = np.asarray(film)
    pts = np.asarray(points, np.float64)[:, :2]
    out = np.full(len(geometry.HIP_NAMES), np.nan)
    for h, (lat, tri, _) in enumerate(geometry.AI_POINTS):
        p, q = pts[lat], pts[tri]
        length = float(np.hypot(*(q - p)))
        # no roof shorter than 4 px, none longer than half the film (not a roof: and
        # its smoothing and square would grow with it)
        if not (np.isfinite(length) and 4.0 <= length <= max(img.shape[:2]) / 2):
            continue
        sigma = max(0.5, length / 70.0)
        pad = int(math.ceil(3 * sigma)) + 2
        half = 0.75 * length
        mid = (p + q) / 2
        x0, y0 = (int(math.floor(v - half)) - pad for v in mid)
        x1, y1 = (int(math.ceil(v + half)) + pad + 1 for v in mid)
        box = np.asarray(img[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)], np.float64)
        if box.ndim == 3:
            box = box.mean(-1)
        if min(box.shape) < 2 * pad + 3:
            continue
        gy, gx = np.gradient(_gaussian_blur(box, sigma))
        magnitude = np.hypot(gx, gy)
        inner = magnitude[pad:-pad, pad:-pad]
        surround = inner.mean()
        samples = p + np.linspace(0.0, 1.0, 32)[:, None] * (q - p) - [max(x0, 0), max(y0, 0)]
        along = _bilinear(magnitude, samples)
        if surround > 0 and np.isfinite(along).all():
            out[h] = along.mean() / surround
    return out


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """OpenCV's Gaussian blur, radius 3 sigma, edges replicated (the window
    :func:`roof_edges` keeps clear of the film's border)."""
    import cv2

    size = 2 * int(math.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(image, (size, size), sigma, borderType=cv2.BORDER_REPLICATE)


def _bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """``image`` at sub-pixel ``(x, y)`` points (NaN outside it)."""
    x, y = xy[:, 0], xy[:, 1]
    inside = (x >= 0) & (y >= 0) & (x <= image.shape[1] - 1) & (y <= image.shape[0] - 1)
    xc = np.clip(x, 0, image.shape[1] - 1.000001)
    yc = np.clip(y, 0, image.shape[0] - 1.000001)
    i, j = yc.astype(int), xc.astype(int)
    fy, fx = yc - i, xc - j
    value = (
        image[i, j] * (1 - fx) * (1 - fy)
        + image[i, j + 1] * fx * (1 - fy)
        + image[i + 1, j] * (1 - fx) * fy
        + image[i + 1, j + 1] * fx * fy
    )
    return np.where(inside, value, np.nan)


def edge_factor(edges, power: float, ref: float) -> np.ndarray:
    """The interval's widening for each hip's roof edge: ``(ref / edge) ** power``,
    the edge clipped to ``ref / EDGE_CLIP``-``ref * EDGE_CLIP`` (1 where ``power`` is
    0; NaN for a hip without an edge where it is not)."""
    if power == 0:
        return np.ones(np.shape(edges)) if edges is not None else np.float64(1.0)
    e = np.asarray(edges, np.float64)
    with np.errstate(invalid='ignore'):
        return (ref / np.clip(e, ref / EDGE_CLIP, ref * EDGE_CLIP)) ** power


def ai_sigma(points, spreads, calibration: dict, edges=None) -> np.ndarray:
    """Each hip's interval scale: ``sqrt(ai_floor^2 + ai_sd^2)``, times the roof
    edge's factor (:func:`edge_factor`) where the calibration uses it.

    Args:
        points (array-like): ``(..., 12, 2)`` predicted points, film pixels.
        spreads (array-like): ``(..., 12)`` their heatmap spreads, film px.
        calibration (dict): ``ai_floor``, ``edge_power``, ``edge_ref``.
        edges (array-like, optional): ``(..., 2)`` the hips' :func:`roof_edges`;
            needed where ``edge_power`` is not 0.

    Returns:
        np.ndarray: ``(..., 2)`` deg.

    Raises:
        ValueError: the calibration uses the roof edge and ``edges`` is None.
    """
    power = calibration.get('edge_power', 0.0)
    if power and edges is None:
        raise ValueError(
            'this calibration widens the intervals by the roof edge (edge_power '
            f"{power:g}): the films' roof_edges are needed"
        )
    sigma = np.sqrt(calibration['ai_floor'] ** 2 + ai_sd(points, spreads) ** 2)
    return sigma * edge_factor(edges, power, calibration.get('edge_ref', 0.0))


def _p_line_distance(points, p_line_shift=0.0) -> np.ndarray:
    """Each H-point's distance lateral of the model's P-line, in H-line lengths."""
    with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
        lateral = geometry.h_point_offsets(points)['lateral_of_p']
        length = geometry.h_line_lengths(points)[..., None]
        return lateral / length - np.asarray(p_line_shift, np.float64)[..., None]


def p_line_z(points, spreads, p_line_shift=0.0, floor: float = 0.0):
    """The H-point's distance lateral of the model's P-line over its sd.

    Args:
        points (array-like): ``(..., 12, 2)`` predicted points, film pixels.
        spreads (array-like): ``(..., 12)`` the points' spreads, film px.
        p_line_shift (float | array-like): the model's P-line shift (H-line
            lengths; :func:`geometry.ihdi_grades`). Defaults to 0.0.
        floor (float): sd floor, H-line lengths. Defaults to 0.0.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``z`` and the distance's sd, ``(..., 2)`` each.
    """
    grad = _sensitivity(lambda p: _p_line_distance(p, 0.0), points)
    s2 = np.asarray(spreads, np.float64)[..., None, :] ** 2 / 2.0
    with np.errstate(invalid='ignore', over='ignore', divide='ignore'):
        sd = np.sqrt(((grad**2).sum(-1) * s2).sum(-1))
        scale = np.sqrt(floor**2 + sd**2)
        return _p_line_distance(points, p_line_shift) / scale, sd


# ------------------------------------------------------------------ calibration
def conformal_quantile(scores, level: float) -> float:
    """The split-conformal quantile: the ``ceil((n + 1) * level)``-th smallest score.

    Args:
        scores (array-like): the calibration set's conformity scores (NaN dropped).
        level (float): the nominal coverage, in (0, 1).

    Returns:
        float: the quantile; ``inf`` where ``n`` is too small for the level (the
        interval must then be the whole line).
    """
    s = np.sort(np.asarray(scores, np.float64).ravel())
    s = s[np.isfinite(s)]
    rank = math.ceil((len(s) + 1) * level)
    return float(s[rank - 1]) if rank <= len(s) else math.inf


def _logistic_fit(z, y, ridge: float = 1e-2, steps: int = 100) -> tuple[float, float]:
    """Intercept and slope of a logistic regression of ``y`` on ``z`` (Newton, with
    a small ridge on the slope so that separable data stays finite)."""
    x = np.column_stack([np.ones_like(z), z])
    beta = np.zeros(2)
    penalty = np.diag([0.0, ridge])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (y - p) - penalty @ beta
        hess = x.T @ (x * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[0]), float(beta[1])


def fit_calibration(
    pred,
    truth,
    spreads,
    p_line_shift=0.0,
    level: float = DEFAULT_LEVEL,
    ai_threshold: float = DEFAULT_AI_THRESHOLD,
    target_missed: float = DEFAULT_TARGET_MISSED,
    band: str = 'normal_calls',
    flag_levels=DEFAULT_FLAG_LEVELS,
    edges=None,
    edge_powers=DEFAULT_EDGE_POWERS,
    doubts=None,
) -> dict:
    """Fit the intervals, the probability and the review band on calibration films.

    Args:
        pred (array-like): ``(N, 12, 2)`` the model's points on the films.
        truth (array-like): ``(N, 12, 2)`` the reference points.
        spreads (array-like): ``(N, 12)`` the model's heatmap spreads, film px.
        p_line_shift (float): where the model decides the grade. Defaults to 0.0.
        level (float): the intervals' coverage. Defaults to :data:`DEFAULT_LEVEL`.
        ai_threshold (float): the AI (deg) whose crossing flags a hip. Defaults to
            :data:`DEFAULT_AI_THRESHOLD`.
        target_missed (float): the expected share of new abnormal hips called
            normal without a flag (conformal risk control on these films). Defaults
            to :data:`DEFAULT_TARGET_MISSED`.
        band (str): the band's upper end: ``'normal_calls'`` (the probability at
            the grade decision) or ``'symmetric'`` (``1 - p_low``). Defaults to
            ``'normal_calls'``.
        flag_levels (sequence[float]): the levels the review's AI rule is picked
            from (those above ``level`` are left out; none left: ``level``).
            Defaults to :data:`DEFAULT_FLAG_LEVELS`.
        edges (array-like, optional): ``(N, 2)`` the hips' :func:`roof_edges` on
            these films. Defaults to None (the edge is not used).
        edge_powers (sequence[float]): the exponents of the roof edge's factor
            tried (:func:`edge_factor`); the one of the highest Laplace likelihood of
            the AI errors (the scale profiled out) is kept. Defaults to
            :data:`DEFAULT_EDGE_POWERS`.
        doubts (array-like, optional): ``(N, 2)`` the hips' :func:`geometry.doubts`
            reasons: hips the review flags whatever the band (:func:`measure`), so
            the band need not catch their misses. Defaults to None (none).

    Returns:
        dict: the :data:`CALIBRATION_KEYS` values (checked by
        :func:`checked_calibration`), ``hips`` / ``abnormal`` (how many it rests
        on), ``allowed`` (:func:`allowed_misses`), ``flag_level`` (the level
        picked) and ``flagged`` (the share of these hips it flags).

    Raises:
        ValueError: too few hips for the level, no finite spreads, an unknown
            ``band``, or a fit outside :data:`CALIBRATION_BOUNDS`.
    """
    if band not in BANDS:
        raise ValueError(f'band must be one of {BANDS}, not {band!r}')
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    spreads = np.asarray(spreads, np.float64)
    ai_pred, ai_true = geometry.acetabular_indices(pred), geometry.acetabular_indices(truth)
    sd = ai_sd(pred, spreads)
    ok = np.isfinite(ai_pred) & np.isfinite(ai_true) & np.isfinite(sd)
    if ok.sum() < math.ceil(1 / (1 - level)):
        raise ValueError(
            f'{int(ok.sum())} hips with a finite AI and spread: too few for a {level:.0%} interval'
        )
    floor = max(float(np.median(sd[ok])), CALIBRATION_BOUNDS['ai_floor'][0])
    error = np.abs(ai_pred - ai_true)
    edge_power, edge_ref = _fit_edge(error, np.sqrt(floor**2 + sd**2), ok, edges, edge_powers)
    if edge_power:
        ok &= np.isfinite(np.asarray(edges, np.float64))
    scale = dict(ai_floor=floor, edge_power=edge_power, edge_ref=edge_ref)
    sigma = ai_sigma(pred, spreads, scale, edges)
    scores = (error / sigma)[ok]
    q = conformal_quantile(scores, level)

    _, d_sd = p_line_z(pred, spreads, p_line_shift)
    d_ok = np.isfinite(d_sd)
    grade_floor = max(float(np.median(d_sd[d_ok])), CALIBRATION_BOUNDS['grade_floor'][0])
    z, _ = p_line_z(pred, spreads, p_line_shift, grade_floor)
    positive = geometry.ihdi_grades(truth) >= geometry.GRADES[1]
    zk = np.isfinite(z)
    if positive[zk].all() or not positive[zk].any():
        raise ValueError('the calibration hips hold one class of grade only (I, or >= II)')
    a, b = _logistic_fit(z[zk], positive[zk].astype(np.float64))

    values = dict(
        level=level,
        ai_q=q,
        ai_floor=floor,
        grade_a=a,
        grade_b=b,
        grade_floor=grade_floor,
        p_low=0.5,
        p_high=0.5,
        ai_threshold=ai_threshold,
        edge_power=edge_power,
        edge_ref=edge_ref,
    )
    abnormal = (ai_true > ai_threshold) | positive
    called_normal = (ai_pred <= ai_threshold) & (
        geometry.ihdi_grades(pred, p_line_shift) == geometry.GRADES[0]
    )
    allowed = allowed_misses(target_missed, abnormal.sum())
    # the probability of a hip on the decision line (z = 0): every hip called grade I
    # has p at most this
    p_call = float(grade_probability(a, b, 0.0)) if b > 0 else 0.5
    levels = sorted({float(v) for v in flag_levels if float(v) <= level} or {level})
    best = None
    for flag_level in reversed(levels):  # ties keep the higher level
        values['flag_q'] = max(conformal_quantile(scores, flag_level), 0.01)
        p_low, p_high, flag = _fit_band(
            pred,
            spreads,
            edges,
            values,
            p_line_shift,
            band,
            p_call,
            abnormal,
            called_normal,
            allowed,
            doubts,
        )
        if best is None or flag.mean() < best[0]:
            best = (flag.mean(), flag_level, dict(values, p_low=p_low, p_high=p_high))
    flagged, flag_level, values = best
    checked = checked_calibration([values[k] for k in CALIBRATION_KEYS])
    checked.update(
        hips=int(ok.sum()),
        abnormal=int(abnormal.sum()),
        allowed=float(allowed),
        flag_level=flag_level,
        flagged=float(flagged),
    )
    return checked


def allowed_misses(target_missed: float, abnormal: int) -> float:
    """The misses conformal risk control allows on calibration hips.

    Args:
        target_missed (float): the expected share of new abnormal hips missed.
        abnormal (int): how many calibration hips the reference calls abnormal.

    Returns:
        float: ``target_missed * (abnormal + 1) - 1``, the most misses ``m`` with
        ``(m + 1) / (abnormal + 1) <= target_missed``; below 0, no band holds the
        target (too few abnormal hips: :func:`fewest_abnormal`).
    """
    return target_missed * (abnormal + 1) - 1


def fewest_abnormal(target_missed: float) -> int:
    """The fewest abnormal calibration hips with which a band can hold
    ``target_missed`` (no miss allowed): 19 at 0.05, 24 at 0.04."""
    n = max(math.ceil(1 / target_missed - 1) - 1, 0)
    while allowed_misses(target_missed, n) < 0:
        n += 1
    return n


def _fit_edge(error, sigma, ok, edges, powers) -> tuple[float, float]:
    """``(edge_power, edge_ref)``: of ``powers``, the exponent of the roof edge's
    factor under which the AI errors are likeliest (Laplace, each power's scale
    profiled out: the mean of ``log(mean(|e| / s)) + log s``); ``(0, 0)`` without
    edges or where 0 wins."""
    if edges is None:
        return 0.0, 0.0
    edges = np.asarray(edges, np.float64)
    use = ok & np.isfinite(edges) & (edges > 0)
    if use.sum() < 10:
        return 0.0, 0.0
    ref = float(np.median(edges[use]))
    best = (math.inf, 0.0)
    for power in sorted({float(v) for v in powers}):
        s = sigma[use] * edge_factor(edges[use], power, ref)
        nll = math.log(np.mean(error[use] / s)) + float(np.mean(np.log(s)))
        if nll < best[0] - 1e-12:
            best = (nll, power)
    power = best[1]
    return (power, ref) if power else (0.0, 0.0)


def _fit_band(
    pred,
    spreads,
    edges,
    values,
    p_line_shift,
    band,
    p_call,
    abnormal,
    called_normal,
    allowed,
    doubts=None,
):
    """The widest ``p_low`` needed for at most ``allowed`` misses with the AI rule
    of ``values['flag_q']``: ``(p_low, p_high, flags)``."""
    # the intervals and probabilities do not depend on the band: measured once, with
    # an empty band (flags from the AI rule, the doubts or for having no interval)
    measured = measure(
        pred, spreads, dict(values, p_low=1.0, p_high=0.0), p_line_shift, edges, doubts
    )
    p = measured['p_ge2']
    for p_low in np.linspace(0.5, 0.0, 101):
        p_high = 1 - p_low if band == 'symmetric' else max(p_low, p_call)
        flag = measured['review'] | in_review_band(p, p_low, p_high)
        if (abnormal & called_normal & ~flag).sum() <= allowed:
            break
    return float(p_low), float(p_high), flag


def checked_calibration(vector, source: str = 'calibration') -> dict:
    """A calibration vector as a dict, or an error naming what is wrong with it.

    Args:
        vector (array-like): :data:`NUM_CALIBRATION` numbers in the order of
            :data:`CALIBRATION_KEYS`, or one of :data:`EARLIER_LENGTHS`: a file
            written before ``flag_q`` (read with ``flag_q = ai_q``) or before the roof
            edge (read with ``edge_power = edge_ref = 0``), the rules it was measured
            with.
        source (str): what it came from, for the message. Defaults to
            ``'calibration'``.

    Returns:
        dict: ``{key: float}``; an all-zero vector (not calibrated) gives ``{}``.

    Raises:
        ValueError: another length, a non-number, a non-finite value or one outside
            :data:`CALIBRATION_BOUNDS`; ``p_low`` above ``p_high``.
    """
    try:
        values = np.asarray(vector, np.float64).ravel()
    except (TypeError, ValueError) as err:
        raise ValueError(f'{source}: the uncertainty calibration is not numbers ({err})') from None
    if values.shape == (EARLIER_LENGTHS[0],):
        # written before flag_q (0.2.0 development files): their review flagged at
        # the interval's own level (all zero stays all zero: not calibrated)
        values = np.append(values, values[CALIBRATION_KEYS.index('ai_q')])
    if values.shape == (EARLIER_LENGTHS[1],):
        # written before the roof edge: intervals of the spread alone
        values = np.append(values, [0.0, 0.0])
    if values.shape != (NUM_CALIBRATION,):
        raise ValueError(
            f'{source}: the uncertainty calibration has {values.size} values, '
            f'expected {NUM_CALIBRATION} ({", ".join(CALIBRATION_KEYS)})'
        )
    if not values.any():
        return {}
    out = {}
    for key, value in zip(CALIBRATION_KEYS, values):
        low, high = CALIBRATION_BOUNDS[key]
        if not (np.isfinite(value) and low <= value <= high):
            raise ValueError(
                f'{source}: uncertainty calibration {key}={value!r} is outside [{low:g}, {high:g}]'
            )
        out[key] = float(value)
    if out['edge_power'] and not out['edge_ref']:
        raise ValueError(f'{source}: uncertainty calibration edge_power without an edge_ref')
    if out['p_low'] > out['p_high']:
        raise ValueError(
            f'{source}: uncertainty calibration p_low={out["p_low"]!r} exceeds '
            f'p_high={out["p_high"]!r}'
        )
    return out


# ------------------------------------------------------------------ measuring
def in_review_band(p, p_low: float, p_high: float) -> np.ndarray:
    """Whether each probability lies in the review band ``[p_low, p_high]`` (inclusive).

    Args:
        p (array-like): P(grade >= II) per hip.
        p_low (float): the band's lower bound.
        p_high (float): the band's upper bound.

    Returns:
        np.ndarray: bool, the shape of ``p``.
    """
    p = np.asarray(p, np.float64)
    return (p >= p_low) & (p <= p_high)


def grade_probability(a: float, b: float, z) -> np.ndarray:
    """P(grade >= II) of the logistic calibration.

    Args:
        a (float): the intercept (``grade_a``).
        b (float): the slope on ``z`` (``grade_b``).
        z (array-like): the H-point's P-line distance over its sd (:func:`p_line_z`).

    Returns:
        np.ndarray: ``1 / (1 + exp(-(a + b z)))``, the exponent clipped to +-50.
    """
    with np.errstate(over='ignore'):
        return 1 / (1 + np.exp(-np.clip(a + b * np.asarray(z, np.float64), -50, 50)))


def measure(points, spreads, calibration: dict, p_line_shift=0.0, edges=None, doubts=None) -> dict:
    """Intervals, probabilities and review flags of predicted points.

    Args:
        points (array-like): ``(..., 12, 2)`` predicted points, film pixels.
        spreads (array-like): ``(..., 12)`` their heatmap spreads, film px.
        calibration (dict): :func:`checked_calibration`'s values.
        p_line_shift (float): the model's P-line shift. Defaults to 0.0.
        edges (array-like, optional): ``(..., 2)`` the hips' :func:`roof_edges`;
            needed where the calibration's ``edge_power`` is not 0. Defaults to None.
        doubts (array-like, optional): ``(..., 2)`` each hip's
            :func:`geometry.doubts` reason (None or ``''``: none); a hip with one
            is flagged whatever its interval, the reason first. Defaults to None
            (no hip in doubt).

    Returns:
        dict: ``ai_low``, ``ai_high`` (deg), ``p_ge2``, ``review`` (bool: flagged)
        and ``reason`` (str per hip: the doubt, ``'AI within 2.1 deg of 30 deg'``
        (the triage interval ``AI +- flag_q * sigma`` crosses the threshold),
        ``'P(grade >= II) 0.42'``, joined by ``'; '``, or ``''``), each
        ``(..., 2)``. A hip whose spreads or points are not finite is flagged
        (``'no interval'``).
    """
    c = calibration
    ai = geometry.acetabular_indices(points)
    sigma = ai_sigma(points, spreads, c, edges)
    low, high = ai - c['ai_q'] * sigma, ai + c['ai_q'] * sigma
    z, _ = p_line_z(points, spreads, p_line_shift, c['grade_floor'])
    p = grade_probability(c['grade_a'], c['grade_b'], z)
    # the review's AI rule: the triage interval (flag_q) crosses the threshold
    flag_half = c['flag_q'] * sigma
    crosses = (ai - flag_half <= c['ai_threshold']) & (ai + flag_half > c['ai_threshold'])
    unsure = in_review_band(p, c['p_low'], c['p_high'])
    undefined = ~(np.isfinite(low) & np.isfinite(high) & np.isfinite(p))
    doubt = np.full(np.shape(ai), '', dtype=object)
    if doubts is not None:
        given = np.asarray(doubts, dtype=object).reshape(np.shape(ai))
        doubt[...] = np.vectorize(lambda v: v or '', otypes=[object])(given)
    doubted = doubt != ''
    reason = np.full(np.shape(ai), '', dtype=object)
    for i in np.ndindex(reason.shape):
        parts = [doubt[i]] if doubted[i] else []
        if undefined[i]:
            parts.append('no interval')
        else:
            if crosses[i]:
                parts.append(f'AI within {flag_half[i]:.1f} deg of {c["ai_threshold"]:g} deg')
            if unsure[i]:
                parts.append(f'P(grade >= II) {p[i]:.2f}')
        reason[i] = '; '.join(parts)
    return dict(
        ai_low=low,
        ai_high=high,
        p_ge2=p,
        review=undefined | crosses | unsure | doubted,
        reason=reason,
    )
