"""The report page: every plot of :mod:`hip_mmpose.report.plots` and the headline
table, as ``summary.md`` and ``summary.html``, from HipMetric's per-film dump (its
evaluation records, :mod:`hip_mmpose.utils.records`)."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import numpy as np

from hip_mmpose import geometry
from hip_mmpose.evaluation.hip_metric import CI_SUFFIXES, describe_reference_noise, patient_ids
from hip_mmpose.report import plots
from hip_mmpose.utils import records
from hip_mmpose.utils.atomic import write_atomic

# the hips by image side and, as the films are read (AP), by the patient's
LEFT, RIGHT = (
    f'{image} = {geometry.PATIENT_LABELS[patient]}'
    for image, patient in zip(geometry.HIP_LABELS, geometry.patient_sides('ap'))
)


#: The summary table: (metric key without prefix, label); rows whose key the metric
#: did not report are left out.
HEADLINE = [
    ('MRE', 'mean radial error (px)'),
    ('SDR_4px', 'points within 4 px'),
    ('MRE_mm', 'mean radial error (mm)'),
    ('SDR_2mm', 'points within 2 mm'),
    ('AI_MAE', 'AI MAE, all hips (deg)'),
    ('AI_MAE_left', f'AI MAE, {LEFT} (deg)'),
    ('AI_MAE_right', f'AI MAE, {RIGHT} (deg)'),
    ('AI_RMSE', 'AI RMSE (deg)'),
    ('AI_bias', 'AI bias (deg)'),
    ('AI_LoA_low', 'AI 95 % LoA low (deg)'),
    ('AI_LoA_high', 'AI 95 % LoA high (deg)'),
    ('AI_r', 'AI Pearson r'),
    ('AI_ICC', 'AI ICC(2,1)'),
    ('AI_slope', 'AI slope, model on clinicians (OLS)'),
    ('AI_intercept', 'AI intercept, model on clinicians (deg)'),
    ('AI_slope_deming', 'AI slope, Deming (errors in both readings)'),
    ('AI_prop_bias', 'AI proportional bias (Bland-Altman slope)'),
    ('IHDI_acc', 'IHDI accuracy'),
    ('IHDI_bal_acc', 'IHDI balanced accuracy'),
    ('IHDI_kappa', "IHDI Cohen's kappa"),
    ('IHDI_kappa_linear', 'IHDI linear-weighted kappa'),
    # recalls of the grades the real films have (I and II)
    *[
        (f'IHDI_recall_{name}', f'IHDI recall, grade {name}')
        for name in (geometry.GRADE_NAMES[g] for g in geometry.GRADES[:2])
    ],
    ('IHDI_ge2_sens', 'grade >= II sensitivity'),
    ('IHDI_ge2_spec', 'grade >= II specificity'),
    # the calibrated intervals, probabilities and review flags (utils/uncertainty.py)
    ('AI_PI_coverage', 'AI intervals: share of hips whose reference AI lies inside'),
    ('AI_PI_width', 'AI intervals: mean width (deg)'),
    ('AI_PI_error_ratio', 'AI intervals: mean error of the 20 % widest / the rest'),
    ('IHDI_ge2_brier', 'P(grade >= II): Brier score'),
    ('IHDI_ge2_brier_skill', 'P(grade >= II): Brier skill over the prevalence'),
    ('IHDI_ge2_auc', 'P(grade >= II): AUC'),
    ('triage_flagged', 'review: share of hips flagged'),
    ('triage_missed', 'review: share of abnormal hips called normal, not flagged'),
    # the reference's own precision (patients with several films)
    ('AI_ref_sd', 'AI error of one clinician reading, sd (deg)'),
    ('AI_model_sd', 'AI error of the model against the actual angle, sd (deg)'),
    ('AI_model_gain', 'AI slope, model on the actual angle'),
    ('AI_ref_reliability', "share of the readings' AI variance that is the hips'"),
    ('AI_MAE_error_free', 'AI MAE an error-free model would measure (deg)'),
    (
        'IHDI_ref_sd',
        "H-point lateral of the P-line, one clinician reading's error, sd (H-line lengths)",
    ),
    ('IHDI_model_sd', "H-point lateral of the P-line, the model's error, sd"),
    ('IHDI_ge2_kappa_error_free', 'IHDI kappa an error-free model would measure'),
    ('IHDI_ge2_bal_acc_error_free', 'IHDI balanced accuracy an error-free model would measure'),
    ('IHDI_ge2_sens_error_free', 'grade >= II sensitivity an error-free model would measure'),
]


def _with_ci(summary: dict, key: str) -> str:
    """``1.840 [1.520, 2.200]``: the value and, when logged, its 95 % CI."""
    text = f'{summary[key]:.3f}'
    low, high = (summary.get(key + suffix) for suffix in CI_SUFFIXES)
    if low is not None and high is not None:
        text += f' [{low:.3f}, {high:.3f}]'
    return text


def _ci_note(summary: dict) -> str:
    boot = summary.get('bootstrap')
    if not boot:
        return 'No confidence intervals (the metric ran without bootstrap).'
    return (
        f'In brackets: 95 % confidence interval, bootstrap over patients '
        f'({boot["resamples"]} resamples of {boot["patients"]} patients, '
        f'{boot["films"]} films, {boot["method"]} method).'
    )


def _film_figure(film: dict, path: Path):
    """:func:`plots.film_comparison`, or None (with a warning) where that film fails:
    one film's figure never stops the report."""
    try:
        return plots.film_comparison(film, path)
    except Exception as err:
        import warnings

        warnings.warn(
            f'{film.get("file")}: no figure ({type(err).__name__}: {err})'[:300], stacklevel=2
        )
        return None


