"""The coarse-to-fine model: per-hip crops, the two-stage run through the card's tools."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from hip_mmpose import geometry
from hip_mmpose.apis import HipInferencer, publish_checkpoint, read_published
from hip_mmpose.datasets import HipRefineDataset
from hip_mmpose.evaluation.hip_metric import HipMetric
from hip_mmpose.tools.infer import main as infer_main
from hip_mmpose.tools.publish_model import main as publish_main
from hip_mmpose.tools.test import run as run_test_tool
from hip_mmpose.tools.train import run as train_main
from hip_mmpose.utils import records
from hip_mmpose.utils.hip_crops import (
    crop_sides,
    fit_hip_offsets,
    hip_box,
    merge_hips,
    mirror_x,
    split_hips,
)
from tests.conftest import DEMO_CONFIG, REPO, TINY_BOTH

# A hand-placed film 200 px wide: the image-right hip is the image-left one mirrored
# (x -> 199 - x) and moved down 4 px.
LEFT = np.array([[40, 50], [55, 45], [80, 60], [45, 90], [60, 95], [75, 98]], float)
RIGHT = np.column_stack([199 - LEFT[:, 0], LEFT[:, 1] + 4])  # in HIP_KEYPOINTS order


def _film_points():
    points = np.zeros((12, 2))
    points[list(geometry.HIP_KEYPOINTS[0])] = LEFT
    points[list(geometry.HIP_KEYPOINTS[1])] = RIGHT
    return points


def test_hip_split_and_merge_by_hand():
    points = _film_points()
    assert np.allclose(points[[0, 2, 6, 8]], [LEFT[0], LEFT[2], RIGHT[2], RIGHT[0]])
    left, right = split_hips(points, width=200)
    assert np.allclose(left, LEFT)
    # mirrored, the image-right hip is the image-left one 4 px lower
    assert np.allclose(right, LEFT + [0, 4])
    assert np.allclose(merge_hips([left, right], width=200), points)
    assert np.allclose(mirror_x(mirror_x(points, 200), 200), points)
    # the crop box: square around the six points' extent (40 x 53 px, centre (60, 71.5))
    assert np.allclose(hip_box(LEFT), [60 - 26.5, 45, 60 + 26.5, 98])
    # a first stage that puts one point 200 px off: median (57.5, 75), distances
    # 19.5 ... 30.5 and 225.7 (median 28.55): that point is left out of the box, which
    # is the other five's (40 x 50 px, centre (60, 70)), not a 260 px square
    far = LEFT.copy()
    far[5] = [75, 300]
    assert np.allclose(hip_box(far), [35, 45, 85, 95])
    far[5] = [np.nan, np.nan]  # a non-finite point: the others' box
    assert np.allclose(hip_box(far), [35, 45, 85, 95])


def test_fit_hip_offsets_by_hand():
    """Two films whose refined points are off by known amounts per side and point."""
    truth = np.stack([_film_points(), _film_points() + [3, -2]])
    # LEFT's box is 53 px square, so with padding 1.5 the crop is 79.5 px
    crop = 53 * 1.5
    pred = truth.copy()
    left, right = (list(h) for h in geometry.HIP_KEYPOINTS)
    pred[:, left[0]] += [2.0, -1.0]  # image-left roof edge: 2 px right, 1 px up
    pred[:, right[0]] += [2.0, -1.0]  # image-right roof edge: 2 px right in the film,
    #                                   i.e. 2 px MEDIAL, -x in the mirrored crop
    pred[0, left[2]] += [4.0, 0.0]  # triradiate: +4 then +0 -> mean +2 px in x
    assert np.allclose(crop_sides(truth, 1.5), crop)  # both hips of both films
    offsets = fit_hip_offsets(pred, truth, truth, padding=1.5)
    assert offsets.shape == (2, 6, 2)
    assert np.allclose(offsets[0, 0], np.array([-2.0, 1.0]) / crop)
    assert np.allclose(offsets[1, 0], np.array([2.0, 1.0]) / crop)  # mirrored x
    assert np.allclose(offsets[0, 2], np.array([-2.0, 0.0]) / crop)
    offsets[0, 0] = offsets[1, 0] = offsets[0, 2] = 0
    assert not offsets.any()
    # a point missing in one film: the other film's error alone
    pred[1, left[0]] = np.nan
    assert np.allclose(fit_hip_offsets(pred, truth, truth, 1.5)[0, 0], [-2 / crop, 1 / crop])
    with pytest.raises(ValueError, match='must all be'):
        fit_hip_offsets(pred[:, :6], truth[:, :6], truth[:, :6], 1.5)


def test_calibration_reads_the_crop_padding_mmpose_uses(mmpose_scope):
    from hip_mmpose.apis.cascade import _crop_padding

    cfg = Config.fromfile(DEMO_CONFIG)
    assert _crop_padding(cfg) == 1.5
    step = next(
        s for s in cfg.test_dataloader.dataset.pipeline if s['type'] == 'GetBBoxCenterScale'
    )
    step.pop('padding')  # MMPose's own default then
    assert _crop_padding(cfg) == 1.25
    cfg.test_dataloader.dataset.pipeline.remove(step)
    with pytest.raises(ValueError, match='no GetBBoxCenterScale'):
        _crop_padding(cfg)


def test_hip_estimator_adds_each_sides_offsets(mmpose_scope):
    """HipTopdownPoseEstimator: MMPose's mapping to film pixels, then offset x crop scale
    of the hip's side; a state dict without the offsets loads as zero offsets."""
    from mmengine.structures import InstanceData
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    weights = model.state_dict()
    offsets = np.zeros((2, 6, 2))
    offsets[0, 1] = [0.01, -0.02]
    offsets[1, 1] = [-0.03, 0.0]
    model.set_keypoint_offsets(offsets)

    def predicted(side):
        pred = InstanceData(keypoints=np.full((1, 6, 2), 96.0), keypoint_scores=np.ones((1, 6)))
        sample = PoseDataSample(
            metainfo=dict(
                input_center=np.array([50.0, 60.0]),
                input_scale=np.array([200.0, 200.0]),
                input_size=(192, 192),
                hip_side=side,
            )
        )
        sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4)), bbox_scores=np.ones(1))
        return model.add_pred_to_datasample([pred], None, [sample])[0]

    def predict(side):
        return predicted(side).pred_instances.keypoints[0]

    # MMPose: 96 / 192 * 200 + (50, 60) - 100 = (50, 60); point 1 gets offset x 200 px
    left, right = predict(0), predict(1)
    assert np.allclose(left[[0, 2, 3, 4, 5]], [50, 60]) and np.allclose(left[1], [52, 56])
    assert np.allclose(right[1], [44, 60]) and np.allclose(right[0], [50, 60])
    with pytest.raises(ValueError, match='shape'):
        model.set_keypoint_offsets(np.zeros((6, 2)))
    # the grade's decision point travels with every predicted sample (0: none set)
    assert 'p_line_shift' not in predicted(0)
    model.set_p_line_shift(-0.007)
    out = predicted(1)
    assert out.p_line_shift == pytest.approx(-0.007)
    assert out.to_dict()['p_line_shift'] == pytest.approx(-0.007)  # what HipMetric reads
    assert model.state_dict()['p_line_shift'] == pytest.approx(-0.007)
    with pytest.raises(ValueError, match='p_line_shift'):
        model.set_p_line_shift(0.5)
    with pytest.raises(ValueError, match='p_line_shift nan: expected a finite number'):
        model.load_state_dict(dict(weights, p_line_shift=torch.tensor(float('nan'))))
    weights.pop('keypoint_offsets')
    weights.pop('p_line_shift')  # weights from before either existed
    model.load_state_dict(weights)
    assert not model.keypoint_offsets.any() and float(model.p_line_shift) == 0


