"""HipMetric: exact values for perfect and perturbed predictions."""

import csv
import json
import math

import numpy as np
import pytest
from mmpose.registry import METRICS

from hip_mmpose import geometry
from hip_mmpose.evaluation.hip_metric import CI_METRICS, patient_ids
from hip_mmpose.utils import records
from tests.test_geometry import P_LEFT, P_RIGHT, film


def _samples(preds, gts, names=None, **meta):
    names = names or [f'F{i}.png' for i in range(len(preds))]
    return [
        dict(
            img_path=f'/films/{name}',
            pred_instances=dict(keypoints=p[None], keypoint_scores=np.ones((1, 12))),
            gt_instances=dict(keypoints=g[None]),
            **meta,
        )
        for name, p, g in zip(names, preds, gts)
    ]


def _evaluate(preds, gts, names=None, meta=None, **kwargs):
    metric = METRICS.build(dict(type='HipMetric', **kwargs))
    metric.dataset_meta = dict(keypoint_id2name={i: f'k{i + 1}' for i in range(12)})
    metric.process([], _samples(preds, gts, names, **(meta or {})))
    return metric.evaluate(len(preds))


def _films():
    """Four films: grades (I, I), (II, I), (I, II), (II, II)."""
    return _ai_films()


def test_a_doubted_hip_is_flagged_in_the_triage_and_the_records(tmp_path):
    """HipMetric counts a hip with a low-scoring AI point as flagged, as its records
    (and tools/infer.py's) say."""
    from hip_mmpose.utils import uncertainty

    cal = [0.9, 1.6, 0.5, 0.0, 1.0, 0.01, 0.0, 0.0, 45.0, 1.6, 0.0, 0.0]  # no band, AI line 45
    assert uncertainty.checked_calibration(cal)
    gts = _films()
    samples = _samples(gts.copy(), gts, uncertainty=cal)
    for s in samples:
        s['pred_instances']['keypoint_spread'] = np.full((1, 12), 2.0)
    samples[1]['pred_instances']['keypoint_scores'] = np.ones((1, 12))
    samples[1]['pred_instances']['keypoint_scores'][0, 8] = 0.2  # point 9: image-right roof
    metric = METRICS.build(dict(type='HipMetric', dump_name='t', out_dir=str(tmp_path)))
    metric.dataset_meta = dict(keypoint_id2name={i: f'k{i + 1}' for i in range(12)})
    metric.process([], samples)
    m = metric.evaluate(len(gts))
    films, _ = records.read_json(tmp_path / 't_per_film.json')
    flags = [[f['review'][hip]['flag'] for hip in geometry.HIP_NAMES] for f in films]
    assert flags == [[False, False], [False, True], [False, False], [False, False]]
    assert films[1]['review']['image_right']['reason'] == 'low confidence: k9 (0.20)'
    assert m['hip/triage_flagged'] == pytest.approx(1 / 8)


def test_perfect_predictions():
    gts = _films()
    m = _evaluate(gts.copy(), gts)
    assert m['hip/MRE'] == 0 and m['hip/NME'] == 0 and m['hip/SDR_2px'] == 1
    assert m['hip/AI_MAE'] == 0 and m['hip/AI_RMSE'] == 0 and m['hip/AI_bias'] == 0
    assert m['hip/AI_r'] == pytest.approx(1) and m['hip/AI_ICC'] == pytest.approx(1)
    assert m['hip/IHDI_acc'] == 1 and m['hip/IHDI_bal_acc'] == 1 and m['hip/IHDI_kappa'] == 1
    assert m['hip/IHDI_recall_I'] == 1 and m['hip/IHDI_recall_II'] == 1
    assert 'hip/IHDI_recall_III' not in m  # no grade-III truth: no recall claimed
    assert m['hip/IHDI_ge2_sens'] == 1 and m['hip/IHDI_ge2_spec'] == 1


def test_translation_moves_points_not_angles():
    gts = _films()
    m = _evaluate(gts + [3.0, 4.0], gts, radii=(4, 6))
    assert m['hip/MRE'] == pytest.approx(5.0)
    assert m['hip/MRE_k7'] == pytest.approx(5.0)
    assert m['hip/NME'] == pytest.approx(5.0 / 200)  # H-line is 200 px
    assert m['hip/SDR_4px'] == 0 and m['hip/SDR_6px'] == 1
    assert m['hip/AI_MAE'] == pytest.approx(0, abs=1e-9)


