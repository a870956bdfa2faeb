"""The review page (hip_mmpose/review, tools/review.py): its JSON API through Starlette's
test client on tools/infer.py's output of the tiny two-stage model, the export through
the converter and back, a real server process (restart, a kill mid-save) and a real
browser (Debian's Chromium driven by Selenium) dragging a point."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from hip_mmpose import geometry
from hip_mmpose.data_tools.csv_to_coco import convert_dataset, parse_annotation_csv
from hip_mmpose.review import FilmSet, ReviewSetupError, ReviewStore
from hip_mmpose.review.export import MANIFEST, annotation_line
from hip_mmpose.review.store import ReviewFile, review_path
from hip_mmpose.utils.film_io import read_film
from tests.conftest import REPO

pytest.importorskip('starlette', reason='the review extra (pip install "hip_mmpose[review]")')
from starlette.testclient import TestClient  # noqa: E402

from hip_mmpose.review.app import create_app  # noqa: E402
from hip_mmpose.tools.review import main as review_main  # noqa: E402

TOKEN = 'test-token'
WRITE = {'X-Review-Token': TOKEN}
#: a film name a page must show as text, never as markup; its %2e stays as typed
HOSTILE = '<b id=x>bold<b>&%2e"q\'.png'
CHROMIUM, CHROMEDRIVER = Path('/usr/bin/chromium'), Path('/usr/bin/chromedriver')
INSTALL_BROWSER = 'make browser   (apt-get install -y chromium chromium-driver, as root)'


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def infer_results(trained_cascade, synthetic_root, tmp_path_factory):
    """tools/infer.py's output (per-film JSON) of the tiny two-stage model on the
    synthetic test films. Returns (films folder, results folder)."""
    from hip_mmpose.tools.infer import main as infer_main

    _, _, best = trained_cascade
    films = synthetic_root / 'test' / 'images'
    out = tmp_path_factory.mktemp('infer')
    assert infer_main([str(films), '--checkpoint', str(best), '--out-dir', str(out)]) == 0
    return films, out


def truth(synthetic_root, name: str) -> np.ndarray:
    """The synthetic film's true points (its annotation CSV), (12, 2)."""
    return parse_annotation_csv(synthetic_root / 'test' / 'annotations' / f'{Path(name).stem}.csv')


@pytest.fixture
def films_dir(infer_results, tmp_path):
    """A copy of the synthetic test films the test may change."""
    films, _ = infer_results
    folder = tmp_path / 'films'
    shutil.copytree(films, folder)
    return folder


def make_client(films_dir, results, out, **options):
    store = ReviewStore(FilmSet(films_dir), out, results_dir=results, **options)
    return TestClient(create_app(store, token=TOKEN)), store


@pytest.fixture
def api(films_dir, infer_results, tmp_path):
    _, results = infer_results
    client, store = make_client(films_dir, results, tmp_path / 'review')
    return client, store


def first_film(client) -> str:
    return client.get('/api/films').json()[0]['file']


def expected_ai(points) -> list:
    ai = geometry.acetabular_indices(np.asarray(points, np.float64))
    return [None if not np.isfinite(a) else round(float(a), 2) for a in ai]


# ---------------------------------------------------------------------- reading
def test_list_film_view_and_image(api, infer_results):
    client, store = api
    films, results = infer_results
    listed = client.get('/api/films')
    assert listed.status_code == 200
    lines = listed.json()
    assert sorted(f['file'] for f in lines) == sorted(p.name for p in films.iterdir())
    for line in lines:
        assert {'file', 'state', 'acetabular_index', 'ihdi_grade', 'flags'} <= line.keys()
        assert line['state'] == 'unchecked' and line['measured']
    # flagged for review first (the model's triage or, without it, flags and grade >= II)
    flagged = [line['needs_review'] for line in lines]
    assert flagged == sorted(flagged, reverse=True)
    name = lines[0]['file']
    record = json.loads((results / f'{name}.json').read_text())
    view = client.get(f'/api/films/{name}').json()
    for key in ('acetabular_index', 'ihdi_grade', 'flags', 'not_measured', 'image_size'):
        assert view[key] == record[key], key  # the infer.py record as it is
    assert view['state'] == 'unchecked' and view['version'] == 0 and not view['edited']
    assert view['model_keypoints'] == record['keypoints'] == view['keypoints']
    # the lines are geometry's, on the record's points
    points = np.array([k[:2] for k in record['keypoints']], float)
    segments = geometry.reference_lines(points)
    for key in ('h_line', 'roof', 'p_line', 'd_line'):
        np.testing.assert_allclose(np.array(view['lines'][key], float), segments[key], atol=0.006)
    np.testing.assert_allclose(view['lines']['h_point'], geometry.h_points(points), atol=0.006)
    image = client.get(f'/api/films/{name}/image')
    assert image.status_code == 200 and image.headers['content-type'] == 'image/png'
    png = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(png, read_film(films / name).image[..., 0])  # grey film
    status = client.get('/api/status').json()
    assert status['films'] == len(lines) and status['measured'] == len(lines)
    page = client.get('/')
    assert f'<meta name="hip-review-token" content="{TOKEN}">' in page.text
    assert "script-src 'self'" in page.headers['content-security-policy']
    for asset in ('/static/review.js', '/static/review.css'):
        assert client.get(asset).status_code == 200


