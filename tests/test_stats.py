"""hip_mmpose.evaluation.stats: hand-computed kappas, fits and the patient bootstrap."""

import numpy as np
import pytest

from hip_mmpose.evaluation import stats
from hip_mmpose.utils.safe_text import csv_cell

# rows: truth, columns: prediction; 10 cases, 7 on the diagonal
CM = np.array([[2, 1, 0], [0, 2, 1], [1, 0, 3]])


def test_kappas_by_hand():
    """Margins: rows 3, 3, 4; columns 3, 3, 4.

    Unweighted: po = 7/10, pe = (3*3 + 3*3 + 4*4) / 100 = 0.34,
    kappa = (0.7 - 0.34) / (1 - 0.34) = 6/11.

    Linear weights |i - j| / 2: observed disagreement (1*0.5 + 1*0.5 + 1*1) / 10 = 0.2;
    expected table outer(rows, cols) / 10 = [[.9 .9 1.2] [.9 .9 1.2] [1.2 1.2 1.6]],
    its disagreement (0.45 + 1.2 + 0.45 + 0.6 + 1.2 + 0.6) / 10 = 0.45,
    kappa = 1 - 0.2 / 0.45 = 5/9.

    sklearn's cohen_kappa_score(..., weights='linear') (not installed here) does
        w = abs(arange(k)[:, None] - arange(k)[None])
        expected = outer(cm.sum(1), cm.sum(0)) / cm.sum()
        kappa = 1 - sum(w * cm) / sum(w * expected)
    with unscaled weights: 1 - 4 / 9 = 5/9 as well.
    """
    assert stats.cohen_kappa(CM) == pytest.approx(6 / 11)
    assert stats.weighted_kappa(CM, stats.linear_weights(3)) == pytest.approx(5 / 9)
    w = np.abs(np.arange(3)[:, None] - np.arange(3)[None])
    expected = np.outer(CM.sum(1), CM.sum(0)) / CM.sum()
    assert stats.weighted_kappa(CM, stats.linear_weights(3)) == pytest.approx(
        1 - (w * CM).sum() / (w * expected).sum()
    )


def test_linear_kappa_sees_how_far_a_grade_is_off():
    """The same count of errors, one grade off or three grades off: Cohen's kappa
    cannot tell them apart, the linear-weighted one can."""
    near = np.diag([5, 5, 5, 5])
    near[0, 0], near[0, 1] = 4, 1  # one grade-I hip read as II
    far = np.diag([5, 5, 5, 5])
    far[0, 0], far[0, 3] = 4, 1  # one grade-I hip read as IV
    lw = stats.linear_weights(4)
    assert stats.cohen_kappa(near) == pytest.approx(stats.cohen_kappa(far))
    assert stats.weighted_kappa(far, lw) < stats.weighted_kappa(near, lw) - 0.05
    assert stats.weighted_kappa(np.diag([3, 2, 1, 1]), lw) == 1.0


def test_slope_and_intercept_of_a_known_line():
    true = np.array([10.0, 20.0, 30.0, 40.0, np.nan])
    pred = 5 + 0.8 * true
    assert stats.linear_fit(true, pred) == pytest.approx((5.0, 0.8))
    assert np.isnan(stats.linear_fit([3.0, 3.0, 3.0], [1.0, 2.0, 3.0])[1])  # constant x


def test_deming_slope_of_a_hand_computed_case():
    """x = (1, 2, 3), y = (1, 3, 2): sxx = syy = 2, sxy = 1. OLS slope sxy/sxx =
    0.5; Deming with error ratio 1: (0 + sqrt(0 + 4)) / 2 = 1 through (2, 2);
    error ratio 4: (2 - 8 + sqrt(36 + 16)) / 2 = -3 + sqrt(13)."""
    x, y = np.array([1.0, 2.0, 3.0, np.nan]), np.array([1.0, 3.0, 2.0, 5.0])
    assert stats.linear_fit(x, y)[1] == pytest.approx(0.5)
    assert stats.deming_fit(x, y) == pytest.approx((0.0, 1.0))
    assert stats.deming_fit(x, y, error_ratio=4)[1] == pytest.approx(-3 + np.sqrt(13))
    # an exact line: Deming = OLS = the line's slope, whatever the error ratio
    true = np.array([10.0, 20.0, 30.0, 40.0])
    assert stats.deming_fit(true, 5 + 0.8 * true, error_ratio=2) == pytest.approx((5.0, 0.8))
    assert np.isnan(stats.deming_fit([3.0, 3.0, 3.0], [1.0, 2.0, 3.0])[1])  # no covariance
    # frequency weights = repeated rows
    w = np.array([2, 0, 3])
    assert stats.deming_fit(x[:3], y[:3], w[None])[1][0] == pytest.approx(
        stats.deming_fit(np.repeat(x[:3], w), np.repeat(y[:3], w))[1]
    )