def _rotate_about(point, centre, degrees):
    t = math.radians(degrees)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return centre + rot @ (point - centre)


def test_known_angle_errors():
    gts = _films()
    preds = gts.copy()
    # raise the image-left lateral roof point of films 0 and 1 by 2 degrees about point 3
    for i in (0, 1):
        preds[i, 0] = _rotate_about(preds[i, 0], preds[i, 2], 2.0)
    m = _evaluate(preds, gts)
    ai_err = geometry.acetabular_indices(preds) - geometry.acetabular_indices(gts)
    assert ai_err[:2, 0] == pytest.approx([2, 2], abs=1e-9)
    assert m['hip/AI_MAE_left'] == pytest.approx(1.0)  # 2, 2, 0, 0
    assert m['hip/AI_MAE_right'] == pytest.approx(0.0)
    assert m['hip/AI_MAE'] == pytest.approx(0.5)  # (2 + 2) / 8 hips
    assert m['hip/AI_RMSE'] == pytest.approx(1.0)  # sqrt(8/8)
    assert m['hip/AI_bias'] == pytest.approx(0.5)
    sd = np.std([2, 2, 0, 0, 0, 0, 0, 0], ddof=1)
    assert m['hip/AI_LoA_high'] == pytest.approx(0.5 + 1.96 * sd)
    assert m['hip/AI_LoA_low'] == pytest.approx(0.5 - 1.96 * sd)
    moved = 50 * 2 * math.sin(math.radians(1))  # chord of a 2-degree turn, r=50
    assert m['hip/MRE'] == pytest.approx(2 * moved / 48)


def test_missed_grade_two_hips():
    """Predict every hip grade I: accuracy stays at 50 % but the metrics see it."""
    gts = _films()
    preds = gts.copy()
    for i in range(len(preds)):  # move both H-points well medial of the P-lines
        preds[i, [3, 4, 5], 0] += 40
        preds[i, [9, 10, 11], 0] -= 40
    assert (geometry.ihdi_grades(preds) == 1).all()
    m = _evaluate(preds, gts)
    assert m['hip/IHDI_acc'] == pytest.approx(0.5)
    assert m['hip/IHDI_recall_I'] == 1 and m['hip/IHDI_recall_II'] == 0
    assert m['hip/IHDI_bal_acc'] == pytest.approx(0.5)
    assert m['hip/IHDI_kappa'] == pytest.approx(0.0)
    assert m['hip/IHDI_ge2_sens'] == 0 and m['hip/IHDI_ge2_spec'] == 1


def _grade_two_read_medial(gts, px=2.0):
    """A copy of ``gts`` whose grade-II hips have their metaphysis moved to ``px`` medial
    of the P-line (they read grade I there)."""
    preds = gts.copy()
    lateral = geometry.h_point_offsets(gts)['lateral_of_p']
    for i, grades in enumerate(geometry.ihdi_grades(gts)):
        for hip, medial in ((0, 1), (1, -1)):  # +x is medial for the image-left hip
            if grades[hip] == 2:
                preds[i, list(geometry.HIP_KEYPOINTS[hip][3:]), 0] += medial * (
                    lateral[i, hip] + px
                )
    return preds