def test_move_a_point_remeasures_with_geometry_and_saves(api, synthetic_root):
    client, store = api
    name = first_film(client)
    moved = truth(synthetic_root, name)
    moved[0] += (-3.456, 2.004)  # the image-left roof edge, off the 0.01 grid
    answer = client.put(
        f'/api/films/{name}/keypoints',
        headers=WRITE,
        json=dict(keypoints=moved.tolist(), version=0),
    )
    assert answer.status_code == 200, answer.text
    view = answer.json()
    saved = np.round(moved, 2)
    assert [k[:2] for k in view['keypoints']] == saved.tolist()
    assert [view['acetabular_index'][h] for h in geometry.HIP_NAMES] == expected_ai(saved)
    grades = geometry.ihdi_grades(saved)  # a reader's points: the clinical P-line
    assert [view['ihdi_grade'][h] for h in geometry.HIP_NAMES] == [
        geometry.GRADE_NAMES[int(g)] for g in grades
    ]
    assert view['ihdi_p_line_shift'] == 0.0
    offsets = geometry.h_point_offsets(saved)
    assert view['lines']['h_point_px']['image_left']['lateral_of_p'] == round(
        float(offsets['lateral_of_p'][0]), 2
    )
    assert view['version'] == 1 and view['edited'] and view['state'] == 'unchecked'
    assert view['model_keypoints'] != view['keypoints'] and view['undo'] == 1
    on_disk = ReviewFile.load(review_path(store.out_dir, 'reviewer')).films[name]
    assert on_disk['keypoints'] == saved.tolist() and on_disk['version'] == 1
    # measuring while dragging saves nothing
    live = client.post(
        f'/api/films/{name}/measure', headers=WRITE, json=dict(keypoints=(moved + 1).tolist())
    )
    assert live.status_code == 200
    assert [live.json()['acetabular_index'][h] for h in geometry.HIP_NAMES] == expected_ai(
        np.round(moved + 1, 2)
    )
    assert client.get(f'/api/films/{name}').json()['version'] == 1


def test_stale_version_is_refused_and_nothing_lost(api, synthetic_root):
    client, store = api
    name = first_film(client)
    points = truth(synthetic_root, name)
    first_tab = client.get(f'/api/films/{name}').json()['version']
    second_tab = client.get(f'/api/films/{name}').json()['version']
    put = lambda pts, version: client.put(  # noqa: E731
        f'/api/films/{name}/keypoints', headers=WRITE, json=dict(keypoints=pts, version=version)
    )
    assert put(points.tolist(), first_tab).status_code == 200
    saved = review_path(store.out_dir, 'reviewer').read_bytes()
    stale = put((points + 2).tolist(), second_tab)
    assert stale.status_code == 409
    assert 'stale' in stale.json()['error'] and 'reload' in stale.json()['error']
    assert review_path(store.out_dir, 'reviewer').read_bytes() == saved
    view = client.get(f'/api/films/{name}').json()
    assert (
        view['version'] == 1 and [k[:2] for k in view['keypoints']] == np.round(points, 2).tolist()
    )
    stale_state = client.post(
        f'/api/films/{name}/state', headers=WRITE, json=dict(state='accepted', version=0)
    )
    assert stale_state.status_code == 409


def _inside(view) -> bool:
    width, height = view['image_size']
    return all(
        k[0] is not None and 0 <= k[0] <= width and 0 <= k[1] <= height for k in view['keypoints']
    )


