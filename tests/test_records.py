"""The per-film record (hip_mmpose/utils/records.py): hand-computed fields, the JSON and CSV
round trips, null for what is not measured, and one schema for tools/test.py and
tools/infer.py."""

import csv
import json
import math

import numpy as np
import pytest

from hip_mmpose import geometry
from hip_mmpose.utils import records
from tests.test_geometry import P_LEFT, film

HIPS = geometry.HIP_NAMES


def _points():
    """AI 30 / 20 deg; image-left H-point 10 px lateral of its P-line and 30 px below
    the H-line (grade II); image-right H-point medial of its P-line (grade I)."""
    return film(30, 20, h_left=(P_LEFT - 10, 130))


def test_inference_record_by_hand():
    rec = records.film_record(
        _points(), np.ones(12), file='a.png', image_size=(640, 480), pixel_spacing=(0.1, 0.1)
    )
    assert tuple(rec) == records.PREDICTION_FIELDS
    assert rec['acetabular_index'] == {'image_left': 30.0, 'image_right': 20.0}
    assert rec['ihdi_grade'] == {'image_left': 'II', 'image_right': 'I'}
    assert rec['keypoints'][2] == [200.0, 100.0, 1.0]  # point 3
    assert rec['keypoints'][0] == [156.7, 75.0, 1.0]  # 200 - 50 cos 30, 100 - 25
    # 10 px lateral, 30 px below, (10 - 30) / sqrt(2) px off the D-line; 0.1 mm per px
    assert rec['h_point_mm']['image_left'] == dict(
        lateral_of_p=1.0, below_h=3.0, lateral_of_d=round(-2 / math.sqrt(2), 2)
    )
    assert rec['not_measured'] == {} and rec['flags'] == []
    assert rec['pixel_spacing_mm'] == [0.1, 0.1] and rec['image_size'] == [640, 480]
    json.dumps(rec, allow_nan=False)
    bare = records.film_record(_points(), np.ones(12))
    assert bare['file'] is None and bare['image_size'] is None
    assert bare['pixel_spacing_mm'] is None and bare['h_point_mm'] is None


def test_evaluation_record_by_hand():
    truth = _points()
    rec = records.film_record(
        truth + [3.0, 4.0],
        np.ones(12),
        file='a.png',
        pixel_spacing=(0.1, 0.2),
        truth=truth,
        img_path='/f/a.png',
    )
    assert tuple(rec) == records.PREDICTION_FIELDS + records.EVALUATION_FIELDS
    assert rec['errors_px'] == [5.0] * 12 and rec['mean_error_px'] == 5.0
    assert rec['errors_mm'] == [0.85] * 12  # hypot(0.3, 0.8) = 0.854
    assert rec['mean_error_mm'] == 0.85
    assert rec['true_keypoints'][2] == [200.0, 100.0]
    assert (
        rec['true_acetabular_index']
        == rec['acetabular_index']
        == dict(image_left=30.0, image_right=20.0)
    )  # a shift keeps the angles
    assert rec['true_ihdi_grade'] == {'image_left': 'II', 'image_right': 'I'}
    assert rec['img_path'] == '/f/a.png'
    plain = records.film_record(truth, np.ones(12), truth=truth)
    assert plain['errors_mm'] is None and plain['mean_error_mm'] is None


def test_a_hip_not_measured_is_null_in_inference_and_kept_in_evaluation():
    points = _points()
    scores = np.ones(12)
    scores[list(geometry.HIP_POINTS[0])] = 0.05  # the image-left hip's points
    rec = records.film_record(points, scores, pixel_spacing=(0.1, 0.1))
    assert rec['acetabular_index'] == {'image_left': None, 'image_right': 20.0}
    assert rec['ihdi_grade'] == {'image_left': None, 'image_right': 'I'}
    assert rec['h_point_mm']['image_left'] is None
    assert 'low confidence' in rec['not_measured']['image_left']
    assert 'image_right' not in rec['not_measured']
    assert sum(f.startswith('low confidence') for f in rec['flags']) == 5
    evaluated = records.film_record(points, scores, pixel_spacing=(0.1, 0.1), truth=points)
    assert evaluated['acetabular_index'] == {'image_left': 30.0, 'image_right': 20.0}
    assert evaluated['not_measured'] == rec['not_measured']  # still named
    # the arrays: NaN and grade 0 (undefined) where the record has null
    arrays = records.as_arrays([rec])
    assert np.isnan(arrays['acetabular_index'][0, 0]) and arrays['acetabular_index'][0, 1] == 20
    assert arrays['ihdi_grade'].tolist() == [[geometry.GRADE_UNDEFINED, 1]]


