"""hip_mmpose.geometry against hand-built films and an independent re-derivation."""

import math

import numpy as np
import pytest

from hip_mmpose import geometry
from hip_mmpose.data_tools.csv_to_coco import parse_annotation_csv

FLIP = [8, 7, 6, 11, 10, 9, 2, 1, 0, 5, 4, 3]  # 0-based pairs 1-9, 2-8, 3-7, 4-12, 5-11, 6-10


def film(ai_left=30.0, ai_right=20.0, h_left=(170, 130), h_right=(430, 130)):
    """Horizontal H-line 3=(200,100) -> 7=(400,100); roof length 50."""
    p = np.zeros((12, 2))
    p[2], p[6] = (200, 100), (400, 100)
    a, b = math.radians(ai_left), math.radians(ai_right)
    p[0] = p[2] + 50 * np.array([-math.cos(a), -math.sin(a)])
    p[8] = p[6] + 50 * np.array([math.cos(b), -math.sin(b)])
    p[1], p[7] = (p[0] + p[2]) / 2, (p[8] + p[6]) / 2
    for lat, mid, med, (hx, hy), out in ((3, 4, 5, h_left, -1), (11, 10, 9, h_right, 1)):
        p[lat], p[med] = (hx + 10 * out, hy), (hx - 10 * out, hy)
        p[mid] = (hx, hy + 3)
    return p


def test_known_angles():
    ai = geometry.acetabular_indices(film(30, 20))
    assert ai == pytest.approx([30.0, 20.0], abs=1e-9)
    # a tilted film: rotating every point leaves the angles unchanged
    t = math.radians(7)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    assert geometry.acetabular_indices(film(30, 20) @ rot.T) == pytest.approx([30, 20], abs=1e-9)


def test_h_points_and_offsets():
    p = film(30, 20, h_left=(170, 130))
    assert geometry.h_points(p)[0] == pytest.approx([170, 130])
    # P-line of the image-left hip is x = 200 - 50 cos 30 = 156.70; H-point is medial
    off = geometry.h_point_offsets(p)
    assert off['lateral_of_p'][0] == pytest.approx(156.6987 - 170, abs=1e-3)
    assert off['below_h'][0] == pytest.approx(30)
    assert off['lateral_of_d'][0] == pytest.approx((156.6987 - 170 - 30) / math.sqrt(2), abs=1e-3)


P_LEFT = 200 - 50 * math.cos(math.radians(30))  # x of the image-left P-line
P_RIGHT = 400 + 50 * math.cos(math.radians(20))  # x of the image-right P-line


@pytest.mark.parametrize(
    'lateral,below,grade',
    [
        (-10, 30, 1),
        (0, 30, 1),  # medial to / on the P-line: I
        (0, -20, 1),  # on the P-line, above the H-line: still I
        (10, 30, 2),
        (30, 30, 2),  # between P- and D-line, and on the D-line: II
        (40, 30, 3),
        (30, 0, 3),  # lateral of the D-line, and on the H-line: III
        (30, -10, 4),
        (5, -1, 4),  # above the H-line and lateral of P: IV
    ],
)
def test_every_grade_and_boundary(lateral, below, grade):
    p = film(
        30, 20, h_left=(P_LEFT - lateral, 100 + below), h_right=(P_RIGHT + lateral, 100 + below)
    )
    assert geometry.ihdi_grades(p).tolist() == [grade, grade]


@pytest.mark.parametrize(
    'lateral,below,shift,grade',
    [
        (-1, 30, 0.0, 1),  # 1 px medial of the P-line: I
        (-1, 30, -0.01, 2),  # decided 2 px medial of it (1 % of the 200-px H-line): II
        (-3, 30, -0.01, 1),  # 1 px medial of that line: I
        (1, 30, 0.0, 2),  # 1 px lateral of the P-line: II ...
        (1, 30, 0.01, 1),  # ... but medial of a line 2 px lateral of it: I
        (29, 30, 0.0, 2),  # 1 px medial of the D-line: II ...
        (29, 30, -0.01, 3),  # ... the D-line moves with the P-line: 1 px lateral of it, III
    ],
)
def test_grade_decided_at_a_shifted_p_line(lateral, below, shift, grade):
    p = film(
        30, 20, h_left=(P_LEFT - lateral, 100 + below), h_right=(P_RIGHT + lateral, 100 + below)
    )
    assert geometry.h_line_lengths(p) == pytest.approx(200)
    assert geometry.ihdi_grades(p, shift).tolist() == [grade, grade]
    # one shift per film, broadcast over a batch
    batch = np.stack([p, p])
    assert geometry.ihdi_grades(batch, np.array([0.0, shift])).tolist() == [
        geometry.ihdi_grades(p).tolist(),
        [grade, grade],
    ]