def test_accept_correct_undo_reset_reopen(api, synthetic_root):
    client, _ = api
    names = [f['file'] for f in client.get('/api/films').json()]
    post = lambda name, tail, body: client.post(  # noqa: E731
        f'/api/films/{name}/{tail}', headers=WRITE, json=body
    )
    # accepted as the model placed it (no version: as a hospital system may send it);
    # a film with one of the model's points outside it cannot be signed off as it is
    inside = {name: _inside(client.get(f'/api/films/{name}').json()) for name in names}
    assert any(inside.values())
    for name in names:
        answer = post(name, 'state', dict(state='accepted'))
        if inside[name]:
            assert answer.status_code == 200 and answer.json()['state'] == 'accepted'
        else:
            assert answer.status_code == 422 and 'outside the' in answer.json()['error']
    # moved, then signed off: corrected
    name = names[0]
    view = client.get(f'/api/films/{name}').json()
    model, v = view['model_keypoints'], view['version']
    moved = truth(synthetic_root, name).tolist()
    put = client.put(
        f'/api/films/{name}/keypoints', headers=WRITE, json=dict(keypoints=moved, version=v)
    )
    assert put.json()['state'] == 'unchecked'  # a move reopens a signed-off film
    corrected = post(name, 'state', dict(state='accepted', version=v + 1)).json()
    assert corrected['state'] == 'corrected' and corrected['version'] == v + 2
    assert (
        post(name, 'state', dict(state='unchecked', version=v + 2)).json()['state'] == 'unchecked'
    )
    undone = post(name, 'undo', dict(version=v + 3)).json()
    assert undone['keypoints'] == model and not undone['edited'] and undone['undo'] == 0
    assert post(name, 'undo', dict(version=v + 4)).status_code == 422  # nothing to undo
    client.put(
        f'/api/films/{name}/keypoints', headers=WRITE, json=dict(keypoints=moved, version=v + 4)
    )
    reset = post(name, 'reset', dict(version=v + 5)).json()
    assert reset['keypoints'] == model and reset['state'] == 'unchecked' and reset['undo'] == 2
    assert post(name, 'undo', dict(version=v + 6)).json()['edited']  # a reset is undone too
    assert post(name, 'state', dict(state='signed', version=v + 7)).status_code == 422


# ---------------------------------------------------------------------- refusals
REFUSED_BODIES = [
    ('NaN', b'{"keypoints": [[NaN, 1]], "version": 0}', 400),
    ('Infinity', b'{"keypoints": [[Infinity, 1]], "version": 0}', 400),
    ('overflow', None, 422),  # 1e999: JSON's number, not finite
    ('huge int', None, 422),  # 10**400
    ('outside', None, 422),
    ('negative', None, 422),
    ('11 points', None, 422),
    ('13 points', None, 422),
    ('text', None, 422),
    ('bool', None, 422),
    ('3 numbers', None, 422),
    ('no version', None, 422),
    ('bool version', None, 422),
    ('no keypoints', b'{"version": 0}', 422),
    ('malformed', b'{"keypoints": [[1, 2]', 400),
    ('not an object', b'[1, 2, 3]', 400),
    ('not UTF-8', b'{"keypoints": "\xff\xfe"}', 400),
    ('nested', b'[' * 50000 + b']' * 50000, 413),
    ('deep', b'{"a": ' + b'[' * 20000 + b']' * 20000 + b'}', 400),
    ('over the cap', b'{"keypoints": [' + b'[1, 2], ' * 20000 + b'[1, 2]]}', 413),
]


def _body(kind, points, size):
    width, height = size
    pts = [list(p) for p in points]
    body = dict(keypoints=pts, version=0)
    if kind == 'overflow':
        return json.dumps(body).replace(str(pts[0][0]), '1e999', 1).encode()
    if kind == 'huge int':
        return json.dumps(body).replace(str(pts[0][0]), '1' + '0' * 400, 1).encode()
    if kind == 'outside':
        pts[5] = [width + 0.5, 10]
    elif kind == 'negative':
        pts[5] = [10, -0.01]
    elif kind == '11 points':
        body['keypoints'] = pts[:11]
    elif kind == '13 points':
        body['keypoints'] = pts + [pts[0]]
    elif kind == 'text':
        pts[2] = ['12', 5]
    elif kind == 'bool':
        pts[2] = [True, 5]
    elif kind == '3 numbers':
        pts[2] = [1, 2, 3]
    elif kind == 'no version':
        del body['version']
    elif kind == 'bool version':
        body['version'] = False
    return json.dumps(body).encode()


@pytest.mark.parametrize('kind,raw,status', REFUSED_BODIES, ids=[r[0] for r in REFUSED_BODIES])
def test_bad_keypoints_are_refused_and_change_nothing(api, synthetic_root, kind, raw, status):
    client, store = api
    name = first_film(client)
    view = client.get(f'/api/films/{name}').json()
    body = raw if raw is not None else _body(kind, truth(synthetic_root, name), view['image_size'])
    for path, method in (
        (f'/api/films/{name}/keypoints', 'PUT'),
        (f'/api/films/{name}/measure', 'POST'),
    ):
        if kind in ('no version', 'bool version') and method == 'POST':
            continue  # measuring needs no version
        answer = client.request(
            method, path, headers=dict(WRITE, **{'Content-Type': 'application/json'}), content=body
        )
        assert answer.status_code == status, (kind, method, answer.text)
        assert answer.json()['error'] and len(answer.json()['error']) < 300
    assert client.get(f'/api/films/{name}').json()['version'] == 0
    assert not review_path(store.out_dir, 'reviewer').exists()


