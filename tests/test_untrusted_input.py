"""Untrusted files run no code; no film, result or earlier output is lost or overwritten.

Poisoned files are built here and handed to the real tools (infer, test, publish,
train --resume) in a separate Python process, which then reports whether the
module the files name was imported and whether the marker their commands would
create exists.
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hip_mmpose import geometry
from hip_mmpose.apis import HipInferencer, publish_checkpoint
from hip_mmpose.apis.config_check import ConfigCheckError, check_config, read_config_text
from hip_mmpose.data_tools.csv_to_coco import AnnotationError
from hip_mmpose.tools.convert_csv_to_coco import main as convert_main
from hip_mmpose.tools.infer import main as infer_main
from hip_mmpose.utils import compat
from tests.conftest import FILM_CONFIG as DEMO_CONFIG  # single-stage files here
from tests.conftest import REPO, TINY_LOADERS

PROBE = 'evil_probe'  # a real importable package: importing it creates the marker


class _Payload:
    """Pickles as ``os.system('touch MARKER')``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def _digest(folder: Path) -> dict:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


# ----------------------------------------------------------------- poisoned files
POISONS = {  # name: (change to the published config, key path the refusal names)
    'pipeline step': (
        lambda c, m: c['test_dataloader']['dataset']['pipeline'].append(
            {'type': 'os.system', 'command': f'touch {m}'}
        ),
        'test_dataloader.dataset.pipeline[4].type',
    ),
    'head loss': (
        lambda c, m: c['model']['head'].__setitem__(
            'loss', {'type': 'os.system', 'command': f'touch {m}'}
        ),
        'model.head.loss.type',
    ),
    'default scope': (lambda c, m: c.__setitem__('default_scope', PROBE), 'default_scope'),
    'dotted type': (
        lambda c, m: c['model']['backbone'].__setitem__('type', f'{PROBE}.thing'),
        'model.backbone.type',
    ),
    'custom_imports': (
        lambda c, m: c.__setitem__('custom_imports', dict(imports=[PROBE])),
        'custom_imports',
    ),
    'scope key': (
        lambda c, m: c['model']['head'].__setitem__('_scope_', PROBE),
        'model.head._scope_',
    ),
    'metainfo file': (
        lambda c, m: c['train_dataloader']['dataset'].__setitem__(
            'metainfo', dict(from_file=str(Path(m).parent / PROBE / 'meta.py'))
        ),
        'train_dataloader.dataset.metainfo.from_file',
    ),
}


@pytest.fixture(scope='module')
def published(trained, tmp_path_factory):
    _, work_dir, _ = trained
    return publish_checkpoint(
        work_dir / 'epoch_1.pth', tmp_path_factory.mktemp('pub') / 'hip_tiny.pth'
    )


@pytest.fixture(scope='module')
def poisoned(published, trained, tmp_path_factory):
    """Every poisoned file, the probe package and the marker path, in one folder."""
    root = tmp_path_factory.mktemp('poisoned')
    marker = root / 'MARKER'
    probe = root / PROBE
    probe.mkdir()
    for name in ('__init__.py', 'registry.py', 'meta.py'):
        (probe / name).write_text(f'open({str(marker)!r}, "w").close()\n')
    good = torch.load(published, map_location='cpu', weights_only=True)
    files = {}
    for name, (poison, _) in POISONS.items():
        stage = good['meta']['stages'][0]
        config = json.loads(stage['config'])
        poison(config, marker)
        meta = dict(good['meta'], stages=[dict(stage, config=json.dumps(config))])
        files[name] = root / f'published-{name.replace(" ", "_")}.pth'
        torch.save(dict(state_dict=good['state_dict'], meta=meta), files[name])
    _, work_dir, _ = trained
    ckpt = torch.load(work_dir / 'epoch_1.pth', map_location='cpu', weights_only=True)
    files['pickle'] = root / 'epoch_pickled.pth'
    torch.save(dict(ckpt, meta=dict(ckpt['meta'], evil=_Payload(marker))), files['pickle'])
    files['cfg text'] = root / 'epoch_cfg_text.pth'
    text = ckpt['meta']['cfg'] + f'\nx = __import__("os").system("touch {marker}")\n'
    torch.save(dict(ckpt, meta=dict(ckpt['meta'], cfg=text)), files['cfg text'])
    return root, marker, files


