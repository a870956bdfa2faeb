"""hip_mmpose.utils.uncertainty: conformal intervals, P(grade >= II) and the review flag,
checked by hand and against a simulated model whose errors are known."""

import math
import re

import numpy as np
import pytest

from hip_mmpose import geometry
from hip_mmpose.data_tools.synthetic import synthetic_points
from hip_mmpose.utils import uncertainty as unc
from tests.test_geometry import film


def test_conformal_quantile_by_hand():
    scores = [0.5, 3.0, 1.0, 2.0, np.nan, 4.0]  # 5 finite scores
    # ceil((5 + 1) * 0.8) = 5: the 5th smallest, not the 80 % sample quantile (3.2)
    assert unc.conformal_quantile(scores, 0.8) == 4.0
    assert unc.conformal_quantile(scores, 0.5) == 2.0  # ceil(3) = 3rd
    assert unc.conformal_quantile(scores, 0.9) == math.inf  # ceil(5.4) = 6 > 5


def test_heatmap_spread_by_hand():
    h = np.zeros((2, 9, 9))
    h[0, 4, 4] = 1.0  # one sharp peak: no spread
    h[1, 1, 1], h[1, 1, 7] = 1.0, 1.0  # two equal peaks 6 px apart: rms distance sqrt(18)
    assert unc.heatmap_spread(h) == pytest.approx([0.0, math.sqrt(18)])
    h[1, 1, 7] = 0.05  # below 10 % of the peak: ignored
    assert unc.heatmap_spread(h)[1] == 0.0
    assert np.isnan(unc.heatmap_spread(np.zeros((4, 4))))


def test_ai_sd_propagates_the_roof_points():
    p = film(30, 20)  # roof 50 px, H-line 200 px
    spreads = np.zeros(12)
    spreads[0] = 2.0  # only the image-left lateral roof point is uncertain
    sd = unc.ai_sd(p, spreads)
    # moving point 1 by 1 px across the 50-px roof turns it by 1/50 rad; radial 2 px
    # spread: 2 / sqrt(2) px per axis
    assert sd[0] == pytest.approx(math.degrees(1 / 50) * 2 / math.sqrt(2), rel=1e-3)
    assert sd[1] == 0.0


def _simulated(rng, n, sd_scale):
    """Films whose AI errors are normal with a known, per-hip sd (heteroscedastic):
    the model's spreads tell that sd (up to noise), as a useful signal would."""
    truth = np.stack(
        [synthetic_points(rng, 600, 400, (1, 2) if i % 4 == 0 else (1, 1)) for i in range(n)]
    )
    spreads = np.exp(rng.normal(np.log(sd_scale), 0.6, (n, 12)))
    noise = rng.normal(0, 1, (n, 12, 2)) * spreads[..., None] / math.sqrt(2)
    return truth + noise, truth, spreads


def test_intervals_recover_coverage_on_a_simulated_model():
    rng = np.random.default_rng(3)
    cal = unc.fit_calibration(*_simulated(rng, 300, 3.0), level=0.9)
    pred, truth, spreads = _simulated(rng, 2000, 3.0)
    out = unc.measure(pred, spreads, cal)
    ai_true = geometry.acetabular_indices(truth)
    ai = geometry.acetabular_indices(pred)
    covered = (out['ai_low'] <= ai_true) & (ai_true <= out['ai_high'])
    assert 0.87 <= covered.mean() <= 0.93
    # the widest 20 % of intervals hold the largest errors
    width = (out['ai_high'] - out['ai_low']).ravel()
    err = np.abs(ai - ai_true).ravel()
    wide = width >= np.quantile(width, 0.8)
    assert err[wide].mean() / err[~wide].mean() >= 1.5
    # a constant interval of the same coverage is wider on average
    const = unc.conformal_quantile(np.abs(ai - ai_true).ravel()[:600], 0.9) * 2
    assert width.mean() < const
    # calibrated probabilities: Brier well below the prevalence guess
    y = (geometry.ihdi_grades(truth) >= 2).ravel()
    p = out['p_ge2'].ravel()
    assert np.mean((p - y) ** 2) < 0.6 * y.mean() * (1 - y.mean())


