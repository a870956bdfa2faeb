"""Patient-grouped splits, k-fold cross-validation, the dataset browser, multi-process runs."""

import json
import os
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from hip_mmpose.data_tools.splits import assign_groups
from hip_mmpose.data_tools.synthetic import write_synthetic_dataset
from hip_mmpose.tools.browse_dataset import main as browse_main
from hip_mmpose.tools.split_dataset import main as split_main
from hip_mmpose.utils.compat import GLOO_THREADS_LEFT
from tests.conftest import DEMO_CONFIG, FILM_CONFIG, REPO


@pytest.fixture(scope='module')
def one_folder(tmp_path_factory):
    """18 synthetic films of 9 patients (S000..S008, two films each) in one folder."""
    root = tmp_path_factory.mktemp('one')
    write_synthetic_dataset(root, dict(all=18), size=(160, 120), seed=3)
    return root / 'all'


def _patients(folder):
    return {p.name.split('_')[0] for p in (folder / 'images').iterdir()}


def test_split_is_grouped_by_patient_and_reproducible(one_folder, tmp_path, capsys):
    assert (
        split_main(
            [
                str(one_folder),
                '--out-dir',
                str(tmp_path / 'a'),
                '--seed',
                '1',
                '--ratios',
                '0.6',
                '0.2',
                '0.2',
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert 'train:' in printed and 'patients' in printed
    parts = {s: _patients(tmp_path / 'a' / s) for s in ('train', 'val', 'test')}
    assert not (
        parts['train'] & parts['val']
        or parts['train'] & parts['test']
        or parts['val'] & parts['test']
    )
    assert sum(len(p) for p in parts.values()) == 9
    films = {s: len(list((tmp_path / 'a' / s / 'images').iterdir())) for s in parts}
    assert films == dict(train=10, val=4, test=4)  # whole patients of 2 films each
    split_main(
        [
            str(one_folder),
            '--out-dir',
            str(tmp_path / 'b'),
            '--seed',
            '1',
            '--ratios',
            '0.6',
            '0.2',
            '0.2',
        ]
    )
    assert parts == {s: _patients(tmp_path / 'b' / s) for s in parts}
    assert split_main([str(one_folder), '--out-dir', str(tmp_path / 'a')]) == 1  # not empty


def test_patient_csv_and_refusals(one_folder, tmp_path, capsys):
    mapping = tmp_path / 'ids.csv'
    stems = sorted(p.stem for p in (one_folder / 'images').iterdir())
    mapping.write_text(
        'file,patient\n' + '\n'.join(f'{s}.png,X{i % 3}' for i, s in enumerate(stems))
    )
    assert (
        split_main(
            [str(one_folder), '--out-dir', str(tmp_path / 'c'), '--patient-csv', str(mapping)]
        )
        == 0
    )
    # 3 patients of 6 films each: one whole patient per part
    for split in ('train', 'val', 'test'):
        assert len(list((tmp_path / 'c' / split / 'images').iterdir())) == 6
    mapping.write_text('file,patient\nS000_01.png,X\n')
    assert (
        split_main(
            [str(one_folder), '--out-dir', str(tmp_path / 'd'), '--patient-csv', str(mapping)]
        )
        == 1
    )
    assert 'no patient for' in capsys.readouterr().err


def test_check_refuses_shared_patients(one_folder, tmp_path, capsys):
    """The template's split shares patients between parts; --check refuses it."""
    bad = tmp_path / 'template_like'
    for split, films in (('train', ['S000_01', 'S001_01']), ('test', ['S000_02'])):
        for sub, ext in (('images', '.png'), ('annotations', '.csv')):
            (bad / split / sub).mkdir(parents=True, exist_ok=True)
            for stem in films:
                (bad / split / sub / f'{stem}{ext}').write_bytes(
                    (one_folder / sub / f'{stem}{ext}').read_bytes()
                )
    assert split_main(['--check', str(bad)]) == 1
    assert 'share 1 patients: S000' in capsys.readouterr().out


def test_assign_groups_never_divides_a_patient():
    sizes = {f'P{i}': 1 + i % 4 for i in range(40)}
    parts = assign_groups(sizes, [0.7, 0.15, 0.15], seed=5)
    flat = [p for part in parts for p in part]
    assert sorted(flat) == sorted(sizes)
    films = [sum(sizes[p] for p in part) for part in parts]
    assert abs(films[0] / sum(films) - 0.7) < 0.05


def test_kfold_trains_and_tests_every_fold(one_folder, tmp_path, capsys):
    from hip_mmpose.tools.kfold import run as kfold_main

    folds = tmp_path / 'folds'
    assert split_main([str(one_folder), '--out-dir', str(folds), '--folds', '3']) == 0
    for i in range(3):
        parts = {s: _patients(folds / f'fold{i}' / s) for s in ('train', 'val', 'test')}
        assert not (parts['train'] & parts['test'] or parts['val'] & parts['test'])
    args = [
        DEMO_CONFIG,
        str(folds),
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'film_stage.train_cfg.max_epochs=1',
        *[
            f'{stage}{s}_dataloader.{k}'
            for stage in ('', 'film_stage.')
            for s in ('train', 'val', 'test')
            for k in ('batch_size=4', 'num_workers=0', 'persistent_workers=False')
        ],
    ]
    summary = kfold_main(args)
    assert len(summary['hip/AI_MAE']['folds']) == 3
    # the folds' test parts pooled: every film once, measured by the fold that held it out
    pooled = json.loads((tmp_path / 'work' / 'oof_per_film.json').read_text())
    tests = {
        i: sorted(p.name for p in (folds / f'fold{i}' / 'test' / 'images').iterdir())
        for i in range(3)
    }
    assert sorted(f['file'] for f in pooled['films']) == sorted(sum(tests.values(), []))
    assert {f['file']: f['fold'] for f in pooled['films']} == {
        name: f'fold{i}' for i, names in tests.items() for name in names
    }
    counts = np.array([len(tests[i]) for i in range(3)])
    mre = summary['hip/MRE']
    assert mre['pooled'] == pytest.approx(counts @ mre['folds'] / counts.sum(), abs=0.01)
    low, high = summary['hip/AI_MAE']['pooled_ci']
    assert low <= summary['hip/AI_MAE']['pooled'] <= high
    assert pooled['summary']['bootstrap']['films'] == counts.sum()
    # --resume: every fold is finished, so nothing trains again and the folds test alike
    checkpoints = {p: p.stat().st_mtime for p in (tmp_path / 'work').glob('fold*/*/*.pth')}
    assert len(checkpoints) >= 6
    again = kfold_main(args + ['--resume'])
    assert again['hip/AI_MAE']['folds'] == pytest.approx(summary['hip/AI_MAE']['folds'])
    assert {p: p.stat().st_mtime for p in (tmp_path / 'work').glob('fold*/*/*.pth')} == checkpoints
    out = capsys.readouterr().out
    assert '3-fold cross-validation' in out and 'hip/AI_MAE' in out
    assert json.loads((tmp_path / 'work' / 'kfold_summary.json').read_text())
    # every fold logs into its own folder (not the first Runner's visualizer)
    for i in range(3):
        for stage in ('film', 'hip'):
            assert list((tmp_path / 'work' / f'fold{i}' / stage).glob('*/vis_data/scalars.json'))


def test_browse_dataset_renders_numbered_points(real_data_root, tmp_path):
    assert (
        browse_main(
            [str(real_data_root), '--split', 'val', '--out-dir', str(tmp_path), '--max-films', '2']
        )
        == 0
    )
    pngs = sorted(tmp_path.glob('*.png'))
    assert len(pngs) == 2
    img = cv2.imread(str(pngs[0]))
    assert img.shape[1] == 1024 and img.std() > 10


def _free_port() -> str:
    """A TCP port nothing listens on now (a fixed one may be taken by a browser test's
    driver or another run on the machine)."""
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def _failure(stderr: str) -> str:
    """A failed launch's stderr: the lines naming an error or a signal (a rank's C++
    abort comes before torchrun's own traceback), then the last 4000 characters."""
    named = [
        line
        for line in stderr.splitlines()
        if any(w in line for w in ('Error', 'error', 'what()', 'terminate', 'Signal'))
    ]
    return '\n'.join(named[:40]) + '\n...\n' + stderr[-4000:]


def _launch(script: str, args, env: dict, tmp):
    """``bash tools/<script> ...`` on two CPU ranks, each launch on a free port.

    A rank killed by SIGABRT, or a launch still running after 300 s (a run takes
    10-30 s), is launched once more, named in the output; any other failure, and a
    second abort or hang, fails the test. The aborts' cause, gloo's threads left to
    the interpreter's teardown (5 of 40 launches beside a busy second worker), is
    mended and checked below (``GLOO_THREADS_LEFT``); a hang at exit was seen once in
    146 launches after that and not caught again."""
    for attempt in (1, 2):
        out, err = (tmp / f'{script}{attempt}.{k}' for k in ('out', 'err'))
        with out.open('w') as stdout, err.open('w') as stderr:
            launch = subprocess.Popen(
                ['bash', str(REPO / 'tools' / script), *args(attempt)],
                env=dict(env, PORT=_free_port()),
                stdout=stdout,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
            hung = _wait(launch, 300)
        result = subprocess.CompletedProcess(
            launch.args, launch.returncode, out.read_text(), err.read_text()
        )
        again = hung or 'Signal 6 (SIGABRT)' in result.stderr
        if result.returncode == 0 or not again or attempt == 2:
            return result, attempt
        why = 'still running after 300 s' if hung else 'a rank aborted (SIGABRT)'
        print(f'{script}: {why}; launched again:\n{_failure(result.stderr)}')


def _wait(launch: subprocess.Popen, seconds: float) -> bool:
    """Wait for a launch; a hung one is stopped (True). torchrun's ranks run in
    sessions of their own and torchrun stops them on SIGTERM; SIGKILL after 60 s."""
    try:
        launch.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(launch.pid, signal.SIGTERM)
    try:
        launch.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(launch.pid, signal.SIGKILL)
        launch.wait()
    return True


def test_two_cpu_processes_with_gloo(tmp_path):
    root = tmp_path / 'tiny'
    write_synthetic_dataset(root, dict(train=4, val=2, test=2), size=(160, 120), seed=2)
    from hip_mmpose.data_tools.csv_to_coco import convert_dataset

    convert_dataset(root, root / 'coco', progress=False)
    env = dict(os.environ, PY=sys.executable, OMP_NUM_THREADS='1')
    loaders = [
        f'{s}_dataloader.{k}'
        for s in ('train', 'val')
        for k in ('batch_size=1', 'num_workers=0', 'persistent_workers=False')
    ]
    result, attempt = _launch(
        'dist_train.sh',
        lambda attempt: [
            FILM_CONFIG,
            '2',
            '--data-root',
            str(root),
            '--work-dir',
            str(tmp_path / f'work{attempt}'),
            '--cfg-options',
            'train_cfg.max_epochs=1',
            *loaders,
        ],
        env,
        tmp_path,
    )
    assert result.returncode == 0, _failure(result.stderr)
    # each rank closed the process group with gloo's threads joined, not left to exit
    assert GLOO_THREADS_LEFT not in result.stderr, _failure(result.stderr)
    work = tmp_path / f'work{attempt}'
    log = next(work.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    # 4 films, batch 1: each of the two ranks ran 2 iterations on its half
    assert 'Epoch(train) [1][2/2]' in log
    # validation gathered one film from each rank
    val = json.loads(next(work.glob('*/val_per_film.json')).read_text())
    assert len(val['films']) == 2

    # and tools/dist_test.sh: both ranks test, one prints the table
    loaders = [
        f'test_dataloader.{k}'
        for k in ('batch_size=1', 'num_workers=0', 'persistent_workers=False')
    ]
    result, attempt = _launch(
        'dist_test.sh',
        lambda attempt: [
            FILM_CONFIG,
            str(work / 'epoch_1.pth'),
            '2',
            '--data-root',
            str(root),
            '--work-dir',
            str(tmp_path / f'test{attempt}'),
            '--cfg-options',
            *loaders,
        ],
        env,
        tmp_path,
    )
    assert result.returncode == 0, _failure(result.stderr)
    assert GLOO_THREADS_LEFT not in result.stderr, _failure(result.stderr)
    assert result.stdout.count('test metrics (epoch_1.pth)') == 1
    test = json.loads(next((tmp_path / f'test{attempt}').glob('*/test_per_film.json')).read_text())
    assert len(test['films']) == 2
