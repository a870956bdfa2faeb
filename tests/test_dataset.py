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
    ds = HipXrayDataset(data_root=str(real_data_root), ann_file=str(ann),
                        data_prefix=dict(img='val/images/'), pipeline=[], test_mode=True)
    assert len(ds) == 3
    item = ds[0]
    img = cv2.imread(item['img_path'])
    h, w = img.shape[:2]
    assert np.allclose(item['bbox'], [[0, 0, w, h]])
    assert item['keypoints'].shape == (1, 12, 2)
    # the stored box is the tight keypoint box when asked for
    tight = HipXrayDataset(data_root=str(real_data_root), ann_file=str(ann),
                           data_prefix=dict(img='val/images/'), pipeline=[], test_mode=True,
                           bbox_source='annotation')[0]
    kp = item['keypoints'][0]
    assert np.allclose(tight['bbox'][0, :2], kp.min(0), atol=0.01)


def test_bad_bbox_source_is_refused():
    with pytest.raises(ValueError, match='bbox_source'):
        HipXrayDataset(ann_file='', bbox_source='gt', lazy_init=True)


def test_flip_pairs_swap_the_hips_on_real_films(real_data_root, real_coco):
    """MMPose's own RandomFlip, driven by our flip pairs, mirrors film and points;
    the two hips' acetabular indices then swap exactly."""
    ann = _first_films(real_coco, 6)
    pipeline = [dict(type='LoadFilm'), dict(type='GetBBoxCenterScale', padding=1.0),
                dict(type='RandomFlip', prob=1.0, direction='horizontal')]
    plain = HipXrayDataset(data_root=str(real_data_root), ann_file=str(ann),
                           data_prefix=dict(img='val/images/'), test_mode=True,
                           pipeline=pipeline[:2])
    flipped = HipXrayDataset(data_root=str(real_data_root), ann_file=str(ann),
                             data_prefix=dict(img='val/images/'), test_mode=True,
                             pipeline=pipeline)
    for i in range(len(plain)):
        a, b = plain[i], flipped[i]
        assert np.array_equal(b['img'], a['img'][:, ::-1])
        ai_plain = geometry.acetabular_indices(a['keypoints'][0])
        ai_flip = geometry.acetabular_indices(b['keypoints'][0])
        # float32 mirroring (x -> w - x) rounds at 1e-4 px: well below 1e-3 degrees
        assert np.allclose(ai_flip, ai_plain[::-1], atol=1e-3), (ai_plain, ai_flip)
        assert np.array_equal(geometry.ihdi_grades(b['keypoints'][0]),
                              geometry.ihdi_grades(a['keypoints'][0])[::-1])