def test_grade_decision_fitted_on_a_per_film_file(tmp_path):
    """tools/train.py's grade fit on val: the intercept of predicted on true offsets
    (hand-built: predicted = -0.007 x 200-px H-line + 0.8 x true), with a log line of
    the val grading at 0 and at the shift; too few films keep the clinical P-line."""
    from hip_mmpose.apis.cascade import fit_grade_decision
    from tests.test_geometry import _films_with_offsets

    true_lateral = np.linspace(-30, 12, 25)
    truth, pred = _films_with_offsets(true_lateral, -1.4 + 0.8 * true_lateral)
    path = tmp_path / 'val_per_film.json'
    records.write_films(
        path,
        [
            records.film_record(p, np.ones(12), file=f'P{i}_01.png', truth=t)
            for i, (p, t) in enumerate(zip(pred, truth))
        ],
    )
    lines = []
    assert fit_grade_decision(str(path), lines.append) == pytest.approx(-0.007, abs=2e-5)
    assert 'P-line shift -0.0070 of the H-line (-1.4 px on the median 200-px H-line)' in lines[0]
    # of the 7 grade-II films the one 1.5 px lateral reads 0.2 px medial: found at the shift
    assert 'IHDI_ge2_sens 0.857 -> 1.000' in lines[0]
    records.write_films(path, records.read_json(path)[0][:19])
    lines.clear()
    assert fit_grade_decision(str(path), lines.append) == 0.0
    assert 'the clinical P-line (38 hips' in lines[0]


