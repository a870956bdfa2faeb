"""The report's plots: from evaluation records (HipMetric's per-film dump, read by
:func:`records.read_json` and :func:`records.as_arrays`) and a work dir's scalar logs.

Everything is drawn headless (Agg). Numbers shown come from the same modules the
metric uses (:mod:`hip_mmpose.geometry`, :mod:`hip_mmpose.evaluation.stats`). Each
plot takes ``d``, the arrays of the records (keys are record fields:
``acetabular_index``, ``true_acetabular_index``, ``ihdi_grade``, ``errors_px``, ...),
writes one PNG and returns its path.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hip_mmpose import geometry  # noqa: E402
from hip_mmpose.evaluation import stats  # noqa: E402
from hip_mmpose.evaluation.hip_metric import METRIC_PREFIX  # noqa: E402
from hip_mmpose.utils.film_io import FilmReadError, read_film  # noqa: E402
from hip_mmpose.visualization.local_visualizer import overlay_visualizer  # noqa: E402

HIPS, LABELS = geometry.HIP_NAMES, geometry.HIP_LABELS
GRADES = tuple(geometry.GRADE_NAMES[g] for g in geometry.GRADES)


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches='tight')  # never clip a title
    plt.close(fig)
    return path


# ----------------------------------------------------------------- per film
def _deg(value) -> float:
    """A record's angle as a number to format (NaN where null)."""
    return float('nan') if value is None else float(value)


