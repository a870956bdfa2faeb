"""Report figures: every figure written, readable and not blank."""

import json

import cv2
import numpy as np

from hip_mmpose.report import write_report

FIGURES = [
    'mean_distance_per_film.png',
    'error_per_keypoint.png',
    'ai_error_per_hip.png',
    'ai_scatter.png',
    'ai_bland_altman.png',
    'ihdi_confusion.png',
    'pixel_vs_ai_error.png',
    'ai_within_patient.png',
    'training_curves.png',
]


def _not_blank(path):
    img = cv2.imread(str(path))
    assert img is not None, path
    # a blank canvas is one colour; a real plot has many distinct grey levels
    assert img.std() > 5 and len(np.unique(img)) > 20, path
    return img


def test_test_tool_writes_the_full_report(tested):
    # tools/test.py --report on the `trained` model, its training's work dir as
    # --work-dir (the session's `tested` fixture)
    report = tested['report']
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


def test_summary_shows_intervals_and_escapes_names(tmp_path):
    """A report from a hand-made dump: CIs beside the headline numbers, the
    linear-weighted kappa and slope listed, file names escaped in the page."""
    from mmpose.registry import METRICS

    from tests.test_hip_metric import _ai_films, _samples

    gts = _ai_films()
    preds = _ai_films(0.8, 5.0) + [1.5, -1.0]  # AI 5 + 0.8 x clinicians'
    names = ['P1_"q"<b>&_01.png', 'P1_02.png', 'P2_01.png', 'P2_02.png']
    rng = np.random.default_rng(0)
    for name in names:
        cv2.imwrite(str(tmp_path / name), rng.integers(0, 255, (240, 640), dtype=np.uint8))
    metric = METRICS.build(
        dict(
            type='HipMetric',
            dump_name='t',
            out_dir=str(tmp_path),
            bootstrap=200,
            reference_noise=True,  # the opt-in rows and sentence too
        )
    )
    samples = _samples(preds, gts, names)
    for sample, name in zip(samples, names):
        sample['img_path'] = str(tmp_path / name)
    metric.process([], samples)
    metric.evaluate(len(samples))
    report = tmp_path / 'report'
    write_report(tmp_path / 't_per_film.json', report)
    page = (report / 'summary.html').read_text()
    md = (report / 'summary.md').read_text()
    assert len(list((report / 'films').glob('*.png'))) == 4
    assert '"q"' not in page and '<b>' not in page  # escaped
    assert 'P1_%22q%22%3Cb%3E%26_01.png' in page  # the link still works
    assert 'alt="P1_&quot;q&quot;&lt;b&gt;&amp;_01"' in page
    assert '<b>' not in md
    for text in (page, md):
        assert 'IHDI linear-weighted kappa' in text and 'AI slope' in text
        assert 'bootstrap over patients (200 resamples of 2 patients, 4 films' in text
    summary = json.loads((tmp_path / 't_per_film.json').read_text())['summary']
    mae = (
        f'{summary["AI_MAE"]:.3f} [{summary["AI_MAE_ci_low"]:.3f}, {summary["AI_MAE_ci_high"]:.3f}]'
    )
    assert f'<td>{mae}</td>' in page and f'| {mae} |' in md
    assert summary['AI_MAE_ci_low'] < summary['AI_MAE'] < summary['AI_MAE_ci_high']
    assert '<td>0.800 [' in page  # the slope and its interval
    for name in (
        'ai_scatter.png',
        'ai_bland_altman.png',
        'ihdi_confusion.png',
        'ai_within_patient.png',
    ):  # P1 and P2 have two films each
        _not_blank(report / name)
    assert 'AI slope, model on the actual angle' in page
    assert f'<td>{summary["AI_model_gain"]:.3f} [' in page
    assert (
        "Reference (from 4 pairs of one patient's hips on two films): one clinician "
        'reading of the AI'
    ) in md
