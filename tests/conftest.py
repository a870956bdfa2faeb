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
        pytest.skip(f'real films not available: {SHARED_DATA} is absent '
                    '(they are never committed; tests using them run where ../shared exists)')
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


TINY_LOADERS = [f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
                for key in ('batch_size=2', 'num_workers=0', 'persistent_workers=False')]
#: the same for both stages of a two-stage config
TINY_BOTH = TINY_LOADERS + [f'film_stage.{option}' for option in TINY_LOADERS]
DEMO_CONFIG = str(REPO / 'configs' / 'hip_effv2_cbam_cpu.py')       # two stages
FILM_CONFIG = str(REPO / 'configs' / 'hip_effv2_cbam_film_cpu.py')  # one stage


@pytest.fixture(scope='session')
def trained(synthetic_root, tmp_path_factory):
    """The whole-film (single-stage) config trained one epoch (2 iterations) by
    tools/train.py, logging to TensorBoard too (tests/test_visualization.py)."""
    from hip_mmpose.tools.train import run as train_main
    work_dir = tmp_path_factory.mktemp('work')
    runner = train_main([FILM_CONFIG, '--data-root', str(synthetic_root),
                         '--work-dir', str(work_dir), '--vis-backend', 'tensorboard',
                         '--cfg-options', 'train_cfg.max_epochs=1', 'randomness.seed=0',
                         *TINY_LOADERS])
    return FILM_CONFIG, work_dir, runner


@pytest.fixture(scope='session')
def trained_cascade(synthetic_root, tmp_path_factory):
    """The design card's two-stage CPU config, one epoch per stage, by tools/train.py.

    Returns (config, work_dir, path of best_cascade.pth)."""
    from hip_mmpose.tools.train import run as train_main
    work_dir = tmp_path_factory.mktemp('cascade')
    best = train_main([DEMO_CONFIG, '--data-root', str(synthetic_root),
                       '--work-dir', str(work_dir),
                       '--cfg-options', 'train_cfg.max_epochs=1', 'randomness.seed=0',
                       'film_stage.train_cfg.max_epochs=1', 'film_stage.randomness.seed=0',
                       *TINY_BOTH])
    return DEMO_CONFIG, work_dir, Path(best)
