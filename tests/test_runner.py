"""A real MMEngine Runner loop on tiny synthetic films: trained by hip_mmpose.apis.train
(the `trained` fixture), resumed and tested through tools/train.py and test.py."""

import os.path as osp

import numpy as np

from hip_mmpose.tools.train import run as train_main
from tests.conftest import TINY_LOADERS


def test_two_training_iterations_and_validation(trained):
    _, work_dir, runner = trained
    assert runner.iter == 2 and runner.epoch == 1  # 4 films / batch 2
    # max_epochs=1 as a cfg-option: the cosine ends with the run, the warm-up within it
    warmup, cosine = runner.param_schedulers
    assert cosine.end == 1 and warmup.end <= runner.train_loop.max_iters == 2
    assert (work_dir / 'epoch_1.pth').exists()
    best = list(work_dir.glob('best_*.pth'))
    assert best, 'validation ran and save_best wrote a checkpoint'
    scalars = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    assert '"loss"' in scalars and '"hip/AI_MAE"' in scalars
    assert list(work_dir.glob('*/val_per_film.json')), 'HipMetric dumped per-film results'


def test_test_loop_and_dump(tested, synthetic_root):
    # tools/test.py --dump on the `trained` model (the session's `tested` fixture)
    metrics, dump = tested['metrics'], tested['dump']
    assert {'hip/MRE', 'hip/AI_MAE', 'hip/IHDI_kappa', 'hip/IHDI_bal_acc'} <= set(metrics)
    # the console: the run and the headline table, then where everything else is
    out = tested['out']
    table = out[out.index('test metrics (epoch_1.pth)') :].splitlines()
    assert 'System environment' not in out and 'Config:' not in out
    assert table[3].startswith('MRE') and not any('MRE_image_left' in t for t in table)
    assert any(t.startswith('AI_MAE') and '[' in t for t in table)  # with its interval
    log = next(line.split()[-1] for line in table if line.startswith('log:'))
    assert 'Config:' in open(log).read()
    assert any(line.startswith('per film:') and 'test_per_film.csv' in line for line in table)
    assert np.isfinite(metrics['hip/MRE'])
    assert list(tested['log_dir'].parent.glob('*/test_per_film.csv'))
    # measured in film pixels: the dumped truth is the CSV annotation as stored
    import json

    from hip_mmpose.data_tools.csv_to_coco import parse_annotation_csv

    film = json.loads((tested['log_dir'] / 'test_per_film.json').read_text())['films'][0]
    csv_points = parse_annotation_csv(
        synthetic_root / 'test' / 'annotations' / film['file'].replace('.png', '.csv')
    )
    assert np.allclose(film['true_keypoints'], csv_points, atol=1e-3)
    h, w = 144, 192  # predictions are mapped back to the film, not the 256x192 input
    pred = np.array(film['keypoints'])[:, :2]
    assert (pred[:, 0] > -w).all() and (pred[:, 0] < 2 * w).all() and (pred[:, 1] < 2 * h).all()
    import pickle

    preds = pickle.loads(dump.read_bytes())
    assert len(preds) == 4 and preds[0]['pred_instances']['keypoints'].shape == (1, 12, 2)


def test_resume_continues_from_checkpoint(trained, synthetic_root, capsys):
    config, work_dir, _ = trained
    runner = train_main(
        [
            config,
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(work_dir),
            '--resume',
            str(work_dir / 'epoch_1.pth'),
            '--cfg-options',
            'train_cfg.max_epochs=2',
            *TINY_LOADERS,
        ]
    )
    assert runner.epoch == 2 and runner.iter == 4  # resumed at iteration 2, not 0
    assert (work_dir / 'epoch_2.pth').exists()


def test_reload_for_inference(trained, synthetic_root):
    from mmpose.apis import inference_topdown, init_model

    config, work_dir, _ = trained
    model = init_model(config, str(work_dir / 'epoch_1.pth'), device='cpu')
    film = sorted((synthetic_root / 'test' / 'images').iterdir())[0]
    import cv2

    h, w = cv2.imread(str(film)).shape[:2]
    # the whole film is the box: no ground truth needed
    results = inference_topdown(model, str(film), bboxes=np.array([[0, 0, w, h]]))
    kpts = results[0].pred_instances.keypoints
    assert kpts.shape == (1, 12, 2) and np.isfinite(kpts).all()
    assert model.dataset_meta['num_keypoints'] == 12


