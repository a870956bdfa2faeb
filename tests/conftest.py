import contextlib
import io
import os
import sys
from pathlib import Path

import pytest

# pytest-xdist runs one worker per core (`make test`): each worker's torch (and every
# tool it starts) on one thread, or two workers' threads fight over two cores
if os.environ.get('PYTEST_XDIST_WORKER'):
    os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = '1'

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import hip_mmpose  # noqa: E402,F401  (stack fixes before any OpenMMLab import)

SHARED_DATA = REPO.parent / 'shared' / 'hip-xray'

if os.environ.get('PYTEST_XDIST_WORKER'):
    import torch

    torch.set_num_threads(1)

#: the longest tests (``pytest --durations``), started first so that the two workers
#: finish together rather than one waiting on the last long test
SLOW_FIRST = (
    'test_kfold_trains_and_tests_every_fold',
    'test_two_cpu_processes_with_gloo',
    'test_resume_picks_up_the_refining_stage',
    'test_killed_mid_save_leaves_the_last_state_readable',
    'test_wheel_installs_outside_the_checkout_and_runs',
    'test_poisoned_files_are_refused_by_every_tool',
)


def pytest_collection_modifyitems(config, items):
    """Start the slowest tests first (an order every worker computes alike)."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.originalname, len(rank)))


@pytest.fixture(scope='session')
def real_data_root() -> Path:
    if not (SHARED_DATA / 'train' / 'images').is_dir():
        pytest.skip(
            f'real films not available: {SHARED_DATA} is absent '
            '(they are never committed; tests using them run where ../shared exists)'
        )
    return SHARED_DATA


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> Path:
    """A tiny synthetic set (CSV layout) with its COCO files under coco/."""
    from hip_mmpose.data_tools.csv_to_coco import convert_dataset
    from hip_mmpose.data_tools.synthetic import write_synthetic_dataset
    from hip_mmpose.datasets import METAINFO_FILE

    root = tmp_path_factory.mktemp('synthetic')
    write_synthetic_dataset(root, dict(train=4, val=4, test=4), size=(192, 144), seed=1)
    convert_dataset(root, root / 'coco', metainfo_file=METAINFO_FILE, progress=False)
    return root


@pytest.fixture(autouse=True, scope='session')
def mmpose_scope():
    """Build transforms and models from MMPose's registries, as its Runner does."""
    from mmengine.registry import init_default_scope

    init_default_scope('mmpose')


#: loaders for the tiny synthetic sets, as ``cfg_options`` of ``hip_mmpose.apis``
TINY = {
    f'{split}_dataloader.{key}': value
    for split in ('train', 'val', 'test')
    for key, value in (('batch_size', 2), ('num_workers', 0), ('persistent_workers', False))
}
#: the same for both stages of a two-stage config
TINY_BOTH_OPTIONS = dict(TINY, **{f'film_stage.{key}': value for key, value in TINY.items()})
#: the same as ``--cfg-options`` arguments of the tools
TINY_LOADERS = [f'{key}={value}' for key, value in TINY.items()]
TINY_BOTH = [f'{key}={value}' for key, value in TINY_BOTH_OPTIONS.items()]
DEMO_CONFIG = str(REPO / 'configs' / 'hip_effv2_cbam_cpu.py')  # two stages
FILM_CONFIG = str(REPO / 'configs' / 'hip_effv2_cbam_film_cpu.py')  # one stage


@pytest.fixture(scope='session')
def trained(synthetic_root, tmp_path_factory):
    """The whole-film (single-stage) config trained one epoch (2 iterations) by
    ``hip_mmpose.apis.train``, logging to TensorBoard too (tests/test_visualization.py).

    Returns (config, work_dir, the Runner after training)."""
    from hip_mmpose.apis import train

    work_dir = tmp_path_factory.mktemp('work')
    result = train(
        FILM_CONFIG,
        data_root=str(synthetic_root),
        work_dir=str(work_dir),
        cfg_options={'train_cfg.max_epochs': 1, 'randomness.seed': 0, **TINY},
        visualization=dict(vis_backend='tensorboard'),
    )
    return FILM_CONFIG, work_dir, result.runner