def _missed_and_flagged(cal, pred, truth, spreads, threshold=30.0):
    """Abnormal hips called normal without a flag, abnormal hips, hips flagged."""
    out = unc.measure(pred, spreads, cal)
    ai, ai_true = geometry.acetabular_indices(pred), geometry.acetabular_indices(truth)
    abnormal = (ai_true > threshold) | (geometry.ihdi_grades(truth) >= 2)
    called_normal = (ai <= threshold) & (geometry.ihdi_grades(pred) == 1)
    missed = (abnormal & called_normal & ~out['review']).sum()
    return missed, abnormal.sum(), out['review'].sum()


def test_review_band_keeps_misses_below_target():
    rng = np.random.default_rng(5)
    films = _simulated(rng, 400, 3.0)
    # no miss allowed, and the AI line out of reach: the band must catch the grades
    fit = dict(target_missed=0.0, ai_threshold=60.0)
    normal = unc.fit_calibration(*films, **fit)
    symmetric = unc.fit_calibration(*films, band='symmetric', **fit)
    assert symmetric['p_high'] == pytest.approx(1 - symmetric['p_low'])
    # the default band ends at the probability of the grade decision: logistic(a)
    assert normal['p_low'] == symmetric['p_low'] < normal['p_high']
    assert normal['p_high'] == pytest.approx(1 / (1 + math.exp(-normal['grade_a'])))
    out = unc.measure(films[0], films[2], normal)
    called_normal = geometry.ihdi_grades(films[0]) == 1
    assert (out['p_ge2'][called_normal] <= normal['p_high'] + 1e-12).all()
    assert (out['p_ge2'][~called_normal] > normal['p_high']).all()
    # on the films it was fitted on: no miss by either, fewer flags (16 against 27
    # here) from the band that leaves the calls of grade >= II alone
    missed, _, flagged = _missed_and_flagged(normal, *films, threshold=60.0)
    missed_sym, _, flagged_sym = _missed_and_flagged(symmetric, *films, threshold=60.0)
    assert missed == missed_sym == 0
    assert 0 < flagged < flagged_sym
    # the default target (4 %) on the default line, as tools/train.py fits it:
    # conformal risk control, (misses + 1) / (abnormal + 1) <= 0.04 on the fit hips
    assert unc.DEFAULT_TARGET_MISSED == 0.04
    fit = unc.fit_calibration(*films)
    misses, abnormal, _ = _missed_and_flagged(fit, *films)
    assert (misses + 1) / (abnormal + 1) <= 0.04
    assert fit['abnormal'] == abnormal and fit['allowed'] == pytest.approx(
        0.04 * (abnormal + 1) - 1
    )
    # too few abnormal hips for the target: the widest band (every normal call flagged)
    few = tuple(a[:60] for a in films)
    cal = unc.fit_calibration(*few, target_missed=0.01)
    assert cal['p_low'] == 0.0
    assert cal['allowed'] < 0 and cal['abnormal'] < unc.fewest_abnormal(0.01) == 99
    with pytest.raises(ValueError, match='band must be one of'):
        unc.fit_calibration(*films, band='upper')
    cal = normal
    out = unc.measure(*_simulated(rng, 400, 3.0)[::2], cal)
    assert out['review'].dtype == bool
    assert all(
        ('AI within' in r or 'P(grade' in r) == f
        for r, f in zip(out['reason'].ravel(), out['review'].ravel())
    )


def test_doubted_hips_are_flagged_and_the_band_leaves_them_to_the_doubt():
    rng = np.random.default_rng(5)
    films = _simulated(rng, 400, 3.0)
    fit = dict(target_missed=0.01, ai_threshold=60.0)  # the grade's misses are the band's
    plain = unc.fit_calibration(*films, **fit)
    assert plain['allowed'] >= 0 and plain['p_low'] < 0.5  # the band widened to catch them
    pred, truth = films[0], films[1]
    missed = (geometry.ihdi_grades(truth) >= 2) & (geometry.ihdi_grades(pred) == 1)
    assert missed.sum() > plain['allowed']
    doubts = np.where(missed, 'low confidence: point 3 (0.10)', None)
    doubted = unc.fit_calibration(*films, doubts=doubts, **fit)
    # those hips are flagged by their doubt: no band is needed for them
    assert doubted['p_low'] == 0.5 and doubted['flagged'] < plain['flagged']
    out = unc.measure(pred, films[2], doubted, doubts=doubts)
    assert out['review'][missed].all()
    reasons = out['reason'][missed]
    assert all(r.startswith('low confidence: point 3 (0.10)') for r in reasons)
    # without the doubts the same calibration leaves them unflagged (the band is narrow)
    bare = unc.measure(pred, films[2], doubted)
    assert not bare['review'][missed].all()
    assert (out['review'] == (bare['review'] | missed)).all()