def test_writes_need_the_token(api):
    client, store = api
    name = first_film(client)
    points = [k[:2] for k in client.get(f'/api/films/{name}').json()['keypoints']]
    writes = [
        ('PUT', f'/api/films/{name}/keypoints', dict(keypoints=points, version=0)),
        ('POST', f'/api/films/{name}/measure', dict(keypoints=points)),
        ('POST', f'/api/films/{name}/state', dict(state='accepted')),
        ('POST', f'/api/films/{name}/undo', dict(version=0)),
        ('POST', f'/api/films/{name}/reset', dict(version=0)),
        ('POST', '/api/export', {}),
    ]
    for method, path, body in writes:
        for headers in ({}, {'X-Review-Token': 'wrong'}, {'X-Review-Token': ''}):
            answer = client.request(method, path, headers=headers, json=body)
            assert answer.status_code == 403, (path, headers)
            assert 'X-Review-Token' in answer.json()['error']
    assert client.get('/api/films/x/image').status_code == 404  # reads need no token
    assert not review_path(store.out_dir, 'reviewer').exists()
    assert not (store.out_dir / 'export').exists()
    assert client.post(f'/api/films/{name}', headers=WRITE).status_code == 405


def test_names_outside_the_films_are_refused(films_dir, infer_results, tmp_path):
    _, results = infer_results
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    name = sorted(p.name for p in films_dir.iterdir())[0]
    shutil.copy(films_dir / name, outside / 'secret.png')
    (films_dir / 'link_out.png').symlink_to(outside / 'secret.png')  # a link out of the folder
    (films_dir / 'notes.txt').write_text('not a film')
    client, store = make_client(films_dir, results, tmp_path / 'review')
    assert ('link_out.png', f'links outside {films_dir}') in store.films.refused
    assert 'link_out.png' not in [f['file'] for f in client.get('/api/films').json()]
    for bad in (
        'link_out.png',
        'notes.txt',
        '..',
        '..%2F..%2Fetc%2Fpasswd',
        '%2Fetc%2Fpasswd',
        '..%2Felsewhere%2Fsecret.png',
        str(outside / 'secret.png').replace('/', '%2F'),
        'secret.png',
    ):
        for tail in ('', '/image'):
            assert client.get(f'/api/films/{bad}{tail}').status_code == 404, (bad, tail)
        put = client.put(
            f'/api/films/{bad}/keypoints', headers=WRITE, json=dict(keypoints=[], version=0)
        )
        assert put.status_code == 404, bad
    # a listed film replaced by a link out after the start is refused too
    (films_dir / name).unlink()
    (films_dir / name).symlink_to(outside / 'secret.png')
    assert client.get(f'/api/films/{name}/image').status_code == 403
    assert not review_path(store.out_dir, 'reviewer').exists()


def test_a_failed_save_changes_nothing(api, synthetic_root, monkeypatch):
    """The review file cannot be written (here: its folder is replaced by a file):
    500 with the reason, the film keeps its state in memory and on disk."""
    client, store = api
    name = first_film(client)
    points = truth(synthetic_root, name)
    client.put(
        f'/api/films/{name}/keypoints',
        headers=WRITE,
        json=dict(keypoints=points.tolist(), version=0),
    )
    saved = review_path(store.out_dir, 'reviewer').read_bytes()
    blocked = store.out_dir.with_name('review.moved')
    store.out_dir.rename(blocked)
    store.out_dir.write_text('a file where the folder was')
    answer = client.put(
        f'/api/films/{name}/keypoints',
        headers=WRITE,
        json=dict(keypoints=(points + 1).tolist(), version=1),
    )
    assert answer.status_code == 500 and 'nothing was changed' in answer.json()['error']
    store.out_dir.unlink()
    blocked.rename(store.out_dir)
    view = client.get(f'/api/films/{name}').json()
    assert (
        view['version'] == 1 and [k[:2] for k in view['keypoints']] == np.round(points, 2).tolist()
    )
    assert review_path(store.out_dir, 'reviewer').read_bytes() == saved


# ---------------------------------------------------------------------- restart, readers
def test_restart_keeps_state_and_refuses_a_bad_review_file(
    films_dir, infer_results, tmp_path, synthetic_root
):
    _, results = infer_results
    out = tmp_path / 'review'
    client, _ = make_client(films_dir, results, out, reviewer='dr_a')
    name = first_film(client)
    points = truth(synthetic_root, name).tolist()
    client.put(
        f'/api/films/{name}/keypoints', headers=WRITE, json=dict(keypoints=points, version=0)
    )
    client.post(f'/api/films/{name}/state', headers=WRITE, json=dict(state='accepted', version=1))
    before = client.get(f'/api/films/{name}').json()
    again, _ = make_client(films_dir, results, out, reviewer='dr_a')  # a new server
    after = again.get(f'/api/films/{name}').json()
    for key in ('state', 'version', 'keypoints', 'acetabular_index', 'ihdi_grade', 'time', 'undo'):
        assert after[key] == before[key], key
    assert after['state'] == 'corrected' and after['version'] == 2
    other, _ = make_client(films_dir, results, out, reviewer='dr_b')  # another reader: apart
    assert other.get(f'/api/films/{name}').json()['state'] == 'unchecked'
    with pytest.raises(ReviewSetupError, match='--blind'):
        ReviewStore(FilmSet(films_dir), out, 'dr_a', blind=True)
    path = review_path(out, 'dr_a')
    path.write_text('{"format": "hip_mmpose review 1", "reviewer": "dr_a", "films": {"a": {}}}')
    with pytest.raises(ReviewSetupError, match=f"{path}: film 'a': state"):
        ReviewStore(FilmSet(films_dir), out, 'dr_a', results_dir=results)
    assert path.read_text().startswith('{"format"')  # never overwritten
    with pytest.raises(ReviewSetupError, match='--reviewer'):
        ReviewStore(FilmSet(films_dir), out, '../x')


