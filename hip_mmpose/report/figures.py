"""Report figures from HipMetric's per-film dump (and a work dir's scalar logs).

Everything is drawn headless (Agg). Numbers shown come from the same modules the
metric uses (:mod:`hip_mmpose.geometry`, :mod:`hip_mmpose.evaluation.stats`).
"""
from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hip_mmpose import geometry  # noqa: E402
from hip_mmpose.evaluation import stats  # noqa: E402
from hip_mmpose.evaluation.hip_metric import CI_SUFFIXES, METRIC_PREFIX  # noqa: E402
from hip_mmpose.film_io import FilmReadError, read_film  # noqa: E402
from hip_mmpose.visualizer import overlay_visualizer  # noqa: E402

HIPS = geometry.HIP_NAMES
GRADES = tuple(geometry.GRADE_NAMES[g] for g in geometry.GRADES)


def load_dump(path) -> dict:
    data = json.loads(Path(path).read_text())
    films = data['films']
    arr = lambda key: np.array([[f[key][h] for h in HIPS] for f in films], dtype=float)
    return dict(summary=data.get('summary', {}), films=films,
                names=[f['file'] for f in films],
                errors=np.array([f['errors_px'] for f in films], float),
                ai_pred=arr('ai_pred'), ai_true=arr('ai_true'),
                grade_pred=arr('grade_pred').astype(int),
                grade_true=arr('grade_true').astype(int))


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches='tight')  # never clip a title
    plt.close(fig)
    return path


