"""Agreement statistics for measurement and grading, pure numpy (and scipy's bootstrap).

Used by :class:`HipMetric` and the report figures, so the numbers a figure shows
are the numbers the metric logged.

Every statistic that gets a bootstrap confidence interval is written once, with
optional frequency ``weights`` of shape ``(B, n)``: one row of weights per
bootstrap resample (how often each observation was drawn), all ones for the plain
estimate. A resample is then one vectorised call, not a Python loop.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats as sp_stats


def _weights(n: int, weights) -> tuple[np.ndarray, bool]:
    """``(B, n)`` float weights (ones when None) and whether the caller gave them."""
    if weights is None:
        return np.ones((1, n)), False
    w = np.asarray(weights, float)
    return (w[None] if w.ndim == 1 else w), True


def _out(values: np.ndarray, batched: bool):
    return values if batched else float(values[0])


def _paired(x, y, weights):
    """Finite pairs of ``x``/``y`` with their weights and weighted means.

    Returns:
        tuple: ``x, y`` ``(m,)``, ``w`` ``(B, m)``, ``n`` ``(B,)`` (weight sums),
        ``mx, my`` ``(B,)`` and whether the caller gave weights.
    """
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    w, batched = _weights(len(x), weights)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, w = x[keep], y[keep], w[:, keep]
    n = w.sum(-1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return x, y, w, n, w @ x / n, w @ y / n, batched


def pearson_r(x, y, weights=None):
    """Pearson correlation; NaN with fewer than 2 finite pairs or a constant side.

    Args:
        x (array-like): values paired with ``y`` (flattened).
        y (array-like): values paired with ``x`` (flattened).
        weights (np.ndarray, optional): frequency weights ``(B, n)``; with them
            the result is an array ``(B,)``. Defaults to None (one float).

    Returns:
        float | np.ndarray: the correlation(s).
    """
    x, y, w, n, mx, my, batched = _paired(x, y, weights)
    with np.errstate(invalid='ignore', divide='ignore'):
        dx, dy = x - mx[:, None], y - my[:, None]
        vx, vy = (w * dx**2).sum(-1), (w * dy**2).sum(-1)
        r = (w * dx * dy).sum(-1) / np.sqrt(vx * vy)
        flat = (vx <= 1e-12 * n * (1 + mx**2)) | (vy <= 1e-12 * n * (1 + my**2))
    return _out(np.where((n < 2) | flat, np.nan, np.clip(r, -1, 1)), batched)


def icc_absolute_agreement(pred, true, weights=None):
    """ICC(2,1) (Shrout & Fleiss): two-way random effects, absolute agreement.

    Single measurement - the usual choice for comparing a method with clinicians,
    since it penalises a constant bias that Pearson's r ignores. Pairs with a
    non-finite value are left out.

    Args:
        pred (array-like): the method's measurements (flattened).
        true (array-like): the reference measurements, paired with ``pred``.
        weights (np.ndarray, optional): frequency weights ``(B, n)`` (a pair drawn
            twice counts as two subjects). Defaults to None.

    Returns:
        float | np.ndarray: the ICC(s); NaN with fewer than 2 pairs.
    """
    y = np.stack([np.asarray(pred, float).ravel(), np.asarray(true, float).ravel()], 1)
    w, batched = _weights(len(y), weights)
    keep = np.isfinite(y).all(1)
    y, w = y[keep], w[:, keep]
    k = 2
    n = w.sum(-1)  # (B,)
    with np.errstate(invalid='ignore', divide='ignore'):
        col_means = (w @ y) / n[:, None]  # (B, 2)
        grand = col_means.mean(1)  # (B,)
        ss_rows = k * (w * (y.mean(1) - grand[:, None]) ** 2).sum(-1)
        ss_cols = n * ((col_means - grand[:, None]) ** 2).sum(-1)
        ss_total = (w * ((y[None] - grand[:, None, None]) ** 2).sum(-1)).sum(-1)
        ss_err = ss_total - ss_rows - ss_cols
        ms_rows, ms_cols = ss_rows / (n - 1), ss_cols / (k - 1)
        ms_err = ss_err / ((n - 1) * (k - 1))
        denom = ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n
        icc = (ms_rows - ms_err) / denom
    identical = ~((w > 0) & ~np.isclose(y[:, 0], y[:, 1])).any(-1)
    icc = np.where(denom <= 0, np.where(identical, 1.0, np.nan), icc)
    return _out(np.where(n < 2, np.nan, icc), batched)


def mean_absolute_error(pred, true, weights=None):
    """Mean of ``|pred - true|`` over finite pairs (NaN without any).

    Args:
        pred (array-like): predicted values (flattened).
        true (array-like): reference values, paired with ``pred``.
        weights (np.ndarray, optional): frequency weights ``(B, n)``. Defaults to None.

    Returns:
        float | np.ndarray: the MAE(s), in the values' unit.
    """
    err = np.abs(np.asarray(pred, float).ravel() - np.asarray(true, float).ravel())
    w, batched = _weights(len(err), weights)
    keep = np.isfinite(err)
    with np.errstate(invalid='ignore', divide='ignore'):
        return _out(w[:, keep] @ err[keep] / w[:, keep].sum(-1), batched)


def linear_fit(x, y, weights=None):
    """Ordinary least squares ``y = intercept + slope * x`` over finite pairs.

    Fitted with the clinicians' values as ``x`` and the model's as ``y``, a slope
    below 1 means the model regresses toward the mean (high angles read low).

    Args:
        x (array-like): the regressor (flattened).
        y (array-like): the response, paired with ``x``.
        weights (np.ndarray, optional): frequency weights ``(B, n)``. Defaults to None.

    Returns:
        tuple: ``(intercept, slope)``, floats (arrays ``(B,)`` with weights); NaN
        with fewer than 2 pairs or a constant ``x``.
    """
    x, y, w, n, mx, my, batched = _paired(x, y, weights)
    with np.errstate(invalid='ignore', divide='ignore'):
        dx = x - mx[:, None]
        sxx = (w * dx**2).sum(-1)
        slope = (w * dx * (y - my[:, None])).sum(-1) / sxx
    slope = np.where((n < 2) | (sxx <= 1e-12 * n * (1 + mx**2)), np.nan, slope)
    return _out(my - slope * mx, batched), _out(slope, batched)


def deming_fit(x, y, weights=None, error_ratio: float = 1.0):
    """Deming regression ``y = intercept + slope * x`` over finite pairs: both
    ``x`` and ``y`` carry measurement error (a method comparison).

    Against one clinician's reading, whose own error is about that of the model,
    the ordinary least-squares slope (:func:`linear_fit`) is biased toward 0 even
    for a model that is exactly right on average (regression dilution): its
    expectation is ``var(true) / (var(true) + var(reader error))``. Deming's
    slope is not: with ``error_ratio = var(error of y) / var(error of x) = 1``
    it is the orthogonal (total least squares) fit.

    Args:
        x (array-like): the reference method's values (flattened), e.g. the
            clinicians' AI.
        y (array-like): the compared method's values, paired with ``x``.
        weights (np.ndarray, optional): frequency weights ``(B, n)``. Defaults to None.
        error_ratio (float): ``var(error of y) / var(error of x)``. Defaults to 1.

    Returns:
        tuple: ``(intercept, slope)``, floats (arrays ``(B,)`` with weights); NaN
        with fewer than 2 pairs or no covariance.
    """
    x, y, w, n, mx, my, batched = _paired(x, y, weights)
    lam = float(error_ratio)
    with np.errstate(invalid='ignore', divide='ignore'):
        dx, dy = x - mx[:, None], y - my[:, None]
        sxx, syy, sxy = (w * dx**2).sum(-1), (w * dy**2).sum(-1), (w * dx * dy).sum(-1)
        diff = syy - lam * sxx
        slope = (diff + np.sqrt(diff**2 + 4 * lam * sxy**2)) / (2 * sxy)
    slope = np.where((n < 2) | (np.abs(sxy) <= 1e-12 * n * (1 + mx**2)), np.nan, slope)
    return _out(my - slope * mx, batched), _out(slope, batched)


def proportional_bias(pred, true) -> tuple[float, float]:
    """Bland-Altman proportional bias: the OLS line of ``pred - true`` on their mean.

    The line is fitted (:func:`linear_fit`) on ``x = (pred + true) / 2``. A slope
    away from 0 means the disagreement grows (or shrinks) with the size of the
    measurement.

    Args:
        pred (array-like): the method's measurements (flattened).
        true (array-like): the reference measurements, paired with ``pred``.

    Returns:
        tuple[float, float]: ``(intercept, slope)``; NaN with fewer than 2 finite
        pairs or a constant mean.
    """
    pred, true = np.asarray(pred, float).ravel(), np.asarray(true, float).ravel()
    return linear_fit((pred + true) / 2, pred - true)


def bland_altman(pred, true) -> dict:
    """Bias (mean of pred - true) and 95 % limits of agreement (bias +- 1.96 sd).

    Args:
        pred (array-like): the method's measurements (flattened).
        true (array-like): the reference measurements, paired with ``pred``;
            non-finite differences are left out.

    Returns:
        dict[str, float]: ``bias``, ``loa_low`` and ``loa_high`` in the values'
        unit (sample sd, ddof=1; 0 for one pair; all NaN for none).
    """
    diff = np.asarray(pred, float).ravel() - np.asarray(true, float).ravel()
    diff = diff[np.isfinite(diff)]
    if len(diff) == 0:
        return dict(bias=float('nan'), loa_low=float('nan'), loa_high=float('nan'))
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    return dict(bias=bias, loa_low=bias - 1.96 * sd, loa_high=bias + 1.96 * sd)


def confusion_matrix(true, pred, labels, weights=None) -> np.ndarray:
    """Counts ``[true label][predicted label]``; values outside ``labels`` ignored.

    Args:
        true (array-like): the reference labels (flattened).
        pred (array-like): the predicted labels, paired with ``true``.
        labels (Sequence): the labels, in matrix order.
        weights (np.ndarray, optional): frequency weights ``(B, n)``; with them
            the result is ``(B, L, L)`` floats. Defaults to None (int counts).

    Returns:
        np.ndarray: ``(L, L)`` counts, or ``(B, L, L)`` weighted counts.
    """
    index = {label: i for i, label in enumerate(labels)}
    size = len(labels)
    t = np.array([index.get(v, -1) for v in np.ravel(true).tolist()], int)
    p = np.array([index.get(v, -1) for v in np.ravel(pred).tolist()], int)
    keep = (t >= 0) & (p >= 0)
    cell = t[keep] * size + p[keep]
    if weights is None:
        return np.bincount(cell, minlength=size * size).reshape(size, size).astype(np.int64)
    w = np.asarray(weights, float)[:, keep]
    one_hot = np.zeros((len(cell), size * size))
    one_hot[np.arange(len(cell)), cell] = 1
    return (w @ one_hot).reshape(-1, size, size)


def linear_weights(k: int) -> np.ndarray:
    """Linear disagreement weights ``|i - j| / (k - 1)`` for ``k`` ordered classes.

    Args:
        k (int): the number of classes.

    Returns:
        np.ndarray: ``(k, k)`` float weights, 0 on the diagonal, 1 at the corners.
    """
    i = np.arange(k)
    return np.abs(i[:, None] - i[None]) / max(k - 1, 1)


def weighted_kappa(cm: np.ndarray, weights: np.ndarray):
    """Weighted Cohen's kappa ``1 - sum(w * O) / sum(w * E)`` of a confusion matrix.

    ``O`` is the observed table, ``E`` the table expected from its margins
    (``outer(row sums, column sums) / total``) and ``w`` a disagreement weight
    (0 on the diagonal), e.g. :func:`linear_weights` for ordinal grades; with
    ``1 - eye(k)`` it is the unweighted kappa.

    Args:
        cm (np.ndarray): ``(k, k)`` counts, or ``(..., k, k)`` for many tables.
        weights (np.ndarray): ``(k, k)`` disagreement weights.

    Returns:
        float | np.ndarray: kappa (1.0 for perfect agreement; NaN for an empty
        table, or when the margins leave no room for chance disagreement but
        the tables disagree).
    """
    cm = np.asarray(cm, float)
    total = cm.sum((-2, -1))
    expected = cm.sum(-1)[..., :, None] * cm.sum(-2)[..., None, :]
    with np.errstate(invalid='ignore', divide='ignore'):
        observed_w = (weights * cm).sum((-2, -1)) / total
        expected_w = (weights * expected).sum((-2, -1)) / total**2
        kappa = 1 - observed_w / expected_w
    kappa = np.where(expected_w <= 1e-12, np.where(observed_w <= 1e-12, 1.0, np.nan), kappa)
    kappa = np.where(total > 0, kappa, np.nan)
    return float(kappa) if kappa.ndim == 0 else kappa


def cohen_kappa(cm: np.ndarray):
    """Unweighted Cohen's kappa of a confusion matrix (1.0 for perfect agreement).

    Args:
        cm (np.ndarray): ``(k, k)`` counts, or ``(..., k, k)`` for many tables.

    Returns:
        float | np.ndarray: kappa, as :func:`weighted_kappa` with ``1 - eye(k)``.
    """
    k = np.shape(cm)[-1]
    return weighted_kappa(cm, 1.0 - np.eye(k))


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each true class; NaN for classes with no true instance.

    Args:
        cm (np.ndarray): ``(k, k)`` counts ``[true][predicted]``, or
            ``(..., k, k)`` for many tables.

    Returns:
        np.ndarray: ``(k,)`` (or ``(..., k)``) recalls.
    """
    cm = np.asarray(cm, float)
    support = cm.sum(-1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(
            support > 0,
            np.diagonal(cm, axis1=-2, axis2=-1) / np.where(support > 0, support, 1),
            np.nan,
        )


def binary_sens_spec(true_pos, pred_pos) -> tuple[float, float]:
    """Sensitivity and specificity of boolean predictions (NaN without cases).

    Args:
        true_pos (array-like): whether each case is truly positive (flattened).
        pred_pos (array-like): whether each case is predicted positive, paired.

    Returns:
        tuple[float, float]: ``(sensitivity, specificity)``; sensitivity is NaN
        without a true positive case, specificity without a true negative one.
    """
    t, p = np.asarray(true_pos, bool).ravel(), np.asarray(pred_pos, bool).ravel()
    pos, neg = t.sum(), (~t).sum()
    sens = float((t & p).sum() / pos) if pos else float('nan')
    spec = float((~t & ~p).sum() / neg) if neg else float('nan')
    return sens, spec


def _group_index(groups) -> np.ndarray:
    """Each unit's group as an index ``0..G-1`` (ids compared as text)."""
    return np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)[1]