def test_train_fits_the_band_with_the_doubts_its_val_records_hold(tmp_path):
    """tools/train.py's fit (cascade.fit_uncertainty) reads the doubts from the val
    records' own scores: hips a low score flags need no band."""
    from hip_mmpose.apis.cascade import fit_uncertainty
    from hip_mmpose.utils import records

    rng = np.random.default_rng(5)
    pred, truth, spreads = _simulated(rng, 400, 3.0)
    missed = (geometry.ihdi_grades(truth) >= 2) & (geometry.ihdi_grades(pred) == 1)
    bands, logs = {}, {}
    for doubted in (False, True):
        scores = np.ones((len(pred), 12))
        if doubted:  # each missed hip's lateral roof edge scored low
            scores[:, list(geometry.ROOF_LATERAL)] = np.where(missed, 0.1, 1.0)
        films = [
            records.film_record(p, sc, truth=t, file=f'P{i}_01.jpg', spreads=sp)
            for i, (p, t, sp, sc) in enumerate(zip(pred, truth, spreads, scores))
        ]
        path, _ = records.write_per_film(tmp_path / str(doubted), 'val', films)
        logs[doubted] = []
        bands[doubted] = fit_uncertainty(
            path, target_missed=0.01, ai_threshold=60.0, log=logs[doubted].append
        )
    assert bands[False]['p_low'] < 0.5 and bands[True]['p_low'] == 0.5

    def flagged(lines):  # '...: 12% of the val hips flagged'
        return int(re.search(r'(\d+)% of the val hips flagged', ' '.join(lines)).group(1))

    assert flagged(logs[True]) < flagged(logs[False])


def test_allowed_misses_by_hand():
    """Conformal risk control's allowance: m misses of n abnormal hips pass when
    (m + 1) / (n + 1) <= target."""
    # 43 abnormal hips (a fold's val): 0.05 lets one miss through, 0.04 none
    assert unc.allowed_misses(0.05, 43) == pytest.approx(1.2)
    assert unc.allowed_misses(0.04, 43) == pytest.approx(0.76)
    assert unc.allowed_misses(0.04, 49) == pytest.approx(1.0)
    # 24 abnormal hips (the main split's val) hold 0.04 with no miss; 23 cannot
    assert unc.allowed_misses(0.04, 24) == pytest.approx(0.0)
    assert unc.allowed_misses(0.04, 23) < 0
    assert unc.fewest_abnormal(0.04) == 24 and unc.fewest_abnormal(0.05) == 19
    assert unc.fewest_abnormal(0.1) == 9 and unc.fewest_abnormal(0.5) == 1


def test_review_rule_level_is_the_one_flagging_fewest():
    """The review's AI rule is picked from flag_levels: the level whose fitted band
    flags the fewest calibration hips (ties: the higher), each within the miss target;
    one level of 0.9 is the rule of the interval itself."""
    rng = np.random.default_rng(7)
    films = _simulated(rng, 400, 3.0)
    alone = unc.fit_calibration(*films, flag_levels=(0.9,))
    assert alone['flag_level'] == 0.9 and alone['flag_q'] == alone['ai_q']
    each = {lv: unc.fit_calibration(*films, flag_levels=(lv,)) for lv in (0.5, 0.7, 0.9)}
    picked = unc.fit_calibration(*films, flag_levels=(0.5, 0.7, 0.9))
    fewest = min(f['flagged'] for f in each.values())
    assert picked['flagged'] == fewest
    assert picked['flag_level'] == max(lv for lv, f in each.items() if f['flagged'] == fewest)
    assert picked['flag_q'] == each[picked['flag_level']]['flag_q']
    # the reported interval does not move with the rule
    assert picked['ai_q'] == alone['ai_q'] and picked['level'] == 0.9
    # a lower level is a narrower rule: flag_q falls with it
    assert each[0.5]['flag_q'] < each[0.7]['flag_q'] < each[0.9]['flag_q']
    # every candidate keeps the misses within the target on the fit hips
    for cal in (*each.values(), picked):
        misses, abnormal, flagged = _missed_and_flagged(cal, *films)
        assert (misses + 1) / (abnormal + 1) <= unc.DEFAULT_TARGET_MISSED
        assert flagged / films[0].shape[0] / 2 == pytest.approx(cal['flagged'])
    # levels above the interval's are left out
    assert unc.fit_calibration(*films, level=0.8, flag_levels=(0.9,))['flag_level'] == 0.8