def _films_with_offsets(true_lateral, pred_lateral):
    """Films whose two H-points lie the given px lateral of their P-lines."""
    return np.stack(
        [
            film(30, 20, h_left=(P_LEFT - lat, 130), h_right=(P_RIGHT + lat, 130))
            for lat in true_lateral
        ]
    ), np.stack(
        [
            film(30, 20, h_left=(P_LEFT - lat, 130), h_right=(P_RIGHT + lat, 130))
            for lat in pred_lateral
        ]
    )


def test_fit_p_line_shift_is_the_intercept():
    """Predicted offsets = a * H-line + b * true (px): the fit returns a."""
    true_lateral = np.linspace(-30, 12, 25)
    truth, pred = _films_with_offsets(true_lateral, -0.007 * 200 + 0.8 * true_lateral)
    assert geometry.fit_p_line_shift(pred, truth) == pytest.approx(-0.007, abs=1e-9)
    # a grade-II hip 1.5 px lateral of the P-line reads 0.2 px medial of it (grade I);
    # graded at the fitted shift it is II again
    lateral = int(np.argmin(np.abs(true_lateral - 1.5)))
    assert true_lateral[lateral] == pytest.approx(1.5)
    assert geometry.ihdi_grades(truth[lateral]).tolist() == [2, 2]
    assert geometry.ihdi_grades(pred[lateral]).tolist() == [1, 1]
    assert geometry.ihdi_grades(pred[lateral], -0.007).tolist() == [2, 2]
    with pytest.raises(ValueError, match='at least 40'):
        geometry.fit_p_line_shift(pred[:19], truth[:19])  # 38 hips
    flat, _ = _films_with_offsets([-5] * 25, true_lateral)
    with pytest.raises(ValueError, match='do not vary'):
        geometry.fit_p_line_shift(pred, flat)
    _, far = _films_with_offsets(true_lateral, -0.05 * 200 + true_lateral)
    with pytest.raises(ValueError, match='beyond'):
        geometry.fit_p_line_shift(far, truth)
    with pytest.raises(ValueError, match='one shape'):
        geometry.fit_p_line_shift(pred, truth[:3])


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), 0.05, -1, 'x', None, False])
def test_checked_p_line_shift_refuses(bad):
    with pytest.raises(ValueError, match='p_line_shift'):
        geometry.checked_p_line_shift(bad)


def test_mirror_swaps_hips():
    rng = np.random.default_rng(0)
    p = film(25, 33, (150, 120), (460, 95)) + rng.normal(0, 2, (12, 2))
    mirrored = p.copy()
    mirrored[:, 0] = 640 - mirrored[:, 0]
    mirrored = mirrored[FLIP]
    assert geometry.acetabular_indices(mirrored) == pytest.approx(
        geometry.acetabular_indices(p)[::-1], abs=1e-9
    )
    assert geometry.ihdi_grades(mirrored).tolist() == geometry.ihdi_grades(p)[::-1].tolist()


def test_vectorised_over_leading_axes():
    batch = np.stack([film(10 + i, 40 - i) for i in range(6)]).reshape(2, 3, 12, 2)
    ai = geometry.acetabular_indices(batch)
    assert ai.shape == (2, 3, 2)
    assert ai[1, 2] == pytest.approx([15, 35])
    assert geometry.ihdi_grades(batch).shape == (2, 3, 2)
    assert geometry.reference_lines(batch)['d_line'].shape == (2, 3, 2, 2, 2)


def test_degenerate_input_gives_nan_and_zero():
    p = film()
    p[6] = p[2]  # H-line of zero length
    assert np.isnan(geometry.acetabular_indices(p)).all()
    assert geometry.ihdi_grades(p).tolist() == [0, 0]
    q = film()
    q[0] = q[2]  # zero-length roof: only that hip's angle is undefined
    ai = geometry.acetabular_indices(q)
    assert np.isnan(ai[0]) and ai[1] == pytest.approx(20)
    r = film()
    r[4:6] = np.nan
    assert geometry.ihdi_grades(r).tolist() == [0, geometry.ihdi_grades(film())[1]]
    with pytest.raises(ValueError, match='12, 2'):
        geometry.acetabular_indices(np.zeros((11, 2)))


