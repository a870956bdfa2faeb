#!/usr/bin/env python
"""Seconds per film of the full measuring pipeline (both stages, flip test) on the CPU.

Reads every film of a folder, measures them in batches with HipInferencer after a
warm-up, and prints seconds per film (reading excluded and included), the model's
stages and the peak memory.

Example:
    python tools/benchmark_inference.py work_dirs/accuracy-hip_effv2_cbam_cpu/best_cascade.pth \
        ../shared/hip-xray/test/images --threads 2
"""

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch  # noqa: E402

import hip_mmpose  # noqa: E402,F401
from hip_mmpose.apis import HipInferencer  # noqa: E402
from hip_mmpose.utils.film_io import list_films, load_film  # noqa: E402


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('checkpoint', help="a published model or a run's best_cascade.pth")
    parser.add_argument('films', help='folder of films')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads (default 2)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--no-flip', action='store_true')
    parser.add_argument(
        '--no-uncertainty',
        action='store_true',
        help='skip the heatmap spreads, AI intervals and P(grade >= II) (their cost: the '
        'difference with a run without this option)',
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = list_films(args.films)
    if not paths:
        raise SystemExit(f'error: {args.films}: no films')
    inferencer = HipInferencer(
        args.checkpoint, device=args.device, batch_size=args.batch_size, flip_test=not args.no_flip
    )
    if args.no_uncertainty and inferencer.refiner is not None:
        inferencer.refiner.test_cfg['output_heatmaps'] = False  # no spreads, no intervals
        inferencer.uncertainty = {}
    stages = 'whole film + per hip' if inferencer.refiner is not None else 'whole film only'
    start = time.perf_counter()
    films = [load_film(p) for p in paths]
    read_s = time.perf_counter() - start
    inferencer.predict_arrays(films[:2])  # warm-up
    start = time.perf_counter()
    results = inferencer.predict_arrays(films)
    measure_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(results)
    print(
        f'{n} films, {stages}, flip test {"off" if args.no_flip else "on"}, '
        f'batch {args.batch_size}, {args.threads} threads, torch {torch.__version__}, '
        f'intervals {"off" if args.no_uncertainty or not inferencer.uncertainty else "on"}'
    )
    print(
        f'measuring: {measure_s / n:.3f} s per film ({measure_s:.1f} s in all); '
        f'with reading the files: {(measure_s + read_s) / n:.3f} s per film'
    )
    print(f'peak memory: {peak_mb:.0f} MB')
    return dict(films=n, s_per_film=measure_s / n, read_s_per_film=read_s / n, peak_mb=peak_mb)


if __name__ == '__main__':
    main()
