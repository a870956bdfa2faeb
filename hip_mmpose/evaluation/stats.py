"""Agreement statistics for measurement and grading, pure numpy.

Used by :class:`HipMetric` and the report figures, so the numbers a figure shows
are the numbers the metric logged.
"""
from __future__ import annotations

import numpy as np


def pearson_r(x, y) -> float:
    """Pearson correlation; NaN with fewer than 2 finite pairs or a constant side."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float('nan')
    return float(np.corrcoef(x, y)[0, 1])


def icc_absolute_agreement(pred, true) -> float:
    """ICC(2,1) (Shrout & Fleiss): two-way random effects, absolute agreement,
    single measurement - the usual choice for comparing a method with clinicians,
    since it penalises a constant bias that Pearson's r ignores."""
    y = np.stack([np.asarray(pred, float).ravel(), np.asarray(true, float).ravel()], 1)
    y = y[np.isfinite(y).all(1)]
    n, k = y.shape
    if n < 2:
        return float('nan')
    grand = y.mean()
    ss_rows = k * ((y.mean(1) - grand) ** 2).sum()
    ss_cols = n * ((y.mean(0) - grand) ** 2).sum()
    ss_err = ((y - grand) ** 2).sum() - ss_rows - ss_cols
    ms_rows, ms_cols = ss_rows / (n - 1), ss_cols / (k - 1)
    ms_err = ss_err / ((n - 1) * (k - 1))
    denom = ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n
    if denom <= 0:
        return 1.0 if np.allclose(y[:, 0], y[:, 1]) else float('nan')
    return float((ms_rows - ms_err) / denom)


def bland_altman(pred, true) -> dict:
    """Bias (mean of pred - true) and 95 % limits of agreement (bias +- 1.96 sd)."""
    diff = np.asarray(pred, float).ravel() - np.asarray(true, float).ravel()
    diff = diff[np.isfinite(diff)]
    if len(diff) == 0:
        return dict(bias=float('nan'), loa_low=float('nan'), loa_high=float('nan'))
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    return dict(bias=bias, loa_low=bias - 1.96 * sd, loa_high=bias + 1.96 * sd)


def confusion_matrix(true, pred, labels) -> np.ndarray:
    """Counts ``[true label][predicted label]``; values outside ``labels`` ignored."""
    index = {label: i for i, label in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(np.ravel(true), np.ravel(pred)):
        if t in index and p in index:
            cm[index[t], index[p]] += 1
    return cm


def cohen_kappa(cm: np.ndarray) -> float:
    """Unweighted Cohen's kappa of a confusion matrix (1.0 for perfect agreement)."""
    cm = np.asarray(cm, float)
    total = cm.sum()
    if total == 0:
        return float('nan')
    observed = np.trace(cm) / total
    expected = (cm.sum(0) * cm.sum(1)).sum() / total ** 2
    if expected == 1.0:
        return 1.0 if observed == 1.0 else float('nan')
    return float((observed - expected) / (1 - expected))


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each true class; NaN for classes with no true instance."""
    cm = np.asarray(cm, float)
    support = cm.sum(1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(support > 0, np.diag(cm) / np.where(support > 0, support, 1), np.nan)


def binary_sens_spec(true_pos, pred_pos) -> tuple[float, float]:
    """Sensitivity and specificity of boolean predictions (NaN without cases)."""
    t, p = np.asarray(true_pos, bool).ravel(), np.asarray(pred_pos, bool).ravel()
    pos, neg = t.sum(), (~t).sum()
    sens = float((t & p).sum() / pos) if pos else float('nan')
    spec = float((~t & ~p).sum() / neg) if neg else float('nan')
    return sens, spec