DRIVER = textwrap.dedent("""
    import json, os, sys, traceback
    sys.path.insert(0, {repo!r})
    import hip_mmpose  # noqa
    from hip_mmpose.tools.infer import main as infer
    from hip_mmpose.tools.publish_model import main as publish
    from hip_mmpose.tools.test import run as test
    from hip_mmpose.tools.train import run as train
    marker, probe = {marker!r}, {probe!r}
    report = []
    for name, tool, argv in json.load(open(sys.argv[1])):
        try:
            status, message = {{'infer': infer, 'publish': publish, 'test': test,
                                'train': train}}[tool](argv), ''
        except SystemExit as err:
            status, message = err.code, str(err)
        except Exception as err:
            status, message = 'raised', f'{{type(err).__name__}}: {{err}}'
        report.append(dict(name=name, tool=tool, status=str(status), message=message,
                           imported=probe in sys.modules, marker=os.path.exists(marker)))
    json.dump(report, open(sys.argv[2], 'w'))
""")


def _tool_cases(files, synthetic_root, out):
    data = ['--data-root', str(synthetic_root), '--cfg-options', *TINY_LOADERS]
    cases = [
        (
            f'infer {name}',
            'infer',
            [
                str(synthetic_root / 'test' / 'images'),
                '--checkpoint',
                str(files[name]),
                '--out-dir',
                str(out / name.replace(' ', '_')),
            ],
        )
        for name in POISONS
    ]
    cases += [
        (
            'infer pickle',
            'infer',
            [
                str(synthetic_root / 'test' / 'images'),
                '--checkpoint',
                str(files['pickle']),
                '--config',
                DEMO_CONFIG,
                '--out-dir',
                str(out / 'pickle'),
            ],
        ),
        ('publish pickle', 'publish', [str(files['pickle']), str(out / 'pub.pth')]),
        ('publish cfg text', 'publish', [str(files['cfg text']), str(out / 'pub.pth')]),
        (
            'test published',
            'test',
            [DEMO_CONFIG, str(files['pipeline step']), '--work-dir', str(out / 'test1'), *data],
        ),
        (
            'test pickle',
            'test',
            [DEMO_CONFIG, str(files['pickle']), '--work-dir', str(out / 'test2'), *data],
        ),
        (
            'resume published',
            'train',
            [
                DEMO_CONFIG,
                '--resume',
                str(files['head loss']),
                '--work-dir',
                str(out / 'train1'),
                *data,
            ],
        ),
        (
            'resume pickle',
            'train',
            [
                DEMO_CONFIG,
                '--resume',
                str(files['pickle']),
                '--work-dir',
                str(out / 'train2'),
                *data,
            ],
        ),
    ]
    return cases


