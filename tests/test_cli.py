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


def test_patient_sides_by_hand():
    from hip_mmpose import geometry

    assert geometry.patient_sides() == ('patient_right', 'patient_left')  # AP
    assert geometry.patient_sides('mirrored') == ('patient_left', 'patient_right')
    with pytest.raises(ValueError, match='orientation'):
        geometry.patient_sides('PA')


def test_records_name_the_patients_sides(tmp_path):
    """An AP record: the image-left hip is the patient's right, in the JSON and the
    CSV (read back); a mirrored one the other way round; a DICOM header that marks
    one side only is flagged."""
    import numpy as np

    from hip_mmpose.utils import records
    from tests.test_hip_metric import _ai_films

    points = _ai_films()[0]
    ap = records.film_record(points, np.ones(12), file='ap.png')
    mirrored = records.film_record(
        points,
        np.ones(12),
        file='m.dcm',
        orientation='mirrored',
        orientation_source='PatientOrientation',
        laterality='L',
    )
    assert ap['orientation'] == 'ap' and ap['orientation_source'] == 'default'
    assert ap['patient_side'] == dict(image_left='patient_right', image_right='patient_left')
    assert mirrored['patient_side'] == dict(image_left='patient_left', image_right='patient_right')
    assert not any('ImageLaterality' in f for f in ap['flags'])
    assert any('ImageLaterality L' in f for f in mirrored['flags'])
    path = records.write_csv(tmp_path / 'summary.csv', [ap, mirrored])
    import csv

    rows = list(csv.DictReader(open(path)))
    assert rows[0]['ai_patient_right'] == rows[0]['ai_image_left'] != ''
    assert rows[1]['ai_patient_right'] == rows[1]['ai_image_right']
    assert rows[1]['ihdi_patient_left'] == rows[1]['ihdi_image_left']
    assert [r['orientation'] for r in rows] == ['ap', 'mirrored']
    back = records.read_csv(path)
    assert [r['patient_side'] for r in back] == [ap['patient_side'], mirrored['patient_side']]


def test_dicom_orientation_tags():
    from pydicom.dataset import Dataset

    from hip_mmpose.utils.film_io import dicom_orientation

    def header(**tags):
        ds = Dataset()
        for key, value in tags.items():
            setattr(ds, key, value)
        return ds

    assert dicom_orientation(header(PatientOrientation=['L', 'F'])) == ('ap', None)
    assert dicom_orientation(header(PatientOrientation=['R', 'F'], ImageLaterality='B')) == (
        'mirrored',
        'B',
    )
    assert dicom_orientation(header(PatientOrientation=['LH', 'F'])) == ('ap', None)
    assert dicom_orientation(header(PatientOrientation=['A', 'F'])) == (None, None)  # lateral
    assert dicom_orientation(header(ImageLaterality='Q')) == (None, None)
    assert dicom_orientation(header()) == (None, None)


