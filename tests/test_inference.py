"""Inference on films without annotations: API, CLI, published weights-only models."""

import csv
import json

import cv2
import numpy as np
import pytest
import torch

from hip_mmpose.apis import PUBLISHED_FORMAT, HipInferencer, publish_checkpoint
from hip_mmpose.tools.infer import main as infer_main
from hip_mmpose.utils import records


@pytest.fixture(scope='module')
def published(trained_cascade, tmp_path_factory):
    """The two-stage model, published as one weights-only file."""
    _, _, best = trained_cascade
    return publish_checkpoint(best, tmp_path_factory.mktemp('pub') / 'hip_tiny.pth')


def test_published_file_is_weights_only_with_json_config(published):
    assert published.name.startswith('hip_tiny-') and len(published.stem) == len('hip_tiny-') + 8
    ckpt = torch.load(published, map_location='cpu', weights_only=True)
    assert ckpt['meta']['format'] == PUBLISHED_FORMAT
    stages = ckpt['meta']['stages']
    assert [s['name'] for s in stages] == ['film', 'hip']
    configs = [json.loads(s['config']) for s in stages]  # data, not code
    assert configs[0]['model']['head']['out_channels'] == 12
    assert configs[1]['model']['head']['out_channels'] == 6
    assert configs[1]['test_dataloader']['dataset']['type'] == 'HipRefineDataset'
    assert all('custom_imports' not in c and 'film_stage' not in c for c in configs)
    for stage in ('film', 'hip'):
        assert all(isinstance(v, torch.Tensor) for v in ckpt['state_dict'][stage].values())


def test_published_and_training_files_predict_the_same(trained_cascade, published, synthetic_root):
    config, _, best = trained_cascade
    film = cv2.imread(str(sorted((synthetic_root / 'test' / 'images').iterdir())[0]))
    a = HipInferencer(published).predict_arrays([film])[0]
    b = HipInferencer(best, config).predict_arrays([film])[0]  # the config file's models
    assert np.allclose(a['keypoints'], b['keypoints'], atol=1e-3)
    assert tuple(a) == records.PREDICTION_FIELDS  # keypoints, acetabular_index, ... flags,
    assert a['file'] is None and a['image_size'] == [192, 144]  # file, image_size
    assert len(a['keypoints']) == 12 and all(len(k) == 3 for k in a['keypoints'])
    assert set(a['acetabular_index']) == {'image_left', 'image_right'}
    assert set(a['ihdi_grade'].values()) <= {'I', 'II', 'III', 'IV', 'undefined', None}
    assert set(a['not_measured']) <= {'image_left', 'image_right'}


def test_training_checkpoint_needs_a_config(trained):
    _, work_dir, _ = trained
    with pytest.raises(ValueError, match='needs --config'):
        HipInferencer(work_dir / 'epoch_1.pth')


def test_cli_on_a_mixed_folder(published, synthetic_root, tmp_path, capsys):
    films = tmp_path / 'films'
    films.mkdir()
    src = sorted((synthetic_root / 'test' / 'images').iterdir())
    grey = cv2.imread(str(src[0]), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(films / 'grey8.png'), grey)
    cv2.imwrite(str(films / 'grey16.png'), grey.astype(np.uint16) * 257)
    cv2.imwrite(str(films / 'colour.jpg'), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    (films / 'broken.jpg').write_bytes(src[1].read_bytes()[:60])
    (films / 'notes.txt').write_text('not a film')
    out = tmp_path / 'out'
    status = infer_main(
        [str(films), '--checkpoint', str(published), '--out-dir', str(out), '--batch-size', '2']
    )
    assert status == 2  # one input failed
    err = capsys.readouterr().err
    assert 'broken.jpg' in err and 'unreadable' in err
    for name in ('grey8.png', 'grey16.png', 'colour.jpg'):
        result = json.loads((out / f'{name}.json').read_text())
        assert len(result['keypoints']) == 12 and result['image_size'] == [192, 144]
        assert {'acetabular_index', 'ihdi_grade', 'flags', 'file'} <= set(result)
        overlay = cv2.imread(str(out / f'{name}.overlay.png'))
        assert overlay.shape == (144, 192, 3) and overlay.std() > 0
    # the 16-bit copy reaches the model as (nearly) the same 8-bit film
    from hip_mmpose.utils.film_io import load_film
    from hip_mmpose.visualization.draw import to_bgr8

    film16 = load_film(films / 'grey16.png')
    assert film16.dtype == np.uint16
    as8 = to_bgr8(film16)[..., 0].astype(float)
    assert np.corrcoef(as8.ravel(), grey.astype(float).ravel())[0, 1] > 0.99
    rows = list(csv.DictReader(open(out / 'summary.csv')))
    assert [r['file'] for r in rows] == ['broken.jpg', 'colour.jpg', 'grey16.png', 'grey8.png']
    assert rows[0]['error'] and not rows[1]['error']


def test_cli_refuses_an_empty_folder(published, tmp_path, capsys):
    (tmp_path / 'empty').mkdir()
    assert (
        infer_main(
            [
                str(tmp_path / 'empty'),
                '--checkpoint',
                str(published),
                '--out-dir',
                str(tmp_path / 'o'),
            ]
        )
        == 2
    )
    assert 'no .jpg/.jpeg/.png/.dcm films' in capsys.readouterr().err


def test_real_films_and_two_stages(published, real_data_root, tmp_path):
    films = sorted((real_data_root / 'test' / 'images').iterdir())[:2]
    inferencer = HipInferencer(published, batch_size=2)
    assert inferencer.refiner is not None
    results = list(inferencer.predict_files(films))
    assert [r[0] for r in results] == films
    for _path, film, result, error in results:
        assert error is None and film.dtype == np.uint8 and film.ndim == 3  # network input
        assert result['image_size'] == [film.shape[1], film.shape[0]]
        assert len(result['keypoints']) == 12
