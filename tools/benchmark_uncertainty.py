#!/usr/bin/env python
"""Which per-hip difficulty signal predicts the AI error: measured on a split's films.

Reads HipMetric's per-film JSON of a trained two-stage model (the refining stage's
points with each point's heatmap spread, e.g. ``<work_dir>/hip/.../val_per_film.json``
from ``tools/test.py ... --split val``) and, optionally, the whole-film stage's JSON of
the same films, and prints for each signal: Spearman's rank correlation with |AI error|,
the error ratio (mean |AI error| of the 20 % highest signal over the other 80 %) and, by
patient-split cross-fitting on these films (fit on half the patients, measure on the
other half, 50 random halvings), the coverage and mean width of 90 % normalised
split-conformal intervals built on it::

    python tools/benchmark_uncertainty.py VAL_PER_FILM.json [--film FILM_VAL.json]

Signals: ``constant`` (one interval for every hip: the baseline), ``geometry`` (the AI's
sensitivity to its three points, every point equally uncertain), ``spread`` (the
heatmap spreads carried through that sensitivity: what the project ships,
:mod:`hip_mmpose.utils.uncertainty`), ``score`` (1 - the mean heatmap maximum of the
AI's points), ``stages`` (|whole-film AI - refined AI|) and, where the records carry
the roof edge (0.2.0 from its introduction), ``edge`` (1 / the roof edge,
:func:`~hip_mmpose.utils.uncertainty.roof_edges`) and ``spread_edge`` (``spread``
times ``(median edge / edge) ** 0.5``: the shipped scale's shape at a middle power).
With ``--checkpoint`` (the model that wrote the JSON) also ``shifted`` (the sd of the
AI over the refining stage run on the plain crop and on crops moved by ``--shift`` of
their side left, right, up and down: test-time disagreement), with its cost in
seconds per film beside the plain measuring's; a line before the table also prints the
|AI error| of the AI averaged over those crops (does averaging them lower the error?),
which is not a signal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy import stats as sp_stats  # noqa: E402

from hip_mmpose import geometry  # noqa: E402
from hip_mmpose.evaluation.hip_metric import patient_ids  # noqa: E402
from hip_mmpose.utils import records, uncertainty  # noqa: E402


def signals(films: dict, film_stage: dict | None) -> dict:
    """Each signal ``(N, 2)`` per hip (larger: less certain)."""
    pred, spread = films['keypoints'], films['keypoint_spread']
    out = dict(
        constant=np.ones(pred.shape[:1] + (2,)),
        geometry=uncertainty.ai_sd(pred, np.ones_like(spread)),
        spread=uncertainty.ai_sd(pred, spread),
        score=1
        - np.stack(
            [films['keypoint_scores'][:, list(idx)].mean(-1) for idx in geometry.AI_POINTS], -1
        ),
    )
    edge = films['roof_edge']
    if np.isfinite(edge).any():
        out['edge'] = 1 / edge
        out['spread_edge'] = out['spread'] * np.sqrt(np.nanmedian(edge) / edge)
    if film_stage is not None:
        order = {f: i for i, f in enumerate(film_stage['file'])}
        first = film_stage['keypoints'][[order[f] for f in films['file']]]
        out['stages'] = np.abs(
            geometry.acetabular_indices(first) - geometry.acetabular_indices(pred)
        )
    return out


#: the crops' moves of the ``shifted`` signal, in units of ``--shift``
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def shifted_signal(checkpoint, paths: list, shift: float, batch_size: int = 8):
    """The refining stage on the plain crops and on moved ones (:data:`SHIFTS`).

    Args:
        checkpoint (str): the model (``best_cascade.pth`` or a published file).
        paths (list): the films, in the per-film JSON's order.
        shift (float): the move, a fraction of each crop's side.
        batch_size (int): films per pass. Defaults to 8.

    Returns:
        tuple[np.ndarray, float, float]: the AI ``(N, len(SHIFTS), 2)`` of every
        pass, and seconds per film of the plain measuring and of the extra passes.
    """
    import time

    from hip_mmpose.apis import HipInferencer
    from hip_mmpose.utils.film_io import load_film, to_bgr8

    inferencer = HipInferencer(checkpoint, batch_size=batch_size)
    if inferencer.refiner is None:
        raise SystemExit(f'error: {checkpoint}: one stage only; the shifted crops need two')
    angles, plain_s, extra_s = [], 0.0, 0.0
    for start in range(0, len(paths), batch_size):
        films = [to_bgr8(load_film(p), copy=False) for p in paths[start : start + batch_size]]
        tick = time.perf_counter()
        points = inferencer._film_points(films)[0]
        for _ in range(inferencer.refine_passes - 1):
            points = inferencer._refine(films, points)[0]
        passes = [inferencer._refine(films, points)[0]]
        plain_s += time.perf_counter() - tick
        tick = time.perf_counter()
        passes += [
            inferencer._refine(films, points, (dx * shift, dy * shift))[0] for dx, dy in SHIFTS[1:]
        ]
        extra_s += time.perf_counter() - tick
        angles.append(np.stack([geometry.acetabular_indices(p) for p in passes], 1))
        print(
            f'  shifted crops: {min(start + batch_size, len(paths))}/{len(paths)} films', flush=True
        )
    return np.concatenate(angles), plain_s / len(paths), extra_s / len(paths)


def cross_fit(signal, err, patients, level=0.9, rounds=50, seed=0):
    """Coverage and width of normalised conformal intervals, fitted on half the
    patients and measured on the others, averaged over random halvings."""
    rng = np.random.default_rng(seed)
    ids = np.array(sorted(set(patients)))
    hip_patient = np.repeat(np.asarray(patients), 2)
    s, e = signal.ravel(), err.ravel()
    cover, width = [], []
    for _ in range(rounds):
        half = set(rng.permutation(ids)[: len(ids) // 2])
        cal = np.array([p in half for p in hip_patient])
        floor = np.median(s[cal])
        sigma = np.sqrt(floor**2 + s**2) if floor > 0 else np.ones_like(s)
        q = uncertainty.conformal_quantile((e / sigma)[cal], level)
        cover.append(np.mean(e[~cal] <= q * sigma[~cal]))
        width.append(np.mean(2 * q * sigma[~cal]))
    return float(np.mean(cover)), float(np.mean(width))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('per_film', help="HipMetric's per-film JSON of the refined points")
    parser.add_argument('--film', help="the whole-film stage's per-film JSON of the same films")
    parser.add_argument(
        '--checkpoint', help='the model that wrote the JSON: adds the shifted-crop signal'
    )
    parser.add_argument(
        '--shift', type=float, default=0.06, help="the crops' move, of their side (0.06)"
    )
    args = parser.parse_args(argv)
    films = records.as_arrays(records.read_json(args.per_film)[0])
    film_stage = records.as_arrays(records.read_json(args.film)[0]) if args.film else None
    if not np.isfinite(films['keypoint_spread']).any():
        print(f'error: {args.per_film}: no heatmap spreads (a model before they existed)')
        return 2
    err = np.abs(
        geometry.acetabular_indices(films['keypoints'])
        - geometry.acetabular_indices(films['true_keypoints'])
    )
    patients = patient_ids(films['file'])
    print(
        f'{len(films["file"])} films, {2 * len(films["file"])} hips, {len(set(patients))} '
        f'patients; |AI error| mean {np.nanmean(err):.2f}, median {np.nanmedian(err):.2f} deg'
    )
    found = signals(films, film_stage)
    if args.checkpoint:
        paths = [r['img_path'] for r in records.read_json(args.per_film)[0]]
        ais, plain_s, extra_s = shifted_signal(args.checkpoint, paths, args.shift)
        found['shifted'] = ais.std(1)
        mean_err = np.abs(ais.mean(1) - geometry.acetabular_indices(films['true_keypoints']))
        print(
            f'shifted crops (+-{args.shift:g} of the side, {len(SHIFTS) - 1} extra passes): '
            f'{extra_s:.3f} s per film beside {plain_s:.3f} s of plain measuring '
            f'(+{100 * extra_s / plain_s:.0f} %); |AI error| of their mean '
            f'{np.nanmean(mean_err):.2f} deg beside {np.nanmean(err):.2f} plain'
        )
    print(
        f'{"signal":<10} {"spearman":>9} {"err ratio":>10} {"coverage":>9} {"width":>7}'
        '   (90 % intervals, cross-fitted over patient halves)'
    )
    for name, value in found.items():
        ok = np.isfinite(value) & np.isfinite(err)
        rho = sp_stats.spearmanr(value[ok], err[ok])[0] if name != 'constant' else float('nan')
        top = value >= np.quantile(value[ok], 0.8)
        ratio = err[ok & top].mean() / err[ok & ~top].mean() if name != 'constant' else 1.0
        cover, width = cross_fit(np.where(ok, value, np.nanmedian(value)), err, patients)
        print(f'{name:<10} {rho:>9.2f} {ratio:>10.2f} {cover:>9.3f} {width:>7.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