def test_blind_readers_place_points_and_export_one_line_each(films_dir, tmp_path, synthetic_root):
    out = tmp_path / 'review'
    names = sorted(p.name for p in films_dir.iterdir())
    name = names[0]
    true = truth(synthetic_root, name)
    readings = {'dr_a': true + 0.75, 'dr_b': true - 1.25}
    for reader, points in readings.items():
        client, _ = make_client(films_dir, None, out, reviewer=reader, blind=True)
        view = client.get(f'/api/films/{name}').json()
        assert view['model_keypoints'] is None and view['model'] is None and view['blind']
        assert view['keypoints'] == [] and view['placed'] == 0
        assert view['keypoint_names'][0] == 'image_left_roof_lateral'
        for k in range(geometry.NUM_KEYPOINTS):  # one point at a time, each saved
            view = client.put(
                f'/api/films/{name}/keypoints',
                headers=WRITE,
                json=dict(keypoints=points[: k + 1].tolist(), version=k),
            ).json()
            assert view['placed'] == k + 1
            assert (view['acetabular_index']['image_left'] is None) == (k < 11)
        assert view['acetabular_index']['image_left'] == expected_ai(np.round(points, 2))[0]
        assert (
            client.post(
                f'/api/films/{names[1]}/state', headers=WRITE, json=dict(state='accepted')
            ).status_code
            == 422
        )  # nothing placed yet
        signed = client.post(f'/api/films/{name}/state', headers=WRITE, json=dict(state='accepted'))
        assert signed.json()['state'] == 'accepted'
    export = tmp_path / 'export'
    assert review_main([str(films_dir), '--out-dir', str(out), '--export', str(export)]) == 0
    lines = (export / 'train' / 'annotations' / f'{Path(name).stem}.csv').read_text().splitlines()
    assert lines == [annotation_line(np.round(p, 2)) for p in readings.values()]
    manifest = json.loads((export / 'train' / MANIFEST).read_text())
    assert [line['reviewer'] for line in manifest['films'][0]['lines']] == ['dr_a', 'dr_b']
    assert manifest['most_readers'] == 2 and manifest['convert'].endswith('--readers mean')
    coco = convert_dataset(export, tmp_path / 'coco', progress=False, readers='mean')
    ann = json.loads(coco['train'].read_text())['annotations'][0]
    mean = np.mean([np.round(p, 2) for p in readings.values()], 0)
    np.testing.assert_allclose(np.array(ann['keypoints']).reshape(-1, 3)[:, :2], mean, atol=0.01)
    assert ann['num_readers'] == 2