def normal_mae(sd):
    """The mean absolute value of a normal error of mean 0 and this sd:
    ``sd * sqrt(2 / pi)``."""
    return sd * np.sqrt(2 / np.pi)


def weighted_mean(values, weights=None):
    """Mean of the finite ``values`` (NaN without any).

    Args:
        values (array-like): the values (flattened).
        weights (np.ndarray, optional): frequency weights ``(B, n)``. Defaults to None.

    Returns:
        float | np.ndarray: the mean(s).
    """
    v = np.asarray(values, float).ravel()
    w, batched = _weights(len(v), weights)
    keep = np.isfinite(v)
    with np.errstate(invalid='ignore', divide='ignore'):
        return _out(w[:, keep] @ v[keep] / w[:, keep].sum(-1), batched)


def auc(score, label, weights=None):
    """Area under the ROC curve: the chance that a positive scores above a negative
    (ties count half); NaN without both classes.

    Args:
        score (array-like): scores (flattened; NaN dropped).
        label (array-like): bool labels, paired with ``score``.
        weights (np.ndarray, optional): frequency weights ``(B, n)``. Defaults to None.

    Returns:
        float | np.ndarray: the AUC(s).
    """
    score, label = np.asarray(score, float).ravel(), np.asarray(label, bool).ravel()
    w, batched = _weights(len(score), weights)
    keep = np.isfinite(score)
    score, label, w = score[keep], label[keep], w[:, keep]
    pos, neg = score[label], score[~label]
    wins = (pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])  # (P, N)
    wp, wn = w[:, label], w[:, ~label]
    with np.errstate(invalid='ignore', divide='ignore'):
        value = np.einsum('bp,pn,bn->b', wp, wins, wn) / (wp.sum(-1) * wn.sum(-1))
    return _out(value, batched)