def film_comparison(film: dict, out_path, margin: float = 0.35) -> Path | None:
    """Prediction and ground truth of one evaluation record side by side, zoomed on the hips.

    Each panel draws the hip geometry (:func:`visualization.draw_hip_geometry`) and
    gives the AIs (degrees) and grades; the title gives the mean point error (px) and
    the AI errors; a legend names the lines. The film is read from ``img_path``.

    Args:
        film (dict): an evaluation record (:func:`records.film_record` with truth).
        out_path (str | Path): the PNG to write.
        margin (float): the zoom box around both point sets is widened on each side by
            this fraction of its width. Defaults to 0.35.

    Returns:
        str | Path | None: ``out_path``, or None where the film cannot be read.
    """
    from matplotlib.lines import Line2D

    from hip_mmpose.visualization.draw import COLOURS

    try:
        img = read_film(film['img_path']).image
    except FilmReadError:
        return None
    pred_pts = np.array(film['keypoints'], np.float64)[:, :2]
    true_pts = np.array(film['true_keypoints'], np.float64)
    panels = [
        ('prediction', pred_pts, film['acetabular_index'], film['ihdi_grade']),
        ('ground truth', true_pts, film['true_acetabular_index'], film['true_ihdi_grade']),
    ]
    # zoom: the box around both point sets, widened by `margin` of its width
    both = np.concatenate([pred_pts, true_pts])
    (x0, y0), (x1, y1) = np.nanmin(both, 0), np.nanmax(both, 0)
    pad = margin * (x1 - x0)
    h, w = img.shape[:2]
    cx0, cx1 = int(max(0, x0 - pad)), int(min(w, x1 + pad))
    cy0, cy1 = int(max(0, y0 - pad)), int(min(h, y1 + pad))
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    visualizer = overlay_visualizer()
    shifts = (film.get('ihdi_p_line_shift') or 0.0, 0.0)  # the truth is graded at none
    for ax, (title, pts, ai, grade), shift in zip(axes, panels, shifts):
        drawn = visualizer.draw_hip_geometry(img, pts, p_line_shift=shift)[cy0:cy1, cx0:cx1]
        ax.imshow(drawn[..., ::-1], extent=(cx0, cx1, cy1, cy0))
        hips = '   |   '.join(
            f'{label}: AI {_deg(ai[hip]):.1f} deg, IHDI {grade[hip]}'
            for hip, label in zip(HIPS, LABELS)
        )
        ax.set_title(f'{title}\n{hips}', fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    ai_err = ', '.join(
        f'{label} {_deg(pred[hip]) - _deg(true[hip]):+.1f} deg'
        for hip, label in zip(HIPS, LABELS)
        for pred, true in [(film['acetabular_index'], film['true_acetabular_index'])]
    )
    fig.suptitle(
        f'{film["file"]}: mean point error {_deg(film["mean_error_px"]):.1f} px;  '
        f'AI error {ai_err}',
        fontsize=11,
    )
    rgb = lambda key: tuple(c / 255 for c in COLOURS[key][::-1])
    (tri_l, tri_r), (roof_l, roof_r) = geometry.TRIRADIATE, geometry.ROOF_LATERAL
    handles = [
        Line2D([], [], color=rgb('h_line'), label=f'H-line ({tri_l + 1}-{tri_r + 1})'),
        Line2D(
            [],
            [],
            color=rgb('roof'),
            label=f'roof lines ({roof_l + 1}-{tri_l + 1}, {roof_r + 1}-{tri_r + 1})',
        ),
        Line2D([], [], color=rgb('p_line'), label='P-lines'),
        Line2D([], [], color=rgb('d_line'), label='D-lines'),
        Line2D([], [], color=rgb('h_point'), marker='+', ls='', label='H-points'),
        Line2D([], [], color=rgb('point'), marker='o', ls='', label='keypoints'),
    ]
    fig.legend(handles=handles, loc='lower center', ncol=6, fontsize=9, frameon=False)
    fig.subplots_adjust(bottom=0.08)
    return _save(fig, out_path)


# ----------------------------------------------------------------- errors
def mean_distance_bars(d, out_path):
    """Bar chart of each film's mean point error in pixels, worst first, with the mean.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``errors_px``
            and ``file``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path: ``out_path``.
    """
    per_film = d['errors_px'].mean(1)
    order = np.argsort(per_film)[::-1]
    fig, ax = plt.subplots(figsize=(max(6, 0.18 * len(order) + 2), 4))
    ax.bar(range(len(order)), per_film[order], color='tab:blue')
    ax.axhline(per_film.mean(), color='k', ls='--', label=f'mean {per_film.mean():.2f} px')
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([d['file'][i] for i in order], rotation=90, fontsize=6)
    ax.set_ylabel('mean point error (px)')
    ax.set_title('Mean distance per film (worst first)')
    ax.legend()
    return _save(fig, out_path)


def keypoint_error_boxes(d, out_path, keypoint_names=None):
    """Box plot of the radial error in pixels of each keypoint over the films.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``errors_px``.
        out_path (str | Path): the PNG to write.
        keypoint_names (list[str], optional): the axis labels, one per keypoint.
            Defaults to None (``1`` ... ``K``).

    Returns:
        str | Path: ``out_path``.
    """
    k = d['errors_px'].shape[1]
    names = keypoint_names or [f'{i + 1}' for i in range(k)]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.boxplot([d['errors_px'][:, i] for i in range(k)], showfliers=True)
    ax.set_xticks(range(1, k + 1))
    ax.set_xticklabels(names, rotation=45, ha='right', fontsize=8)
    ax.set_ylabel('radial error (px)')
    hips = ', '.join(
        f'{min(index) + 1}-{max(index) + 1} {label} hip'
        for index, label in zip(geometry.HIP_KEYPOINTS, LABELS)
    )
    ax.set_title(f'Error per keypoint ({hips})')
    return _save(fig, out_path)


def ai_error_bars(d, out_path):
    """Bars of each film's AI error (prediction - truth, degrees) per hip, +-2 deg shaded.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``acetabular_index``,
            ``true_acetabular_index`` and ``file``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path: ``out_path``.
    """
    err = d['acetabular_index'] - d['true_acetabular_index']
    n = len(err)
    fig, ax = plt.subplots(figsize=(max(6, 0.22 * n + 2), 4))
    x = np.arange(n)
    for h, (shift, label) in enumerate(zip((-0.2, 0.2), LABELS)):
        ax.bar(x + shift, err[:, h], 0.4, label=f'{label} hip')
    ax.axhline(0, color='k', lw=0.8)
    within = np.nanmean(np.abs(err) <= 2)
    ax.axhspan(-2, 2, color='green', alpha=0.08, label=f'within +-2 deg ({within:.0%} of hips)')
    ax.set_xticks(x)
    ax.set_xticklabels(d['file'], rotation=90, fontsize=6)
    ax.set_ylabel('AI error, prediction - truth (deg)')
    ax.set_title(f'AI error per hip (MAE {np.nanmean(np.abs(err)):.2f} deg)')
    ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1.0, 1.0))  # outside the bars
    return _save(fig, out_path)