def test_proportional_bias_of_a_known_case():
    """pred = 5 + 0.8 t: difference 5 - 0.2 t, mean 2.5 + 0.9 t, so
    difference = 5 + 0.5/0.9 - (0.2/0.9) * mean: slope -2/9, intercept 50/9."""
    true = np.array([10.0, 20.0, 30.0, 40.0])
    icpt, slope = stats.proportional_bias(5 + 0.8 * true, true)
    assert slope == pytest.approx(-2 / 9) and icpt == pytest.approx(50 / 9)
    # a constant offset is bias, not proportional bias
    assert stats.proportional_bias(true + 3, true)[1] == pytest.approx(0, abs=1e-12)


def test_weights_equal_repeated_rows():
    """A resample's weights (how often each row was drawn) give what the rows,
    physically repeated, give."""
    rng = np.random.default_rng(3)
    x = rng.normal(20, 5, 12)
    y = 0.9 * x + rng.normal(0, 2, 12)
    g_true, g_pred = rng.integers(1, 4, 12), rng.integers(1, 4, 12)
    w = rng.integers(0, 4, 12)
    rx, ry = np.repeat(x, w), np.repeat(y, w)
    assert stats.pearson_r(x, y, w[None])[0] == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert stats.icc_absolute_agreement(x, y, w[None])[0] == pytest.approx(
        stats.icc_absolute_agreement(rx, ry)
    )
    assert stats.mean_absolute_error(x, y, w[None])[0] == pytest.approx(np.abs(rx - ry).mean())
    assert stats.linear_fit(x, y, w[None])[1][0] == pytest.approx(np.polyfit(rx, ry, 1)[0])
    cm = stats.confusion_matrix(g_true, g_pred, (1, 2, 3), weights=w[None])[0]
    assert np.array_equal(
        cm, stats.confusion_matrix(np.repeat(g_true, w), np.repeat(g_pred, w), (1, 2, 3))
    )


def _mae_statistic(err):
    return lambda w: stats.mean_absolute_error(err, np.zeros_like(err), w)


def test_ci_contains_the_estimate_and_widens_with_fewer_patients():
    rng = np.random.default_rng(0)
    patients = np.repeat(np.arange(40), 2)  # 40 patients, 2 films each
    err = np.abs(rng.normal(0, 2.5, 80))
    low, high = stats.group_bootstrap_ci(_mae_statistic(err), patients, 1000)
    assert low < err.mean() < high
    few = patients < 10  # the first 10 patients only
    low10, high10 = stats.group_bootstrap_ci(_mae_statistic(err[few]), patients[few], 1000)
    assert low10 < err[few].mean() < high10
    assert high10 - low10 > 1.5 * (high - low)  # about 2x (sqrt(40/10))
    # fixed seed: the same interval twice
    assert stats.group_bootstrap_ci(_mae_statistic(err), patients, 1000) == (low, high)


def test_resampling_is_by_patient():
    """Patient A has 20 films, all 10 deg off; 20 other patients one exact film each.
    Film resampling sees 40 independent films (MAE 5 +- ~0.8); patient resampling
    sees 21 patients, A drawn 0, 1, 2 ... times (MAE 0, 5, 6.8, ...)."""
    err = np.r_[np.full(20, 10.0), np.zeros(20)]
    patients = ['A'] * 20 + [f'B{i}' for i in range(20)]
    lo_p, hi_p = stats.group_bootstrap_ci(_mae_statistic(err), patients, 1000)
    lo_f, hi_f = stats.group_bootstrap_ci(_mae_statistic(err), np.arange(40), 1000)
    assert lo_f > 3 and hi_f < 7  # films: about [3.5, 6.5]
    assert lo_p == 0 and hi_p > 7  # a resample without patient A
    assert hi_p - lo_p > 2 * (hi_f - lo_f)


