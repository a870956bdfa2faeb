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
        'test_dataloader.dataset.pipeline[5].type',
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
    import contextlib, io, json, os, sys, traceback
    sys.path.insert(0, {repo!r})
    import hip_mmpose  # noqa
    from hip_mmpose.tools.infer import main as infer
    from hip_mmpose.tools.publish_model import main as publish
    from hip_mmpose.tools.test import run as test
    from hip_mmpose.tools.train import run as train
    marker, probe = {marker!r}, {probe!r}
    report = []
    for name, tool, argv in json.load(open(sys.argv[1])):
        printed = io.StringIO()  # the tools' mains print a refusal as one line
        try:
            with contextlib.redirect_stderr(printed):
                status = {{'infer': infer, 'publish': publish, 'test': test,
                          'train': train}}[tool](argv)
            message = printed.getvalue()
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
    assert 'test_dataloader.dataset.pipeline[5].type' in report['test published']['message']
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
    # nor a single film's own folder: the next run on the folder would read
    # b.jpg.overlay.png as a film (issue 33 D)
    assert (
        infer_main([str(films / 'b.jpg'), '--checkpoint', str(published), '--out-dir', str(films)])
        == 2
    )
    assert "the film's own folder" in capsys.readouterr().err
    assert _digest(films) == before


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


# ================================================================= issue 33
# Each example of issue 33 (hostile and odd inputs, round two) as a small crafted file
# (tests/hostile_files.py; the bombs small in bytes): the refusal or per-film failure,
# its one-line message naming the file, and the good films of the same run measured.
# tools/benchmark_hostile.py measures the peak memory of each.
from hip_mmpose.runtime import OnnxHipInferencer, OnnxModelError  # noqa: E402
from hip_mmpose.utils import records  # noqa: E402
from hip_mmpose.utils.film_io import (  # noqa: E402
    FilmReadError,
    FilmTooLargeError,
    read_film,
)
from tests import hostile_files as hostile  # noqa: E402


def _one_line(err: str) -> list[str]:
    """The lines a tool printed to stderr: each refusal must be one, no traceback."""
    assert 'Traceback' not in err, err[-2000:]
    pieces = (piece for line in err.splitlines() for piece in line.split('\r'))
    return [p for p in pieces if p.strip() and 'film/s' not in p]  # not the progress bar


def _summary(out: Path) -> dict:
    return {row['file']: row for row in records.read_csv(out / 'summary.csv')}


ODD_FILMS = {  # file name: (maker, what the refusal says)
    'unknown_syntax.dcm': (hostile.unknown_syntax_dicom, 'unknown transfer syntax'),
    'wide.png': (hostile.wide_png, 'a side above 32767 px'),
    'eps.png': (lambda p: hostile.other_format_named_png(p, 'EPS'), 'not PNG or JPEG'),
    'gif.png': (lambda p: hostile.other_format_named_png(p, 'GIF'), 'not PNG or JPEG'),
    'tiff.png': (lambda p: hostile.other_format_named_png(p, 'TIFF'), 'not PNG or JPEG'),
    'deflate_bomb.dcm': (hostile.deflate_bomb_dicom, 'inflates beyond'),
    'jpeg_lie.dcm': (
        lambda p: hostile.jpeg_dicom(p, 512, 512, declare=(30000, 30000), frame=(8, 8)),
        'JPEG frame declares 30000 x 30000',
    ),
    'j2k_lie.dcm': (hostile.j2k_dicom, 'JPEG 2000 frame declares 30000 x 30000'),
}


@pytest.fixture(scope='module')
def tiny_onnx(tmp_path_factory):
    """A two-stage ONNX model of the export's shape (tests/hostile_files.py), no training."""
    return hostile.tiny_onnx(tmp_path_factory.mktemp('tiny') / 'tiny.onnx')