# ----------------------------------------------------------------- AI agreement
def ai_scatter(d, out_path):
    """Model against clinicians' AI (degrees): each hip and all hips, with OLS and Deming fits.

    Each panel's title gives Pearson's r, the MAE (degrees), the OLS slope and the
    number of hips with both AIs defined.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``acetabular_index``
            and ``true_acetabular_index``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path: ``out_path``.
    """
    model, clinicians = d['acetabular_index'], d['true_acetabular_index']
    panels = [(f'{label} hip', model[:, h], clinicians[:, h]) for h, label in enumerate(LABELS)]
    panels.append(('all hips', model.ravel(), clinicians.ravel()))
    lo = np.nanmin([model, clinicians]) - 2
    hi = np.nanmax([model, clinicians]) + 2
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    for ax, (title, pred, true) in zip(axes, panels):
        keep = np.isfinite(pred) & np.isfinite(true)
        ax.scatter(true[keep], pred[keep], s=14, alpha=0.7)
        ax.plot([lo, hi], [lo, hi], 'k--', lw=1, label='identity')
        icpt, slope = stats.linear_fit(true, pred)
        if np.isfinite(slope):
            ax.plot(
                [lo, hi],
                [slope * lo + icpt, slope * hi + icpt],
                'r-',
                lw=1,
                label=f'OLS fit: y = {slope:.2f}x {"+" if icpt >= 0 else "-"} {abs(icpt):.1f}',
            )
        d_icpt, d_slope = stats.deming_fit(true, pred)
        if np.isfinite(d_slope):  # the clinicians' reading has an error too
            ax.plot(
                [lo, hi],
                [d_slope * lo + d_icpt, d_slope * hi + d_icpt],
                color='tab:green',
                ls=':',
                lw=1.2,
                label=f'Deming fit: slope {d_slope:.2f}',
            )
        r = stats.pearson_r(pred, true)
        mae = stats.mean_absolute_error(pred, true)
        ax.set_title(
            f'{title}\nr = {r:.2f}, MAE = {mae:.2f} deg, slope = {slope:.2f}, n = {keep.sum()}',
            fontsize=10,
        )
        ax.set_xlabel('AI, clinicians (deg)')
        ax.set_ylabel('AI, model (deg)')
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect('equal')
        ax.legend(loc='upper left', fontsize=8)
    return _save(fig, out_path)


