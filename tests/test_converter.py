"""tools/convert_csv_to_coco.py: good input converts, bad input is refused whole."""
import json
import shutil

import numpy as np
import pytest

from hip_mmpose.data_tools.csv_to_coco import AnnotationError, parse_annotation_csv
from hip_mmpose.tools.convert_csv_to_coco import main as convert_main

TWELVE = ','.join(f'"({10 + i}, {20 + i})"' for i in range(12))


@pytest.mark.parametrize('text', [
    TWELVE,
    ','.join(f'"({10 + i}.5,{20 + i}.25)"' for i in range(12)),          # decimals, no spaces
    ','.join(f'"( {10 + i} ,  {20 + i} )"' for i in range(12)) + '\n\n',  # extra spaces
    ','.join(f'({10 + i}, {20 + i})' for i in range(12)),                # unquoted pairs
])
def test_parse_accepts_template_variants(tmp_path, text):
    path = tmp_path / 'a.csv'
    path.write_text(text)
    points = parse_annotation_csv(path, 12)
    assert points.shape == (12, 2)
    assert np.allclose(np.floor(points[:, 0]), np.arange(10, 22))


def _make_split(root, split='train', n=2, size=(64, 48)):
    import cv2
    (root / split / 'images').mkdir(parents=True)
    (root / split / 'annotations').mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(root / split / 'images' / f'P{i}_01.png'),
                    np.full(size[::-1], 128, np.uint8))
        (root / split / 'annotations' / f'P{i}_01.csv').write_text(TWELVE)
    return root


def test_converts_and_writes_coco(tmp_path, capsys):
    root = _make_split(tmp_path / 'data')
    _make_split(root, 'val', n=1)
    out = tmp_path / 'coco'
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 0
    coco = json.loads((out / 'train.json').read_text())
    assert [im['width'] for im in coco['images']] == [64, 64]
    assert coco['images'][0]['height'] == 48
    ann = coco['annotations'][0]
    assert ann['num_keypoints'] == 12 and len(ann['keypoints']) == 36
    assert ann['keypoints'][:3] == [10, 20, 2]
    assert ann['bbox'] == [10, 20, 11, 11] and ann['area'] == 121
    cat = coco['categories'][0]
    assert cat['keypoints'][0] == 'image_left_roof_lateral'
    assert [3, 7] in cat['skeleton']  # the H-line, 1-based
    assert (out / 'val.json').exists()


def test_keypoint_count_comes_from_metainfo_unless_given(tmp_path, capsys):
    root = tmp_path / 'data'
    _make_split(root)
    for csv in (root / 'train' / 'annotations').iterdir():
        csv.write_text('"(1, 2)","(3, 4)","(5, 6)"')
    out = tmp_path / 'coco'
    # the data set's metainfo has 12 points: a 3-point file is the odd one
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 1
    assert 'P0_01.csv: has 3 points, expected 12' in capsys.readouterr().err
    assert convert_main([str(root), '--out-dir', str(out), '--num-keypoints', '3',
                         '--no-progress']) == 0
    cat = json.loads((out / 'train.json').read_text())['categories'][0]
    assert cat['keypoints'] == ['kp1', 'kp2', 'kp3'] and cat['skeleton'] == []


def _break(root, problem):
    """Damage a good two-split data set in one way; return the file to be named."""
    ann = root / 'train' / 'annotations' / 'P1_01.csv'
    img = root / 'train' / 'images' / 'P1_01.png'
    if problem == 'image without annotation':
        ann.unlink()
        return img.name, 'has no annotation'
    if problem == 'annotation without image':
        img.unlink()
        return ann.name, 'has no image'
    if problem == 'wrong point count':
        ann.write_text(','.join(TWELVE.split(',')[:22]))
        return ann.name, 'has 11 points, expected 12'
    if problem == 'non-numeric text':
        ann.write_text(TWELVE.replace('(15, 25)', '(15, abc)'))
        return ann.name, 'point 6'
    if problem == 'point outside the image':
        ann.write_text(TWELVE.replace('(15, 25)', '(15, 480)'))
        return ann.name, 'outside'
    if problem == 'corrupt image':
        img.write_bytes(img.read_bytes()[:40])
        return img.name, 'unreadable image'
    if problem == 'empty annotation':
        ann.write_text('')
        return ann.name, 'empty'
    if problem == 'empty folder':
        shutil.rmtree(root / 'train')
        (root / 'train' / 'images').mkdir(parents=True)
        (root / 'train' / 'annotations').mkdir(parents=True)
        return 'train', 'no images and no annotations'
    raise AssertionError(problem)


@pytest.mark.parametrize('problem', [
    'image without annotation', 'annotation without image', 'wrong point count',
    'non-numeric text', 'point outside the image', 'corrupt image', 'empty annotation',
    'empty folder'])
def test_bad_input_is_refused_and_nothing_written(tmp_path, capsys, problem):
    root = _make_split(tmp_path / 'data', 'val')   # 'val' converts first and is fine
    _make_split(root, 'train')
    name, why = _break(root, problem)
    out = tmp_path / 'coco'
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 1
    err = capsys.readouterr().err
    assert name in err and why in err, err
    assert not out.exists() or not any(out.iterdir()), 'no partial output allowed'


def test_empty_root_is_refused(tmp_path, capsys):
    (tmp_path / 'empty').mkdir()
    assert convert_main([str(tmp_path / 'empty'), '--out-dir', str(tmp_path / 'o')]) == 1
    assert 'no split folders' in capsys.readouterr().err


def test_missing_annotation_raises_named_error(tmp_path):
    with pytest.raises(AnnotationError, match='nope.csv'):
        parse_annotation_csv(tmp_path / 'nope.csv')


def test_real_data_converts_as_is(real_data_root, tmp_path):
    out = tmp_path / 'coco'
    assert convert_main([str(real_data_root), '--out-dir', str(out), '--no-progress']) == 0
    counts = {s: len(json.loads((out / f'{s}.json').read_text())['images'])
              for s in ('train', 'val', 'test')}
    assert counts == dict(train=393, val=64, test=45)