def test_poisoned_files_are_refused_by_every_tool(poisoned, synthetic_root, tmp_path):
    root, marker, files = poisoned
    cases = _tool_cases(files, synthetic_root, tmp_path)
    (tmp_path / 'cases.json').write_text(json.dumps(cases))
    (tmp_path / 'driver.py').write_text(
        DRIVER.format(repo=str(REPO), marker=str(marker), probe=PROBE)
    )
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS='1')
    env.pop(compat.UNSAFE_LOAD_ENV, None)
    run = subprocess.run(
        [
            sys.executable,
            str(tmp_path / 'driver.py'),
            str(tmp_path / 'cases.json'),
            str(tmp_path / 'report.json'),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = {r['name']: r for r in json.loads((tmp_path / 'report.json').read_text())}
    assert len(report) == len(cases)
    for name, r in report.items():
        assert not r['imported'], f'{name}: {PROBE} was imported'
        assert not r['marker'], f'{name}: the payload ran'
        assert r['status'] not in ('0', 'None'), f'{name}: not refused ({r})'
    for name, (_, key) in POISONS.items():
        message = report[f'infer {name}']['message']
        assert f'{key}:' in message and files[name].name in message, (name, message)
    assert 'ConfigCheckError' in report['test published']['message']
    assert 'test_dataloader.dataset.pipeline[4].type' in report['test published']['message']
    assert 'model.head.loss.type' in report['resume published']['message']
    for name in ('infer pickle', 'publish pickle', 'test pickle', 'resume pickle'):
        message = report[name]['message']
        assert 'refused' in message and 'system' in message, (name, message)
        assert files['pickle'].name in message, (name, message)
    assert 'Call' in report['publish cfg text']['message']
    assert not (tmp_path / 'pub.pth').exists() and not list(tmp_path.glob('pub-*.pth'))


@pytest.mark.parametrize('tool', ['infer.py', 'test.py', 'publish_model.py', 'train.py'])
def test_unsafe_load_override_is_refused(poisoned, tool, tmp_path):
    root, marker, files = poisoned
    argv = {
        'infer.py': [
            str(root),
            '--checkpoint',
            str(files['pickle']),
            '--config',
            DEMO_CONFIG,
            '--out-dir',
            str(tmp_path / 'o'),
        ],
        'test.py': [DEMO_CONFIG, str(files['pickle'])],
        'publish_model.py': [str(files['pickle']), str(tmp_path / 'p.pth')],
        'train.py': [DEMO_CONFIG, '--resume', str(files['pickle'])],
    }[tool]
    env = dict(os.environ, PYTHONPATH=str(root), **{compat.UNSAFE_LOAD_ENV: '1'})
    run = subprocess.run(
        [sys.executable, str(REPO / 'tools' / tool), *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert compat.UNSAFE_LOAD_ENV in run.stderr and 'Traceback' not in run.stderr
    assert not marker.exists() and not (tmp_path / 'o').exists()


def test_config_check_names_the_key_without_importing():
    good = dict(
        model=dict(
            type='TopdownPoseEstimator',
            head=dict(type='HeatmapHead', loss=dict(type='KeypointMSELoss')),
        )
    )
    assert check_config(good)['default_scope'] == 'mmpose'
    bad = json.loads(json.dumps(good))
    bad['model']['head']['loss']['type'] = 'os.system'
    with pytest.raises(ConfigCheckError, match=r"model\.head\.loss\.type: 'os\.system'"):
        check_config(bad, 'x.pth')
    bad['model']['head']['loss']['type'] = 'system'  # plain but not registered
    with pytest.raises(ConfigCheckError, match='not a registered type'):
        check_config(bad)
    with pytest.raises(ConfigCheckError, match="unknown top-level key 'payload'"):
        check_config(dict(good, payload=1))
    with pytest.raises(ConfigCheckError, match='default_scope'):
        check_config(dict(good, default_scope='mmdet'))
    assert 'os' in sys.modules and PROBE not in sys.modules


@pytest.mark.parametrize(
    'text, what',
    [
        ('import os', "statement 'import os'"),
        ('x = __import__("os").system("true")', 'Call'),
        ('x = dict(a=print("hi"))', 'Call'),
        ('x = dict(**y)', 'Call'),
        ('x = [i for i in range(3)]', 'ListComp'),
        ('x = os.environ', 'Attribute'),
        ('x: int = 1', 'statement'),
    ],
)
def test_config_text_reader_refuses_code(text, what):
    with pytest.raises(ConfigCheckError, match=what):
        read_config_text(text, 'ckpt.pth')


def test_config_text_reader_reads_mmengine_pretty_text():
    from mmengine.config import Config

    cfg = Config.fromfile(DEMO_CONFIG)
    data = read_config_text(cfg.pretty_text)
    assert json.loads(json.dumps(data)) == json.loads(json.dumps(cfg.to_dict()))


# ----------------------------------------------------------------- checkpoints
def test_truncated_checkpoint_is_named_on_resume(trained, synthetic_root, tmp_path):
    from hip_mmpose.tools.train import run as train_main

    _, work_dir, _ = trained
    shutil.copy(work_dir / 'epoch_1.pth', tmp_path / 'epoch_1.pth')
    whole = (work_dir / 'epoch_1.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(whole[: len(whole) // 2])  # killed mid-save
    os.utime(tmp_path / 'epoch_1.pth', (1, 1))
    with pytest.raises(compat.CheckpointLoadError) as err:
        train_main(
            [
                DEMO_CONFIG,
                '--resume',
                str(tmp_path / 'epoch_2.pth'),
                '--work-dir',
                str(tmp_path),
                '--data-root',
                str(synthetic_root),
                '--cfg-options',
                *TINY_LOADERS,
            ]
        )
    message = str(err.value)
    assert message.startswith(str(tmp_path / 'epoch_2.pth')) and 'truncated' in message
    assert str(tmp_path / 'epoch_1.pth') in message


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError('disk full (simulated by an object that cannot be saved)')


def test_checkpoint_save_is_atomic(tmp_path):
    import mmengine.runner
    import mmengine.runner.runner

    assert mmengine.runner.save_checkpoint is compat.save_checkpoint_atomically
    assert mmengine.runner.runner.save_checkpoint is compat.save_checkpoint_atomically
    target = tmp_path / 'epoch_3.pth'
    mmengine.runner.save_checkpoint({'w': torch.ones(3)}, str(target))
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match='disk full'):
        mmengine.runner.save_checkpoint({'w': torch.zeros(3), 'x': _Unpicklable()}, str(target))
    assert target.read_bytes() == before  # the previous file is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_3.pth']  # no .tmp left


# ----------------------------------------------------------------- inference outputs
def _films(folder, synthetic_root, names):
    folder.mkdir()
    src = sorted((synthetic_root / 'test' / 'images').iterdir())
    for i, name in enumerate(names):
        film = cv2.imread(str(src[i % len(src)]))
        cv2.imwrite(str(folder / name), film)
    return folder


def test_input_folder_as_out_dir_leaves_inputs_identical(
    published, synthetic_root, tmp_path, capsys
):
    films = _films(tmp_path / 'films', synthetic_root, ['film.png', 'b.jpg'])
    (films / 'film.png.json').write_text('a file the user keeps')
    before = _digest(films)
    for out in (films, films / 'sub'):
        assert infer_main([str(films), '--checkpoint', str(published), '--out-dir', str(out)]) == 2
        assert 'input folder' in capsys.readouterr().err
    assert _digest(films) == before and not (films / 'sub').exists()
    # a single film may write beside itself: outputs never take an input's name
    assert (
        infer_main([str(films / 'b.jpg'), '--checkpoint', str(published), '--out-dir', str(films)])
        == 0
    )
    after = _digest(films)
    assert {k: after[k] for k in before} == before
    assert set(after) - set(before) == {'b.jpg.json', 'b.jpg.overlay.png', 'summary.csv'}


def test_same_stem_films_give_two_outputs(published, synthetic_root, tmp_path):
    films = _films(tmp_path / 'films', synthetic_root, ['a.png', 'a.jpg'])
    out = tmp_path / 'out'
    assert (
        infer_main([str(films), '--checkpoint', str(published), '--out-dir', str(out), '--no-flip'])
        == 0
    )
    results = {n: json.loads((out / f'{n}.json').read_text()) for n in ('a.png', 'a.jpg')}
    assert {r['file'] for r in results.values()} == {'a.png', 'a.jpg'}
    assert (out / 'a.png.overlay.png').is_file() and (out / 'a.jpg.overlay.png').is_file()


# ----------------------------------------------------------------- converter
TWELVE = ','.join(f'"({10 + i}, {20 + i})"' for i in range(12))


def _split(root, split='train', n=3, points=TWELVE):
    (root / split / 'images').mkdir(parents=True)
    (root / split / 'annotations').mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(root / split / 'images' / f'P{i}.png'), np.full((48, 64), 128, np.uint8))
        (root / split / 'annotations' / f'P{i}.csv').write_text(points)
    return root


def test_converter_refuses_same_stem_images(tmp_path, capsys):
    root = _split(tmp_path / 'data')
    shutil.copy(root / 'train' / 'images' / 'P1.png', root / 'train' / 'images' / 'P1.jpg')
    assert convert_main([str(root), '--out-dir', str(tmp_path / 'coco'), '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'P1.jpg' in err and 'P1.png' in err


def test_failed_conversion_keeps_previous_output(tmp_path, capsys):
    root = _split(tmp_path / 'data')
    _split(root, 'val')
    out = tmp_path / 'coco'
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 0
    before = _digest(out)
    (root / 'train' / 'annotations' / 'P2.csv').write_text('"(1, x)"')
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 1
    assert 'P2.csv' in capsys.readouterr().err
    assert _digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['coco', 'data']  # nothing left over
    # new data without a val split: the old val.json does not linger beside new files
    (root / 'train' / 'annotations' / 'P2.csv').write_text(TWELVE)
    shutil.rmtree(root / 'val')
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith('.')) == ['train.json']
    # a file the converter did not write is refused, not deleted
    (out / 'notes.txt').write_text('mine')
    before = _digest(out)
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 1
    assert 'notes.txt' in capsys.readouterr().err and _digest(out) == before


def test_converter_os_error_is_one_line(tmp_path, capsys):
    root = _split(tmp_path / 'data')
    (tmp_path / 'a_file').write_text('')
    assert (
        convert_main([str(root), '--out-dir', str(tmp_path / 'a_file' / 'coco'), '--no-progress'])
        == 1
    )
    err = capsys.readouterr().err
    assert 'a_file' in err and 'Traceback' not in err and len(err.strip().splitlines()) == 2


def test_odd_csv_is_the_one_named(tmp_path, capsys):
    root = _split(tmp_path / 'data')
    (root / 'train' / 'annotations' / 'P0.csv').write_text(','.join(TWELVE.split(',')[:22]))
    assert convert_main([str(root), '--out-dir', str(tmp_path / 'coco'), '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'P0.csv: has 11 points, expected 12' in err and 'P1.csv' not in err


def test_convert_dataset_raises_annotation_error(tmp_path):
    from hip_mmpose.data_tools.csv_to_coco import convert_dataset

    with pytest.raises(AnnotationError, match='no split folders'):
        convert_dataset(tmp_path, tmp_path / 'coco')


# ----------------------------------------------------------------- big films
def _png_claiming_size(path, width, height):
    """A 16-bit grey PNG whose header says width x height (its pixel data is tiny)."""
    ok, small = cv2.imencode('.png', np.zeros((4, 4), np.uint16))
    data = bytearray(small.tobytes())
    ihdr = bytearray(data[12:29])  # 'IHDR' + 13 bytes
    ihdr[4:12] = struct.pack('>II', width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(ihdr)))
    path.write_bytes(bytes(data))


MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys
    sys.path.insert(0, {repo!r})
    import hip_mmpose  # noqa
    from hip_mmpose.utils.film_io import FilmReadError, load_film
    from hip_mmpose.visualization.draw import to_bgr8
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report = {{}}
    for name in sys.argv[1:]:
        base = peak()
        try:
            film = to_bgr8(load_film(name))
            report[name] = dict(shape=list(film.shape), error=None)
            del film
        except FilmReadError as err:
            report[name] = dict(error=str(err))
        report[name]['extra_bytes'] = peak() - base
    print(json.dumps(report))
""")


def test_huge_film_is_refused_and_big_film_bounded(tmp_path):
    huge, big = tmp_path / 'huge.png', tmp_path / 'big.png'
    _png_claiming_size(huge, 13000, 13000)
    n = 6000  # 36 Mpx, 72 MB of 16-bit pixels
    ramp = np.arange(n, dtype=np.uint16)
    cv2.imwrite(str(big), ramp[:, None] * np.uint16(5) + ramp[None, :] * np.uint16(3))
    (tmp_path / 'probe.py').write_text(MEMORY_PROBE.format(repo=str(REPO)))
    run = subprocess.run(
        [sys.executable, str(tmp_path / 'probe.py'), str(huge), str(big)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert 'above the 100 Mpx cap' in report[str(huge)]['error']
    assert report[str(huge)]['extra_bytes'] < 50e6
    assert report[str(big)]['shape'] == [n, n, 3]
    # decoded film 72 MB + 8-bit BGR 108 MB (+ PIL's decode buffers); a float64 copy
    # of the film alone would be 288 MB
    assert report[str(big)]['extra_bytes'] < 450e6, report[str(big)]


# ----------------------------------------------------------------- measurements
@pytest.fixture(scope='module')
def points():
    from hip_mmpose.data_tools.synthetic import synthetic_points

    return synthetic_points(np.random.default_rng(0), 192, 144, (1, 2))


def test_non_finite_or_overflowing_points_are_undefined(points):
    assert np.isfinite(geometry.acetabular_indices(points)).all()
    assert geometry.ihdi_grades(points).tolist() == [1, 2]
    inf = points.copy()
    inf[0, 0] = np.inf  # image-left roof edge
    assert np.isnan(geometry.acetabular_indices(inf)[0])
    assert geometry.ihdi_grades(inf)[0] == 0
    for scale in (1e300, 1e200):
        huge = points * scale
        assert np.isnan(geometry.acetabular_indices(huge)).all(), scale
        assert geometry.ihdi_grades(huge).tolist() == [0, 0], scale
    reasons = geometry.measurability(inf, np.ones(12))
    assert 'non-finite' in reasons[0] and reasons[1] is None


def test_measure_gives_null_hips_with_a_reason(published, points):
    inferencer = HipInferencer(published)
    good = inferencer.measure(points, np.ones(12), (192, 144))
    assert good['not_measured'] == {} and None not in good['acetabular_index'].values()
    low = np.ones(12)
    low[[0, 2, 3, 5]] = 0.05  # most of the image-left hip's points
    result = inferencer.measure(points, low, (192, 144))
    assert result['acetabular_index']['image_left'] is None
    assert result['ihdi_grade']['image_left'] is None
    assert 'low confidence' in result['not_measured']['image_left']
    assert result['ihdi_grade']['image_right'] == 'II'
    inf = points.copy()
    inf[8] = np.inf
    result = inferencer.measure(inf, np.ones(12), (192, 144))
    assert result['acetabular_index']['image_right'] is None
    assert 'non-finite' in result['not_measured']['image_right']
    json.dumps(result, allow_nan=False)  # valid JSON: no NaN/Infinity


@pytest.mark.parametrize('kind', ['blank', 'noise'])
def test_blank_or_noise_film_has_null_hips(published, kind):
    rng = np.random.default_rng(0)
    film = (
        np.zeros((144, 192), np.uint8)
        if kind == 'blank'
        else rng.integers(0, 256, (144, 192), dtype=np.uint8)
    )
    result = HipInferencer(published).predict_arrays([film])[0]
    assert result['acetabular_index'] == {'image_left': None, 'image_right': None}
    assert result['ihdi_grade'] == {'image_left': None, 'image_right': None}
    assert set(result['not_measured']) == {'image_left', 'image_right'}
    assert all(result['not_measured'].values())
