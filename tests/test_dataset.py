"""HipXrayDataset and its metainfo, on real films where available."""

import json

import cv2
import numpy as np
import pytest

from hip_mmpose import geometry
from hip_mmpose.data_tools.csv_to_coco import convert_dataset
from hip_mmpose.datasets import METAINFO_FILE, HipXrayDataset


@pytest.fixture(scope='module')
def real_coco(real_data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp('real_coco')
    convert_dataset(real_data_root, out, metainfo_file=METAINFO_FILE, progress=False)
    return out


def _first_films(real_coco, n, split='val'):
    """A COCO file holding only the first n films of a split (keeps tests fast)."""
    coco = json.loads((real_coco / f'{split}.json').read_text())
    coco['images'] = coco['images'][:n]
    keep = {im['id'] for im in coco['images']}
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] in keep]
    path = real_coco / f'{split}_first{n}.json'
    path.write_text(json.dumps(coco))
    return path


def test_metainfo_names_and_flip_pairs():
    ds = HipXrayDataset(ann_file='', data_root='', lazy_init=True)
    meta = ds.metainfo
    assert meta['num_keypoints'] == 12
    assert meta['keypoint_id2name'][2] == 'image_left_triradiate'
    # 1-based pairs of the data README: 1-9, 2-8, 3-7, 4-12, 5-11, 6-10
    expected = {1: 9, 2: 8, 3: 7, 4: 12, 5: 11, 6: 10}
    expected.update({v: k for k, v in expected.items()})
    assert [i + 1 for i in meta['flip_indices']] == [expected[k] for k in range(1, 13)]
    assert len(meta['sigmas']) == 12 and len(meta['skeleton_links']) == 9


def test_loads_real_films_with_whole_film_box(real_data_root, real_coco):
    ann = _first_films(real_coco, 3)
    ds = HipXrayDataset(
        data_root=str(real_data_root),
        ann_file=str(ann),
        data_prefix=dict(img='val/images/'),
        pipeline=[],
        test_mode=True,
    )
    assert len(ds) == 3
    item = ds[0]
    img = cv2.imread(item['img_path'])
    h, w = img.shape[:2]
    assert np.allclose(item['bbox'], [[0, 0, w, h]])
    assert item['keypoints'].shape == (1, 12, 2)
    # the stored box is the tight keypoint box when asked for
    tight = HipXrayDataset(
        data_root=str(real_data_root),
        ann_file=str(ann),
        data_prefix=dict(img='val/images/'),
        pipeline=[],
        test_mode=True,
        bbox_source='annotation',
    )[0]
    kp = item['keypoints'][0]
    assert np.allclose(tight['bbox'][0, :2], kp.min(0), atol=0.01)


def test_annotations_kept_as_a_list_each_item_a_copy(synthetic_root):
    """Not MMEngine's packed buffer (its gc.collect per dataset), and still a copy
    per item: changing what a transform gets leaves the dataset as it was."""
    common = dict(
        data_root=str(synthetic_root),
        ann_file=str(synthetic_root / 'coco' / 'train.json'),
        data_prefix=dict(img='train/images/'),
        pipeline=[],
    )
    ds = HipXrayDataset(**common)
    packed = HipXrayDataset(**common, serialize_data=True)
    assert not ds.serialize_data and packed.serialize_data
    assert len(ds) == len(packed) == 4
    first = ds.get_data_info(0)
    np.testing.assert_array_equal(first['keypoints'], packed.get_data_info(0)['keypoints'])
    kept = first['keypoints'].copy()
    first['keypoints'][:] = -1
    np.testing.assert_array_equal(ds.get_data_info(0)['keypoints'], kept)


def test_bad_bbox_source_is_refused():
    with pytest.raises(ValueError, match='bbox_source'):
        HipXrayDataset(ann_file='', bbox_source='gt', lazy_init=True)