def _template_style(p):
    """The data README's definitions, one film at a time, written independently:
    arccos of the normalised dot product; IHDI by explicit line intersection."""

    def angle(u, v):
        c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
        return math.degrees(math.acos(max(-1.0, min(1.0, c))))

    ai = [angle(p[6] - p[2], p[2] - p[0]), angle(p[2] - p[6], p[6] - p[8])]
    grades = []
    h_dir = (p[6] - p[2]) / np.linalg.norm(p[6] - p[2])
    normal = np.array([-h_dir[1], h_dir[0]])  # points down the film
    for roof, lat, med, outward in ((p[0], p[3], p[5], -h_dir), (p[8], p[11], p[9], h_dir)):
        # intersection of the P-line (roof + s * normal) with the H-line (p3 + t * h_dir)
        A = np.stack([normal, -h_dir], 1)
        s, _ = np.linalg.solve(A, p[2] - roof)
        foot = roof + s * normal
        h = (lat + med) / 2
        x, y = np.dot(h - foot, outward), np.dot(h - foot, normal)
        if x <= 0:
            grades.append(1)
        elif y < 0:
            grades.append(4)
        elif x <= y:
            grades.append(2)
        else:
            grades.append(3)
    return ai, grades


def test_agrees_with_template_formulas_on_all_real_films(real_data_root):
    files = sorted(real_data_root.glob('*/annotations/*.csv'))
    assert len(files) == 502
    points = np.stack([parse_annotation_csv(f, 12) for f in files])
    ai = geometry.acetabular_indices(points)
    grades = geometry.ihdi_grades(points)
    for i, p in enumerate(points):
        ref_ai, ref_grades = _template_style(p)
        assert ai[i] == pytest.approx(ref_ai, abs=1e-6), files[i]
        assert grades[i].tolist() == ref_grades, files[i]
    # the data README: AI 0-38 degrees, grades I and II only, about 79 % grade I
    assert np.nanmin(ai) >= 0 and np.nanmax(ai) <= 39
    assert set(np.unique(grades)) <= {1, 2}
    assert 0.7 < (grades == 1).mean() < 0.9


def test_plausibility_flags_name_what_to_check():
    p = film(30, 20)
    assert geometry.plausibility_flags(p, np.ones(12), (640, 480)) == []
    scores = np.ones(12)
    scores[4] = 0.1
    flags = geometry.plausibility_flags(p, scores, (300, 480), keypoint_names=list('abcdefghijkl'))
    assert 'low confidence: e (0.10)' in flags
    assert 'outside the film: i' in flags  # point 9 at x = 447 > 300
    steep = film(60, 20)
    assert any(
        'image_left acetabular index 60.0 deg outside 0-50' in f
        for f in geometry.plausibility_flags(steep)
    )
    swapped = p.copy()
    swapped[[2, 6]] = swapped[[6, 2]]
    assert any('point 3 is not left of point 7' in f for f in geometry.plausibility_flags(swapped))
    tilt = math.radians(20)
    rot = np.array([[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]])
    assert 'implausible geometry: H-line tilted more than 15 deg' in geometry.plausibility_flags(
        p @ rot.T
    )


def test_doubts_name_the_hips_a_reader_should_check():
    p = film(30, 20)
    assert geometry.doubts(p, np.ones(12), (640, 480)) == [None, None]
    assert geometry.doubts(p) == [None, None]  # no scores: the confidence rules skipped
    scores = np.ones(12)
    scores[4] = 0.1  # point 5 (metaphysis middle): neither AI nor grade uses it
    assert geometry.doubts(p, scores) == [None, None]
    scores[0] = 0.1  # point 1: the image-left roof edge
    assert geometry.doubts(p, scores) == ['low confidence: point 1 (0.10)', None]
    scores[2] = 0.2  # point 3: one end of the H-line, which both AIs use
    left, right = geometry.doubts(p, scores, keypoint_names=list('abcdefghijkl'))
    assert left == 'low confidence: a (0.10), c (0.20)' and right == 'low confidence: c (0.20)'
    scores[3] = 0.1  # three of the image-left hip's five points: not measurable
    assert geometry.doubts(p, scores)[0].startswith('most of its keypoints are low confidence')
    # not measurable (AI 60 deg) on one side only
    assert geometry.doubts(film(60, 20)) == [
        'implausible acetabular index 60.0 deg (outside 0-50)',
        None,
    ]
    tilt = math.radians(20)
    rot = np.array([[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]])
    assert geometry.doubts(p @ rot.T) == ['H-line tilted more than 15 deg'] * 2
    tilt = math.radians(10)  # within the limit
    rot = np.array([[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]])
    assert geometry.doubts(p @ rot.T) == [None, None]


def test_radial_errors_in_pixels_and_mm():
    truth = film()
    moved = truth + [3.0, 4.0]
    assert geometry.radial_errors(moved, truth) == pytest.approx(np.full(12, 5.0))
    assert geometry.radial_errors(moved, truth, [0.1, 0.2]) == pytest.approx(
        np.full(12, math.hypot(0.3, 0.8))
    )
    batch = geometry.radial_errors(
        np.stack([moved, truth]), np.stack([truth, truth]), np.array([[1.0, 1.0], [2.0, 2.0]])
    )
    assert batch.shape == (2, 12) and batch[1].max() == 0