def test_odd_films_are_refused_one_by_one_and_the_good_ones_measured(tiny_onnx, tmp_path, capsys):
    """Issue 33 A (unknown transfer syntax, a 60000 x 60 PNG), B (a deflate bomb, JPEG
    and JPEG 2000 frames that declare 30000 x 30000) and D (EPS/GIF/TIFF named .png,
    the error cell naming the film only): each odd film is a one-line failure and a
    summary row; the good films beside them are measured."""
    films = tmp_path / 'films'
    films.mkdir()
    good = [hostile.good_film(films / f'good{i}.png', seed=i) for i in range(2)]
    for name, (make, _) in ODD_FILMS.items():
        make(films / name)
    assert max(p.stat().st_size for p in films.iterdir()) < 2e6  # small in bytes
    out = tmp_path / 'out'
    assert infer_main([str(films), '--onnx', str(tiny_onnx), '--out-dir', str(out)]) == 2
    lines = _one_line(capsys.readouterr().err)
    summary = _summary(out)
    assert set(summary) == {p.name for p in films.iterdir()}
    for path in good:
        assert 'error' not in summary[path.name]
        assert json.loads((out / f'{path.name}.json').read_text())['file'] == path.name
    for name, (_, why) in ODD_FILMS.items():
        error = summary[name]['error']
        assert error.startswith(f'{name}: ') and why in error, (name, error)
        assert str(films) not in error  # the name only, not the folder (D)
        assert [line for line in lines if name in line] == [f'skipped: {error}']
        assert not (out / f'{name}.json').exists()


def test_deflated_and_jpeg_dicoms_still_read(tmp_path):
    """The caps refuse bombs, not films: a deflated DICOM reads as its uncompressed
    twin, a JPEG frame of the header's size decodes."""
    stored = (np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 7) % 4096
    plain = hostile.dicom_film(tmp_path / 'plain.dcm', stored)
    deflated = hostile.dicom_film(tmp_path / 'deflated.dcm', stored, hostile.DEFLATED)
    assert deflated.stat().st_size < plain.stat().st_size
    assert np.array_equal(read_film(deflated).image, read_film(plain).image)
    film = read_film(hostile.jpeg_dicom(tmp_path / 'jpeg.dcm', 64, 48))
    rows = film.image[..., 0].mean(1)
    assert film.size == (48, 64) and rows[-1] - rows[0] > 200 and (np.diff(rows) >= -2).all()


def test_bombs_are_refused_before_their_pixels_are_made(tmp_path):
    """Refused by what the file declares: a deflated DICOM whose 64 MB of zeros
    inflate beyond its 512 x 512 header, frames that declare 30000 x 30000 in a
    512 x 512 DICOM, a frame that declares another size under the cap."""
    bomb = hostile.deflate_bomb_dicom(tmp_path / 'bomb.dcm')
    assert bomb.stat().st_size < 200_000
    with pytest.raises(FilmTooLargeError, match=r'bomb\.dcm: deflated DICOM inflates beyond'):
        read_film(bomb)
    for path, name in (
        (hostile.jpeg_dicom(tmp_path / 'j.dcm', 512, 512, (30000, 30000), (8, 8)), 'JPEG'),
        (hostile.j2k_dicom(tmp_path / 'k.dcm'), 'JPEG 2000'),
    ):
        assert path.stat().st_size < 2000
        with pytest.raises(
            FilmReadError,
            match=f'{name} frame declares 30000 x 30000 px, the header says 512 x 512',
        ):
            read_film(path)
    small_lie = hostile.jpeg_dicom(tmp_path / 's.dcm', 64, 48, declare=(40, 64))
    with pytest.raises(FilmReadError, match='declares 40 x 64 px, the header says 48 x 64'):
        read_film(small_lie)


def test_a_graph_that_fails_at_run_time_is_a_failure_per_film(tmp_path, capsys):
    """Issue 33 A: onnxruntime failing on the graph (here: a reshape wrong only at
    run time; tools/benchmark_hostile.py runs the 40000 x 40000 output) is a one-line
    failure per film and a summary row, not a traceback."""
    model = hostile.tiny_onnx(tmp_path / 'fails.onnx', fail=True)
    films = tmp_path / 'films'
    films.mkdir()
    for i in range(3):
        hostile.good_film(films / f'f{i}.png', seed=i)
    out = tmp_path / 'out'
    assert (
        infer_main([str(films), '--onnx', str(model), '--out-dir', str(out), '--batch-size', '2'])
        == 2
    )
    lines = _one_line(capsys.readouterr().err)
    summary = _summary(out)
    assert sorted(summary) == ['f0.png', 'f1.png', 'f2.png']
    for name, row in summary.items():
        assert row['error'].startswith(f'{name}: not measured (Fail: ')
        assert f'skipped: {row["error"]}' in lines