def group_bootstrap_ci(
    statistic,
    groups,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    method: str = 'percentile',
    seed: int = 0,
    undefined_as_extreme: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap confidence intervals that resample groups (patients), not units.

    ``scipy.stats.bootstrap`` draws the group indices with replacement; every
    unit (film) of a drawn group comes along, as often as its group was drawn.
    Films of one patient are not independent, so resampling films would give
    intervals that are too narrow.

    Args:
        statistic (callable): ``statistic(weights)`` with frequency weights
            ``(B, n_units)`` returning ``(m, B)`` (m statistics) or ``(B,)``;
            see the ``weights`` argument of the functions in this module.
        groups (Sequence): the group (patient id) of each unit.
        n_resamples (int): bootstrap resamples. Defaults to 1000.
        confidence_level (float): the intervals' coverage. Defaults to 0.95.
        method (str): ``'percentile'``, ``'basic'`` or ``'BCa'`` (scipy's
            names). Defaults to ``'percentile'``.
        seed (int): seed of the resampling generator. Defaults to 0.
        undefined_as_extreme (bool): for estimates that a draw of few patients can
            leave undefined (NaN): such a resample counts as below every value for
            the low end and above every value for the high end (the undefined
            draws are not a random share, so they are not just left out); an end
            that falls among them is NaN. Needs ``method='percentile'``. Defaults
            to False (any undefined resample: no interval).

    Returns:
        tuple[np.ndarray, np.ndarray]: the low and high ends, ``(m,)`` each (or
        0-d). NaN where fewer than 2 groups exist or undefined resamples leave
        the statistic, or (``undefined_as_extreme``) that end, undefined.
    """
    if undefined_as_extreme and method != 'percentile':
        raise ValueError(f"undefined_as_extreme needs method='percentile', got {method!r}")
    group_of_unit = _group_index(groups)
    n_groups = group_of_unit.max() + 1 if len(group_of_unit) else 0
    if n_groups < 2:
        shape = np.shape(statistic(np.ones((1, len(group_of_unit)))))[:-1]
        return np.full(shape, np.nan), np.full(shape, np.nan)

    def resampled(idx, axis=-1):
        idx = np.moveaxis(np.asarray(idx), axis, -1)  # (..., n_groups)
        counts = (idx[..., None] == np.arange(n_groups)).sum(-2)
        weights = counts[..., group_of_unit].reshape(-1, len(group_of_unit))
        values = np.asarray(statistic(weights), float)  # (m, B) or (B,)
        return values.reshape(values.shape[:-1] + idx.shape[:-1])

    with warnings.catch_warnings():  # a NaN interval says it; no warning needed
        warnings.simplefilter('ignore', sp_stats.DegenerateDataWarning)
        warnings.simplefilter('ignore', RuntimeWarning)
        result = sp_stats.bootstrap(
            (np.arange(n_groups),),
            resampled,
            vectorized=True,
            n_resamples=n_resamples,
            method=method,
            confidence_level=confidence_level,
            random_state=np.random.default_rng(seed),
        )
    low, high = result.confidence_interval.low, result.confidence_interval.high
    if undefined_as_extreme:
        dist = np.asarray(result.bootstrap_distribution, float)  # (m, n_resamples) or (n,)
        alpha = 100 * (1 - confidence_level) / 2
        with np.errstate(invalid='ignore'):  # interpolating between infinities: NaN
            low, high = [
                np.percentile(np.where(np.isnan(dist), fill, dist), q, axis=-1)
                for fill, q in ((-np.inf, alpha), (np.inf, 100 - alpha))
            ]
        low, high = (np.where(np.isfinite(end), end, np.nan) for end in (low, high))
    return low, high


#: The keys of :func:`reference_noise`, in order.
REFERENCE_NOISE_KEYS = ('ref_sd', 'model_sd', 'model_gain', 'ref_reliability', 'MAE_error_free')


def within_group_pairs(groups) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, ``i < j``, of units that share a group.

    Args:
        groups (Sequence): the group (patient id) of each unit (film).

    Returns:
        tuple[np.ndarray, np.ndarray]: the first and second unit of each pair.
    """
    group_of_unit = _group_index(groups)
    first, second = [], []
    for g in np.unique(group_of_unit):
        units = np.flatnonzero(group_of_unit == g)
        i, j = np.triu_indices(len(units), k=1)
        first.append(units[i])
        second.append(units[j])
    if not first:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(first), np.concatenate(second)


def reference_noise(true, pred, groups, weights=None) -> dict:
    """How much of the disagreement between a model and single reference readings
    is the readings' own error, from subjects read more than once.

    A patient's films are each read once by a clinician (``true``) and once by the
    model (``pred``). Model: ``true = T + e_r`` and ``pred = a + g * T + e_m``, with
    ``T`` the hip's actual value on that film, the errors ``e_r`` (sd ``ref_sd``) and
    ``e_m`` (sd ``model_sd``) independent of each other, of ``T`` and from film to
    film. Between two films of one patient ``T`` changes as much for both readers,
    but each film brings fresh reading errors, so the within-patient covariances
    identify ``g``; with it the one-film moments give the rest (method of moments):

    - ``w_rr = var(true) - E[(true_1 - true_2)^2] / 2`` (= ``cov(T_1, T_2)``) and
      ``w_rm = cov(true, pred) - E[(true_1 - true_2)(pred_1 - pred_2)] / 2``
      (= ``g cov(T_1, T_2)``): ``model_gain = g = w_rm / w_rr``;
    - ``var(T) = cov(true, pred) / g``, ``ref_sd^2 = var(true) - var(T)``,
      ``model_sd^2 = var(pred) - g cov(true, pred)``;
    - ``ref_reliability = var(T) / var(true)``: the share of the readings' spread
      that is the hips'. Against these readings an error-free model (``pred = T``)
      would measure Pearson r ``sqrt(ref_reliability)``, OLS slope ``ref_reliability``
      and, for normal errors, MAE ``MAE_error_free`` (:func:`normal_mae` of ``ref_sd``).

    An estimate, not a measurement, and an opt-in analysis (``HipMetric(
    reference_noise=True)``, ``tools/test.py --reference-noise``): it holds only as
    far as its assumptions do, and none of them can be checked from the data it uses:

    1. each film is read once, and a reading's error is independent of the other
       films' (a clinician who reads a patient's films side by side, or carries a
       habit through a patient's films, makes ``cov(T_1, T_2)`` look larger and
       ``ref_sd`` smaller, down to 0);
    2. the clinicians' and the model's errors are independent (both fooled by the
       same faint edge on the same film: ``ref_sd`` low again) and independent of the
       hip's actual value (errors that grow with dysplasia bend the gain);
    3. the model is linear in the actual value (``pred = a + g T``) with one error
       size for every hip, and errors of one size for patients with few and with many
       films (a patient with k films gives k (k - 1) / 2 pairs and weighs more);
    4. a patient's hips change between films by less than different patients' differ,
       by enough to separate the two (few pairs, or hips that barely change: the
       moments are noise, and a variance estimated below 0 is reported as 0, i.e. an
       impossible "error-free" reading).

    So the figures are not a property of the readers alone: the same readings give
    other values against another model's points (where assumption 2 fails in other
    ways), and an ``MAE_error_free`` above the model's own MAE, or a model sd of 0,
    says an assumption failed, not that the model is perfect. A variance estimated
    below 0 (sampling noise around a small one) counts as 0, and the reliability is
    kept within [0, 1].

    Args:
        true (array-like): reference readings ``(N,)`` or ``(N, S)`` (S values per
            film, e.g. both hips; pairs are formed column by column).
        pred (array-like): the model's readings, the same shape.
        groups (Sequence): the patient of each of the N films.
        weights (np.ndarray, optional): film frequency weights ``(B, N)`` (a
            bootstrap draw; a pair counts as often as its films). Defaults to None.

    Returns:
        dict: :data:`REFERENCE_NOISE_KEYS` (floats, arrays ``(B,)`` with weights; NaN
        without a within-patient pair, or where the estimate is undefined: the
        clinicians' readings of a patient's films agree no better than those of
        different patients, or the model's changes do not follow theirs, gain <= 0)
        and ``pairs`` (int: within-patient pairs of finite values, unweighted).
    """
    true, pred = np.asarray(true, float), np.asarray(pred, float)
    if true.ndim == 1:
        true, pred = true[:, None], pred[:, None]
    if true.shape != pred.shape or len(true) != len(groups):
        raise ValueError(
            f'true {true.shape}, pred {pred.shape} and {len(groups)} groups '
            'must describe the same films'
        )
    w, batched = _weights(len(true), weights)
    first, second = within_group_pairs(groups)
    ok = np.isfinite(true) & np.isfinite(pred)  # (N, S)
    pair_ok = ok[first] & ok[second]  # (P, S)
    t, p = np.where(ok, true, 0.0), np.where(ok, pred, 0.0)
    unit_w = w[:, :, None] * ok  # (B, N, S)
    pair_w = w[:, first, None] * pair_ok  # (B, P, S)
    dt = np.where(pair_ok, t[first] - t[second], 0.0)  # (P, S) film-to-film changes
    dp = np.where(pair_ok, p[first] - p[second], 0.0)
    with np.errstate(invalid='ignore', divide='ignore'):
        n = unit_w.sum((1, 2))
        mt, mp = (unit_w * t).sum((1, 2)) / n, (unit_w * p).sum((1, 2)) / n
        ct, cp = t - mt[:, None, None], p - mp[:, None, None]
        var_t, var_p = ((unit_w * ct**2).sum((1, 2)) / n, (unit_w * cp**2).sum((1, 2)) / n)
        cov_tp = (unit_w * ct * cp).sum((1, 2)) / n
        npairs = pair_w.sum((1, 2))
        d_tt = (pair_w * dt**2).sum((1, 2)) / npairs
        d_tp = (pair_w * dt * dp).sum((1, 2)) / npairs
        within_t = var_t - d_tt / 2  # cov(T_1, T_2): a patient's hips differ less
        gain = (cov_tp - d_tp / 2) / within_t  # than different patients' hips do
        gain = np.where((within_t > 0) & (gain > 0), gain, np.nan)
        var_true = cov_tp / gain
        ref_var, model_var = var_t - var_true, var_p - gain * cov_tp
        ref_sd, model_sd = np.sqrt(np.maximum(ref_var, 0)), np.sqrt(np.maximum(model_var, 0))
        values = dict(
            ref_sd=ref_sd,
            model_sd=model_sd,
            model_gain=gain,
            ref_reliability=np.clip(var_true / var_t, 0, 1),
            MAE_error_free=normal_mae(ref_sd),
        )
    none = npairs <= 0
    out = {k: _out(np.where(none, np.nan, values[k]), batched) for k in REFERENCE_NOISE_KEYS}
    out['pairs'] = int(pair_ok.sum())
    return out


#: The keys of :func:`error_free_calls`, in order.
ERROR_FREE_CALL_KEYS = ('kappa_error_free', 'bal_acc_error_free', 'sens_error_free')


def error_free_calls(true, pred, groups, weights=None, noise: dict | None = None) -> dict:
    """What an error-free reader's yes/no calls (``value > 0``) would measure against
    single reference readings that err as :func:`reference_noise` estimates.

    A call such as "grade II or worse" (the H-point lateral of the P-line) is a
    threshold on a measured distance. Readings that err by ``ref_sd`` put a hip near
    the threshold on either side by chance, so even a reader who measured every
    hip exactly would disagree with them there. Each hip's actual value is estimated
    by shrinking its reading toward the mean (``mean + sqrt(ref_reliability) *
    (true - mean)``: the readings' mean and the actual values' variance); the error-
    free reader calls it positive where that is > 0, the reference where its reading
    is, which for a normal error of sd ``ref_sd`` happens with probability
    ``Phi(value / ref_sd)``. The expected 2x2 table gives Cohen's kappa, the balanced
    accuracy and the sensitivity (reference positives called positive). Exact for
    normally distributed actual values; where they cluster (e.g. two groups of hips)
    the shrunken readings still carry some of the readings' blur near the threshold
    and the agreement comes out slightly low. Not an upper bound for every model: one
    that calls more hips positive trades specificity for sensitivity and can measure
    a higher balanced accuracy.

    Args:
        true (array-like): reference readings ``(N,)`` or ``(N, S)``, the call's
            threshold at 0.
        pred (array-like): the model's readings, the same shape (for
            :func:`reference_noise`).
        groups (Sequence): the patient of each of the N films.
        weights (np.ndarray, optional): film frequency weights ``(B, N)``. Defaults
            to None.
        noise (dict, optional): :func:`reference_noise` of the same arguments, if
            already computed. Defaults to None (computed here).

    Returns:
        dict: :data:`ERROR_FREE_CALL_KEYS` (floats, arrays ``(B,)`` with weights),
        NaN where :func:`reference_noise` gives none.
    """
    from scipy.special import ndtr  # the standard normal distribution function

    noise = noise if noise is not None else reference_noise(true, pred, groups, weights)
    true = np.asarray(true, float)
    true = true[:, None] if true.ndim == 1 else true
    w, batched = _weights(len(true), weights)
    ok = np.isfinite(true) & np.isfinite(np.asarray(pred, float).reshape(true.shape))
    t = np.where(ok, true, 0.0).reshape(-1)  # (N*S,)
    unit_w = (w[:, :, None] * ok).reshape(len(w), -1)  # (B, N*S)
    sd = np.atleast_1d(noise['ref_sd'])[:, None]
    reliability = np.atleast_1d(noise['ref_reliability'])[:, None]
    with np.errstate(invalid='ignore', divide='ignore'):
        mean = (unit_w @ t / unit_w.sum(-1))[:, None]
        actual = mean + np.sqrt(np.maximum(reliability, 0)) * (t - mean)  # (B, N*S)
        read_pos = np.where(sd > 0, ndtr(actual / sd), (actual > 0).astype(float))
    called = actual > 0
    # [reference][error-free call], weighted sums over the hips
    cm = np.stack(
        [
            np.stack(
                [
                    (unit_w * (1 - read_pos) * ~called).sum(-1),
                    (unit_w * (1 - read_pos) * called).sum(-1),
                ],
                -1,
            ),
            np.stack(
                [(unit_w * read_pos * ~called).sum(-1), (unit_w * read_pos * called).sum(-1)], -1
            ),
        ],
        -2,
    )  # (B, 2, 2)
    recalls = per_class_recall(cm)
    values = dict(
        kappa_error_free=cohen_kappa(cm),
        bal_acc_error_free=recalls.mean(-1),
        sens_error_free=recalls[:, 1],
    )
    undefined = ~np.isfinite(np.atleast_1d(noise['model_gain']))
    return {
        k: _out(np.where(undefined, np.nan, np.asarray(values[k], float)), batched)
        for k in ERROR_FREE_CALL_KEYS
    }