def test_several_statistics_and_degenerate_cases():
    err = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    both = lambda w: np.stack(
        [stats.mean_absolute_error(err, 0 * err, w), stats.mean_absolute_error(2 * err, 0 * err, w)]
    )
    low, high = stats.group_bootstrap_ci(both, [0, 0, 1, 1, 2, 2], 200, method='BCa')
    assert low.shape == (2,) and low[1] == pytest.approx(2 * low[0])
    low, high = stats.group_bootstrap_ci(both, ['P'] * 6, 200)  # one patient: no interval
    assert np.isnan(low).all() and np.isnan(high).all()


def test_csv_cell():
    assert csv_cell('=HYPERLINK("http://evil","x").png') == '\'=HYPERLINK("http://evil","x").png'
    for start in '=+-@\t\r':
        assert csv_cell(f'{start}1') == f"'{start}1"
    assert csv_cell('P1_01.jpg') == 'P1_01.jpg' and csv_cell('') == ''
    assert csv_cell(-0.5) == -0.5 and csv_cell(-3) == -3 and csv_cell(None) is None


def test_reference_noise_by_hand():
    """Two patients, two films each, one value per film.

    clinicians 10, 12 | 20, 26 and model 11, 12 | 21, 24 (both means 17):
    var(true) = (49 + 25 + 9 + 81) / 4 = 41, var(pred) = (36 + 25 + 16 + 49) / 4 = 31.5,
    cov = (42 + 25 + 12 + 63) / 4 = 35.5; film-to-film differences: clinicians -2, -6,
    model -1, -3, so E[dt^2] = 20 and E[dt dp] = 10. Gain (35.5 - 5) / (41 - 10);
    var(T) = 35.5 / gain; the model's variance 31.5 - gain * 35.5 < 0 counts as 0."""
    true, pred = [10.0, 12.0, 20.0, 26.0], [11.0, 12.0, 21.0, 24.0]
    out = stats.reference_noise(true, pred, ['A', 'A', 'B', 'B'])
    gain = 30.5 / 31
    var_true = 35.5 / gain
    assert out['model_gain'] == pytest.approx(gain)
    assert out['ref_sd'] == pytest.approx(np.sqrt(41 - var_true))
    assert out['model_sd'] == 0
    assert out['ref_reliability'] == pytest.approx(var_true / 41)
    assert out['MAE_error_free'] == pytest.approx(np.sqrt(41 - var_true) * np.sqrt(2 / np.pi))
    assert out['pairs'] == 2
    # the model reads exactly what the clinicians read: no error on either side
    exact = stats.reference_noise(true, true, ['A', 'A', 'B', 'B'])
    assert exact['model_gain'] == pytest.approx(1) and exact['ref_reliability'] == pytest.approx(1)
    assert exact['ref_sd'] == pytest.approx(0, abs=1e-6)
    assert exact['model_sd'] == pytest.approx(0, abs=1e-6)
    # readings noisier than their spread allows: reliability kept at 1, sd at 0
    tight = stats.reference_noise([10.0, 12.0, 20.0, 26.0], [10.0, 12.0, 20.0, 25.0], list('AABB'))
    assert tight['ref_reliability'] <= 1 and tight['ref_sd'] >= 0
    # nobody has two films: nothing to separate the errors with
    none = stats.reference_noise(true, pred, ['A', 'B', 'C', 'D'])
    assert none['pairs'] == 0 and all(np.isnan(none[k]) for k in stats.REFERENCE_NOISE_KEYS)