def test_a_doubted_hip_is_flagged_for_review_in_both_records():
    """A low-confidence point the AI rests on sends its hip to review, in the
    inference record and in the evaluation record the metric counts."""
    from hip_mmpose.utils import uncertainty

    cal = uncertainty.checked_calibration(
        [0.9, 1.6, 0.5, 0.0, 1.0, 0.01, 0.0, 0.0, 45.0, 1.6, 0.0, 0.0]
    )
    points, spreads = _points(), np.full(12, 2.0)
    scores = np.ones(12)
    clean = records.film_record(points, scores, spreads=spreads, uncertainty=cal)
    assert clean['review'] == {hip: dict(flag=False, reason='') for hip in HIPS}
    scores[8] = 0.2  # point 9: the image-right roof edge
    for truth in (None, points):
        rec = records.film_record(points, scores, spreads=spreads, uncertainty=cal, truth=truth)
        assert rec['review']['image_left'] == dict(flag=False, reason='')
        assert rec['review']['image_right'] == dict(
            flag=True, reason='low confidence: point 9 (0.20)'
        )
        assert records.film_doubts([rec]) == [[None, 'low confidence: point 9 (0.20)']]
    # the rule reads what the record holds: a score just under 0.3 (written 0.3) and a
    # point 0.004 px outside the film (written on its edge) are not in doubt
    scores = np.ones(12)
    scores[8] = 0.29996
    edge = points.copy()
    edge[0, 0] = -0.004
    for p_, sc in ((points, scores), (edge, np.ones(12))):
        rec = records.film_record(p_, sc, image_size=(640, 480), spreads=spreads, uncertainty=cal)
        assert rec['review']['image_left']['flag'] is False
        assert records.film_doubts([rec]) == [[None, None]]
    # a hip that cannot be measured (AI 60 deg) is flagged in both records, with why
    steep = film(60, 20)
    shown = records.film_record(steep, np.ones(12), spreads=spreads, uncertainty=cal)
    kept = records.film_record(steep, np.ones(12), spreads=spreads, uncertainty=cal, truth=steep)
    assert shown['review']['image_left'] == dict(flag=True, reason='not measured')
    assert kept['acetabular_index']['image_left'] == 60.0
    assert kept['review']['image_left'] == dict(
        flag=True, reason='implausible acetabular index 60.0 deg (outside 0-50)'
    )


def test_non_finite_numbers_are_null_and_read_back_as_nan(tmp_path):
    points = _points()
    points[8] = np.nan  # image-right roof edge
    truth = _points()
    rec = records.film_record(points, np.ones(12), truth=truth, file='n.png')
    assert rec['keypoints'][8] == [None, None, 1.0]
    assert rec['acetabular_index']['image_right'] is None
    assert rec['ihdi_grade']['image_right'] == 'undefined'  # its P-line runs through 9
    assert 'non-finite' in rec['not_measured']['image_right']
    assert rec['errors_px'][8] is None and rec['mean_error_px'] is None
    assert rec['true_acetabular_index']['image_right'] == 20.0
    path = records.write_films(tmp_path / 'n_per_film.json', [rec])
    assert 'NaN' not in path.read_text()
    [back], _ = records.read_json(path)
    arrays = records.as_arrays([back])
    assert (
        np.isnan(arrays['keypoints'][0, 8]).all() and np.isfinite(arrays['keypoints'][0, :8]).all()
    )
    assert np.isnan(arrays['acetabular_index'][0, 1]) and np.isnan(arrays['errors_px'][0, 8])
    assert arrays['true_acetabular_index'][0].tolist() == [30.0, 20.0]