def test_test_tool_and_inferencer_grade_at_the_models_shift(
    trained_cascade, synthetic_root, tmp_path, capsys
):
    """A two-stage file whose refining stage decides the grade 4 % of the H-line
    medial of the P-line: tools/test.py and the inferencer give the same grades,
    those of geometry.ihdi_grades at that shift, and their records name it."""
    from hip_mmpose.apis.model_files import save_published

    config, _, best = trained_cascade
    stages = read_published(best)
    stages[1][2]['p_line_shift'] = torch.tensor(-0.04)
    shifted = tmp_path / 'shifted.pth'
    save_published(
        shifted, [(name, Config(cfg), weights, f'{name}.pth') for name, cfg, weights in stages]
    )
    run_test_tool(
        [
            config,
            str(shifted),
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(tmp_path / 'test'),
            '--cfg-options',
            *TINY_BOTH,
        ]
    )
    assert "decided at the model's P-line shift -0.0400 of the H-line" in capsys.readouterr().out
    films = records.read_json(next((tmp_path / 'test' / 'hip').glob('*/test_per_film.json')))[0]
    # the clinical P-line on request
    run_test_tool(
        [
            config,
            str(shifted),
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(tmp_path / 'clinical'),
            '--cfg-options',
            *TINY_BOTH,
            'test_evaluator.p_line_shift=0',
        ]
    )
    assert 'P-line shift' not in capsys.readouterr().out
    clinical = records.read_json(
        next((tmp_path / 'clinical' / 'hip').glob('*/test_per_film.json'))
    )[0]
    for _film, plain in zip(films, clinical):
        points = np.array(plain['keypoints'])[:, :2]
        assert plain['ihdi_p_line_shift'] == 0 and list(plain['ihdi_grade'].values()) == [
            geometry.GRADE_NAMES[int(g)] for g in geometry.ihdi_grades(points)
        ]
    inferencer = HipInferencer(str(shifted))
    assert inferencer.p_line_shift == pytest.approx(-0.04)
    for film in films:
        points = np.array(film['keypoints'])[:, :2]
        assert film['ihdi_p_line_shift'] == -0.04
        expected = [geometry.GRADE_NAMES[int(g)] for g in geometry.ihdi_grades(points, -0.04)]
        assert list(film['ihdi_grade'].values()) == expected, film['file']
        record = inferencer.measure(points, np.ones(12))
        assert record['ihdi_p_line_shift'] == -0.04
        assert {h: g for h, g in record['ihdi_grade'].items() if g} == {
            h: g for h, g in film['ihdi_grade'].items() if record['ihdi_grade'][h]
        }