@pytest.mark.parametrize(
    'change,message',
    [
        (dict(ai_q=-1.0), 'ai_q'),
        (dict(ai_floor=np.nan), 'ai_floor'),
        (dict(level=2.0), 'level'),
        (dict(p_low=0.6, p_high=0.3), 'exceeds p_high'),
        (dict(p_high=1.5), 'p_high'),
        (dict(grade_b=1e300), 'grade_b'),
        (dict(flag_q=0.0), 'flag_q'),
        (dict(edge_power=-0.5), 'edge_power'),
        (dict(edge_power=float('nan')), 'edge_power'),
        (dict(edge_ref=0.0), 'without an edge_ref'),
        (dict(edge_ref=1e9), 'edge_ref'),
    ],
)
def test_tampered_calibration_is_refused(change, message):
    good = dict(
        level=0.9,
        ai_q=1.6,
        ai_floor=1.2,
        grade_a=-1.0,
        grade_b=2.0,
        grade_floor=0.01,
        p_low=0.2,
        p_high=0.8,
        ai_threshold=30.0,
        flag_q=1.1,
        edge_power=0.4,
        edge_ref=2.8,
    )
    assert unc.checked_calibration([good[k] for k in unc.CALIBRATION_KEYS]) == good
    bad = dict(good, **change)
    with pytest.raises(ValueError, match=message):
        unc.checked_calibration([bad[k] for k in unc.CALIBRATION_KEYS], source='x.pth')
    with pytest.raises(ValueError, match='expected 12'):
        unc.checked_calibration([1.0, 2.0])
    assert unc.checked_calibration(np.zeros(unc.NUM_CALIBRATION)) == {}
    # a file written before the roof edge: intervals of the spread alone
    ten = [good[k] for k in unc.CALIBRATION_KEYS[:10]]
    assert unc.checked_calibration(ten) == dict(good, edge_power=0.0, edge_ref=0.0)
    # a file written before flag_q: its review rule was the interval's own level
    older = [good[k] for k in unc.CALIBRATION_KEYS[:9]]
    assert unc.checked_calibration(older) == dict(
        good, flag_q=good['ai_q'], edge_power=0.0, edge_ref=0.0
    )
    for n in (9, 10):
        assert unc.checked_calibration(np.zeros(n)) == {}
    with pytest.raises(ValueError, match='ai_q'):  # and checked as strictly
        unc.checked_calibration([older[0], -1.0, *older[2:]])
    with pytest.raises(ValueError, match='expected 12'):
        unc.checked_calibration(np.zeros(11))