def test_grades_at_the_models_p_line_shift(tmp_path):
    """Grade-II hips (11-18 px lateral of the P-line) read 2 px medial of it: all I. A
    model that decides 3 px medial (shift -0.015 of the 200-px H-line) grades them II;
    the true grades use no shift, and the per-film records say which shift was used."""
    gts = _films()
    preds = _grade_two_read_medial(gts)
    assert geometry.h_point_offsets(preds)['lateral_of_p'][1, 0] == pytest.approx(-2)
    assert (geometry.ihdi_grades(preds) == 1).all()
    assert _evaluate(preds, gts)['hip/IHDI_recall_II'] == 0
    m = _evaluate(
        preds, gts, meta=dict(p_line_shift=-0.015), dump_name='test', out_dir=str(tmp_path)
    )
    assert m['hip/IHDI_kappa'] == 1 and m['hip/IHDI_bal_acc'] == 1
    film0 = json.loads((tmp_path / 'test_per_film.json').read_text())['films'][1]
    assert film0['ihdi_p_line_shift'] == -0.015
    assert film0['ihdi_grade'] == film0['true_ihdi_grade'] == dict(image_left='II', image_right='I')
    # a metric that names a shift overrides the model's: 0 is the clinical P-line
    clinical = _evaluate(preds, gts, meta=dict(p_line_shift=-0.015), p_line_shift=0)
    assert clinical['hip/IHDI_recall_II'] == 0
    with pytest.raises(ValueError, match='p_line_shift'):
        METRICS.build(dict(type='HipMetric', p_line_shift=0.5))


def test_kappa_hand_computed():
    """Truth I,I,II,I,I,II,II,II (films as built); flip one II to I:
    po = 7/8, pe = (4*5 + 4*3)/64 = 0.5, kappa = (0.875 - 0.5) / 0.5 = 0.75."""
    gts = _films()
    preds = gts.copy()
    preds[3, [3, 4, 5], 0] += 40  # film 3's image-left hip II -> I
    m = _evaluate(preds, gts)
    assert m['hip/IHDI_kappa'] == pytest.approx(0.75)
    assert m['hip/IHDI_recall_II'] == pytest.approx(0.75)


def test_per_film_dump(tmp_path):
    gts = _films()
    preds = gts + [1.0, 0.0]
    _evaluate(preds, gts, dump_name='test', out_dir=str(tmp_path))
    data = json.loads((tmp_path / 'test_per_film.json').read_text())
    assert len(data['films']) == 4 and data['summary']['MRE'] == pytest.approx(1.0)
    film0 = data['films'][0]
    assert film0['file'] == 'F0.png' and film0['mean_error_px'] == pytest.approx(1.0)
    assert film0['true_ihdi_grade'] == dict(image_left='I', image_right='I')
    assert len(film0['keypoints']) == 12 and film0['keypoints'][2][2] == 1.0  # [x, y, score]
    assert film0['img_path'] == '/films/F0.png'
    assert records.read_json(tmp_path / 'test_per_film.json')[0] == data['films']
    rows = (tmp_path / 'test_per_film.csv').read_text().strip().splitlines()
    assert len(rows) == 5 and rows[0] == ','.join(records.csv_columns(evaluation=True))
    assert data['summary']['confusion'][1][1] == 4  # grade I hips predicted I


def _ai_films(scale=1.0, offset=0.0):
    """_films() (AIs 20, 23, 26, 29 / 30, 28, 26, 24) with every acetabular index a
    mapped to offset + scale * a."""
    medial, lateral = (-15, 30), (15, 40)
    hip = lambda side, kind: (
        (P_LEFT - kind[0], 100 + kind[1]) if side == 0 else (P_RIGHT + kind[0], 100 + kind[1])
    )
    out = []
    for i, (a, b) in enumerate(
        [(medial, medial), (lateral, medial), (medial, lateral), (lateral, lateral)]
    ):
        out.append(
            film(offset + scale * (20 + 3 * i), offset + scale * (30 - 2 * i), hip(0, a), hip(1, b))
        )
    return np.stack(out)


def test_slope_intercept_and_proportional_bias():
    """Model AI = 5 + 0.8 * clinicians' AI: slope 0.8, intercept 5 deg; the
    Bland-Altman difference 5 - 0.2 t on the mean 2.5 + 0.9 t has slope -2/9."""
    gts = _ai_films()
    assert np.array_equal(_ai_films(), _films())
    preds = _ai_films(0.8, 5.0)
    assert geometry.acetabular_indices(preds) == pytest.approx(
        5 + 0.8 * geometry.acetabular_indices(gts), abs=1e-9
    )
    m = _evaluate(preds, gts, bootstrap=0)
    assert m['hip/AI_slope'] == pytest.approx(0.8)
    assert m['hip/AI_intercept'] == pytest.approx(5.0)
    # no scatter about the line: the Deming fit is the same line
    assert m['hip/AI_slope_deming'] == pytest.approx(0.8)
    assert m['hip/AI_intercept_deming'] == pytest.approx(5.0)
    assert m['hip/AI_prop_bias'] == pytest.approx(-2 / 9)
    assert m['hip/IHDI_kappa'] == 1 and m['hip/IHDI_kappa_linear'] == 1  # grades unchanged
    assert not any('_ci_' in key for key in m)  # bootstrap=0: none