def bland_altman_plot(d, out_path):
    """Bland-Altman plot of the AI over all hips: bias, 95 % limits, proportional bias.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``acetabular_index``
            and ``true_acetabular_index``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path: ``out_path``.
    """
    pred, true = d['acetabular_index'].ravel(), d['true_acetabular_index'].ravel()
    mean, diff = (pred + true) / 2, pred - true
    ba = stats.bland_altman(pred, true)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    side = np.repeat([np.arange(len(HIPS))], len(d['acetabular_index']), 0).ravel()
    for s, label in enumerate(f'{name} hip' for name in LABELS):
        ax.scatter(mean[side == s], diff[side == s], s=14, alpha=0.7, label=label)
    ax.margins(y=0.18)  # room for the limit labels
    ax.axhline(ba['bias'], color='k', label=f'bias {ba["bias"]:+.2f} deg')
    icpt, slope = stats.proportional_bias(pred, true)
    if np.isfinite(slope):
        x = np.array([np.nanmin(mean), np.nanmax(mean)])
        ax.plot(
            x,
            icpt + slope * x,
            color='tab:purple',
            ls='-.',
            label=f'proportional bias: slope {slope:+.3f}',
        )
    for key in ('loa_low', 'loa_high'):
        ax.axhline(ba[key], color='r', ls='--')
    ax.text(
        ax.get_xlim()[1],
        ba['loa_high'],
        f' +1.96 sd: {ba["loa_high"]:+.2f}',
        va='bottom',
        ha='right',
        color='r',
        fontsize=8,
    )
    ax.text(
        ax.get_xlim()[1],
        ba['loa_low'],
        f' -1.96 sd: {ba["loa_low"]:+.2f}',
        va='top',
        ha='right',
        color='r',
        fontsize=8,
    )
    ax.set_xlabel('mean of model and clinicians (deg)')
    ax.set_ylabel('model - clinicians (deg)')
    ax.set_title('Bland-Altman plot of the acetabular index (95 % limits of agreement)')
    ax.legend(fontsize=8)
    return _save(fig, out_path)


def within_patient_differences(d, patients, out_path):
    """How two films of one patient differ in AI, read by the clinicians and by the model.

    Each point is one hip on two films of a patient: the change in the clinicians'
    AI (x) against the change in the model's (y). The hip's own change between the
    films is the same for both readers; what each reading adds is its error, so the
    reader whose differences spread more reads less precisely
    (:func:`stats.reference_noise` turns the spreads into each reader's error sd).

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``acetabular_index``
            and ``true_acetabular_index``.
        patients (Sequence[str]): the patient of each film.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path | None: ``out_path``; None where no patient has two films.
    """
    first, second = stats.within_group_pairs(patients)
    model, clinicians = d['acetabular_index'], d['true_acetabular_index']
    dm = (model[first] - model[second]).ravel()
    dc = (clinicians[first] - clinicians[second]).ravel()
    keep = np.isfinite(dm) & np.isfinite(dc)
    if not keep.any():
        return None
    dm, dc = dm[keep], dc[keep]
    noise = stats.reference_noise(clinicians, model, patients)
    lim = np.abs(np.concatenate([dm, dc])).max() + 1
    fig, ax = plt.subplots(figsize=(6.4, 6))
    ax.scatter(dc, dm, s=12, alpha=0.6)
    ax.plot([-lim, lim], [-lim, lim], 'k--', lw=1, label='identity')
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect('equal')
    ax.set_xlabel('AI on film 1 - film 2, clinicians (deg)')
    ax.set_ylabel('AI on film 1 - film 2, model (deg)')
    rms = lambda v: float(np.sqrt(np.mean(v**2)))  # noqa: E731
    title = (
        f'One hip on two films of a patient ({len(dc)} pairs)\n'
        f'rms change: clinicians {rms(dc):.2f} deg, model {rms(dm):.2f} deg'
    )
    if np.isfinite(noise['model_gain']):
        title += (
            f'\nerror sd: clinicians {noise["ref_sd"]:.2f}, model '
            f'{noise["model_sd"]:.2f} (gain {noise["model_gain"]:.2f})'
        )
    ax.set_title(title, fontsize=10)
    ax.legend(loc='upper left', fontsize=8)
    return _save(fig, out_path)