def _dataset(root: Path, split='val', **kwargs):
    cfg = Config.fromfile(DEMO_CONFIG)
    return HipRefineDataset(
        data_root=str(root),
        ann_file=str(root / 'coco' / f'{split}.json'),
        data_prefix=dict(img=f'{split}/images/'),
        test_mode=True,
        pipeline=cfg.val_dataloader.dataset.pipeline[:-1],
        **kwargs,
    )


def test_refine_dataset_two_mirrored_hips_per_film(synthetic_root):
    ds = _dataset(synthetic_root)
    films = json.loads((synthetic_root / 'coco' / 'val.json').read_text())
    assert len(ds) == 2 * len(films['images'])
    assert ds.metainfo['num_keypoints'] == 6
    assert ds.metainfo['keypoint_id2name'][0] == 'roof_lateral'
    assert ds.metainfo['flip_indices'] == list(range(6))
    truth = {
        Path(i['file_name']).name: np.array(a['keypoints']).reshape(12, 3)[:, :2]
        for i, a in zip(films['images'], films['annotations'])
    }
    for film in range(len(films['images'])):
        left, right = ds[2 * film], ds[2 * film + 1]
        assert (left['hip_side'], left['mirror'], right['hip_side'], right['mirror']) == (
            0,
            False,
            1,
            True,
        )
        width = left['ori_shape'][1]
        # the right hip's film (and points) are mirrored; un-mirrored they are the truth
        assert np.array_equal(right['img'].shape, left['img'].shape)
        joined = merge_hips([left['keypoints'][0], right['keypoints'][0]], width)
        assert np.allclose(joined, truth[Path(left['img_path']).name], atol=1e-3)


def test_refine_dataset_crops_around_first_stage_points(synthetic_root, tmp_path):
    plain = _dataset(synthetic_root, keypoint_source='annotation')
    films = []
    for i in range(0, len(plain), 2):
        width = plain[i]['ori_shape'][1]
        points = merge_hips([plain[i]['keypoints'][0], plain[i + 1]['keypoints'][0]], width)
        films.append(
            records.film_record(points + [3, -2], np.ones(12), file=Path(plain[i]['img_path']).name)
        )
    per_film = tmp_path / 'val_per_film.json'
    records.write_films(per_film, films)
    staged = _dataset(synthetic_root, keypoint_source='file', keypoint_file=str(per_film))
    for i in range(len(plain)):
        # boxes follow the given points (mirrored with the film for the right hip) ...
        shift = np.array([-3 if staged[i]['mirror'] else 3, -2] * 2)
        assert np.allclose(staged[i]['bbox'][0], plain[i]['bbox'][0] + shift, atol=1e-3)
        # ... and the truth stays attached
        assert np.array_equal(staged[i]['keypoints'], plain[i]['keypoints'])
    with pytest.raises(ValueError, match='keypoint_file is required'):
        _dataset(synthetic_root, keypoint_source='file')
    records.write_films(per_film, films[1:])
    with pytest.raises(KeyError, match=films[0]['file']):
        _dataset(synthetic_root, keypoint_source='file', keypoint_file=str(per_film))
    per_film.write_text('[1, 2]')
    with pytest.raises(ValueError, match='val_per_film.json'):
        _dataset(synthetic_root, keypoint_source='file', keypoint_file=str(per_film))
    # a first stage's points written before hip_mmpose.utils.records (its "pred_keypoints")
    per_film.write_text(
        json.dumps(
            dict(
                films=[
                    dict(file=f['file'], pred_keypoints=np.array(f['keypoints'])[:, :2].tolist())
                    for f in films
                ]
            )
        )
    )
    earlier = _dataset(synthetic_root, keypoint_source='file', keypoint_file=str(per_film))
    assert all(np.array_equal(a['bbox'], b['bbox']) for a, b in zip(earlier, staged))


