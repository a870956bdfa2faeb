"""HipPoseVisualizer: MMPose's visualizer and hooks drawing the hip geometry
(tools/test.py --show-dir), and the TensorBoard backend."""

import json
import re
from pathlib import Path

import cv2
import numpy as np
from mmengine.structures import InstanceData
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample

from hip_mmpose.data_tools.synthetic import synthetic_points
from hip_mmpose.utils.film_io import load_film, to_bgr8
from hip_mmpose.utils.hip_crops import split_hips
from hip_mmpose.visualization.local_visualizer import HipPoseVisualizer, overlay_visualizer


def _sample(points, scores, **meta):
    sample = PoseDataSample(metainfo=dict(meta))
    sample.pred_instances = InstanceData(
        keypoints=np.asarray(points, np.float32)[None],
        keypoint_scores=np.asarray(scores, np.float32)[None],
    )
    return sample


def test_registered_visualizer_joins_the_two_hips_of_a_film():
    """The refining stage's single hips are drawn as one film, exactly as its 12 points."""
    visualizer = VISUALIZERS.build(dict(type='HipPoseVisualizer', name='test_join'))
    assert isinstance(visualizer, HipPoseVisualizer)
    h, w = 288, 384
    film = np.full((h, w, 3), 60, np.uint8)
    points = np.asarray(synthetic_points(np.random.default_rng(0), w, h), np.float64)[:, :2]
    scores = np.linspace(0.1, 0.9, 12)
    expected = visualizer.draw_hip_geometry(film, points, scores, label='f.png (prediction)')

    hips = split_hips(points, w)  # the image-right hip mirrored, as the refining stage sees it
    hip_scores = [scores[:6], scores[6:]]
    meta = dict(img_path='/x/f.png', ori_shape=(h, w))
    first = visualizer.add_datasample(
        'f', film, _sample(hips[1], hip_scores[1], hip_side=1, **meta), draw_gt=False
    )
    assert first is None  # waits for the film's other hip
    drawn = visualizer.add_datasample(
        'f', film, _sample(hips[0], hip_scores[0], hip_side=0, **meta), draw_gt=False
    )
    assert np.array_equal(drawn[..., ::-1], expected)
    # a whole-film sample is drawn at once; the drawing shows lines, not just the film
    whole = visualizer.add_datasample('f', film, _sample(points, scores, **meta), draw_gt=False)
    assert np.array_equal(whole[..., ::-1], expected)
    assert (expected != film).any(axis=2).sum() > 500


def test_a_models_grade_decision_line_is_drawn_beside_the_p_line():
    """With a P-line shift the drawing adds that line, thin and grey, 1 % of the 200-px
    H-line (2 px) medial of each P-line, and the sample's shift reaches the drawing."""
    from hip_mmpose import geometry
    from hip_mmpose.visualization.draw import draw_hip_geometry
    from tests.test_geometry import film as hand_film

    points = hand_film(30, 20)
    canvas = np.zeros((300, 640, 3), np.uint8)
    plain = draw_hip_geometry(canvas, points)
    shifted = draw_hip_geometry(canvas, points, p_line_shift=-0.01)
    changed = np.argwhere((plain != shifted).any(axis=2))
    p_line_x = geometry.h_line_feet(points)[:, 0]  # 156.7 and 447.0
    lines_x = p_line_x + [2, -2]  # +x is medial for the image-left hip
    for x in lines_x:  # a vertical line 2 px medial of each P-line ...
        assert (np.abs(changed[:, 1] - x) < 1.5).sum() > 50, x
    # ... and nothing else: the labels (grades I here either way) stay as they were
    assert (np.abs(changed[:, 1, None] - lines_x).min(axis=1) < 2.5).all()
    assert (changed[:, 0] < 300 - 40).all()
    visualizer = VISUALIZERS.build(dict(type='HipPoseVisualizer', name='test_shift'))
    drawn = visualizer.add_datasample(
        'f',
        canvas,
        _sample(points, np.ones(12), p_line_shift=-0.01, img_path='/x/f.png'),
        draw_gt=False,
    )
    assert np.array_equal(
        drawn[..., ::-1],
        visualizer.draw_hip_geometry(
            canvas, points, np.ones(12), label='f.png (prediction)', p_line_shift=-0.01
        ),
    )