# ----------------------------------------------------------------- IHDI
def confusion_matrices(d, out_path):
    """IHDI confusion matrices (clinicians x model) per hip and of all hips, with kappas.

    Grades I-IV only (an undefined grade is counted in no cell); each row is labelled
    with its recall, each title with Cohen's kappa and the linear-weighted kappa.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``ihdi_grade`` and
            ``true_ihdi_grade``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path: ``out_path``.
    """
    model, clinicians = d['ihdi_grade'], d['true_ihdi_grade']
    sets = [(f'{label} hips', clinicians[:, h], model[:, h]) for h, label in enumerate(LABELS)]
    sets.append(('all hips', clinicians.ravel(), model.ravel()))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, (title, true, pred) in zip(axes, sets):
        cm = stats.confusion_matrix(true, pred, geometry.GRADES)
        recall = stats.per_class_recall(cm)
        ax.imshow(cm, cmap='Blues')
        for i in range(len(GRADES)):
            for j in range(len(GRADES)):
                ax.text(
                    j,
                    i,
                    cm[i, j],
                    ha='center',
                    va='center',
                    color='white' if cm[i, j] > cm.max() / 2 else 'black',
                )
        ax.set_xticks(range(len(GRADES)))
        ax.set_xticklabels(GRADES)
        ax.set_yticks(range(len(GRADES)))
        ax.set_yticklabels(
            [
                f'{g}  (recall {r:.0%})' if np.isfinite(r) else f'{g}  (none)'
                for g, r in zip(GRADES, recall)
            ]
        )
        kappa = stats.cohen_kappa(cm)
        linear = stats.weighted_kappa(cm, stats.linear_weights(len(GRADES)))
        ax.set_title(f'{title}: kappa {kappa:.2f}, linear-weighted {linear:.2f}', fontsize=10)
        ax.set_xlabel('model grade')
        ax.set_ylabel("clinicians' grade")
    return _save(fig, out_path)


def pixel_vs_ai_error(d, out_path):
    """Scatter of each hip's |AI error| (degrees) against the mean error (px) of its AI points.

    A hip's AI points are :data:`geometry.AI_POINTS` (1, 3, 7 for the image-left hip;
    9, 7, 3 for the image-right); the title gives Pearson's r over all hips.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`): ``acetabular_index``,
            ``true_acetabular_index`` and ``errors_px``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path: ``out_path``.
    """
    err = np.abs(d['acetabular_index'] - d['true_acetabular_index'])
    # the points that set each hip's AI: 1, 3, 7 (image-left), 9, 7, 3 (image-right)
    px = np.stack([d['errors_px'][:, list(index)].mean(1) for index in geometry.AI_POINTS], 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    for s, label in enumerate(f'{name} hip' for name in LABELS):
        ax.scatter(px[:, s], err[:, s], s=14, alpha=0.7, label=label)
    r = stats.pearson_r(px, err)
    ax.set_xlabel('mean error of the points that set the AI (px)')
    ax.set_ylabel('|AI error| (deg)')
    ax.set_title(f'Point error vs AI error (r = {r:.2f})')
    ax.legend(fontsize=8)
    return _save(fig, out_path)


def probability_reliability(d, out_path, bins: int = 5):
    """Reliability diagram of P(grade >= II): per bin of the predicted probability,
    the share of hips the clinicians grade II or worse, with the bin's hip count.

    Args:
        d (dict): arrays of evaluation records (:func:`records.as_arrays`) with
            ``p_ihdi_ge2`` and ``true_ihdi_grade``.
        out_path (str | Path): the PNG to write.
        bins (int): equal-width probability bins. Defaults to 5.

    Returns:
        str | Path | None: ``out_path``; None where the records hold no probability
        (a model without an uncertainty calibration).
    """
    p = d['p_ihdi_ge2'].ravel()
    ok = np.isfinite(p)
    if not ok.any():
        return None
    y = (d['true_ihdi_grade'].ravel() >= geometry.GRADES[1])[ok]
    p = p[ok]
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    ax.plot([0, 1], [0, 1], color='grey', lw=1, ls='--', label='perfectly calibrated')
    xs, ys, ns = [], [], []
    for b in range(bins):
        inside = which == b
        if inside.any():
            xs.append(p[inside].mean())
            ys.append(y[inside].mean())
            ns.append(int(inside.sum()))
    ax.plot(xs, ys, marker='o', label='hips (n per bin)')
    for x, v, n in zip(xs, ys, ns):
        ax.annotate(str(n), (x, v), textcoords='offset points', xytext=(4, 4), fontsize=8)
    brier = float(np.mean((p - y) ** 2))
    ax.set_xlabel('predicted P(grade >= II)')
    ax.set_ylabel('share graded >= II by the clinicians')
    ax.set_title(f'Reliability of P(grade >= II) (Brier {brier:.3f})')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc='upper left')
    return _save(fig, out_path)