# ----------------------------------------------------------------- per film
def film_comparison(film: dict, out_path, margin: float = 0.35) -> Path | None:
    """Prediction and ground truth side by side, zoomed on the hips, with lines,
    AIs, grades and errors; a legend names the lines."""
    from matplotlib.lines import Line2D

    from hip_mmpose.visualization import COLOURS
    try:
        img = read_film(film['img_path']).image
    except FilmReadError:
        return None
    pred_pts, true_pts = np.array(film['pred_keypoints']), np.array(film['true_keypoints'])
    panels = [('prediction', pred_pts, film['ai_pred'], film['grade_pred']),
              ('ground truth', true_pts, film['ai_true'], film['grade_true'])]
    # zoom: the box around both point sets, widened by `margin` of its width
    both = np.concatenate([pred_pts, true_pts])
    (x0, y0), (x1, y1) = both.min(0), both.max(0)
    pad = margin * (x1 - x0)
    h, w = img.shape[:2]
    cx0, cx1 = int(max(0, x0 - pad)), int(min(w, x1 + pad))
    cy0, cy1 = int(max(0, y0 - pad)), int(min(h, y1 + pad))
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    visualizer = overlay_visualizer()
    for ax, (title, pts, ai, grade) in zip(axes, panels):
        drawn = visualizer.draw_hip_geometry(img, pts)[cy0:cy1, cx0:cx1]
        ax.imshow(drawn[..., ::-1], extent=(cx0, cx1, cy1, cy0))
        ax.set_title(f"{title}\nimage-left: AI {ai['image_left']:.1f} deg, IHDI "
                     f"{geometry.GRADE_NAMES[int(grade['image_left'])]}   |   image-right: AI "
                     f"{ai['image_right']:.1f} deg, IHDI {geometry.GRADE_NAMES[int(grade['image_right'])]}",
                     fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    ai_err = [film['ai_pred'][h] - film['ai_true'][h] for h in HIPS]
    fig.suptitle(f"{film['file']}: mean point error {film['mean_error_px']:.1f} px;  "
                 f"AI error image-left {ai_err[0]:+.1f} deg, image-right {ai_err[1]:+.1f} deg",
                 fontsize=11)
    rgb = lambda key: tuple(c / 255 for c in COLOURS[key][::-1])
    handles = [Line2D([], [], color=rgb('h_line'), label='H-line (3-7)'),
               Line2D([], [], color=rgb('roof'), label='roof lines (1-3, 9-7)'),
               Line2D([], [], color=rgb('p_line'), label='P-lines'),
               Line2D([], [], color=rgb('d_line'), label='D-lines'),
               Line2D([], [], color=rgb('h_point'), marker='+', ls='', label='H-points'),
               Line2D([], [], color=rgb('point'), marker='o', ls='', label='keypoints')]
    fig.legend(handles=handles, loc='lower center', ncol=6, fontsize=9, frameon=False)
    fig.subplots_adjust(bottom=0.08)
    return _save(fig, out_path)


# ----------------------------------------------------------------- errors
def mean_distance_bars(d, out_path):
    per_film = d['errors'].mean(1)
    order = np.argsort(per_film)[::-1]
    fig, ax = plt.subplots(figsize=(max(6, 0.18 * len(order) + 2), 4))
    ax.bar(range(len(order)), per_film[order], color='tab:blue')
    ax.axhline(per_film.mean(), color='k', ls='--', label=f'mean {per_film.mean():.2f} px')
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([d['names'][i] for i in order], rotation=90, fontsize=6)
    ax.set_ylabel('mean point error (px)')
    ax.set_title('Mean distance per film (worst first)')
    ax.legend()
    return _save(fig, out_path)


def keypoint_error_boxes(d, out_path, keypoint_names=None):
    k = d['errors'].shape[1]
    names = keypoint_names or [f'{i + 1}' for i in range(k)]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.boxplot([d['errors'][:, i] for i in range(k)], showfliers=True)
    ax.set_xticks(range(1, k + 1))
    ax.set_xticklabels(names, rotation=45, ha='right', fontsize=8)
    ax.set_ylabel('radial error (px)')
    ax.set_title('Error per keypoint (1-6 image-left hip, 7-12 image-right hip)')
    return _save(fig, out_path)


def ai_error_bars(d, out_path):
    err = d['ai_pred'] - d['ai_true']
    n = len(err)
    fig, ax = plt.subplots(figsize=(max(6, 0.22 * n + 2), 4))
    x = np.arange(n)
    ax.bar(x - 0.2, err[:, 0], 0.4, label=f'{geometry.HIP_LABELS[0]} hip')
    ax.bar(x + 0.2, err[:, 1], 0.4, label=f'{geometry.HIP_LABELS[1]} hip')
    ax.axhline(0, color='k', lw=0.8)
    within = np.nanmean(np.abs(err) <= 2)
    ax.axhspan(-2, 2, color='green', alpha=0.08, label=f'within +-2 deg ({within:.0%} of hips)')
    ax.set_xticks(x)
    ax.set_xticklabels(d['names'], rotation=90, fontsize=6)
    ax.set_ylabel('AI error, prediction - truth (deg)')
    ax.set_title(f'AI error per hip (MAE {np.nanmean(np.abs(err)):.2f} deg)')
    ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1.0, 1.0))  # outside the bars
    return _save(fig, out_path)


# ----------------------------------------------------------------- AI agreement
def ai_scatter(d, out_path):
    panels = [(f'{geometry.HIP_LABELS[0]} hip', d['ai_pred'][:, 0], d['ai_true'][:, 0]),
              (f'{geometry.HIP_LABELS[1]} hip', d['ai_pred'][:, 1], d['ai_true'][:, 1]),
              ('all hips', d['ai_pred'].ravel(), d['ai_true'].ravel())]
    lo = np.nanmin([d['ai_pred'], d['ai_true']]) - 2
    hi = np.nanmax([d['ai_pred'], d['ai_true']]) + 2
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    for ax, (title, pred, true) in zip(axes, panels):
        keep = np.isfinite(pred) & np.isfinite(true)
        ax.scatter(true[keep], pred[keep], s=14, alpha=0.7)
        ax.plot([lo, hi], [lo, hi], 'k--', lw=1, label='identity')
        icpt, slope = stats.linear_fit(true, pred)
        if np.isfinite(slope):
            ax.plot([lo, hi], [slope * lo + icpt, slope * hi + icpt], 'r-', lw=1,
                    label=f"OLS fit: y = {slope:.2f}x {'+' if icpt >= 0 else '-'} {abs(icpt):.1f}")
        r = stats.pearson_r(pred, true)
        mae = stats.mean_absolute_error(pred, true)
        ax.set_title(f'{title}\nr = {r:.2f}, MAE = {mae:.2f} deg, slope = {slope:.2f}, '
                     f'n = {keep.sum()}', fontsize=10)
        ax.set_xlabel('AI, clinicians (deg)')
        ax.set_ylabel('AI, model (deg)')
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect('equal')
        ax.legend(loc='upper left', fontsize=8)
    return _save(fig, out_path)