def test_reference_precision_from_patients_with_two_films():
    """Model AI = 5 + 0.8 x clinicians' AI exactly, two patients with two films each:
    the film-to-film changes are the model's 0.8 times the clinicians', so the gain is
    0.8 and neither reading has an error left (sd 0, reliability 1); one sentence
    says it. Films of different patients only: no such keys, no sentence."""
    from hip_mmpose.evaluation.hip_metric import REFERENCE_METRICS, describe_reference_noise

    gts, preds = _ai_films(), _ai_films(0.8, 5.0)
    names = ['P1_01.png', 'P1_02.png', 'P2_01.png', 'P2_02.png']
    m = _evaluate(preds, gts, names=names, bootstrap=100, reference_noise=True)
    # an opt-in analysis: not in the default metrics
    assert not set(_evaluate(preds, gts, names=names, bootstrap=0)) & {
        f'hip/{n}' for n in REFERENCE_METRICS + ('AI_pairs',)
    }
    assert m['hip/AI_model_gain'] == pytest.approx(0.8)
    assert m['hip/AI_ref_reliability'] == pytest.approx(1)
    assert m['hip/AI_ref_sd'] == pytest.approx(0, abs=1e-6)
    assert m['hip/AI_model_sd'] == pytest.approx(0, abs=1e-6)
    assert m['hip/AI_MAE_error_free'] == pytest.approx(0, abs=1e-6)
    assert m['hip/AI_pairs'] == 4  # 2 patients x 2 hips
    # each patient has one hip medial and one lateral of its P-line on its two films:
    # a patient's H-points differ as much as different patients' do, so no estimate
    assert not any(k.startswith('hip/IHDI_') and ('ref' in k or 'error_free' in k) for k in m)
    # two patients: a draw of one patient twice leaves the estimate undefined too often
    # for an interval (no end is printed as NaN)
    assert not any(f'hip/{n}_ci_low' in m for n in REFERENCE_METRICS)
    text = describe_reference_noise(m, 'hip/')
    assert text.startswith("reference (from 4 pairs of one patient's hips on two films)")
    assert '(gain 0.80);' in text and 'r 1.00 and OLS slope 1.00' in text
    assert 'nan' not in text and 'H-point' not in text
    alone = _evaluate(preds, gts, bootstrap=0, reference_noise=True)  # F0..F3: 4 patients
    assert not any(
        k.startswith(('hip/AI_ref', 'hip/AI_model', 'hip/AI_MAE_error_free')) for k in alone
    )
    assert describe_reference_noise(alone, 'hip/') is None


def test_reference_precision_of_simulated_readers():
    """120 patients, 2-3 films each, the hips' AI and H-points drifting between films;
    the clinicians read each AI with an error of sd 2 deg, the model with sd 0.7:
    HipMetric's estimates land near those, with intervals that contain them, and the
    grade's group (H-point lateral of the P-line) is there with its intervals."""
    from hip_mmpose.evaluation.hip_metric import REFERENCE_METRICS, describe_reference_noise

    m = _evaluate(*_simulated_readers(medial=8), bootstrap=200, reference_noise=True)
    assert m['hip/AI_ref_sd'] == pytest.approx(2.0, abs=0.35)
    assert m['hip/AI_model_sd'] == pytest.approx(0.7, abs=0.5)
    assert m['hip/AI_model_gain'] == pytest.approx(1.0, abs=0.1)
    for name in REFERENCE_METRICS:
        low, high = m[f'hip/{name}_ci_low'], m[f'hip/{name}_ci_high']
        assert low <= m[f'hip/{name}'] <= high, name
    assert m['hip/IHDI_ge2_kappa_error_free'] < 1
    assert 'nan' not in describe_reference_noise(m, 'hip/')
    # every hip far medial of its P-line (no grade II read): each group is reported whole
    # or not at all, nothing undefined reaches the summary or the sentence
    from hip_mmpose.evaluation.hip_metric import REFERENCE_GROUPS

    m = _evaluate(*_simulated_readers(medial=60), bootstrap=50, reference_noise=True)
    assert 'hip/AI_ref_sd' in m
    for group in REFERENCE_GROUPS:
        assert len({f'hip/{n}' in m for n in group}) == 1
    assert all(
        np.isfinite(v)
        for k, v in m.items()
        if isinstance(v, float) and any(n in k for n in REFERENCE_METRICS)
    )
    assert 'nan' not in describe_reference_noise(m, 'hip/')