def test_hip_metric_uncertainty_keys_by_hand():
    """Coverage, width, error ratio, Brier, AUC and triage of five films (ten hips)."""
    from hip_mmpose.evaluation.hip_metric import UNCERTAINTY_METRICS, summarise

    n = 5
    ai_true = np.array([[20, 22], [25, 31], [18, 24], [33, 21], [26, 27]], float)
    ai_pred = ai_true + np.array([[1, -1], [0.5, -4], [0, 2], [-6, 0], [1, 1]], float)
    half = np.array([[2, 2], [2, 3], [2, 2], [3, 2], [2, 2]], float)
    grade_true = np.array([[1, 1], [1, 2], [1, 1], [2, 1], [1, 1]])
    grade_pred = np.array([[1, 1], [1, 1], [1, 1], [1, 1], [1, 1]])
    p = np.array([[0.1, 0.1], [0.2, 0.6], [0.1, 0.1], [0.3, 0.1], [0.1, 0.1]])
    review = np.array([[0, 0], [0, 1], [0, 0], [1, 0], [0, 0]], bool)
    m = dict(
        errors=np.ones((n, 12)),
        h_line=np.full(n, 200.0),
        ai_true=ai_true,
        ai_pred=ai_pred,
        ai_low=ai_pred - half,
        ai_high=ai_pred + half,
        p_ge2=p,
        review=review,
        ai_threshold=30.0,
        grade_true=grade_true,
        grade_pred=grade_pred,
        p_lateral_true=np.zeros((n, 2)),
        p_lateral_pred=np.zeros((n, 2)),
        confusion=np.zeros((5, 5), int),
    )
    out = summarise(m)
    # inside: all but the hips off by 4 (half 3) and 6 (half 3): 8 of 10
    assert out['AI_PI_coverage'] == pytest.approx(0.8)
    assert out['AI_PI_width'] == pytest.approx(2 * (8 * 2 + 2 * 3) / 10)
    # the 20 % widest (the two half-3 hips) erred 4 and 6; the rest 1,1,.5,0,2,0,1,1
    assert out['AI_PI_error_ratio'] == pytest.approx(5 / (6.5 / 8))
    y = grade_true >= 2
    assert out['IHDI_ge2_brier'] == pytest.approx(np.mean((p - y) ** 2))
    assert out['IHDI_ge2_brier_skill'] == pytest.approx(1 - np.mean((p - y) ** 2) / (0.2 * 0.8))
    # positives scored 0.6 and 0.3; negatives 0.2 and seven 0.1: every pair won
    assert out['IHDI_ge2_auc'] == pytest.approx(1.0)
    assert out['triage_flagged'] == pytest.approx(0.2)
    # abnormal: the two grade-II hips (also the AI 31 and 33 ones): both flagged
    assert out['triage_missed'] == pytest.approx(0.0)
    m['review'] = np.zeros((n, 2), bool)
    assert summarise(m)['triage_missed'] == pytest.approx(1.0)
    boot = summarise(m, bootstrap=200, files=[f'P{i}_01.jpg' for i in range(n)])
    for key in ('AI_PI_coverage', 'AI_PI_width'):
        assert boot[key + '_ci_low'] <= boot[key] <= boot[key + '_ci_high']
    assert set(UNCERTAINTY_METRICS) <= set(boot)


def test_pooled_records_give_the_same_interval_metrics():
    """k-fold pools the records' own intervals (summarise_records): the same figures
    as the metric computes from the points, spreads and calibration."""
    from hip_mmpose.evaluation.hip_metric import hip_measures, summarise, summarise_records
    from hip_mmpose.utils import records

    rng = np.random.default_rng(7)
    cal = unc.fit_calibration(*_simulated(rng, 200, 3.0))
    cal = {k: cal[k] for k in unc.CALIBRATION_KEYS}
    pred, truth, spreads = _simulated(rng, 30, 3.0)
    scores = np.ones((30, 12))
    scores[:6, 0] = 0.1  # six films' image-left roof edge in doubt: flagged in both
    films = [
        records.film_record(
            p,
            sc,
            truth=t,
            img_path=f'P{i // 2}_{i % 2}.jpg',
            file=f'P{i // 2}_{i % 2}.jpg',
            spreads=s,
            uncertainty=cal,
        )
        for i, (p, t, s, sc) in enumerate(zip(pred, truth, spreads, scores))
    ]
    pooled = summarise_records(films)
    m = unc.measure(
        pred, spreads, cal, doubts=[geometry.doubts(p, sc) for p, sc in zip(pred, scores)]
    )
    assert m['review'][:6, 0].all()
    m['ai_threshold'] = cal['ai_threshold']
    direct = summarise(hip_measures(pred, truth, uncertain=m))
    for key in ('AI_PI_coverage', 'AI_PI_width', 'IHDI_ge2_auc', 'triage_flagged'):
        assert pooled[key] == pytest.approx(direct[key], abs=0.02), key
    # and the CSV round trip keeps them
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = records.write_csv(Path(tmp) / 'x.csv', films)
        back = records.read_csv(path)
    assert back[0]['acetabular_index_interval'] == films[0]['acetabular_index_interval']
    assert back[0]['review'] == films[0]['review']