def _url(path, out: Path) -> str:
    """A page-relative link to ``path``, percent-encoded (file names may hold any
    character); still pass it through :func:`html.escape` in HTML."""
    return quote(Path(path).relative_to(out).as_posix())


def write_report(
    dump_path, out_dir, work_dir=None, max_films: int | None = None, keypoint_names=None
) -> Path:
    """Write every figure and ``summary.md`` / ``summary.html``.

    Args:
        dump_path (str | Path): a per-film JSON of HipMetric (``<split>_per_film.json``).
        out_dir (str | Path): the report's folder (``films/`` inside for the per-film
            figures).
        work_dir (str | Path, optional): a training work dir, for the training
            curves. Defaults to None (no curves).
        max_films (int, optional): per-film figures for the N worst films only.
            Defaults to None (every film).
        keypoint_names (list[str], optional): labels of the per-keypoint box plot.
            Defaults to None (the numbers 1-12).

    Returns:
        Path: the HTML page.

    Raises:
        records.RecordError: ``dump_path`` is not a per-film JSON, or its records
            have no ground truth.
    """
    out = Path(out_dir)
    (out / 'films').mkdir(parents=True, exist_ok=True)
    films, summary = records.read_json(dump_path)
    d = records.as_arrays(films)
    if 'true_keypoints' not in d:
        raise records.RecordError(
            f'{dump_path}: the report needs evaluation records '
            '(with ground truth: tools/test.py writes them)'
        )
    figures = [
        ('Mean distance per film', plots.mean_distance_bars(d, out / 'mean_distance_per_film.png')),
        (
            'Error per keypoint',
            plots.keypoint_error_boxes(d, out / 'error_per_keypoint.png', keypoint_names),
        ),
        ('AI error per hip', plots.ai_error_bars(d, out / 'ai_error_per_hip.png')),
        ('AI: model vs clinicians', plots.ai_scatter(d, out / 'ai_scatter.png')),
        ('AI: Bland-Altman', plots.bland_altman_plot(d, out / 'ai_bland_altman.png')),
        (
            'AI: two films of one patient',
            plots.within_patient_differences(
                d, patient_ids([f['file'] for f in films]), out / 'ai_within_patient.png'
            ),
        ),
        ('IHDI confusion matrices', plots.confusion_matrices(d, out / 'ihdi_confusion.png')),
        ('Point error vs AI error', plots.pixel_vs_ai_error(d, out / 'pixel_vs_ai_error.png')),
        (
            'AI interval width vs AI error',
            plots.error_vs_interval_width(d, out / 'ai_interval_width.png'),
        ),
        (
            'Reliability of P(grade >= II)',
            plots.probability_reliability(d, out / 'p_ihdi_ge2_reliability.png'),
        ),
    ]
    if work_dir:
        figures.append(
            ('Training curves', plots.training_curves(work_dir, out / 'training_curves.png'))
        )
    figures = [(title, path) for title, path in figures if path]  # None: nothing to draw
    worst_first = np.argsort(d['errors_px'].mean(1))[::-1]
    chosen = worst_first if max_films is None else worst_first[:max_films]
    film_figs = [
        p
        for p in (
            _film_figure(films[i], out / 'films' / f'{Path(films[i]["file"]).stem}.png')
            for i in chosen
        )
        if p
    ]
    rows = [(label, _with_ci(summary, key)) for key, label in HEADLINE if key in summary]
    # Markdown viewers render inline HTML: film names in alt texts are escaped too
    md = [
        '# Hip measurement report',
        '',
        f'Source: `{dump_path}` ({len(films)} films)',
        '',
        '| measure | value |',
        '|---|---|',
    ]
    md += [f'| {label} | {value} |' for label, value in rows]
    notes = [_ci_note(summary)] + [
        n[0].upper() + n[1:] + '.' for n in [describe_reference_noise(summary)] if n
    ]
    models = sorted({str(f['model_sha256']) for f in films if f.get('model_sha256')})
    if models:  # provenance: the model file every number here came from
        notes.append(
            f'Measured by the model file whose SHA-256 begins {" and ".join(models)} '
            '(`sha256sum` of the .pth or .onnx).'
        )
    md += [''] + [line for n in notes for line in (n, '')] + ['## Figures', '']
    md += [f'### {title}\n\n![{title}]({_url(p, out)})\n' for title, p in figures]
    md += ['## Films, worst first', '']
    md += [f'![{html.escape(Path(p).stem)}]({_url(p, out)})' for p in film_figs]
    write_atomic(out / 'summary.md', '\n'.join(md) + '\n')
    body = [
        f'<h1>Hip measurement report</h1><p>Source: {html.escape(str(dump_path))} '
        f'({len(films)} films)</p><table border="1" cellpadding="4">'
        '<tr><th>measure</th><th>value</th></tr>'
    ]
    body += [
        f'<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>'
        for label, value in rows
    ]
    body += ['</table>'] + [f'<p>{html.escape(n)}</p>' for n in notes]
    body += [
        f'<h2>{html.escape(t)}</h2><img src="{html.escape(_url(p, out))}" '
        f'alt="{html.escape(t)}" style="max-width:100%">'
        for t, p in figures
    ]
    body += ['<h2>Films, worst first</h2>']
    body += [
        f'<img src="{html.escape(_url(p, out))}" alt="{html.escape(Path(p).stem)}" '
        'style="max-width:100%">'
        for p in film_figs
    ]
    return write_atomic(
        out / 'summary.html',
        '<!doctype html><meta charset="utf-8"><title>Hip report</title>' + '\n'.join(body),
    )
