import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import hip_mmpose  # noqa: E402,F401  (stack fixes before any OpenMMLab import)

SHARED_DATA = REPO.parent / 'shared' / 'hip-xray'


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