# ---------------------------------------------------------------------- export
def test_export_convert_round_trip(api, films_dir, infer_results, synthetic_root, tmp_path):
    client, store = api
    _, results = infer_results
    names = sorted(f['file'] for f in client.get('/api/films').json())
    corrected = {}
    for name in names[:2]:
        points = truth(synthetic_root, name) + (0.37, -0.21)  # hundredths of a pixel
        client.put(
            f'/api/films/{name}/keypoints',
            headers=WRITE,
            json=dict(keypoints=points.tolist(), version=0),
        )
        client.post(
            f'/api/films/{name}/state', headers=WRITE, json=dict(state='accepted', version=1)
        )
        corrected[name] = np.round(points, 2)
    # accepted as the model placed it: the first film whose model points all lie in it
    # (a point outside the film cannot be signed off)
    model_accepted = None
    for name in names[2:]:
        answer = client.post(f'/api/films/{name}/state', headers=WRITE, json=dict(state='accepted'))
        if answer.status_code == 200:
            model_accepted = name
            break
        assert 'outside' in answer.json()['error']
    # every refusal above named a point outside the film; where the tiny model placed all
    # of one film's points inside it, that film is exported as accepted, its model points
    if model_accepted is not None:
        corrected[model_accepted] = np.array(
            [k[:2] for k in client.get(f'/api/films/{model_accepted}').json()['keypoints']]
        )
    answer = client.post('/api/export', headers=WRITE, json={})  # the page's button
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    signed = len(corrected)
    assert summary['films'] == signed and summary['lines'] == signed
    assert summary['readers'] == ['reviewer']
    export = store.out_dir / 'export'
    assert sorted(p.name for p in (export / 'train' / 'images').iterdir()) == sorted(corrected)
    for name in corrected:  # the film file as it is
        assert (export / 'train' / 'images' / name).read_bytes() == (films_dir / name).read_bytes()
    coco_dir = tmp_path / 'coco'
    coco = json.loads(convert_dataset(export, coco_dir, progress=False)['train'].read_text())
    by_file = {img['id']: img['file_name'] for img in coco['images']}
    assert sorted(by_file.values()) == sorted(corrected)  # the unchecked film stayed out
    for ann in coco['annotations']:
        points = np.array(ann['keypoints']).reshape(-1, 3)[:, :2]
        np.testing.assert_allclose(points, corrected[by_file[ann['image_id']]], atol=0.01)
    # the data set loads the corrected points
    from hip_mmpose.datasets import HipXrayDataset

    dataset = HipXrayDataset(
        data_root=str(export),
        ann_file=str(coco_dir / 'train.json'),
        data_prefix=dict(img='train/images/'),
        pipeline=[],
        test_mode=True,
    )
    assert len(dataset) == signed
    for index in range(len(dataset)):
        item = dataset[index]
        np.testing.assert_allclose(
            item['keypoints'][0], corrected[Path(item['img_path']).name], atol=0.01
        )
    manifest = json.loads((export / 'train' / MANIFEST).read_text())
    states = {f['file']: f['lines'][0]['state'] for f in manifest['films']}
    assert states == {
        name: 'accepted' if name == model_accepted else 'corrected' for name in corrected
    }
    assert all(
        f['lines'][0]['reviewer'] == 'reviewer' and f['lines'][0]['time'] for f in manifest['films']
    )
    # --include-unchecked: the films nobody read, with the model's points, as split val
    missing = str(store.out_dir / 'none')
    argv = [str(films_dir), '--out-dir', str(store.out_dir), '--export', str(export)]
    assert review_main(argv + ['--results', missing]) == 2  # no such results folder
    assert (
        review_main(
            argv + ['--export-split', 'val', '--include-unchecked', '--results', str(results)]
        )
        == 0
    )
    val = json.loads((export / 'val' / MANIFEST).read_text())
    unread = [n for n in names if n not in corrected]
    lines = {f['file']: f['lines'][0] for f in val['films']}
    for name in unread:
        if name in lines:
            assert lines[name]['reviewer'] == 'model' and lines[name]['state'] == 'unchecked'
            model = [k[:2] for k in json.loads((results / f'{name}.json').read_text())['keypoints']]
            written = (export / 'val' / 'annotations' / f'{Path(name).stem}.csv').read_text()
            assert written.strip() == annotation_line(model)
        else:
            assert {'file': name, 'reason': "a model's point lies outside the film"} in val[
                'skipped'
            ]
    assert len(val['films']) == len(corrected) + len([n for n in unread if n in lines])
    # a split folder the export did not write is refused and left alone
    (export / 'test' / 'images').mkdir(parents=True)
    (export / 'test' / 'images' / 'mine.png').write_bytes(b'x')
    assert client.post('/api/export', headers=WRITE, json={}).status_code == 200  # its own
    assert review_main(argv + ['--export-split', 'test']) == 2
    assert (export / 'test' / 'images' / 'mine.png').read_bytes() == b'x'
    inside = [str(films_dir), '--out-dir', str(store.out_dir), '--export', str(films_dir / 'x')]
    assert review_main(inside) == 2  # never inside the films' folder


def test_cli_refusals(films_dir, infer_results, tmp_path, capsys):
    _, results = infer_results
    out = str(tmp_path / 'review')
    cases = [
        (
            [str(films_dir), '--results', str(results), '--out-dir', str(films_dir / 'r')],
            'films folder',
        ),
        ([str(films_dir), '--results', str(results), '--out-dir', str(results / 'r')], 'results'),
        ([str(films_dir), '--out-dir', out], '--blind'),  # no model, no results
        ([str(films_dir), '--blind', '--results', str(results), '--out-dir', out], '--blind'),
        (
            [str(films_dir), '--results', str(results), '--reviewer', 'a/b', '--out-dir', out],
            '--reviewer',
        ),
        ([str(tmp_path / 'none'), '--results', str(results), '--out-dir', out], 'no such film'),
        (
            [
                str(films_dir),
                '--results',
                str(results),
                '--out-dir',
                out,
                '--export',
                str(tmp_path / 'e'),
            ],
            'no signed-off film',
        ),
    ]
    for argv, message in cases:
        assert review_main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    with contextlib.closing(__import__('socket').socket()) as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = [str(films_dir), '--results', str(results), '--out-dir', out, '--port', str(port)]
        assert review_main(argv) == 2
        assert 'cannot listen' in capsys.readouterr().err


