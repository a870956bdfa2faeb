#!/usr/bin/env python
"""How far a model's AI moves when the same films are windowed as other hospitals do.

Measures every film of a folder as stored and rewindowed (:func:`film_io.rewindow`:
gamma 0.8 and 1.25, window width x0.8 and x1.2, the range of
``film_io.WINDOWING``; the robust range stretch of a DICOM without a window; and a
floor, each pixel moved by one grey level at random), and prints per variant and over
the windows the mean absolute change of the AI (``hip/AI_contrast_shift``, deg) with a
patient-bootstrap 95 % interval, and how many grades change. The model should not
care: the reference's angle does not move with the window::

    python tools/benchmark_contrast.py models/hip_effv2_cbam_cpu.pth ../shared/hip-xray/val/images
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hip_mmpose.evaluation import stats  # noqa: E402
from hip_mmpose.evaluation.hip_metric import patient_ids  # noqa: E402
from hip_mmpose.utils import records  # noqa: E402
from hip_mmpose.utils.film_io import WINDOWING, list_films, load_film, rewindow, to_bgr8  # noqa: E402

#: the variants that are not a window of ``WINDOWING`` (left out of the mean over them):
#: the robust range stretch, and the floor (each pixel moved by -1, 0 or +1 grey
#: level at random: no visible change, what any tiny change of the pixels moves)
STRETCH, FLOOR = 'robust range', 'floor: +-1 grey'


def variants() -> dict:
    """``name: function`` of each rewindowing of an 8-bit film: the ends of
    ``WINDOWING``, and the robust range stretch a DICOM without a window gets (its
    0.5th-99.5th percentiles onto 0-255, :mod:`hip_mmpose.utils.film_io`)."""
    (g_lo, g_hi), (w_lo, w_hi) = WINDOWING['gamma'], WINDOWING['width']
    return {
        f'gamma {g_lo:g}': lambda f: rewindow(f, g_lo, 1.0),
        f'gamma {g_hi:g}': lambda f: rewindow(f, g_hi, 1.0),
        f'width x{w_lo:g}': lambda f: rewindow(f, 1.0, w_lo),
        f'width x{w_hi:g}': lambda f: rewindow(f, 1.0, w_hi),
        STRETCH: lambda f: to_bgr8(f.astype(np.uint16)),
        FLOOR: _jitter,
    }


def _jitter(film: np.ndarray, seed: int = 0) -> np.ndarray:
    """``film`` with each pixel moved by -1, 0 or +1 grey level (seeded)."""
    step = np.random.default_rng(seed).integers(-1, 2, film.shape[:2], dtype=np.int16)
    return np.clip(film.astype(np.int16) + step[..., None], 0, 255).astype(np.uint8)


def shift_table(base: list[dict], moved: dict, rounds: int = 1000, seed: int = 0) -> dict:
    """Per variant and in all: mean |AI change| (deg) with a patient-bootstrap
    interval (:func:`stats.group_bootstrap_ci`, as HipMetric's), and the fraction of
    hips whose grade changed.

    Args:
        base (list[dict]): the records of the films as stored (their ``file`` names
            give the patients: :func:`patient_ids`).
        moved (dict): ``variant: records`` of the same films rewindowed.
        rounds (int): bootstrap resamples of the patients. Defaults to 1000.
        seed (int): the resampling's seed. Defaults to 0.

    Returns:
        dict: ``variant (or 'all', the mean over the windows of ``WINDOWING``):
        (mean, ci_low, ci_high, grade_changed)``.
    """
    stored = records.as_arrays(base)
    arrays = {name: records.as_arrays(recs) for name, recs in moved.items()}
    rows = {
        name: np.abs(a['acetabular_index'] - stored['acetabular_index'])
        for name, a in arrays.items()
    }
    changed = {
        name: float((a['ihdi_grade'] != stored['ihdi_grade']).mean()) for name, a in arrays.items()
    }
    windows = [name for name in rows if name not in (STRETCH, FLOOR)]
    rows['all'] = np.stack([rows[name] for name in windows]).mean(0)
    changed['all'] = float(np.mean([changed[name] for name in windows]))
    patients = np.repeat(patient_ids(stored['file']), 2)  # one unit per hip
    table = {}
    for name, shift in rows.items():
        low, high = stats.group_bootstrap_ci(
            lambda w, shift=shift: stats.weighted_mean(shift, w),
            patients,
            n_resamples=rounds,
            seed=seed,
        )
        table[name] = (float(np.nanmean(shift)), float(low), float(high), changed[name])
    return table


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('checkpoint', help="a published model or a run's best_cascade.pth")
    parser.add_argument('films', help='folder of films (e.g. the val split)')
    parser.add_argument('--limit', type=int, help='only the first N films')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    from hip_mmpose.apis import HipInferencer

    paths = list_films(args.films)[: args.limit]
    if not paths:
        raise SystemExit(f'error: {args.films}: no films')
    inferencer = HipInferencer(args.checkpoint, device=args.device)
    films = [to_bgr8(load_film(p), copy=False) for p in paths]
    info = [inferencer.film_info(p) for p in paths]
    base = inferencer.predict_arrays(films, film_info=info)
    moved = {}
    for i, (name, func) in enumerate(variants().items(), 1):
        print(f'[{i}/{len(variants())}] {name}: {len(films)} films', flush=True)
        moved[name] = inferencer.predict_arrays([func(f) for f in films], film_info=info)
    table = shift_table(base, moved)
    print(f'{len(films)} films, {len(set(patient_ids([r["file"] for r in base])))} patients')
    print(f'{"windowing":<22} {"|AI change| deg":>16} {"95 % CI":>14} {"grade changed":>14}')
    for name, (mean, lo, hi, changed) in table.items():
        label = 'hip/AI_contrast_shift' if name == 'all' else name
        print(f'{label:<22} {mean:>16.2f} {f"[{lo:.2f}, {hi:.2f}]":>14} {changed:>14.3f}')
    return table


if __name__ == '__main__':
    main()