def test_contrast_shift_table_by_hand():
    from tools.benchmark_contrast import FLOOR, STRETCH, _jitter, shift_table

    def rec(left, right, grades=('I', 'I')):
        return dict(
            keypoints=[[0.0, 0.0, 1.0]] * 12,
            acetabular_index=dict(zip(geometry.HIP_NAMES, (left, right))),
            ihdi_grade=dict(zip(geometry.HIP_NAMES, grades)),
        )

    files = ['A_01.jpg', 'A_02.jpg', 'B_01.jpg']  # two patients
    base = [rec(20.0, 22.0), rec(25.0, None), rec(30.0, 18.0)]
    moved = {
        'gamma 0.8': [rec(20.5, 22.0), rec(25.0, None), rec(29.0, 18.0)],
        'width x1.2': [rec(20.0, 21.0), rec(25.0, None), rec(30.0, 18.0, ('II', 'I'))],
        STRETCH: [rec(40.0, 40.0), rec(40.0, None), rec(40.0, 40.0)],
        FLOOR: [rec(20.0, 22.0), rec(25.0, None), rec(30.0, 19.0)],
    }
    base = [dict(r, file=f) for r, f in zip(base, files)]
    moved = {name: [dict(r, file=f) for r, f in zip(recs, files)] for name, recs in moved.items()}
    table = shift_table(base, moved, rounds=200)
    # |changes| of the 5 measured hips: gamma 0.5, 0, 0, 1, 0 -> 0.3; width 0, 1, 0, 0, 0 -> 0.2
    assert table['gamma 0.8'][0] == pytest.approx(0.3)
    assert table['width x1.2'][0] == pytest.approx(0.2)
    # all: the mean over the windows only (not the stretch nor the floor), hip by hip
    assert table['all'][0] == pytest.approx(0.25)
    assert table[STRETCH][0] > 10 and table[FLOOR][0] == pytest.approx(0.2)
    film = np.full((4, 5, 3), 255, np.uint8)
    film[0] = 0
    moved = _jitter(film)
    assert moved.dtype == np.uint8 and np.abs(moved.astype(int) - film).max() == 1
    assert (moved[..., 0] == moved[..., 2]).all() and (moved == _jitter(film)).all()
    # grade changes: 1 of the 6 hips
    assert table['width x1.2'][3] == pytest.approx(1 / 6) and table['gamma 0.8'][3] == 0
    for _, low, high, _ in table.values():
        assert low <= high


def test_shifted_crops_move_with_the_hip_in_its_own_frame():
    from hip_mmpose.runtime.measuring import _shifted

    box = np.array([10, 20, 50, 60], np.float32)  # side 40
    np.testing.assert_allclose(_shifted(box, (0.1, 0.0), False), [14, 20, 54, 60])
    # the mirrored (image-right) hip moves the other way in the film: alike in its frame
    np.testing.assert_allclose(_shifted(box, (0.1, -0.05), True), [6, 18, 46, 58])
    assert _shifted(box, (0, 0), True) is box


def test_roof_edge_by_hand():
    """The roof line's gradient over its surroundings': 1 on a linear ramp (the same
    gradient everywhere), high on a step along the line, about 0 where the line runs
    beside it; a ratio, so any grey-level scaling leaves it."""
    p = film(30, 20)  # roofs of 50 px
    ys, xs = np.mgrid[0:300, 0:600].astype(np.float64)
    ramp = 0.5 * xs + 0.25 * ys
    assert unc.roof_edges(ramp, p) == pytest.approx([1.0, 1.0], abs=1e-9)
    assert unc.roof_edges(3 * ramp + 10, p) == pytest.approx([1.0, 1.0], abs=1e-9)
    rgb = np.repeat(np.clip(ramp, 0, 255).astype(np.uint8)[..., None], 3, -1)
    assert unc.roof_edges(rgb, p) == pytest.approx(unc.roof_edges(rgb[..., 0], p))

    lat, tri = p[0], p[2]  # the image-left roof
    normal = np.array([-(tri - lat)[1], (tri - lat)[0]]) / 50.0
    side = (xs - lat[0]) * normal[0] + (ys - lat[1]) * normal[1]
    on_line = np.where(side > 0, 200.0, 50.0)
    beside = np.where(side > 15, 200.0, 50.0)  # the edge 15 px off the predicted line
    assert unc.roof_edges(on_line, p)[0] > 3.0
    assert unc.roof_edges(beside, p)[0] < 0.01
    # nothing to measure: a flat film, a roof shorter than 4 px, a point off the film
    assert np.isnan(unc.roof_edges(np.full((300, 600), 80.0), p)).all()
    short = p.copy()
    short[0] = short[2] + [-2.0, -1.0]
    assert np.isnan(unc.roof_edges(ramp, short)[0])
    assert unc.roof_edges(ramp, short)[1] == pytest.approx(1.0)
    assert np.isnan(unc.roof_edges(ramp, np.where(np.arange(12)[:, None] == 0, np.nan, p))[0])
    # a "roof" longer than half the film is no roof (nor a reason for a film-sized square)
    far = p.copy()
    far[0] = far[2] + [-400.0, -10.0]
    assert np.isnan(unc.roof_edges(ramp, far)[0])
    far[0] = [1e300, 1e300]
    assert np.isnan(unc.roof_edges(ramp, far)[0])