def bland_altman_plot(d, out_path):
    pred, true = d['ai_pred'].ravel(), d['ai_true'].ravel()
    mean, diff = (pred + true) / 2, pred - true
    ba = stats.bland_altman(pred, true)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    side = np.repeat([[0, 1]], len(d['ai_pred']), 0).ravel()
    for s, label in enumerate(f'{name} hip' for name in geometry.HIP_LABELS):
        ax.scatter(mean[side == s], diff[side == s], s=14, alpha=0.7, label=label)
    ax.margins(y=0.18)  # room for the limit labels
    ax.axhline(ba['bias'], color='k', label=f"bias {ba['bias']:+.2f} deg")
    icpt, slope = stats.proportional_bias(pred, true)
    if np.isfinite(slope):
        x = np.array([np.nanmin(mean), np.nanmax(mean)])
        ax.plot(x, icpt + slope * x, color='tab:purple', ls='-.',
                label=f'proportional bias: slope {slope:+.3f}')
    for key in ('loa_low', 'loa_high'):
        ax.axhline(ba[key], color='r', ls='--')
    ax.text(ax.get_xlim()[1], ba['loa_high'], f" +1.96 sd: {ba['loa_high']:+.2f}", va='bottom',
            ha='right', color='r', fontsize=8)
    ax.text(ax.get_xlim()[1], ba['loa_low'], f" -1.96 sd: {ba['loa_low']:+.2f}", va='top',
            ha='right', color='r', fontsize=8)
    ax.set_xlabel('mean of model and clinicians (deg)')
    ax.set_ylabel('model - clinicians (deg)')
    ax.set_title('Bland-Altman plot of the acetabular index (95 % limits of agreement)')
    ax.legend(fontsize=8)
    return _save(fig, out_path)


# ----------------------------------------------------------------- IHDI
def confusion_matrices(d, out_path):
    sets = [(f'{geometry.HIP_LABELS[0]} hips', d['grade_true'][:, 0], d['grade_pred'][:, 0]),
            (f'{geometry.HIP_LABELS[1]} hips', d['grade_true'][:, 1], d['grade_pred'][:, 1]),
            ('all hips', d['grade_true'].ravel(), d['grade_pred'].ravel())]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, (title, true, pred) in zip(axes, sets):
        cm = stats.confusion_matrix(true, pred, geometry.GRADES)
        recall = stats.per_class_recall(cm)
        ax.imshow(cm, cmap='Blues')
        for i in range(4):
            for j in range(4):
                ax.text(j, i, cm[i, j], ha='center', va='center',
                        color='white' if cm[i, j] > cm.max() / 2 else 'black')
        ax.set_xticks(range(4))
        ax.set_xticklabels(GRADES)
        ax.set_yticks(range(4))
        ax.set_yticklabels([f'{g}  (recall {r:.0%})' if np.isfinite(r) else f'{g}  (none)'
                            for g, r in zip(GRADES, recall)])
        kappa = stats.cohen_kappa(cm)
        linear = stats.weighted_kappa(cm, stats.linear_weights(len(GRADES)))
        ax.set_title(f'{title}: kappa {kappa:.2f}, linear-weighted {linear:.2f}', fontsize=10)
        ax.set_xlabel('model grade')
        ax.set_ylabel('clinicians\' grade')
    return _save(fig, out_path)