def test_flip_pairs_swap_the_hips_on_real_films(real_data_root, real_coco):
    """MMPose's own RandomFlip, driven by our flip pairs, mirrors film and points;
    the two hips' acetabular indices then swap exactly."""
    ann = _first_films(real_coco, 6)
    pipeline = [
        dict(type='LoadFilm'),
        dict(type='GetBBoxCenterScale', padding=1.0),
        dict(type='RandomFlip', prob=1.0, direction='horizontal'),
    ]
    plain = HipXrayDataset(
        data_root=str(real_data_root),
        ann_file=str(ann),
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=pipeline[:2],
    )
    flipped = HipXrayDataset(
        data_root=str(real_data_root),
        ann_file=str(ann),
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=pipeline,
    )
    for i in range(len(plain)):
        a, b = plain[i], flipped[i]
        assert np.array_equal(b['img'], a['img'][:, ::-1])
        ai_plain = geometry.acetabular_indices(a['keypoints'][0])
        ai_flip = geometry.acetabular_indices(b['keypoints'][0])
        # float32 mirroring (x -> w - x) rounds at 1e-4 px: well below 1e-3 degrees
        assert np.allclose(ai_flip, ai_plain[::-1], atol=1e-3), (ai_plain, ai_flip)
        assert np.array_equal(
            geometry.ihdi_grades(b['keypoints'][0]), geometry.ihdi_grades(a['keypoints'][0])[::-1]
        )


def test_random_stretch_moves_pixels_points_and_box_alike():
    """A bright pixel 20 px below the box's centre lands 25 px below it at s=1.25,
    and so does the keypoint placed on it; the box's centre stays."""
    from hip_mmpose.datasets import RandomStretch

    img = np.zeros((200, 160, 3), np.uint8)
    img[120, 50] = 255
    results = dict(
        img=img.copy(),
        bbox=np.array([[30, 80, 90, 120]], np.float32),
        keypoints=np.array([[[50, 120], [60, 80]]], np.float32),
    )
    out = RandomStretch(scale=(1.25, 1.25))(results)
    assert out['stretch'] == 1.25
    assert np.unravel_index(out['img'][..., 0].argmax(), (200, 160)) == (125, 50)
    assert np.allclose(out['keypoints'], [[[50, 125], [60, 75]]])
    assert np.allclose(out['bbox'], [[30, 75, 90, 125]])
    assert out['img'].shape == img.shape


def test_random_stretch_turns_the_roof_as_its_tangent_says():
    """Stretching a film along y by s multiplies tan(AI) by s (Hilgenreiner line
    horizontal): 30 deg at s=1.25 -> atan(1.25 tan 30) = 35.818 deg; 20 deg at
    s=0.87 -> 17.571 deg."""
    from hip_mmpose.datasets import RandomStretch
    from tests.test_geometry import film

    for s, (left, right) in ((1.25, (35.818, 24.464)), (0.87, (26.670, 17.571))):
        points = film(30, 20)
        out = RandomStretch(scale=(s, s))(
            dict(
                img=np.zeros((300, 600, 3), np.uint8),
                keypoints=points[None].astype(np.float32),
                bbox=np.array([[100, 40, 500, 160]], np.float32),
            )
        )
        assert geometry.acetabular_indices(out['keypoints'][0]) == pytest.approx(
            [left, right], abs=2e-3
        )


def test_random_stretch_leaves_a_sample_or_refuses_bad_settings():
    from hip_mmpose.datasets import RandomStretch

    results = dict(img=np.ones((10, 10, 3), np.uint8), bbox=np.array([[1, 1, 8, 8]], np.float32))
    out = RandomStretch(prob=0.0)(dict(results))
    assert out['stretch'] == 1.0 and out['img'] is results['img']
    np.random.seed(0)
    drawn = [RandomStretch(scale=(0.87, 1.15))._draw() for _ in range(2000)]
    assert 0.87 <= min(drawn) < 0.88 and 1.14 < max(drawn) <= 1.15
    assert abs(np.mean(np.log(drawn))) < 0.01  # log-uniform: as often wider as narrower
    with pytest.raises(ValueError, match='scale'):
        RandomStretch(scale=(1.2, 0.9))
    with pytest.raises(ValueError, match='prob'):
        RandomStretch(prob=1.5)