def test_edge_power_is_recovered_and_widens_the_faint_roofs():
    """A simulated model whose AI errors grow as (2.5 / edge)^0.6: the fit finds the
    power, the intervals keep 90 % and rank the errors better than the spread alone;
    without edges (or with the power fixed at 0) nothing changes; a calibration that
    uses the edge refuses to measure without one."""
    rng = np.random.default_rng(11)

    def simulated(n):
        pred, truth, spreads = _simulated(rng, n, 3.0)
        edges = np.exp(rng.normal(np.log(2.5), 0.5, (n, 2)))
        factor = (2.5 / edges) ** 0.6
        for h, index in enumerate(geometry.AI_POINTS):  # the AI's points, each hip
            pred[:, index[:2]] = (
                truth[:, index[:2]]
                + (pred[:, index[:2]] - truth[:, index[:2]]) * factor[:, h, None, None]
            )
        return pred, truth, spreads, edges

    pred, truth, spreads, edges = simulated(600)
    cal = unc.fit_calibration(pred, truth, spreads, edges=edges)
    assert 0.4 <= cal['edge_power'] <= 0.8
    assert cal['edge_ref'] == pytest.approx(np.median(edges), rel=0.02)
    plain = unc.fit_calibration(pred, truth, spreads)
    assert plain['edge_power'] == plain['edge_ref'] == 0.0
    fixed = unc.fit_calibration(pred, truth, spreads, edges=edges, edge_powers=(0.0,))
    assert fixed == plain

    new = simulated(3000)
    ai_true = geometry.acetabular_indices(new[1])
    err = np.abs(geometry.acetabular_indices(new[0]) - ai_true).ravel()
    ratios = []
    for c in (cal, plain):
        out = unc.measure(new[0], new[2], c, edges=new[3])
        covered = (out['ai_low'] <= ai_true) & (ai_true <= out['ai_high'])
        assert 0.87 <= covered.mean() <= 0.93
        width = (out['ai_high'] - out['ai_low']).ravel()
        wide = width >= np.quantile(width, 0.8)
        ratios.append(err[wide].mean() / err[~wide].mean())
    assert ratios[0] > ratios[1] + 0.1
    with pytest.raises(ValueError, match='roof_edges are needed'):
        unc.measure(new[0], new[2], cal)
    # a hip without an edge gets no interval (and is flagged for review)
    gone = new[3].copy()
    gone[0, 0] = np.nan
    out = unc.measure(new[0], new[2], cal, edges=gone)
    assert np.isnan(out['ai_low'][0, 0]) and out['review'][0, 0]
    assert out['reason'][0, 0] == 'no interval'


def test_benchmark_signals_include_the_roof_edge_where_records_carry_it():
    """tools/benchmark_uncertainty.py: ``edge`` is 1 / the record's roof edge and
    ``spread_edge`` the spread's signal times sqrt(median edge / edge); records
    without edges (written before them) leave both out."""
    from hip_mmpose.utils import records
    from tools.benchmark_uncertainty import signals

    p = film(30, 20)
    spreads = np.full(12, 2.0)
    made = [
        records.film_record(p, np.ones(12), file=f'P0_{i}.jpg', spreads=spreads, edges=e)
        for i, e in enumerate(([1.0, 2.0], [4.0, 2.0]))
    ]
    found = signals(records.as_arrays(made), None)
    assert found['edge'] == pytest.approx(np.array([[1.0, 0.5], [0.25, 0.5]]))
    # median edge 2: factors sqrt(2), 1, sqrt(0.5), 1
    factor = np.sqrt(2.0 / np.array([[1.0, 2.0], [4.0, 2.0]]))
    assert found['spread_edge'] == pytest.approx(found['spread'] * factor)
    older = [records.film_record(p, np.ones(12), file='P0_9.jpg', spreads=spreads)]
    assert older[0]['roof_edge'] == {'image_left': None, 'image_right': None}
    assert {'edge', 'spread_edge'}.isdisjoint(signals(records.as_arrays(older), None))