def test_json_round_trip(tmp_path):
    truth = _points()
    inferred = records.film_record(truth, np.full(12, 0.9), file='a.png', image_size=(640, 480))
    [again], summary = records.read_json(records.write_film(tmp_path / 'a.png.json', inferred))
    assert again == inferred and summary == {}
    evaluated = [
        records.film_record(truth + [i, 0], np.ones(12), file=f'{i}.png', truth=truth)
        for i in range(3)
    ]
    path = records.write_films(tmp_path / 't_per_film.json', evaluated, dict(MRE=1.0))
    films, summary = records.read_json(path)
    assert films == evaluated and summary == dict(MRE=1.0)
    arrays = records.as_arrays(films)
    assert arrays['file'] == ['0.png', '1.png', '2.png']
    assert np.allclose(
        arrays['keypoints'] - arrays['true_keypoints'],
        np.arange(3)[:, None, None] * [1, 0],
        atol=0.01,
    )
    assert arrays['errors_px'][:, 0].tolist() == [0.0, 1.0, 2.0]
    assert arrays['ihdi_grade'].tolist() == arrays['true_ihdi_grade'].tolist() == [[2, 1]] * 3
    for bad in ('[1, 2]', '{"films": [{"file": "a.png"}]}', 'not json'):
        (tmp_path / 'bad.json').write_text(bad)
        with pytest.raises(records.RecordError, match='bad.json'):
            records.read_json(tmp_path / 'bad.json')


def test_csv_round_trip(tmp_path):
    truth = _points()
    scores = np.ones(12)
    scores[list(geometry.HIP_POINTS[0])] = 0.05
    rows = [
        records.film_record(
            truth + [3, 4], scores, file='=evil().png', truth=truth, pixel_spacing=(0.1, 0.2)
        ),
        records.film_record(truth, np.full(12, 0.5), file='b.png', truth=truth),
        records.failure('c.png', 'c.png: unreadable'),
    ]
    path = records.write_csv(tmp_path / 't_per_film.csv', rows)
    with open(path, newline='') as fh:
        raw = list(csv.reader(fh))
    assert raw[0] == records.csv_columns(evaluation=True)
    assert raw[1][0] == "'=evil().png"  # never a formula in a spreadsheet
    back = records.read_csv(path)
    first = back[0]
    assert first['file'] == '=evil().png'
    assert first['acetabular_index'] == {'image_left': 30.0, 'image_right': 20.0}
    assert first['ihdi_grade'] == {'image_left': 'II', 'image_right': 'I'}  # evaluation keeps them
    assert first['pixel_spacing_mm'] == [0.1, 0.2]
    # 10 px lateral of P and 30 px below H, 0.1 x 0.2 mm per px, moved by (3, 4) px
    assert first['h_point_mm']['image_left'] == dict(lateral_of_p=1.0, below_h=6.0)
    assert first['mean_score'] == round((7 * 1 + 5 * 0.05) / 12, 4)
    assert len(first['flags']) == 5 and all(f.startswith('low confidence') for f in first['flags'])
    assert first['mean_error_px'] == 5.0 and first['mean_error_mm'] == 0.85
    assert first['errors_px'] == [5.0] * 12
    assert first['true_acetabular_index'] == first['acetabular_index']
    for key in (
        'acetabular_index',
        'ihdi_grade',
        'pixel_spacing_mm',
        'flags',
        'true_acetabular_index',
        'true_ihdi_grade',
        'errors_px',
        'mean_error_px',
    ):
        assert back[1][key] == rows[1][key], key
    assert back[1]['pixel_spacing_mm'] is None and back[1]['h_point_mm'] is None
    assert back[1]['mean_error_mm'] is None
    assert back[2] == rows[2]
    # prediction only: the same leading columns, no truth columns
    path = records.write_csv(
        tmp_path / 'summary.csv',
        [rows[2], records.film_record(truth, scores, file='d.png', pixel_spacing=(0.1, 0.1))],
    )
    assert path.read_text().splitlines()[0] == ','.join(records.csv_columns())
    failed, measured = records.read_csv(path)
    assert failed == rows[2]
    assert measured['acetabular_index'] == {'image_left': None, 'image_right': 20.0}
    assert measured['ihdi_grade'] == {'image_left': None, 'image_right': 'I'}
    assert measured['h_point_mm']['image_left'] is None
    assert 'true_acetabular_index' not in measured