def _simulated_readers(medial: float):
    """(preds, gts, names) of the simulated readers, the H-points ``medial`` px
    medial of the P-line on average (sd 8)."""
    rng = np.random.default_rng(4)
    names, gts, preds = [], [], []
    for p in range(120):
        ai = rng.normal(22, 4.5, 2)
        hx = np.array([P_LEFT, P_RIGHT]) + [1, -1] * rng.normal(medial, 8, 2)
        for j in range(rng.integers(2, 4)):
            now, h = ai + rng.normal(0, 2, 2), hx + rng.normal(0, 2, 2)
            read = [now + rng.normal(0, s, 2) for s in (2.0, 0.7)]
            err = [h + rng.normal(0, s, 2) for s in (2.0, 1.0)]
            gts.append(film(*read[0], (err[0][0], 130), (err[0][1], 130)))
            preds.append(film(*read[1], (err[1][0], 130), (err[1][1], 130)))
            names.append(f'P{p}_{j + 1:02d}.png')
    return np.stack(preds), np.stack(gts), names


def test_linear_kappa_of_the_hand_computed_case():
    """test_kappa_hand_computed's table has only grades I and II: one disagreement
    weight (1/3), so the linear-weighted kappa equals Cohen's 0.75."""
    gts = _films()
    preds = gts.copy()
    preds[3, [3, 4, 5], 0] += 40
    m = _evaluate(preds, gts, bootstrap=0)
    assert m['hip/IHDI_kappa_linear'] == pytest.approx(0.75)


def test_patient_ids():
    names = [
        'P2afc90_01.jpg',
        '/data/test/images/P2afc90_02.jpg',
        'P3db4d1_01.jpg',
        'odd.png',
        'odd.png',
    ]
    ids = patient_ids(names)
    assert ids[:3] == ['P2afc90', 'P2afc90', 'P3db4d1']
    assert len(set(ids)) == 4 and ids[3] not in ids[:3]  # unmatched: their own patients
    assert patient_ids(['a-1_x.png', 'a-2_y.png'], r'^([^-]+)-') == ['a', 'a']
    assert patient_ids(['case12.png'], r'case\d') == ['case1']  # no group: the whole match


def test_bootstrap_ci_by_patient(tmp_path):
    """Two patients, two films each: every CI key present, around its estimate;
    the dump says how the intervals were made."""
    gts = _films()
    preds = gts.copy()
    for i in (0, 1):
        preds[i, 0] = _rotate_about(preds[i, 0], preds[i, 2], 2.0)
    names = ['P1_01.png', 'P1_02.png', 'P2_01.png', 'P2_02.png']
    m = _evaluate(preds, gts, names, bootstrap=500, dump_name='t', out_dir=str(tmp_path))
    for key in CI_METRICS:
        assert f'hip/{key}_ci_low' in m and f'hip/{key}_ci_high' in m
    # patient 1 has every error (MAE 1 over its 4 hips), patient 2 none
    assert m['hip/AI_MAE_ci_low'] == 0 and m['hip/AI_MAE_ci_high'] == pytest.approx(1.0)
    assert m['hip/AI_MAE_ci_low'] <= m['hip/AI_MAE'] <= m['hip/AI_MAE_ci_high']
    summary = json.loads((tmp_path / 't_per_film.json').read_text())['summary']
    assert summary['bootstrap'] == dict(
        resamples=500, method='percentile', seed=0, patients=2, films=4
    )
    # names without a patient part: each film is its own patient
    _evaluate(preds, gts, bootstrap=500, dump_name='f', out_dir=str(tmp_path))
    summary = json.loads((tmp_path / 'f_per_film.json').read_text())['summary']
    assert summary['bootstrap']['patients'] == 4


