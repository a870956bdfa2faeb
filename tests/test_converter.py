"""tools/convert_csv_to_coco.py: good input converts, bad input is refused whole."""

import json
import shutil

import numpy as np
import pytest

from hip_mmpose.data_tools.csv_to_coco import AnnotationError, parse_annotation_csv
from hip_mmpose.tools.convert_csv_to_coco import main as convert_main

TWELVE = ','.join(f'"({10 + i}, {20 + i})"' for i in range(12))


@pytest.mark.parametrize(
    'text',
    [
        TWELVE,
        ','.join(f'"({10 + i}.5,{20 + i}.25)"' for i in range(12)),  # decimals, no spaces
        ','.join(f'"( {10 + i} ,  {20 + i} )"' for i in range(12)) + '\n\n',  # extra spaces
        ','.join(f'({10 + i}, {20 + i})' for i in range(12)),  # unquoted pairs
    ],
)
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
        cv2.imwrite(
            str(root / split / 'images' / f'P{i}_01.png'), np.full(size[::-1], 128, np.uint8)
        )
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
    assert (
        convert_main([str(root), '--out-dir', str(out), '--num-keypoints', '3', '--no-progress'])
        == 0
    )
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


@pytest.mark.parametrize(
    'problem',
    [
        'image without annotation',
        'annotation without image',
        'wrong point count',
        'non-numeric text',
        'point outside the image',
        'corrupt image',
        'empty annotation',
        'empty folder',
    ],
)
def test_bad_input_is_refused_and_nothing_written(tmp_path, capsys, problem):
    root = _make_split(tmp_path / 'data', 'val')  # 'val' converts first and is fine
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
    counts = {
        s: len(json.loads((out / f'{s}.json').read_text())['images'])
        for s in ('train', 'val', 'test')
    }
    assert counts == dict(train=393, val=64, test=45)


def _points_line(points):
    return ','.join(f'"({x:.3f}, {y:.3f})"' for x, y in points)


def _two_reader_split(root):
    """Film P0_01 read twice (the second reader's image-left AI 32 instead of 30),
    film P1_01 once; 520 x 200 px films."""
    import cv2

    from tests.test_geometry import film

    (root / 'train' / 'images').mkdir(parents=True)
    (root / 'train' / 'annotations').mkdir(parents=True)
    for name in ('P0_01', 'P1_01'):
        cv2.imwrite(
            str(root / 'train' / 'images' / f'{name}.png'), np.full((200, 520), 128, np.uint8)
        )
    first, second = film(30, 20, h_right=(460, 130)), film(32, 20, h_right=(460, 130))
    (root / 'train' / 'annotations' / 'P0_01.csv').write_text(
        _points_line(first) + '\n' + _points_line(second) + '\n'
    )
    (root / 'train' / 'annotations' / 'P1_01.csv').write_text(_points_line(first))
    return first, second


def test_several_readers_take_their_mean(tmp_path, capsys):
    """Two readers' lines: refused unless --readers mean, which writes their mean as
    the film's points, keeps both readings, and says how the readers agree: AIs 30 /
    32 and 20 / 20 deg differ by 1 deg on average, one reading's error sd sqrt((2^2 +
    0) / 2 / 2) = 1 deg; both grade the hips I and II alike (kappa 1)."""
    root = tmp_path / 'data'
    first, second = _two_reader_split(root)
    out = tmp_path / 'coco'
    assert convert_main([str(root), '--out-dir', str(out), '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'P0_01.csv: expected one line of points, found 2 lines' in err
    assert '--readers mean' in err and not out.exists()
    assert (
        convert_main([str(root), '--out-dir', str(out), '--no-progress', '--readers', 'mean']) == 0
    )
    printed = capsys.readouterr().out
    anns = {a['image_id']: a for a in json.loads((out / 'train.json').read_text())['annotations']}
    twice, once = anns[1], anns[2]
    mean = (first + second) / 2
    assert np.allclose(np.reshape(twice['keypoints'], (12, 3))[:, :2], mean, atol=1e-3)
    assert twice['num_readers'] == 2
    assert np.allclose(
        np.reshape(twice['reader_keypoints'], (2, 12, 2)), [first, second], atol=1e-3
    )
    assert 'reader_keypoints' not in once and 'num_readers' not in once
    assert np.allclose(np.reshape(once['keypoints'], (12, 3))[:, :2], first, atol=1e-3)
    assert (
        'readers: 1 films read more than once (1 pairs of readings): their AIs differ by '
        '1.00 deg on average, one reading errs by sd 1.00 deg; their grades agree on '
        '100.0 % of hips (kappa 1.00)'
    ) in printed
    # MMPose's COCO loader takes the mean as the film's truth; the readings ride along
    from mmpose.registry import DATASETS

    from hip_mmpose.datasets import METAINFO_FILE

    dataset = DATASETS.build(
        dict(
            type='HipXrayDataset',
            data_root=str(root),
            ann_file=str(out / 'train.json'),
            data_prefix=dict(img='train/images/'),
            metainfo=dict(from_file=METAINFO_FILE),
            pipeline=[],
        )
    )
    assert np.allclose(dataset[0]['keypoints'][0], mean, atol=1e-3)
    floor = np.sqrt(2 / np.pi)  # sd 1 x sqrt(2 / pi)
    assert (
        f'against the mean of 2 readings an error-free model would measure AI MAE about '
        f'{floor / np.sqrt(2):.2f} deg ({floor:.2f} against one)'
    ) in printed


def test_a_bad_reader_line_is_named(tmp_path, capsys):
    root = tmp_path / 'data'
    first, _ = _two_reader_split(root)
    path = root / 'train' / 'annotations' / 'P0_01.csv'
    path.write_text(_points_line(first) + '\n' + _points_line(first[:11]))
    args = [str(root), '--out-dir', str(tmp_path / 'coco'), '--no-progress', '--readers', 'mean']
    assert convert_main(args) == 1
    assert 'P0_01.csv: line 2: has 11 points, expected 12' in capsys.readouterr().err
    outside = first.copy()
    outside[4] = (600, 50)
    path.write_text(_points_line(first) + '\n' + _points_line(outside))
    assert convert_main(args) == 1
    assert (
        'P0_01.csv: line 2, point 5 (600, 50) lies outside the 520x200 image P0_01.png'
        in capsys.readouterr().err
    )
    path.write_text('\n'.join([_points_line(first)] * 21))
    assert convert_main(args) == 1
    assert (
        'P0_01.csv: 21 lines of points, more than the 20 readers one film may have'
        in capsys.readouterr().err
    )
    assert not (tmp_path / 'coco').exists()