def test_clahe_spreads_a_faint_crop_and_keeps_it_grey():
    from hip_mmpose.datasets import Clahe

    # a faint ramp (values 100-119) with a faint edge: what an underexposed roof looks like
    ramp = np.tile(np.linspace(100, 119, 96).round().astype(np.uint8), (96, 1))
    ramp[40:56, 40:56] += 4
    img = np.repeat(ramp[..., None], 3, -1)
    before = img.copy()
    out = Clahe(clip_limit=2.0, tile_grid_size=(4, 4))(dict(img=img))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(img, before)  # the input array is not modified
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all()
    # the grey levels spread, the more the higher the clip limit lets them
    stronger = Clahe(clip_limit=8.0, tile_grid_size=(4, 4))(dict(img=img))['img']
    assert np.ptp(ramp) < np.ptp(out) < np.ptp(stronger), (
        np.ptp(ramp),
        np.ptp(out),
        np.ptp(stronger),
    )
    edge = out[48, 56:64, 0].astype(int) - out[48, 48:56, 0].astype(int)
    assert edge.mean() < 0  # the square stays brighter than what lies right of it
    grey = Clahe()(dict(img=ramp.copy()))['img']
    np.testing.assert_array_equal(grey, out[..., 0])  # a 2-D film gives the same crop


def test_clahe_refuses_what_it_cannot_equalise():
    from hip_mmpose.datasets import Clahe

    with pytest.raises(TypeError, match='uint8'):
        Clahe()(dict(img=np.zeros((8, 8, 3), np.float32)))
    with pytest.raises(ValueError, match='clip_limit'):
        Clahe(clip_limit=0)
    with pytest.raises(ValueError, match='tile_grid_size'):
        Clahe(tile_grid_size=(4, 0))


def test_clahe_ablation_equalises_the_crop_at_training_and_test_time():
    from pathlib import Path

    from mmengine.config import Config

    cfg = Config.fromfile(
        str(Path(__file__).parents[1] / 'configs' / 'ablations' / 'hip_refine_clahe_cpu.py')
    )
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        steps = [t['type'] for t in cfg[loader]['dataset']['pipeline']]
        assert steps[steps.index('TopdownAffine') + 1] == 'Clahe', (loader, steps)


def test_rewindow_by_hand_and_input_kept():
    from hip_mmpose.utils.film_io import rewindow

    img = np.array([[0, 51, 102, 127, 128, 204, 255]], np.uint8)
    before = img.copy()
    assert rewindow(img) is not img and (rewindow(img) == img).all()  # identity, a copy
    # width 2 about 127.5: 0 -> 0.5 - 0.5 / 2 = 0.25 -> 63.75 -> 64; 255 -> 191.25 -> 191;
    # 127 -> 127.25 -> 127
    wide = rewindow(img, width=2.0)
    assert wide[0, 0] == 64 and wide[0, -1] == 191 and wide[0, 3] == 127
    # width 0.8 clips the darkest and brightest tenth: 25 -> 0, 230 -> 255
    narrow = rewindow(np.array([25, 26, 229, 230], np.uint8), width=0.8)
    assert narrow[0] == 0 and narrow[-1] == 255 and 0 < narrow[1] and narrow[2] < 255
    # gamma 0.5 on 64: sqrt(64 / 255) * 255 = 127.75 -> 128
    assert rewindow(np.array([64], np.uint8), gamma=0.5)[0] == 128
    np.testing.assert_array_equal(img, before)
    with pytest.raises(ValueError, match='8-bit'):
        rewindow(img.astype(np.uint16))
    with pytest.raises(ValueError, match='finite'):
        rewindow(img, gamma=0)


def test_random_window_draws_within_its_ranges_or_refuses():
    from hip_mmpose.datasets import RandomWindow
    from hip_mmpose.utils.film_io import WINDOWING, rewindow

    img = np.tile(np.arange(256, dtype=np.uint8), (4, 1))[..., None].repeat(3, -1)
    kept = RandomWindow(prob=0.0)(dict(img=img))
    assert kept['window'] == (1.0, 1.0) and kept['img'] is img
    np.random.seed(0)
    drawn = [RandomWindow(prob=1.0)(dict(img=img)) for _ in range(300)]
    gammas, widths = np.array([d['window'] for d in drawn]).T
    assert WINDOWING['gamma'][0] <= gammas.min() and gammas.max() <= WINDOWING['gamma'][1]
    assert WINDOWING['width'][0] <= widths.min() and widths.max() <= WINDOWING['width'][1]
    assert abs(np.mean(np.log(gammas))) < 0.03  # log-uniform about 1
    np.testing.assert_array_equal(drawn[0]['img'], rewindow(img, *drawn[0]['window']))
    assert (img[0, :, 0] == np.arange(256)).all()  # the input crop not modified
    with pytest.raises(ValueError, match='gamma'):
        RandomWindow(gamma=(1.2, 0.8))
    with pytest.raises(ValueError, match='width'):
        RandomWindow(width=(0, 1))
    with pytest.raises(ValueError, match='prob'):
        RandomWindow(prob=2)