def test_reference_noise_recovers_known_errors():
    """Simulated patients, 1-3 films each, the hip's angle drifting between films:
    clinicians read it with sd 2 deg, a model 1 + 0.85 x it with sd 1 deg."""
    rng = np.random.default_rng(0)
    patient = np.repeat(np.arange(4000), rng.integers(1, 5, 4000))  # 1-4 films each
    # two hips per film, each with its own angle drifting from film to film
    actual = rng.normal(22, 4.5, (4000, 2))[patient] + rng.normal(0, 2.5, (len(patient), 2))
    true = actual + rng.normal(0, 2.0, actual.shape)
    pred = 1 + 0.85 * actual + rng.normal(0, 1.0, actual.shape)
    out = stats.reference_noise(true, pred, patient)
    assert out['ref_sd'] == pytest.approx(2.0, abs=0.1)
    assert out['model_sd'] == pytest.approx(1.0, abs=0.15)
    assert out['model_gain'] == pytest.approx(0.85, abs=0.02)
    assert out['ref_reliability'] == pytest.approx(actual.var() / true.var(), abs=0.02)
    # the pooled OLS slope against the readings is the reliability times the gain
    assert stats.linear_fit(true, pred)[1] == pytest.approx(
        out['ref_reliability'] * out['model_gain'], abs=0.02
    )
    assert out['pairs'] == 2 * sum(k * (k - 1) // 2 for k in np.bincount(patient))
    # a model without error: its MAE against the readings is the floor
    floor = stats.reference_noise(true, actual, patient)
    assert floor['model_sd'] ** 2 == pytest.approx(0, abs=0.1)  # the variance; sd ~ sqrt
    assert floor['MAE_error_free'] == pytest.approx(np.abs(true - actual).mean(), abs=0.05)


def test_reference_noise_weights_equal_repeated_patients():
    """A bootstrap draw's film weights give what the drawn patients, copied as new
    patients, give (a pair counts as often as its patient was drawn)."""
    rng = np.random.default_rng(5)
    patient = np.repeat(np.arange(6), [2, 3, 1, 2, 2, 3])
    hips = rng.normal(20, 5, (6, 2))[patient] + rng.normal(0, 1, (13, 2))
    true, pred = hips + rng.normal(0, 1, (13, 2)), hips + rng.normal(0, 1, (13, 2))
    pred[3, 1] = np.nan  # a hip without a model reading
    drawn = np.array([2, 0, 1, 1, 3, 0])  # times each patient was drawn
    weighted = stats.reference_noise(true, pred, patient, drawn[patient][None])
    copies = [(p, c) for p in range(6) for c in range(drawn[p])]
    rows = np.concatenate([np.flatnonzero(patient == p) for p, _ in copies])
    groups = np.concatenate([[f'{p}/{c}'] * (patient == p).sum() for p, c in copies])
    repeated = stats.reference_noise(true[rows], pred[rows], groups)
    for key in stats.REFERENCE_NOISE_KEYS:
        assert np.isfinite(repeated[key])
        assert weighted[key][0] == pytest.approx(repeated[key]), key
    with pytest.raises(ValueError, match='same films'):
        stats.reference_noise(true, pred[:5], patient)


def test_reference_noise_undefined_where_films_of_a_patient_do_not_agree():
    """A patient's two films read further apart than different patients' films
    (cov(T_1, T_2) estimated below 0), or the model's changes running against the
    clinicians' (model 20, 16 | 16, 22: cov 6.5, E[dt dp] = (-2 * 4 + -6 * -6) / 2 = 14,
    so cov(T_1, T_2) times the gain is 6.5 - 7 < 0): no estimate."""
    apart = stats.reference_noise([10.0, 30.0, 20.0, 21.0], [11.0, 29.0, 20.0, 22.0], list('AABB'))
    assert np.isnan(apart['model_gain']) and np.isnan(apart['ref_sd'])
    assert apart['pairs'] == 2
    against = stats.reference_noise(
        [10.0, 12.0, 20.0, 26.0], [20.0, 16.0, 16.0, 22.0], list('AABB')
    )
    assert np.isnan(against['model_gain'])


def test_error_free_calls_by_hand():
    """The case of test_reference_noise_by_hand moved to mean 0 (clinicians -7, -5 | 3,
    9; model -6, -5 | 4, 7): gain 30.5 / 31, var(T) = 35.5 / gain, ref_sd = sqrt(41 -
    var(T)). Actual values sqrt(var(T) / 41) x readings; the error-free reader calls
    the last two positive; the reference reads each positive with probability
    Phi(actual / ref_sd)."""
    from math import erf, sqrt

    true, pred = np.array([-7.0, -5.0, 3.0, 9.0]), np.array([-6.0, -5.0, 4.0, 7.0])
    var_true = 35.5 * 31 / 30.5
    ref_sd = sqrt(41 - var_true)
    actual = sqrt(var_true / 41) * true
    read = [0.5 * (1 + erf(a / ref_sd / sqrt(2))) for a in actual]
    cm = np.array(
        [
            [(1 - read[0]) + (1 - read[1]), (1 - read[2]) + (1 - read[3])],
            [read[0] + read[1], read[2] + read[3]],
        ]
    )  # [reference][call]
    sens, spec = cm[1, 1] / cm[1].sum(), cm[0, 0] / cm[0].sum()
    agree = np.trace(cm) / 4
    chance = (cm[0].sum() * cm[:, 0].sum() + cm[1].sum() * cm[:, 1].sum()) / 16
    out = stats.error_free_calls(true, pred, list('AABB'))
    assert out['sens_error_free'] == pytest.approx(sens)
    assert out['bal_acc_error_free'] == pytest.approx((sens + spec) / 2)
    assert out['kappa_error_free'] == pytest.approx((agree - chance) / (1 - chance))
    assert 0.9 < sens < 1 and 0.9 < spec < 1  # close to the threshold: misses
    assert out['sens_error_free'] == pytest.approx(1.89773 / 1.91646, abs=1e-4)  # by hand
    # readings without error: the reference calls what the error-free reader calls
    exact = stats.error_free_calls(true, true, list('AABB'))
    assert exact['kappa_error_free'] == pytest.approx(1)
    # no patient with two films: no estimate
    assert np.isnan(stats.error_free_calls(true, pred, list('ABCD'))['kappa_error_free'])


def test_undefined_resamples_count_as_extremes():
    """A statistic undefined on some draws gets no interval by default; with
    undefined_as_extreme such a draw counts below every value for the low end and
    above every value for the high end: a common one (draws of 100 patients without
    patients 0 and 1: (98/100)^100 = 13 %) leaves no end, a rare one (without all of
    0-4: 0.6 %) widens, not narrows, the interval."""
    rng = np.random.default_rng(1)
    groups = np.arange(100)
    value = rng.normal(0, 1, 100)

    def mean(w):
        return w @ value / w.sum(-1)

    def mean_unless_both_left_out(w):
        return np.where((w[:, 0] > 0) | (w[:, 1] > 0), mean(w), np.nan)

    strict = stats.group_bootstrap_ci(mean_unless_both_left_out, groups, 2000)
    assert np.isnan(strict[0]) and np.isnan(strict[1])
    # ~13 % undefined, more than the 2.5 % either end allows: no finite end
    low, high = stats.group_bootstrap_ci(
        mean_unless_both_left_out, groups, 2000, undefined_as_extreme=True
    )
    assert np.isnan(low) and np.isnan(high)

    def mean_unless_all_of_five_left_out(w):  # (95/100)^100 = 0.6 % of draws
        return np.where(w[:, :5].sum(-1) > 0, mean(w), np.nan)

    low, high = stats.group_bootstrap_ci(
        mean_unless_all_of_five_left_out, groups, 2000, undefined_as_extreme=True
    )
    plain_low, plain_high = stats.group_bootstrap_ci(mean, groups, 2000)
    assert low <= plain_low + 0.02 and high >= plain_high - 0.02  # not narrower
    assert low < value.mean() < high
    with pytest.raises(ValueError, match='percentile'):
        stats.group_bootstrap_ci(mean, groups, 500, method='BCa', undefined_as_extreme=True)


def test_error_free_calls_match_a_simulated_error_free_reader():
    """Simulated hips (normal actual distances, 2-3 films per patient, drifting), read
    by a reference with sd 0.015 and a model with sd 0.01: the kappa, balanced
    accuracy and sensitivity of the actual values' calls against the readings' calls
    are what error_free_calls estimates from the readings and the model alone."""
    rng = np.random.default_rng(2)
    patient = np.repeat(np.arange(3000), rng.integers(2, 4, 3000))
    actual = rng.normal(-0.02, 0.025, (3000, 2))[patient] + rng.normal(0, 0.01, (len(patient), 2))
    true = actual + rng.normal(0, 0.015, actual.shape)
    pred = actual + rng.normal(0, 0.01, actual.shape)
    cm = stats.confusion_matrix(true.ravel() > 0, actual.ravel() > 0, (False, True))
    recalls = stats.per_class_recall(cm)
    out = stats.error_free_calls(true, pred, patient)
    assert out['kappa_error_free'] == pytest.approx(stats.cohen_kappa(cm), abs=0.03)
    assert out['bal_acc_error_free'] == pytest.approx(recalls.mean(), abs=0.02)
    assert out['sens_error_free'] == pytest.approx(recalls[1], abs=0.03)