def test_csv_cells_cannot_run_as_formulas(tmp_path):
    gts = _films()
    names = ['=HYPERLINK("evil.example","open")_01.png', '+1_02.png', '@x_03.png', 'P4_04.png']
    _evaluate(gts + [1.0, 0.0], gts, names, bootstrap=0, dump_name='t', out_dir=str(tmp_path))
    with open(tmp_path / 't_per_film.csv', newline='') as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == ["'" + names[0], "'+1_02.png", "'@x_03.png", 'P4_04.png']
    assert rows[1][rows[0].index('mean_error_px')] == '1.0'  # numbers stay numbers
    assert [r['file'] for r in records.read_csv(tmp_path / 't_per_film.csv')] == names
    films = json.loads((tmp_path / 't_per_film.json').read_text())['films']
    assert films[0]['file'] == names[0]  # JSON keeps the real name


def test_bootstrap_is_cheap():
    """1000 patient resamples of about the test split's shape (45 films, 23 patients, 90
    hips) stay far under the 3 s budget (measured about 0.015 s on 2 busy cores)."""
    import time

    from hip_mmpose.evaluation import hip_measures, summarise

    rng = np.random.default_rng(0)
    gts = np.stack([film(rng.uniform(12, 35), rng.uniform(12, 35)) for _ in range(45)])
    preds = gts + rng.normal(0, 2.5, gts.shape)
    files = [f'P{i // 2:02d}_{i % 2 + 1:02d}.jpg' for i in range(45)]  # 22 patients x 2 + 1
    m = hip_measures(preds, gts)
    start = time.perf_counter()
    out = summarise(m, files=files, bootstrap=1000)
    assert time.perf_counter() - start < 3.0
    assert out['bootstrap']['patients'] == 23 and out['AI_MAE_ci_low'] < out['AI_MAE']


def test_records_of_two_runs_pooled_as_one(tmp_path):
    """The k-fold's pooling: two runs' per-film JSONs (two patients, graded at their
    own P-line shifts) measured together, each film at its record's shift."""
    from hip_mmpose.evaluation import summarise_records

    gts = _films()
    preds = _grade_two_read_medial(gts)
    preds[0, 0] = _rotate_about(preds[0, 0], preds[0, 2], 2.0)  # film 0: AI +2 deg
    # run A: films 0, 1 at the clinical P-line; run B: films 2, 3 decided 3 px medial
    _evaluate(preds[:2], gts[:2], ['P1_01.png', 'P1_02.png'], dump_name='a', out_dir=str(tmp_path))
    _evaluate(
        preds[2:],
        gts[2:],
        ['P2_01.png', 'P2_02.png'],
        meta=dict(p_line_shift=-0.015),
        dump_name='b',
        out_dir=str(tmp_path),
    )
    films = [f for run in 'ab' for f in records.read_json(tmp_path / f'{run}_per_film.json')[0]]
    m = summarise_records(films, bootstrap=500)
    assert m['AI_MAE'] == pytest.approx(2 / 8, abs=1e-3)  # one hip of 8, rounded points
    # true grade II: film 1 left (missed at the P-line), film 2 right, film 3 both (found)
    assert m['IHDI_recall_II'] == pytest.approx(3 / 4) and m['IHDI_recall_I'] == 1
    assert m['IHDI_bal_acc'] == pytest.approx(0.875)
    # patient P1 has the error (0.5 over its 4 hips), P2 none
    assert m['AI_MAE_ci_low'] == 0 and m['AI_MAE_ci_high'] == pytest.approx(0.5, abs=1e-3)
    assert m['bootstrap']['patients'] == 2 and m['bootstrap']['films'] == 4
    assert 'MRE_image_left_roof_lateral' in m
    with pytest.raises(records.RecordError, match='more than once'):
        summarise_records(films + films[:1])
    with pytest.raises(records.RecordError, match='ground truth'):
        summarise_records([{k: v for k, v in f.items() if k != 'true_keypoints'} for f in films])