def test_rank_grey_levels_by_hand_and_unmoved_by_a_window():
    from hip_mmpose.datasets import RankFilm
    from hip_mmpose.utils.film_io import rank_grey_levels, rewindow

    # 4 pixels: 10, 10, 200, 255 -> (pixels darker + half as dark) / 4 = 1 / 4, 2.5 / 4,
    # 3.5 / 4 -> x 255 = 63.75, 159.375, 223.125 (the ends uncapped; capped below)
    img = np.array([[10, 10], [200, 255]], np.uint8)
    before = img.copy()
    out = rank_grey_levels(img, end_share=1.0)
    assert out.tolist() == [[64, 64], [159, 223]]
    np.testing.assert_array_equal(img, before)
    # any increasing map keeps the ranks: gammas and a wider window leave it unchanged
    # (grey levels 4 apart, so that no two merge in the 8-bit map)
    rng = np.random.default_rng(0)
    film = rng.choice(np.arange(20, 236, 4), (64, 64)).astype(np.uint8)
    ranked = rank_grey_levels(film)
    for gamma, width in ((0.8, 1.0), (1.25, 1.0), (1.0, 1.2)):
        np.testing.assert_array_equal(rank_grey_levels(rewindow(film, gamma, width)), ranked)
    # a narrow window clips the darkest and brightest tenth: only those pixels move
    clipped = rewindow(film, width=0.8)
    inside = (clipped > 0) & (clipped < 255)
    assert 0 < (~inside).mean() < 0.5
    np.testing.assert_array_equal(rank_grey_levels(clipped)[inside], ranked[inside])
    # a wide black border counts as 30 % of the film: 6 of 8 pixels black -> black
    # counts 0.3 / 0.7 x 2 = 6 / 7; (0.5 x 6 / 7, 6 / 7 + 0.5, 6 / 7 + 1.5) / (20 / 7)
    # x 255 = 38.25, 121.125, 210.375; uncapped 95.625, 207.1875, 239.0625
    bordered = np.array([[0, 0, 0, 0], [0, 0, 100, 200]], np.uint8)
    assert rank_grey_levels(bordered).tolist() == [[38] * 4, [38, 38, 121, 210]]
    assert rank_grey_levels(bordered, end_share=1.0).tolist() == [[96] * 4, [96, 96, 207, 239]]
    # the anatomy ranks the same whatever the border's width beyond 30 %
    padded = [np.pad(film, width) for width in (24, 48)]  # 47 % and 71 % black
    content = [rank_grey_levels(p)[w:-w, w:-w] for p, w in zip(padded, (24, 48))]
    np.testing.assert_array_equal(content[0], content[1])
    assert content[0].min() < 80 and np.abs(content[0].astype(int) - ranked).max() <= 80
    with pytest.raises(ValueError, match='end_share'):
        rank_grey_levels(film, end_share=0.0)
    uncapped = RankFilm(end_share=1.0)(dict(img=bordered.copy()))['img']
    assert uncapped.tolist() == [[96] * 4, [96, 96, 207, 239]]
    for share in (0, 1.5, True):
        with pytest.raises(ValueError, match='end_share'):
            RankFilm(end_share=share)
    # three equal channels in, three out; the transform refuses what is not 8-bit
    bgr = RankFilm()(dict(img=np.repeat(film[..., None], 3, -1)))['img']
    assert bgr.shape == (64, 64, 3) and (bgr == ranked[..., None]).all()
    with pytest.raises(TypeError, match='uint8'):
        rank_grey_levels(film.astype(np.float32))


def test_both_stages_rank_the_film_first_at_training_and_test_time():
    from pathlib import Path

    from mmengine.config import Config

    configs = Path(__file__).parents[1] / 'configs'
    for name in ('hip_effv2_cbam_cpu.py', 'hip_effv2_cbam_film_cpu.py', 'hip_effv2_cbam.py'):
        cfg = Config.fromfile(str(configs / name))
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            steps = [t['type'] for t in cfg[loader]['dataset']['pipeline']]
            assert steps[:2] == ['LoadFilm', 'RankFilm'] and 'RandomWindow' not in steps, steps