def test_measuring_with_the_model_on_first_view(trained_cascade, films_dir, tmp_path):
    """--checkpoint: a film is measured when first viewed, by the inferencer infer.py
    uses (the same record), kept in OUT/model/ and read back after a restart."""
    from hip_mmpose.apis import HipInferencer

    _, _, best = trained_cascade
    out = tmp_path / 'review'
    store = ReviewStore(FilmSet(films_dir), out, measurer=HipInferencer(str(best), batch_size=1))
    client = TestClient(create_app(store, token=TOKEN))
    assert len(store.pending()) == 4
    name = sorted(store.films.names)[1]
    view = client.get(f'/api/films/{name}').json()
    from hip_mmpose.tools.infer import main as infer_main

    single = tmp_path / 'single'  # infer.py on that film alone (one film a batch, too)
    assert (
        infer_main([str(films_dir / name), '--checkpoint', str(best), '--out-dir', str(single)])
        == 0
    )
    record = json.loads((single / f'{name}.json').read_text())
    assert view['measured'] and view['keypoints'] == record['keypoints']
    assert view['acetabular_index'] == record['acetabular_index']
    assert (
        json.loads((out / 'model' / f'{name}.json').read_text())['keypoints'] == record['keypoints']
    )
    assert len(store.pending()) == 3
    restarted = ReviewStore(FilmSet(films_dir), out)  # no model: reads OUT/model/
    assert restarted.record(name)['keypoints'] == record['keypoints']