@pytest.fixture(scope='session')
def trained_cascade(synthetic_root, tmp_path_factory):
    """The design card's two-stage CPU config, one epoch per stage, trained by the
    card's command itself (``tools/train.py``'s ``main``, as a user types it; the
    ``trained`` fixture above goes through :func:`hip_mmpose.apis.train`).

    Returns (config, work_dir, path of best_cascade.pth)."""
    from hip_mmpose.tools.train import main as train_main

    work_dir = tmp_path_factory.mktemp('cascade')
    assert (
        train_main(
            [
                DEMO_CONFIG,
                '--data-root',
                str(synthetic_root),
                '--work-dir',
                str(work_dir),
                '--cfg-options',
                'train_cfg.max_epochs=1',
                'randomness.seed=0',
                'film_stage.train_cfg.max_epochs=1',
                'film_stage.randomness.seed=0',
                *TINY_BOTH,
            ]
        )
        == 0
    )
    return DEMO_CONFIG, work_dir, work_dir / 'best_cascade.pth'


def _run_test_tool(argv):
    """``tools/test.py``'s ``run(argv)`` with its console output kept: returns
    (metrics, output); the output is written on to the console too (pytest captures it)."""
    from hip_mmpose.tools.test import run as run_test_tool

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        metrics = run_test_tool(argv)
    sys.stdout.write(out.getvalue())
    return metrics, out.getvalue()


@pytest.fixture(scope='session')
def tested(trained, synthetic_root, tmp_path_factory):
    """``tools/test.py`` on the ``trained`` model's ``epoch_1.pth``, once per session,
    with ``--dump`` and ``--report`` and the training's work dir as ``--work-dir`` (so
    the report finds the training curves). Shared by the tests of the test loop and
    its dump (test_runner), the report (test_report) and the per-film schema
    (test_records).

    Returns:
        dict: ``metrics``, ``out`` (console output), ``log_dir`` (the test run's log
        folder with ``test_per_film.json/.csv``), ``dump`` (the ``.pkl``) and
        ``report`` (the report folder).
    """
    config, work_dir, _ = trained
    folder = tmp_path_factory.mktemp('tested')
    dump, report = folder / 'preds.pkl', folder / 'report'
    metrics, out = _run_test_tool(
        [
            config,
            str(work_dir / 'epoch_1.pth'),
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(work_dir),
            '--dump',
            str(dump),
            '--report',
            str(report),
            '--cfg-options',
            *TINY_LOADERS,
        ]
    )
    [per_film] = work_dir.glob('*/test_per_film.json')
    return dict(metrics=metrics, out=out, log_dir=per_film.parent, dump=dump, report=report)


@pytest.fixture(scope='session')
def tested_cascade(trained_cascade, synthetic_root, tmp_path_factory):
    """``tools/test.py`` on the two-stage model's ``best_cascade.pth`` as the card runs
    it, with ``--show-dir vis``, once per session. Shared by the card's commands and
    the one-pass side of the two-pass test (test_cascade) and the overlays
    (test_visualization).

    Returns:
        dict: ``metrics``, ``out`` (console output) and ``work_dir`` (``hip/<run>/``
        holds the final points' ``test_per_film.json`` and the overlays).
    """
    config, _, best = trained_cascade
    work_dir = tmp_path_factory.mktemp('cascade_tested')
    metrics, out = _run_test_tool(
        [
            config,
            str(best),
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(work_dir),
            '--show-dir',
            'vis',
            '--cfg-options',
            *TINY_BOTH,
        ]
    )
    return dict(metrics=metrics, out=out, work_dir=work_dir)
