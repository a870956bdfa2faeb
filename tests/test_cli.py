"""The tools' shape: --epochs and the schedule it builds, the quiet console, the
headline table, the known warnings silenced once (compat fix 11)."""

import logging
import subprocess
import sys

import pytest
from mmengine.config import Config

from tests.conftest import DEMO_CONFIG, FILM_CONFIG, REPO, TINY_LOADERS


def _schedule(cfg):
    warmup, cosine = cfg.param_scheduler
    return warmup.end, cosine.end, cosine.T_max, cfg.train_cfg.max_epochs


def test_epochs_sets_both_stages_and_scales_the_schedule(tmp_path):
    """--epochs 2 of the card's config: both stages train 2 epochs, the cosine ends at
    2, and the 100-iteration warm-up of 20 epochs keeps its share: 10 iterations. The
    same from max_epochs given as --cfg-options; an explicit option wins."""
    from hip_mmpose.apis import build_config
    from hip_mmpose.apis.cascade import stage_configs

    cfg = build_config(DEMO_CONFIG, epochs=2)
    assert _schedule(cfg) == (10, 2, 2, 2)
    assert _schedule(stage_configs(cfg, str(tmp_path))['film']) == (10, 2, 2, 2)
    same = build_config(
        DEMO_CONFIG,
        cfg_options={'train_cfg.max_epochs': 2, 'film_stage.train_cfg.max_epochs': 2},
    )
    assert _schedule(same) == _schedule(cfg)
    assert _schedule(stage_configs(same, str(tmp_path))['film']) == (10, 2, 2, 2)
    mixed = build_config(DEMO_CONFIG, epochs=2, cfg_options={'train_cfg.max_epochs': 40})
    assert _schedule(mixed) == (200, 40, 40, 40)
    assert _schedule(stage_configs(mixed, str(tmp_path))['film']) == (10, 2, 2, 2)
    # one stage: no film_stage option is made
    assert _schedule(build_config(FILM_CONFIG, epochs=1)) == (5, 1, 1, 1)
    with pytest.raises(SystemExit, match='at least 1'):
        build_config(FILM_CONFIG, epochs=0)


def test_fit_warmup_by_hand():
    """A 100-iteration warm-up in a 48-iteration run ends at a quarter of it (12); one
    that fits, one counted in epochs and one that starts later are left alone."""
    from hip_mmpose.apis.run_config import fit_warmup

    warmup = dict(type='LinearLR', begin=0, end=100, by_epoch=False)
    cosine = dict(type='CosineAnnealingLR', begin=0, end=12, T_max=12, by_epoch=True)
    later = dict(type='LinearLR', begin=40, end=100, by_epoch=False)
    fitted, changed = fit_warmup([warmup, cosine, later], 48)
    assert fitted == [dict(warmup, end=12), cosine, later] and warmup['end'] == 100
    assert changed == [('LinearLR', 100, 12)]
    assert fit_warmup([warmup], 400) == ([warmup], [])
    assert fit_warmup([warmup], 2)[0][0]['end'] == 1  # never 0


def test_tool_epochs_run_quiet_console_and_full_log(synthetic_root, tmp_path, capsys):
    """tools/train.py --epochs 1 on 4 films (2 iterations): the built warm-up ends
    within the run, the cosine at its one epoch; the console shows the run but not
    the environment, the config or the hooks' order, which the log file keeps."""
    from hip_mmpose.tools.train import run as train_run

    runner = train_run(
        [
            FILM_CONFIG,
            '--epochs',
            '1',
            '--no-validate',
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            *TINY_LOADERS,
        ]
    )
    warmup, cosine = runner.param_schedulers
    assert runner.max_epochs == 1 and runner.train_loop.max_iters == 2
    assert warmup.end == 1 <= runner.train_loop.max_iters  # 5 scaled, then fitted
    assert (cosine.end, cosine.T_max) == (1, 1)
    out = capsys.readouterr().out
    assert 'Epoch(train) [1][2/2]' in out and 'warm-up: 5 iterations' in out
    for hidden in ('System environment', 'Config:', 'Hooks will be executed'):
        assert hidden not in out, hidden
    log = next(tmp_path.glob('*/*.log')).read_text()
    for kept in ('System environment', 'Config:', 'Hooks will be executed', 'Epoch(train)'):
        assert kept in log, kept
    # the console is back at the Runner's level after it was built
    from hip_mmpose.apis.runner import console_handlers

    assert all(h.level == logging.INFO for h in console_handlers(runner.logger))


def test_known_warnings_are_silenced_once(tmp_path):
    """import hip_mmpose (mmengine, pkg_resources) prints no pkg_resources warning, and
    MMEngine's FileClient deprecations are dropped while other warnings still show."""
    proc = subprocess.run(
        [sys.executable, '-c', 'import hip_mmpose, mmpose.models, mmengine.runner'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'pkg_resources' not in proc.stderr

    from mmengine.fileio import file_client
    from mmengine.logging import MMLogger

    logger = MMLogger.get_instance('hip-known-warnings', log_file=str(tmp_path / 'w.log'))
    file_client.FileClient(backend='disk')  # both deprecations, as MMEngine's hooks do
    file_client.print_log('another warning', logger='current', level=logging.WARNING)
    for handler in logger.handlers:
        handler.flush()
    log = (tmp_path / 'w.log').read_text()
    assert 'another warning' in log
    assert 'FileClient' not in log and 'HardDiskBackend' not in log


def test_headline_table_by_hand():
    from hip_mmpose.tools._cli import format_headline_table

    film = {'hip/MRE': 20.0, 'hip/AI_MAE': 3.0, 'hip/MRE_kp01': 1.0}
    final = {
        'hip/MRE': 4.5,
        'hip/AI_MAE': 1.25,
        'hip/AI_MAE_ci_low': 1.0,
        'hip/AI_MAE_ci_high': 1.5,
        'hip/MRE_kp01': 1.0,
    }
    text = format_headline_table([('whole film', film), ('final', final)], 'title', 'hip/')
    lines = text.splitlines()
    assert lines[0] == 'title' and lines[1].split()[:4] == ['metric', 'whole', 'film', 'final']
    assert lines[3].split() == ['MRE', '20.000', '4.500']
    assert lines[4].split() == ['AI_MAE', '3.000', '1.250', '[1.000,', '1.500]']
    assert len(lines) == 5  # only the headline metrics: no MRE_kp01


def test_config_loads_with_runner_type():
    """The Runner is registered for MMPose's own tools (runner_type='HipRunner')."""
    from mmpose.registry import RUNNERS

    from hip_mmpose.apis.runner import HipRunner

    assert RUNNERS.get('HipRunner') is HipRunner
    assert Config.fromfile(DEMO_CONFIG).get('runner_type') is None  # ours build it anyway