def test_a_hip_flagged_for_review_is_captioned_in_red():
    from hip_mmpose.visualization.draw import COLOURS, draw_hip_geometry
    from tests.test_geometry import film as hand_film

    points = hand_film(30, 20)
    canvas = np.zeros((300, 640, 3), np.uint8)
    plain = draw_hip_geometry(canvas, points)
    reason = 'AI within 1.1 deg of 30 deg; P(grade >= II) 0.17; ' * 3  # cut to fit
    review = dict(
        image_left=dict(flag=False, reason=''), image_right=dict(flag=True, reason=reason)
    )
    flagged = draw_hip_geometry(canvas, points, review=review)
    changed = np.argwhere((plain != flagged).any(axis=2))
    # only the image-right hip's caption and the reason above it (bottom right) change,
    # to red text within the film's right half
    assert len(changed) and (changed[:, 0] > 300 - 40).all() and (changed[:, 1] >= 320).all()
    assert changed[:, 1].max() < 640 and (changed[:, 0] < 300 - 20).any()
    # red text, anti-aliased on its black box: only the red channel lit
    assert COLOURS['review'] == (0, 0, 255)
    red = (flagged[..., 2] > 100) & (flagged[..., :2] == 0).all(axis=2)
    assert red[-40:, 320:].sum() > 20 and not red[-40:, :320].any()
    assert np.array_equal(draw_hip_geometry(canvas, points, review=dict(image_left=None)), plain)


def test_the_hook_reads_films_as_the_project_does(tmp_path):
    """MMPose's hook reads films through fileio: the configs' backend gives it a 16-bit
    film windowed as film_io reads it (OpenCV alone would keep only the top byte)."""
    import mmcv
    from mmengine.config import Config
    from mmengine.fileio import get

    from hip_mmpose.utils.config_files import config_path

    path = tmp_path / 'grey16.png'
    film = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 3 + 1000
    cv2.imwrite(str(path), film)
    cfg = Config.fromfile(config_path('hip_effv2_cbam_cpu.py'))
    backend_args = cfg.default_hooks.visualization.backend_args
    image = mmcv.imfrombytes(get(str(path), backend_args=backend_args), channel_order='rgb')
    assert np.array_equal(image[..., ::-1], to_bgr8(load_film(path)))
    assert image.max() - image.min() > 200  # windowed, not cut to the top byte


def test_show_dir_writes_hip_overlays_of_the_final_points(tested_cascade, synthetic_root):
    """tools/test.py --show-dir (MMPose's option, PoseVisualizationHook) writes one
    overlay per test film: the final 12 points with the hip geometry (the test run is
    the session's `tested_cascade`: the two-stage model, `--show-dir vis`)."""
    out, test_dir = tested_cascade['out'], tested_cascade['work_dir']
    folder = Path(re.search(r'^overlays: (.+)$', out, re.M).group(1))
    assert folder.parent.parent == test_dir / 'hip'  # the final points' stage
    per_film = json.loads((folder.parent / 'test_per_film.json').read_text())
    pngs = sorted(folder.glob('*.png'))
    assert [p.name for p in pngs] == sorted(
        f'{Path(f["file"]).stem}_0.png' for f in per_film['films']
    )
    visualizer = overlay_visualizer()
    for film in per_film['films']:
        overlay = cv2.imread(str(folder / f'{Path(film["file"]).stem}_0.png'))
        image = load_film(synthetic_root / 'test' / 'images' / film['file'])
        points = np.array(film['keypoints'], float)
        expected = visualizer.draw_hip_geometry(
            image, points[:, :2], points[:, 2], label=f'{film["file"]} (prediction)'
        )
        assert overlay.shape == expected.shape
        # the same drawing: the JSON's points are rounded to 0.01 px (records.DIGITS), which
        # moves a line's end to the next whole pixel now and then (OpenCV draws between
        # whole pixels), and that line's anti-aliased pixels with it: up to about 2.3 % of
        # a film's pixels over 300 random films (0.4 % at 0.001 px)
        assert (overlay != expected).any(axis=2).mean() < 0.03
        assert (overlay != to_bgr8(image)).any(axis=2).sum() > 200  # lines drawn


def test_tensorboard_logs_scalars_and_validation_overlays(trained):
    """The `trained` fixture trains with --vis-backend tensorboard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, work_dir, _ = trained
    events = sorted(work_dir.glob('*/vis_data/events.out.tfevents.*'))
    assert events, f'no TensorBoard event file under {work_dir}'
    accumulator = EventAccumulator(str(events[0].parent), size_guidance={'images': 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    assert 'hip/AI_MAE' in tags['scalars'] and 'loss' in tags['scalars']
    assert np.isfinite(accumulator.Scalars('hip/AI_MAE')[-1].value)
    assert 'val_img' in tags['images']
    # the same overlays as files, through the configs' LocalVisBackend
    assert list(work_dir.glob('*/vis_data/vis_image/val_img_*.png'))