def pixel_vs_ai_error(d, out_path):
    err = np.abs(d['ai_pred'] - d['ai_true'])
    # the points that set each hip's AI: 1, 3, 7 (image-left), 9, 7, 3 (image-right)
    px = np.stack([d['errors'][:, [0, 2, 6]].mean(1), d['errors'][:, [8, 6, 2]].mean(1)], 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    for s, label in enumerate(f'{name} hip' for name in geometry.HIP_LABELS):
        ax.scatter(px[:, s], err[:, s], s=14, alpha=0.7, label=label)
    r = stats.pearson_r(px, err)
    ax.set_xlabel('mean error of the points that set the AI (px)')
    ax.set_ylabel('|AI error| (deg)')
    ax.set_title(f'Point error vs AI error (r = {r:.2f})')
    ax.legend(fontsize=8)
    return _save(fig, out_path)


# ----------------------------------------------------------------- training
def read_scalars(work_dir) -> dict:
    """Per-epoch train loss and validation metrics from MMEngine's scalars.json."""
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    loss = defaultdict(list)
    val = defaultdict(dict)
    for file in files:
        for line in file.read_text().splitlines():
            entry = json.loads(line)
            if 'loss' in entry and 'epoch' in entry:
                loss[entry['epoch']].append(entry['loss'])
            elif any(k.startswith(f'{METRIC_PREFIX}/') for k in entry):
                val[entry['step']].update(entry)
    return dict(loss={e: float(np.mean(v)) for e, v in sorted(loss.items())},
                val=dict(sorted(val.items())))


def training_curves(work_dir, out_path) -> Path | None:
    logs = read_scalars(work_dir)
    if not logs['loss'] and not logs['val']:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(list(logs['loss']), list(logs['loss'].values()), 'o-', ms=3)
    axes[0].set_title('training loss (mean per epoch)')
    axes[0].set_yscale('log')
    for ax, key, label in ((axes[1], f'{METRIC_PREFIX}/MRE', 'validation MRE (px)'),
                           (axes[2], f'{METRIC_PREFIX}/AI_MAE', 'validation AI MAE (deg)')):
        epochs = [e for e, v in logs['val'].items() if key in v]
        values = [logs['val'][e][key] for e in epochs]
        ax.plot(epochs, values, 'o-', ms=3, color='tab:orange')
        if values:
            best = int(np.argmin(values))
            ax.plot(epochs[best], values[best], 'r*', ms=12,
                    label=f'best {values[best]:.2f} (epoch {epochs[best]})')
            ax.legend(fontsize=8)
            ax.set_ylim(0, min(max(values), 5 * np.median(values)) * 1.1)
        ax.set_title(label)
    for ax in axes:
        ax.set_xlabel('epoch')
    return _save(fig, out_path)


# ----------------------------------------------------------------- summary
HEADLINE = [('MRE', 'mean radial error (px)'), ('SDR_4px', 'points within 4 px'),
            ('MRE_mm', 'mean radial error (mm)'), ('SDR_2mm', 'points within 2 mm'),
            ('AI_MAE', 'AI MAE, all hips (deg)'), ('AI_MAE_left', 'AI MAE, image-left (deg)'),
            ('AI_MAE_right', 'AI MAE, image-right (deg)'), ('AI_RMSE', 'AI RMSE (deg)'),
            ('AI_bias', 'AI bias (deg)'), ('AI_LoA_low', 'AI 95 % LoA low (deg)'),
            ('AI_LoA_high', 'AI 95 % LoA high (deg)'), ('AI_r', 'AI Pearson r'),
            ('AI_ICC', 'AI ICC(2,1)'), ('AI_slope', 'AI slope, model on clinicians (OLS)'),
            ('AI_intercept', 'AI intercept, model on clinicians (deg)'),
            ('AI_prop_bias', 'AI proportional bias (Bland-Altman slope)'),
            ('IHDI_acc', 'IHDI accuracy'),
            ('IHDI_bal_acc', 'IHDI balanced accuracy'), ('IHDI_kappa', "IHDI Cohen's kappa"),
            ('IHDI_kappa_linear', 'IHDI linear-weighted kappa'),
            ('IHDI_recall_I', 'IHDI recall, grade I'), ('IHDI_recall_II', 'IHDI recall, grade II'),
            ('IHDI_ge2_sens', 'grade >= II sensitivity'), ('IHDI_ge2_spec', 'grade >= II specificity')]


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
    return (f"In brackets: 95 % confidence interval, bootstrap over patients "
            f"({boot['resamples']} resamples of {boot['patients']} patients, "
            f"{boot['films']} films, {boot['method']} method).")


def _url(path, out: Path) -> str:
    """A page-relative link to ``path``, percent-encoded (file names may hold any
    character); still pass it through :func:`html.escape` in HTML."""
    return quote(Path(path).relative_to(out).as_posix())


def write_report(dump_path, out_dir, work_dir=None, max_films: int | None = None,
                 keypoint_names=None) -> Path:
    """Write every figure and ``summary.md`` / ``summary.html``; returns the HTML path."""
    out = Path(out_dir)
    (out / 'films').mkdir(parents=True, exist_ok=True)
    d = load_dump(dump_path)
    figures = [
        ('Mean distance per film', mean_distance_bars(d, out / 'mean_distance_per_film.png')),
        ('Error per keypoint', keypoint_error_boxes(d, out / 'error_per_keypoint.png',
                                                    keypoint_names)),
        ('AI error per hip', ai_error_bars(d, out / 'ai_error_per_hip.png')),
        ('AI: model vs clinicians', ai_scatter(d, out / 'ai_scatter.png')),
        ('AI: Bland-Altman', bland_altman_plot(d, out / 'ai_bland_altman.png')),
        ('IHDI confusion matrices', confusion_matrices(d, out / 'ihdi_confusion.png')),
        ('Point error vs AI error', pixel_vs_ai_error(d, out / 'pixel_vs_ai_error.png')),
    ]
    if work_dir:
        curves = training_curves(work_dir, out / 'training_curves.png')
        if curves:
            figures.append(('Training curves', curves))
    worst_first = np.argsort(d['errors'].mean(1))[::-1]
    chosen = worst_first if max_films is None else worst_first[:max_films]
    film_figs = [p for p in (film_comparison(d['films'][i], out / 'films' /
                                             f"{Path(d['films'][i]['file']).stem}.png")
                             for i in chosen) if p]
    summary = d['summary']
    rows = [(label, _with_ci(summary, key)) for key, label in HEADLINE if key in summary]
    # Markdown viewers render inline HTML: film names in alt texts are escaped too
    md = ['# Hip measurement report', '',
          f'Source: `{dump_path}` ({len(d["films"])} films)', '',
          '| measure | value |', '|---|---|']
    md += [f'| {label} | {value} |' for label, value in rows]
    md += ['', _ci_note(summary), '', '## Figures', '']
    md += [f'### {title}\n\n![{title}]({_url(p, out)})\n' for title, p in figures]
    md += ['## Films, worst first', '']
    md += [f'![{html.escape(Path(p).stem)}]({_url(p, out)})' for p in film_figs]
    (out / 'summary.md').write_text('\n'.join(md) + '\n')
    body = [f'<h1>Hip measurement report</h1><p>Source: {html.escape(str(dump_path))} '
            f'({len(d["films"])} films)</p><table border="1" cellpadding="4">'
            '<tr><th>measure</th><th>value</th></tr>']
    body += [f'<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>'
             for label, value in rows]
    body += ['</table>', f'<p>{html.escape(_ci_note(summary))}</p>']
    body += [f'<h2>{html.escape(t)}</h2><img src="{html.escape(_url(p, out))}" '
             f'alt="{html.escape(t)}" style="max-width:100%">' for t, p in figures]
    body += ['<h2>Films, worst first</h2>']
    body += [f'<img src="{html.escape(_url(p, out))}" alt="{html.escape(Path(p).stem)}" '
             'style="max-width:100%">' for p in film_figs]
    page = out / 'summary.html'
    page.write_text('<!doctype html><meta charset="utf-8"><title>Hip report</title>'
                    + '\n'.join(body))
    return page