def test_a_dump_written_before_the_schema_is_read_as_records(tmp_path):
    truth = _points()
    old = dict(
        file='a.png',
        img_path='/f/a.png',
        pred_keypoints=(truth + [1, 0]).tolist(),
        true_keypoints=truth.tolist(),
        keypoint_scores=[0.9] * 12,
        errors_px=[1.0] * 12,
        mean_error_px=1.0,
        ai_pred=dict(image_left=30.0, image_right=20.0),
        ai_true=dict(image_left=30.0, image_right=20.0),
        grade_pred=dict(image_left=2, image_right=1),
        grade_true=dict(image_left=2, image_right=1),
    )
    (tmp_path / 'val_per_film.json').write_text(json.dumps(dict(summary={}, films=[old])))
    [rec], _ = records.read_json(tmp_path / 'val_per_film.json')
    assert rec == records.film_record(
        truth + [1, 0], np.full(12, 0.9), file='a.png', truth=truth, img_path='/f/a.png'
    )
    assert rec['ihdi_grade'] == {'image_left': 'II', 'image_right': 'I'}


def test_test_and_infer_write_one_schema(trained, tested, synthetic_root, tmp_path):
    """tools/test.py's per-film JSON (HipMetric) and tools/infer.py's, read by the one
    reader: the same prediction fields with the same values for the same films; the
    test tool's records add the truth (the test run is the session's `tested`)."""
    from hip_mmpose.tools.infer import main as infer_main

    config, work_dir, _ = trained
    test_dir = tested['log_dir'].parent
    tested, summary = records.read_json(next(test_dir.glob('*/test_per_film.json')))
    assert len(tested) == 4 and 'AI_MAE' in summary
    films = synthetic_root / 'test' / 'images'
    assert (
        infer_main(
            [
                str(films),
                '--checkpoint',
                str(work_dir / 'epoch_1.pth'),
                '--config',
                config,
                '--out-dir',
                str(tmp_path / 'out'),
                '--no-overlay',
                '--device',
                'cpu',
            ]
        )
        == 0
    )
    for test_rec in tested:
        [infer_rec], none = records.read_json(tmp_path / 'out' / f'{test_rec["file"]}.json')
        assert none == {}
        assert tuple(infer_rec) == records.PREDICTION_FIELDS
        assert tuple(test_rec) == records.PREDICTION_FIELDS + records.EVALUATION_FIELDS
        assert infer_rec['image_size'] == test_rec['image_size'] == [192, 144]
        # the same model on the same film: the same points, scores, reasons and flags
        assert np.allclose(
            np.array(infer_rec['keypoints'], float),
            np.array(test_rec['keypoints'], float),
            atol=0.05,
        )
        assert infer_rec['not_measured'] == test_rec['not_measured']
        assert infer_rec['flags'] == test_rec['flags']
        for hip in HIPS:  # inference withholds what is not measured; the test keeps it
            if hip in infer_rec['not_measured']:
                assert infer_rec['acetabular_index'][hip] is None
            else:
                assert infer_rec['ihdi_grade'][hip] == test_rec['ihdi_grade'][hip]
                assert infer_rec['acetabular_index'][hip] == pytest.approx(
                    test_rec['acetabular_index'][hip], abs=0.05
                )
    # and the two CSVs share their leading (prediction) columns
    summary_csv = (tmp_path / 'out' / 'summary.csv').read_text().splitlines()[0].split(',')
    test_csv = next(test_dir.glob('*/test_per_film.csv')).read_text()
    assert summary_csv == records.csv_columns()
    assert test_csv.splitlines()[0].split(',')[: len(summary_csv)] == summary_csv
    assert [r['file'] for r in records.read_csv(tmp_path / 'out' / 'summary.csv')] == sorted(
        r['file'] for r in tested
    )