def error_vs_interval_width(d, out_path):
    """Each hip's |AI error| against its interval's width, covered hips apart.

    Args:
        d (dict): arrays of evaluation records with ``ai_interval``,
            ``acetabular_index`` and ``true_acetabular_index``.
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path | None: ``out_path``; None without intervals.
    """
    low, high = d['ai_interval'][..., 0].ravel(), d['ai_interval'][..., 1].ravel()
    true = d['true_acetabular_index'].ravel()
    err = np.abs(d['acetabular_index'].ravel() - true)
    ok = np.isfinite(low) & np.isfinite(high) & np.isfinite(err)
    if not ok.any():
        return None
    width, covered = (high - low)[ok], ((low <= true) & (true <= high))[ok]
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    ax.scatter(width[covered], err[ok][covered], s=14, alpha=0.7, label='reference inside')
    ax.scatter(
        width[~covered], err[ok][~covered], s=22, marker='x', color='C3', label='reference outside'
    )
    top = max(width.max(), err[ok].max())
    ax.plot([0, top], [0, top / 2], color='grey', lw=1, ls='--', label='half the width')
    ax.set_xlabel('AI interval width (deg)')
    ax.set_ylabel('|AI error| (deg)')
    ax.set_title(f'Interval width vs AI error (coverage {covered.mean():.2f})')
    ax.legend(fontsize=8)
    return _save(fig, out_path)


# ----------------------------------------------------------------- training
def read_scalars(work_dir) -> dict:
    """Per-epoch train loss and validation metrics from MMEngine's scalars.json.

    Reads every ``<work_dir>/*/vis_data/scalars.json`` (one per run, in name order).

    Args:
        work_dir (str | Path): the training work dir.

    Returns:
        dict: ``loss`` (``{epoch: mean training loss}``) and ``val`` (``{step: the
        validation entry}``, entries with a ``hip/`` metric), both in ascending order.
    """
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
    return dict(
        loss={e: float(np.mean(v)) for e, v in sorted(loss.items())}, val=dict(sorted(val.items()))
    )


def training_curves(work_dir, out_path) -> Path | None:
    """Training loss and validation MRE (px) and AI MAE (deg) per epoch, best starred.

    Args:
        work_dir (str | Path): the training work dir (:func:`read_scalars`).
        out_path (str | Path): the PNG to write.

    Returns:
        str | Path | None: ``out_path``, or None where the work dir has no logged loss
        or validation metric.
    """
    logs = read_scalars(work_dir)
    if not logs['loss'] and not logs['val']:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(list(logs['loss']), list(logs['loss'].values()), 'o-', ms=3)
    axes[0].set_title('training loss (mean per epoch)')
    axes[0].set_yscale('log')
    for ax, key, label in (
        (axes[1], f'{METRIC_PREFIX}/MRE', 'validation MRE (px)'),
        (axes[2], f'{METRIC_PREFIX}/AI_MAE', 'validation AI MAE (deg)'),
    ):
        epochs = [e for e, v in logs['val'].items() if key in v]
        values = [logs['val'][e][key] for e in epochs]
        ax.plot(epochs, values, 'o-', ms=3, color='tab:orange')
        if values:
            best = int(np.argmin(values))
            ax.plot(
                epochs[best],
                values[best],
                'r*',
                ms=12,
                label=f'best {values[best]:.2f} (epoch {epochs[best]})',
            )
            ax.legend(fontsize=8)
            ax.set_ylim(0, min(max(values), 5 * np.median(values)) * 1.1)
        ax.set_title(label)
    for ax in axes:
        ax.set_xlabel('epoch')
    return _save(fig, out_path)