def test_out_dir_that_cannot_be_written_is_refused_before_the_model(tmp_path, capsys):
    """Issue 33 A: the out-dir is checked before the model is read (here an unreadable
    model: the out-dir's refusal comes first), in one line; nothing is made."""
    films = tmp_path / 'films'
    films.mkdir()
    hostile.good_film(films / 'a.png')
    (tmp_path / 'a_file').write_text('')
    junk = tmp_path / 'junk.onnx'
    junk.write_bytes(b'not a model')
    out = tmp_path / 'a_file' / 'out'
    assert infer_main([str(films), '--onnx', str(junk), '--out-dir', str(out)]) == 2
    assert _one_line(capsys.readouterr().err) == [
        f'error: --out-dir {out}: {tmp_path / "a_file"} is not a folder'
    ]


def test_refusals_are_one_line_and_debug_shows_the_traceback(trained, tmp_path, capsys):
    """Issue 33 A and D: infer and export print a refusal as one line (a truncated
    model: no advice to use another .pth beside it, which may be anyone's); --debug
    raises it with its traceback."""
    from hip_mmpose.tools.export_onnx import main as export_main
    from hip_mmpose.tools.publish_model import main as publish_main

    _, work_dir, _ = trained
    whole = (work_dir / 'epoch_1.pth').read_bytes()
    (tmp_path / 'model.pth').write_bytes(whole[: len(whole) // 2])
    (tmp_path / 'other.pth').write_bytes(whole)  # an intact file beside it: not advised
    films = tmp_path / 'films'
    films.mkdir()
    hostile.good_film(films / 'a.png')
    cases = [
        (
            infer_main,
            [
                str(films),
                '--checkpoint',
                str(tmp_path / 'model.pth'),
                '--out-dir',
                str(tmp_path / 'o'),
            ],
        ),
        (export_main, [str(tmp_path / 'model.pth'), str(tmp_path / 'm.onnx')]),
        (publish_main, [str(tmp_path / 'model.pth'), str(tmp_path / 'p.pth')]),
    ]
    for main, argv in cases:
        assert main(argv) == 2
        lines = _one_line(capsys.readouterr().err)
        assert len(lines) == 1 and lines[0].startswith(
            f'error: {tmp_path / "model.pth"}: truncated'
        )
        assert 'other.pth' not in lines[0] and 'resume' not in lines[0]
        with pytest.raises(compat.CheckpointLoadError):
            main(argv + ['--debug'])
    assert not (tmp_path / 'o').exists() and not (tmp_path / 'm.onnx').exists()


def test_show_dir_overlay_of_a_dicom_film_is_a_png(tmp_path):
    """Issue 33 A: ``tools/test.py --show-dir`` on DICOM films: MMPose's hook names the
    overlay after the film (x.dcm), which OpenCV cannot encode; it is written as
    x.dcm.png, and an overlay that cannot be written is logged, not raised."""
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    from hip_mmpose.visualization.local_visualizer import HipPoseVisualizer

    sample = PoseDataSample(metainfo=dict(img_path='x.dcm'))
    sample.pred_instances = InstanceData(
        keypoints=np.random.default_rng(0).uniform(10, 50, (1, 12, 2)),
        keypoint_scores=np.ones((1, 12)),
    )
    visualizer = HipPoseVisualizer(name='issue33_show_dir')
    image = np.zeros((64, 64, 3), np.uint8)
    visualizer.add_datasample('x', image, sample, draw_gt=False, out_file=str(tmp_path / 'x.dcm'))
    assert cv2.imread(str(tmp_path / 'x.dcm.png')).shape == (64, 64, 3)
    visualizer.add_datasample(
        'y', image, sample, draw_gt=False, out_file=str(tmp_path / 'no' / 'y.png')
    )


def test_nested_and_mistyped_model_files_are_refused_by_name(tmp_path, capsys):
    """Issue 33 A: a published config or ONNX metadata nested 200,000 deep, a
    per-film JSON nested as deep, a checkpoint whose top level is a list: one-line
    refusals naming the file, no RecursionError or AttributeError."""
    from hip_mmpose.tools.publish_model import main as publish_main

    deep = hostile.deep_json(200_000)
    from hip_mmpose.apis.config_check import load_published_config

    with pytest.raises(ConfigCheckError, match='x.pth: meta.config: nested too deep'):
        load_published_config(deep, 'x.pth')
    published = tmp_path / 'deep.pth'
    meta = dict(format='hip_mmpose-published-v2', stages=[dict(name='film', config=deep)])
    torch.save(dict(state_dict=dict(film={}), meta=meta), published)
    films = tmp_path / 'films'
    films.mkdir()
    hostile.good_film(films / 'a.png')
    assert (
        infer_main([str(films), '--checkpoint', str(published), '--out-dir', str(tmp_path / 'o')])
        == 2
    )
    assert _one_line(capsys.readouterr().err) == [
        f'error: {published} (film stage): meta.config: nested too deep to read; not a config'
    ]
    onnx_deep = hostile.tiny_onnx(tmp_path / 'deep.onnx', metadata_text=deep)
    with pytest.raises(OnnxModelError, match='deep.onnx: metadata .* nested too deep'):
        OnnxHipInferencer(onnx_deep)
    (tmp_path / 'deep.json').write_text(deep)
    with pytest.raises(records.RecordError, match='deep.json: nested too deep'):
        records.read_json(tmp_path / 'deep.json')
    listed = tmp_path / 'list.pth'
    torch.save([torch.zeros(2)], listed)
    assert publish_main([str(listed), str(tmp_path / 'p.pth')]) == 2
    assert _one_line(capsys.readouterr().err) == [
        f'error: {listed}: holds a list, not a checkpoint (a mapping with state_dict and meta)'
    ]


# ----------------------------------------------------------------- converter (B)
def test_converter_reads_a_bounded_amount_and_names_every_bad_file(tmp_path, capsys):
    """Issue 33 B: a one-line annotation beyond 64 kB (the 300 MB one of the issue in
    tools/benchmark_hostile.py), 1001 reader lines, a line with a 13th point: each
    refused by name, after reading no more than the cap; every bad file is named, the
    good ones' films still checked; nothing written."""
    root = _split(tmp_path / 'data', n=5)
    ann = root / 'train' / 'annotations'
    hostile.long_line_csv(ann / 'P0.csv', points=30_000)
    hostile.many_lines_csv(ann / 'P1.csv', lines=1001)
    (ann / 'P2.csv').write_text(TWELVE + ',"(1, 2)"' * 1000)
    assert max(p.stat().st_size for p in ann.iterdir()) < 300e3
    out = tmp_path / 'coco'
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 1
    lines = _one_line(capsys.readouterr().err)
    assert (
        lines[0] == f'error: {ann / "P0.csv"}: larger than 64 kB; not an annotation file '
        '(20 readers of one film fit in far less)'
    )
    assert lines[1].startswith(f'error: {ann / "P1.csv"}: larger than 64 kB')
    assert lines[2] == f'error: {ann / "P2.csv"}: has more than 12 points'
    assert lines[3] == '3 bad file(s); nothing written; any earlier output is unchanged.'
    assert len(lines) == 4 and not out.exists()


# ----------------------------------------------------------------- model files (B, C)
ONNX_REFUSALS = {  # what is changed in the tiny model's metadata: what the refusal names
    'input 40000 x 40000, the graph too (B)': (
        lambda m: m['stages'][0].update(
            input_size=[40000, 40000],
            codec=dict(
                m['stages'][0]['codec'], input_size=[40000, 40000], heatmap_size=[10000, 10000]
            ),
        ),
        dict(film=(40000, 40000)),
        r'stages\[film\]\.input_size: 40000 is outside 1-2048',
    ),
    'refine_passes 1e9 (B)': (
        lambda m: m.update(refine_passes=10**9),
        None,
        'refine_passes: 1000000000 is outside 0-8',
    ),
    'heatmap_size 24 x 24 (C)': (
        lambda m: m['stages'][1]['codec'].update(heatmap_size=[24, 24]),
        None,
        r'stages\[hip\]\.codec\.heatmap_size \[24, 24\] is not the \[8, 8\] heatmaps '
        'the network gives',
    ),
    'codec input_size 384 x 384 (C)': (
        lambda m: m['stages'][1]['codec'].update(input_size=[384, 384]),
        None,
        r'codec\.input_size \[384, 384\] is not the input_size \[32, 32\] the crops are made at',
    ),
    'flip_indices identity (C)': (
        lambda m: m['stages'][0].update(flip_indices=list(range(12))),
        None,
        r"stages\[film\]\.flip_indices: .* are not the metainfo's flip pairs",
    ),
    'blur_kernel_size 1e9 (C)': (
        lambda m: m['stages'][1]['codec'].update(blur_kernel_size=10**9),
        None,
        'codec.blur_kernel_size: 1000000000 is outside 1-99',
    ),
    'a 3-value input_size (C)': (
        lambda m: m['stages'][1].update(input_size=[32, 32, 3]),
        None,
        r'input_size: \[32, 32, 3\] is not a \[width, height\] pair',
    ),
    'mean of length 2 (C)': (
        lambda m: m['stages'][0].update(mean=[1.0, 2.0]),
        None,
        r'mean: expected 3 numbers',
    ),
    'a string std (C)': (
        lambda m: m['stages'][0].update(std='58'),
        None,
        r'stages\[film\]\.std: missing or not',
    ),
    'std 0 (C)': (
        lambda m: m['stages'][0].update(std=[1.0, 0.0, 1.0]),
        None,
        r'std: .* must be > 0',
    ),
    'offsets 0.06 of the crop on a roof point (C)': (
        lambda m: m['stages'][1]['keypoint_offsets'][0].__setitem__(0, [0.06, 0.0]),
        None,
        r'keypoint_offsets: 0\.06 of the crop, beyond the \+-0\.04',
    ),
    'offsets 1e300 (C)': (
        lambda m: m['stages'][1]['keypoint_offsets'][1].__setitem__(2, [1e300, 0.0]),
        None,
        r'keypoint_offsets: 1e\+300 of the crop',
    ),
}


@pytest.mark.parametrize('case', list(ONNX_REFUSALS))
def test_onnx_settings_outside_the_schema_are_refused(case, tiny_onnx, tmp_path, capsys):
    """Issue 33 B and C: every size and count of the metadata capped, the codec tied
    to the graph's shapes, flip partners to the metainfo's pairs, mean/std three finite
    numbers (std > 0), offsets bounded: refused when the model is read, in one line."""
    change, sizes, match = ONNX_REFUSALS[case]
    meta = hostile.onnx_metadata()
    change(meta)
    model = hostile.tiny_onnx(tmp_path / 'bad.onnx', meta=meta, sizes=sizes)
    with pytest.raises(OnnxModelError, match=f'{model}: .*{match}'):
        OnnxHipInferencer(model)
    films = tmp_path / 'films'
    films.mkdir()
    hostile.good_film(films / 'a.png')
    assert infer_main([str(films), '--onnx', str(model), '--out-dir', str(tmp_path / 'o')]) == 2
    lines = _one_line(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f'error: {model}: ')
    assert OnnxHipInferencer(tiny_onnx).refine_passes == 1  # the unchanged model loads


def _tampered_cascade(best, path, stage, key=None, value=None, config=None):
    """A copy of a published two-stage file with one weight or config entry changed."""
    ckpt = torch.load(best, map_location='cpu', weights_only=True)
    if key is not None:
        ckpt['state_dict'][stage][key] = value
    if config is not None:
        entry = next(s for s in ckpt['meta']['stages'] if s['name'] == stage)
        cfg = json.loads(entry['config'])
        config(cfg)
        entry['config'] = json.dumps(cfg)
    torch.save(ckpt, path)
    return path


def test_torch_loading_and_publish_check_the_same_schema(trained_cascade, tmp_path, capsys):
    """Issue 33 C: the published file's fitted values and declared sizes are checked as
    the ONNX metadata is: offsets 0.06 of the crop (the issue's AI 15.84 instead of
    22.75) and 1e300, a NaN p_line_shift (publish wrote it), a codec heatmap size the
    network does not give; refused by the torch loader and by publish, by name."""
    from hip_mmpose.apis import publish_checkpoint
    from hip_mmpose.tools.publish_model import main as publish_main
    from hip_mmpose.utils.model_schema import ModelSchemaError

    _, _, best = trained_cascade
    offsets = torch.zeros(2, 6, 2)
    offsets[0, 0, 0] = 0.06
    huge = torch.zeros(2, 6, 2, dtype=torch.float64)
    huge[1, 2, 0] = 1e300
    cases = {
        'offsets': (dict(key='keypoint_offsets', value=offsets), r'0\.06 of the crop, beyond'),
        'huge': (
            dict(key='keypoint_offsets', value=huge.float()),
            'keypoint_offsets: expected finite',
        ),
        'nan shift': (
            dict(key='p_line_shift', value=torch.tensor(float('nan'))),
            'p_line_shift nan',
        ),
        'heatmap': (
            dict(config=lambda c: c['model']['head']['decoder'].update(heatmap_size=[24, 24])),
            r'codec\.heatmap_size \[24, 24\] is not the \[48, 48\] heatmaps the network gives',
        ),
    }
    for name, (change, match) in cases.items():
        bad = _tampered_cascade(best, tmp_path / f'{name.replace(" ", "_")}.pth', 'hip', **change)
        with pytest.raises(ValueError, match=f'{bad} \\(hip stage\\): .*{match}'):
            HipInferencer(bad)
        with pytest.raises(ValueError, match=match):
            publish_checkpoint(bad, tmp_path / 'pub' / 'x.pth')
        assert publish_main([str(bad), str(tmp_path / 'pub' / 'x.pth')]) == 2
        assert len(_one_line(capsys.readouterr().err)) == 1
    assert not (tmp_path / 'pub').exists() or not list((tmp_path / 'pub').iterdir())
    assert issubclass(ModelSchemaError, ValueError)


# ----------------------------------------------------------------- an interrupted run (D)
KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from hip_mmpose.tools import infer
    from hip_mmpose.utils import records
    written = records.write_film
    def write_then_die(path, record):
        written(path, record)
        os.kill(os.getpid(), signal.SIGKILL)  # killed after the first film's JSON
    records.write_film = write_then_die
    infer.main(sys.argv[1:])
""")


def test_a_killed_run_leaves_no_earlier_summary_beside_its_files(tiny_onnx, tmp_path):
    """Issue 33 D: infer killed with SIGKILL after its first film: summary.csv is not
    the earlier run's (which would sit beside the new JSON) but this run's, every film
    marked as not measured because the run did not finish."""
    from hip_mmpose.tools.infer import NOT_YET_MEASURED

    films = tmp_path / 'films'
    films.mkdir()
    for i in range(3):
        hostile.good_film(films / f'f{i}.png', seed=i)
    out = tmp_path / 'out'
    argv = [str(films), '--onnx', str(tiny_onnx), '--out-dir', str(out), '--batch-size', '1']
    assert infer_main(argv) == 0
    before = (out / 'summary.csv').read_text()
    assert 'not measured' not in before
    (tmp_path / 'killed.py').write_text(KILLED_RUN.format(repo=str(REPO)))
    run = subprocess.run(
        [sys.executable, str(tmp_path / 'killed.py'), *argv], capture_output=True, timeout=300
    )
    assert run.returncode == -9
    summary = _summary(out)
    assert sorted(summary) == ['f0.png', 'f1.png', 'f2.png']
    assert {row['error'] for row in summary.values()} == {NOT_YET_MEASURED}