def test_hip_metric_joins_the_two_hips_of_a_film():
    """Per-hip predictions in the crop's (mirrored) frame give the film's measures."""
    points = _film_points()
    left, right = split_hips(points, width=200)
    pred_right = right + [1.0, 0.0]  # 1 px further right in the mirrored frame

    def sample(side, pred, gt):
        return dict(
            img_path='P1_01.png',
            ori_shape=(150, 200),
            hip_side=side,
            pred_instances=dict(keypoints=pred[None], keypoint_scores=np.ones((1, 6))),
            gt_instances=dict(keypoints=gt[None]),
        )

    metric = HipMetric()
    metric.process({}, [sample(0, left, left), sample(1, pred_right, right)])
    out = metric.compute_metrics(metric.results)
    # six points exact, six 1 px off: MRE 0.5 px; the image-right hip's points moved
    # 1 px to image-LEFT in the film (mirrored back), so its AI changes, the left's not
    assert out['MRE'] == pytest.approx(0.5)
    film_pred = points.copy()
    film_pred[list(geometry.HIP_KEYPOINTS[1]), 0] -= 1
    ai_true = geometry.acetabular_indices(points)
    ai_pred = geometry.acetabular_indices(film_pred)
    assert out['AI_MAE'] == pytest.approx(np.abs(ai_pred - ai_true).mean(), abs=1e-9)
    assert out['AI_MAE_left'] == pytest.approx(abs(ai_pred[0] - ai_true[0]), abs=1e-9)
    metric.results = [sample(0, left, left)]
    with pytest.raises(ValueError, match='only one hip'):
        metric.compute_metrics(metric.results)


def test_max_epochs_drives_the_cosine_schedule():
    from hip_mmpose.apis.run_config import merge_options

    cfg = merge_options(Config.fromfile(DEMO_CONFIG), {'train_cfg.max_epochs': 12})
    cosine = cfg.param_scheduler[1]
    assert (cosine.end, cosine.T_max) == (12, 12)
    assert cfg.param_scheduler[0].end == 60  # the warm-up keeps its share: 100 x 12 / 20


def test_card_commands_train_test_publish_infer(
    trained_cascade, tested_cascade, synthetic_root, tmp_path
):
    """tools/train.py trained both stages (the fixture runs the card's command);
    test (the session's `tested_cascade` runs the card's test command), publish and
    infer with one file."""
    config, work_dir, best = trained_cascade
    assert best == work_dir / 'best_cascade.pth'
    for stage in ('film', 'hip'):
        assert list((work_dir / stage).glob('best_*.pth')), stage
    state = json.loads((work_dir / 'cascade_state.json').read_text())
    # the refining stage validated on crops around the FIRST stage's val points
    val_points = json.loads(Path(state['film']['val_points']).read_text())
    assert len(val_points['films']) == 4
    stages = read_published(best)
    assert [name for name, _, _ in stages] == ['film', 'hip']
    # after training, the refining stage's mean error per side and point on the 4
    # training films was measured and stored in its weights
    calibration = state['hip']['calibration']
    assert calibration['split'] == 'train' and calibration['films'] == 4
    offsets = stages[1][2]['keypoint_offsets'].numpy()
    assert np.allclose(offsets, calibration['offsets']) and np.abs(offsets).max() > 0
    # 4 val films (8 hips) are too few to fit where the grade is decided: the clinical
    # P-line is kept (test_test_tool_and_inferencer_grade_at_the_models_shift sets one)
    assert calibration['p_line_shift'] == 0 and float(stages[1][2]['p_line_shift']) == 0

    metrics, out = tested_cascade['metrics'], tested_cascade['out']
    assert 'whole-film stage only' in out and 'final points, refined per hip' in out
    assert np.isfinite(metrics['hip/AI_MAE']) and np.isfinite(metrics['film_stage/hip/AI_MAE'])
    per_film = json.loads(
        next((tested_cascade['work_dir'] / 'hip').glob('*/test_per_film.json')).read_text()
    )
    assert len(per_film['films']) == 4
    assert len(per_film['films'][0]['keypoints']) == 12

    assert publish_main([str(best), str(tmp_path / 'pub' / 'hip.pth')]) == 0
    published = next((tmp_path / 'pub').glob('hip-*.pth'))
    films = synthetic_root / 'test' / 'images'
    assert (
        infer_main(
            [
                str(films),
                '--checkpoint',
                str(published),
                '--out-dir',
                str(tmp_path / 'out'),
                '--no-overlay',
            ]
        )
        == 0
    )
    # inference reproduces the test tool's final points (same two stages, same crops)
    for film in per_film['films']:
        result = json.loads((tmp_path / 'out' / f'{film["file"]}.json').read_text())
        assert np.allclose(
            np.array(result['keypoints'])[:, :2], np.array(film['keypoints'])[:, :2], atol=0.05
        ), film['file']