def test_infer_orientation_option_and_dicom_tags(trained_cascade, synthetic_root, tmp_path):
    """tools/infer.py --orientation mirrored: a PNG takes the option, a DICOM keeps its
    own PatientOrientation (L\\F: AP) and one without the tag takes the option and is
    flagged for its one-sided ImageLaterality; without the option a PNG is AP."""
    import json

    import cv2
    import numpy as np
    import pydicom

    from hip_mmpose.tools.infer import main as infer_main
    from tests.test_dicom import write_dicom

    config, _, best = trained_cascade
    films = tmp_path / 'films'
    films.mkdir()
    source = sorted((synthetic_root / 'test' / 'images').glob('*.png'))[0]
    (films / 'a.png').write_bytes(source.read_bytes())
    grey = cv2.imread(str(source), cv2.IMREAD_GRAYSCALE).astype(np.uint16) * 16
    for name, tags in (
        ('b.dcm', dict(PatientOrientation=['L', 'F'])),
        ('c.dcm', dict(ImageLaterality='L')),
    ):
        write_dicom(films / name, grey, slope=None)
        ds = pydicom.dcmread(films / name)
        for key, value in tags.items():
            setattr(ds, key, value)
        ds.save_as(films / name)
    common = ['--checkpoint', str(best), '--config', config, '--device', 'cpu']
    out = tmp_path / 'out'
    assert (
        infer_main([str(films), '--out-dir', str(out), '--orientation', 'mirrored', *common]) == 0
    )
    got = {p.name: json.loads((out / f'{p.name}.json').read_text()) for p in films.iterdir()}
    names = ('a.png', 'b.dcm', 'c.dcm')
    assert [got[n]['orientation'] for n in names] == ['mirrored', 'ap', 'mirrored']
    assert [got[n]['orientation_source'] for n in names] == [
        'option',
        'PatientOrientation',
        'option',
    ]
    assert got['a.png']['patient_side']['image_left'] == 'patient_left'
    assert got['b.dcm']['patient_side']['image_left'] == 'patient_right'
    assert any('ImageLaterality L' in f for f in got['c.dcm']['flags'])
    assert (out / 'a.png.overlay.png').is_file()
    plain = tmp_path / 'plain'
    assert infer_main([str(films / 'a.png'), '--out-dir', str(plain), *common]) == 0
    record = json.loads((plain / 'a.png.json').read_text())
    assert (record['orientation'], record['orientation_source']) == ('ap', 'default')
    assert record['patient_side']['image_left'] == 'patient_right'


def test_one_record_schema_for_test_dump_and_infer(tmp_path):
    """HipMetric's per-film dump (tools/test.py) and the measurer's record
    (tools/infer.py) are made by records.film_record: for the same points the dump
    holds every prediction field with the same values, then the evaluation fields."""
    import numpy as np

    from hip_mmpose.evaluation.hip_metric import film_keypoint_names, write_per_film
    from hip_mmpose.runtime.measuring import HipMeasurer
    from hip_mmpose.utils import records
    from tests.test_hip_metric import _ai_films

    points = _ai_films()[1]
    scores = np.linspace(0.5, 1.0, 12)
    measurer = HipMeasurer()
    measurer.keypoint_names = film_keypoint_names()
    inferred = measurer.measure(
        points, scores, (640, 480), (0.2, 0.2), **measurer.film_info('P1_01.png')
    )
    result = dict(
        img_path=str(tmp_path / 'P1_01.png'),
        pred=points,
        gt=points + 1.0,
        scores=scores,
        spacing=np.array([0.2, 0.2]),
        image_size=(640, 480),
    )
    json_path, _ = write_per_film(tmp_path, 'test', [result], {}, film_keypoint_names())
    dumped = records.read_json(json_path)[0][0]
    assert tuple(inferred) == records.PREDICTION_FIELDS
    assert tuple(dumped) == records.PREDICTION_FIELDS + records.EVALUATION_FIELDS
    assert not inferred['not_measured']  # both hips measured: the same numbers shown
    assert {k: dumped[k] for k in records.PREDICTION_FIELDS} == inferred


def test_console_shows_the_headline_of_a_metric_line():
    """A validation line is cut to the headline metrics on the console; any other
    message stays whole; a record marked console=False stays off the console."""
    from hip_mmpose.apis.runner import ConsoleFilter, headline_message

    line = (
        'Epoch(val) [3][4/4]    hip/MRE: 4.100000  hip/MRE_image_left_roof_lateral: 3.9  '
        'hip/AI_MAE: 1.700000  hip/AI_ref_sd: 2.2  data_time: 0.1  time: 0.5'
    )
    assert headline_message(line) == (
        'Epoch(val) [3][4/4]  hip/MRE: 4.100000  hip/AI_MAE: 1.700000  (every metric: the log file)'
    )
    train = 'Epoch(train) [3][4/4]  lr: 1.0e-03  eta: 0:00:10  loss: 0.01'
    assert headline_message(train) == train
    record = logging.makeLogRecord(dict(msg='matrix', console=False))
    assert not ConsoleFilter().filter(record)
    assert ConsoleFilter().filter(logging.makeLogRecord(dict(msg='progress')))
