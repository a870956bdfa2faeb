"""Report figures: every figure written, readable and not blank."""
import cv2
import numpy as np

from hip_mmpose.report import write_report
from tests.conftest import TINY_LOADERS
from tools.test import main as run_test_tool

FIGURES = ['mean_distance_per_film.png', 'error_per_keypoint.png', 'ai_error_per_hip.png',
           'ai_scatter.png', 'ai_bland_altman.png', 'ihdi_confusion.png',
           'pixel_vs_ai_error.png', 'training_curves.png']


def _not_blank(path):
    img = cv2.imread(str(path))
    assert img is not None, path
    # a blank canvas is one colour; a real plot has many distinct grey levels
    assert img.std() > 5 and len(np.unique(img)) > 20, path
    return img


def test_test_tool_writes_the_full_report(trained, synthetic_root, tmp_path):
    config, work_dir, _ = trained
    report = tmp_path / 'report'
    run_test_tool([config, str(work_dir / 'epoch_1.pth'), '--data-root', str(synthetic_root),
                   '--work-dir', str(work_dir), '--report', str(report),
                   '--cfg-options', *TINY_LOADERS])
    for name in FIGURES:
        _not_blank(report / name)
    films = sorted((report / 'films').glob('*.png'))
    assert len(films) == 4
    side_by_side = _not_blank(films[0])
    assert side_by_side.shape[1] > 2 * side_by_side.shape[0]  # two panels
    page = (report / 'summary.html').read_text()
    for name in FIGURES:
        assert name in page
    assert 'AI MAE, all hips' in page and 'IHDI balanced accuracy' in page
    assert (report / 'summary.md').read_text().count('![') == len(FIGURES) + 4


def test_report_without_training_logs(trained, synthetic_root, tmp_path):
    _, work_dir, _ = trained
    dump = next(work_dir.glob('*/val_per_film.json'))
    write_report(dump, tmp_path / 'r', work_dir=None, max_films=1)
    assert not (tmp_path / 'r' / 'training_curves.png').exists()
    assert len(list((tmp_path / 'r' / 'films').glob('*.png'))) == 1