def test_resume_picks_up_the_refining_stage(trained_cascade, synthetic_root, tmp_path, capsys):
    import shutil

    _, work_dir, _ = trained_cascade
    best_files = {
        s: sorted(p.name for p in (work_dir / s).glob('best_*.pth')) for s in ('film', 'hip')
    }
    assert best_files['film'] and best_files['hip']
    work = tmp_path / 'copy'
    shutil.copytree(work_dir, work)
    state = json.loads((work / 'cascade_state.json').read_text())
    state.pop('hip')  # as if the run had stopped during the refining stage
    (work / 'cascade_state.json').write_text(json.dumps(state))
    film_files = sorted(p.name for p in (work / 'film').glob('*.pth'))
    train_main(
        [
            DEMO_CONFIG,
            '--data-root',
            str(synthetic_root),
            '--work-dir',
            str(work),
            '--resume',
            '--cfg-options',
            'train_cfg.max_epochs=2',
            'film_stage.train_cfg.max_epochs=1',
            *TINY_BOTH,
        ]
    )
    out = capsys.readouterr().out
    assert 'stage 1/2: whole film: done' in out
    assert sorted(p.name for p in (work / 'film').glob('*.pth')) == film_files
    hip_ckpt = torch.load(work / 'hip' / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert hip_ckpt['meta']['epoch'] == 2 and hip_ckpt['meta']['iter'] == 8  # 4 + 4, resumed
    # the copy's resumed run replaced its own best file, never the original run's
    # (MMEngine kept the original's absolute path: compat fix 13)
    for stage in ('film', 'hip'):
        assert sorted(p.name for p in (work_dir / stage).glob('best_*.pth')) == best_files[stage]
    assert len(list((work / 'hip').glob('best_*.pth'))) == 1
    with pytest.raises(SystemExit, match='without a path'):
        train_main([DEMO_CONFIG, '--work-dir', str(work), '--resume', str(work / 'x.pth')])


def test_one_stage_checkpoint_is_not_a_two_stage_model(
    trained, trained_cascade, tmp_path, synthetic_root
):
    film_config, film_work, _ = trained
    with pytest.raises(ValueError, match='best_cascade.pth'):
        HipInferencer(film_work / 'epoch_1.pth', DEMO_CONFIG)
    with pytest.raises(ValueError, match='needs both stages'):
        run_test_tool(
            [
                DEMO_CONFIG,
                str(
                    publish_checkpoint(
                        film_work / 'epoch_1.pth', tmp_path / 'one.pth', config=film_config
                    )
                ),
                '--data-root',
                str(synthetic_root),
                '--work-dir',
                str(tmp_path),
            ]
        )
    # the other way round: a two-stage file with the whole-film stage's config
    _, cascade_work, cascade_file = trained_cascade
    with pytest.raises(ValueError, match='film and hip stages.*only the film stage'):
        HipInferencer(cascade_file, film_config)


def test_configs_say_each_thing_once():
    cpu = Config.fromfile(str(REPO / 'configs' / 'hip_effv2_cbam_cpu.py'))
    gpu = Config.fromfile(str(REPO / 'configs' / 'hip_effv2_cbam.py'))
    assert cpu.film_stage.config == './hip_effv2_cbam_film_cpu.py'
    assert gpu.film_stage.config == './hip_effv2_cbam_film.py'
    film_gpu = Config.fromfile(str(REPO / 'configs' / 'hip_effv2_cbam_film.py'))
    # the GPU film stage resizes the base's pipelines in place: same steps, new sizes
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        affine = [s for s in film_gpu[loader].dataset.pipeline if s.type == 'TopdownAffine']
        assert affine[0].input_size == (512, 384)
    assert film_gpu.param_scheduler[1].end == film_gpu.train_cfg.max_epochs == 30
    assert gpu.param_scheduler[1].end == gpu.train_cfg.max_epochs == 40


def test_a_second_refining_pass_crops_around_the_first(
    trained_cascade, tested_cascade, synthetic_root, tmp_path
):
    """model.test_cfg.refine_passes=2: test.py and HipInferencer agree, and differ
    from one pass (the second pass's crops are centred on the first pass's points;
    the one-pass test run is the session's `tested_cascade`)."""
    config, _, best = trained_cascade
    common = ['--data-root', str(synthetic_root), '--cfg-options', *TINY_BOTH]
    one_dir = tested_cascade['work_dir']
    run_test_tool(
        [
            config,
            str(best),
            '--work-dir',
            str(tmp_path / 'two'),
            *common,
            'model.test_cfg.refine_passes=2',
        ]
    )
    one, two = (
        json.loads(sorted((n / 'hip').glob('*/test_per_film.json'))[-1].read_text())['films']
        for n in (one_dir, tmp_path / 'two')
    )
    assert len(list((tmp_path / 'two' / 'hip').glob('*/test_per_film.json'))) == 2
    assert not np.allclose([f['keypoints'] for f in one], [f['keypoints'] for f in two])
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.refine_passes = 2
    inferencer = HipInferencer(best, cfg)
    assert inferencer.refine_passes == 2
    import cv2

    films = [cv2.imread(str(synthetic_root / 'test' / 'images' / f['file'])) for f in two]
    # the test tool's second pass crops around the first pass's points as its JSON
    # holds them
    for film, result in zip(two, inferencer.predict_arrays(films)):
        assert np.allclose(
            np.array(result['keypoints'])[:, :2], np.array(film['keypoints'])[:, :2], atol=0.011
        ), film['file']


def test_missing_coco_files_name_the_convert_command(tmp_path):
    with pytest.raises(SystemExit, match='hip-convert .*--out-dir'):
        train_main([DEMO_CONFIG, '--data-root', str(tmp_path), '--work-dir', str(tmp_path / 'w')])
    with pytest.raises(SystemExit, match='test.json does not exist'):
        run_test_tool([DEMO_CONFIG, str(tmp_path / 'x.pth'), '--data-root', str(tmp_path)])


def test_card_command_without_coco_files_stops_with_the_convert_hint(tmp_path):
    """The design card's command, run as a user runs it (another process, another
    directory, the README's `configs/...` name): exit status non-zero, and the last
    line names the convert command."""
    import subprocess
    import sys

    (tmp_path / 'films' / 'train' / 'images').mkdir(parents=True)
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'train.py'),
            'configs/hip_effv2_cbam_cpu.py',
            '--data-root',
            'films',
            '--ann-root',
            'data/films/coco',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'train.json does not exist' in last, proc.stderr
    assert last.endswith(f'hip-convert films --out-dir {tmp_path / "data/films/coco"}'), last
    assert not (tmp_path / 'work_dirs').exists()