# ---------------------------------------------------------------------- a real server
@contextlib.contextmanager
def serving(argv, log: Path, timeout: float = 240):
    """``tools/review.py ARGV --port 0`` as a process; yields (its address, the process)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    with open(log, 'w') as err:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / 'tools' / 'review.py'), *argv, '--port', '0'],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f'no address within {timeout} s: {log.read_text()}') from None
            if 'serving http://' in line:
                url = line.split('serving ')[1].split()[0]
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def http(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header('X-Review-Token', token)
        request.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def page_token(url) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        page = answer.read().decode()
    return page.split('name="hip-review-token" content="')[1].split('"')[0]


def test_killed_mid_save_leaves_the_last_state_readable(
    infer_results, films_dir, tmp_path, synthetic_root
):
    _, results = infer_results
    out = tmp_path / 'review'
    argv = [str(films_dir), '--results', str(results), '--out-dir', str(out)]
    name = sorted(p.name for p in films_dir.iterdir())[0]
    points = truth(synthetic_root, name)
    answered = []
    with serving(argv, tmp_path / 'server.log') as (url, proc):
        token = page_token(url)
        target = f'{url}api/films/{urllib.request.quote(name)}/keypoints'
        started = time.monotonic()
        while time.monotonic() - started < 3:
            step = len(answered)
            view = http(
                'PUT', target, dict(keypoints=(points + step % 7).tolist(), version=step), token
            )
            answered.append(view['version'])

        # a save in flight while the process is killed
        def in_flight():
            with contextlib.suppress(OSError):
                http('PUT', target, dict(keypoints=points.tolist(), version=len(answered)), token)

        threading.Thread(target=in_flight, daemon=True).start()
        time.sleep(0.005)
        proc.kill()
        proc.wait()
    assert answered == list(range(1, len(answered) + 1)) and len(answered) > 5
    saved = ReviewFile.load(review_path(out, 'reviewer')).films[name]  # readable, whole
    assert saved['version'] in (answered[-1], answered[-1] + 1)
    with serving(argv, tmp_path / 'again.log') as (url, _):  # the restart shows it
        view = http('GET', f'{url}api/films/{urllib.request.quote(name)}')
        assert view['version'] == saved['version'] and view['state'] == 'unchecked'


def chromium(tmp_path):
    """A headless Chromium under Selenium, or a failure naming the install command."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail('the browser test needs selenium: `make install` (requirements.txt pins it)')
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f'the browser test needs {", ".join(missing)}: install them with `{INSTALL_BROWSER}`'
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--window-size=1500,900',
        f'--user-data-dir={tmp_path / "chromium"}',
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def test_browser_drags_a_point_accepts_and_exports(
    infer_results, films_dir, tmp_path, synthetic_root
):
    """The page in Chromium on a running hip-review: the list, a point dragged with the
    mouse (the AI shown is geometry's on the saved points), accept, export, a screenshot."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _, results = infer_results
    shutil.copy(sorted(films_dir.iterdir())[0], films_dir / HOSTILE)  # no result: to place
    out = tmp_path / 'review'
    argv = [str(films_dir), '--results', str(results), '--out-dir', str(out), '--reviewer', 'dr_a']
    driver = chromium(tmp_path)
    try:
        with serving(argv, tmp_path / 'server.log') as (url, _):
            films = http('GET', f'{url}api/films')
            assert len(films) == 5 and films[0]['file'] == HOSTILE  # no result: flagged
            # the film to drag on: the first the model measured, its points set to the
            # synthetic truth through the API (the tiny model's may not be measurable)
            name = next(f['file'] for f in films if f['measured'])
            quoted = urllib.request.quote(name)
            token = page_token(url)
            start = truth(synthetic_root, name)
            http(
                'PUT',
                f'{url}api/films/{quoted}/keypoints',
                dict(keypoints=start.tolist(), version=0),
                token,
            )
            driver.get(url)
            wait = WebDriverWait(driver, 60)
            wait.until(
                lambda d: d.find_element(By.TAG_NAME, 'body').get_attribute('data-ready') == '1'
            )
            rows = driver.find_elements(By.CSS_SELECTOR, '#film-rows tr')
            assert [r.get_attribute('data-file') for r in rows] == [f['file'] for f in films]
            shown = [r.find_elements(By.TAG_NAME, 'td')[1].text for r in rows]
            assert HOSTILE in shown  # as text
            assert not driver.find_elements(By.CSS_SELECTOR, '#film-rows b, #x')  # no markup
            assert driver.find_element(By.ID, 'film-name').text == HOSTILE  # opened first
            assert 'Click to place point 1 of 12' in driver.find_element(By.ID, 'placing').text
            next(r for r in rows if r.get_attribute('data-file') == name).click()
            wait.until(lambda d: d.find_element(By.ID, 'film-name').text == name)
            wait.until(
                lambda d: d.find_element(By.ID, 'film-state').text.startswith(
                    'unchecked · version 1'
                )
            )
            point = driver.find_element(By.CSS_SELECTOR, '#points circle[data-index="0"]')
            ActionChains(driver).click_and_hold(point).move_by_offset(-12, -6).pause(
                0.3
            ).move_by_offset(-12, -6).pause(0.3).release().perform()
            wait.until(lambda d: 'version 2' in d.find_element(By.ID, 'film-state').text)
            view = http('GET', f'{url}api/films/{quoted}')
            moved = np.array([k[:2] for k in view['keypoints']])
            assert np.abs(moved[0] - start[0]).sum() > 2 and np.allclose(
                moved[1:], np.round(start[1:], 2)
            )
            ai = expected_ai(moved)
            wait.until(lambda d: d.find_element(By.ID, 'ai-image_left').text == f'{ai[0]:.2f}°')
            assert driver.find_element(By.ID, 'ai-image_right').text == f'{ai[1]:.2f}°'
            assert ai[0] != expected_ai(np.round(start, 2))[0]  # the drag changed it
            assert len(driver.find_elements(By.CSS_SELECTOR, '#model-points circle')) >= 1
            driver.save_screenshot(str(tmp_path / 'review.png'))
            driver.find_element(By.TAG_NAME, 'body').send_keys('a')  # accept
            wait.until(lambda d: http('GET', f'{url}api/films/{quoted}')['state'] == 'corrected')
            driver.find_element(By.ID, 'export').click()
            wait.until(
                lambda d: d.find_element(By.ID, 'message').text.startswith('Exported 1 film (')
            )
    finally:
        driver.quit()
    annotation = out / 'export' / 'train' / 'annotations' / f'{Path(name).stem}.csv'
    assert annotation.read_text().strip() == annotation_line(moved)
    assert (tmp_path / 'review.png').stat().st_size > 20_000


def test_the_page_ships_in_the_wheel_and_needs_no_network():
    """The page's assets are package data (pyproject), refer to nothing outside the
    server (no CDN: the page works offline), and hip-review is a console script."""
    import fnmatch
    import re

    tomllib = pytest.importorskip('tomllib')  # Python 3.11+
    config = tomllib.loads((REPO / 'pyproject.toml').read_text())
    patterns = config['tool']['setuptools']['package-data']['hip_mmpose']
    static = REPO / 'hip_mmpose' / 'review' / 'static'
    files = sorted(p.relative_to(REPO / 'hip_mmpose').as_posix() for p in static.iterdir())
    assert files == [
        'review/static/index.html',
        'review/static/review.css',
        'review/static/review.js',
    ]
    assert all(any(fnmatch.fnmatch(f, p) for p in patterns) for f in files)
    for path in static.iterdir():
        text = path.read_text().replace('http://www.w3.org/2000/svg', '')  # SVG's namespace
        outside = re.findall(r'(?:https?:)?//[\w.-]+\.\w+|@import|url\(', text)
        assert outside == [], (path.name, outside)
    assert config['project']['scripts']['hip-review'] == 'hip_mmpose.tools.review:main'
    assert any(
        d.startswith('starlette==') for d in config['project']['optional-dependencies']['review']
    )