def test_build_config_routes_options_and_paths(tmp_path):
    import pytest

    from hip_mmpose.apis import build_config
    from tests.conftest import DEMO_CONFIG, FILM_CONFIG

    cfg = build_config(
        'configs/hip_effv2_cbam_cpu.py',
        data_root=str(tmp_path),
        cfg_options={'train_cfg.max_epochs': 3, 'film_stage.train_cfg.max_epochs': 2},
    )
    assert cfg.work_dir == './work_dirs/hip_effv2_cbam_cpu'
    assert cfg.film_stage.cfg_options == {'train_cfg.max_epochs': 2}
    assert cfg.param_scheduler[1].end == 3  # the cosine follows max_epochs
    assert cfg.val_dataloader.dataset.ann_file == str(tmp_path / 'coco' / 'val.json')
    again = build_config(cfg, work_dir=str(tmp_path / 'w'))  # a Config is copied
    assert again.work_dir == str(tmp_path / 'w') and cfg.work_dir != again.work_dir
    assert build_config(DEMO_CONFIG, cfg_options={'film_stage': None}).get('film_stage') is None
    with pytest.raises(SystemExit, match='has no film_stage'):
        build_config(FILM_CONFIG, cfg_options={'film_stage.train_cfg.max_epochs': 2})
    # a film_stage without cfg_options, or given as a path only: the override arrives
    # (ConfigDict.setdefault would have stored a copy and dropped it; compat fix 10)
    from mmengine.config import Config

    from hip_mmpose.apis.cascade import stage_configs
    from hip_mmpose.apis.run_config import set_visualization

    for entry in (dict(config='./hip_effv2_cbam_film_cpu.py'), './hip_effv2_cbam_film_cpu.py'):
        user = Config.fromfile(DEMO_CONFIG)
        user.film_stage = entry
        built = build_config(user, cfg_options={'film_stage.train_cfg.max_epochs': 2})
        assert built.film_stage.cfg_options == {'train_cfg.max_epochs': 2}
        film = stage_configs(built, str(tmp_path / 'w'))['film']
        assert film.train_cfg.max_epochs == 2 and film.param_scheduler[1].end == 2
    # a visualizer without vis_backends gets the TensorBoard backend all the same
    user = Config.fromfile(FILM_CONFIG)
    del user.visualizer['vis_backends']
    set_visualization(user, vis_backend='tensorboard')
    assert [b['type'] for b in user.visualizer.vis_backends] == ['TensorboardVisBackend']


def test_api_tests_another_split(trained, synthetic_root, tmp_path):
    from hip_mmpose.apis import test
    from tests.conftest import TINY

    config, work_dir, _ = trained
    result = test(
        config,
        str(work_dir / 'epoch_1.pth'),
        split='val',
        data_root=str(synthetic_root),
        work_dir=str(tmp_path),
        cfg_options=TINY,
    )
    assert np.isfinite(result.metrics['hip/AI_MAE']) and result.stage_metrics == {}
    assert result.per_film.endswith('val_per_film.json')
    import json
    from pathlib import Path

    assert len(json.loads(Path(result.per_film).read_text())['films']) == 4


def test_runners_started_in_one_second_get_their_own_log_folders(tmp_path, monkeypatch):
    """MMEngine names the log folder to the second; two Runners of one work dir in the
    same second wrote into one folder (the second's per-film JSON replaced the
    first's). Here every Runner starts in the same second (MMEngine's clock held)."""
    import time

    import mmengine.runner.runner as mmengine_runner
    from mmengine.model import BaseModel

    from hip_mmpose.apis.runner import HipRunner

    class Tiny(BaseModel):
        def forward(self, *args, **kwargs):
            return {}

    now = time.time()
    monkeypatch.setattr(mmengine_runner.time, 'time', lambda: now)
    base = time.strftime('%Y%m%d_%H%M%S', time.localtime(now))
    (tmp_path / f'{base}_02').mkdir()  # a folder made by anything else is skipped too
    runners = [
        HipRunner(model=Tiny(), work_dir=str(tmp_path), experiment_name=f'r{i}') for i in range(3)
    ]
    stamps = [r.timestamp for r in runners]
    assert stamps == [base, f'{base}_01', f'{base}_03']  # in start order when sorted
    for runner in runners:
        assert runner.log_dir == str(tmp_path / runner.timestamp)
        assert runner.logger.log_file == osp.join(runner.log_dir, f'{runner.timestamp}.log')
