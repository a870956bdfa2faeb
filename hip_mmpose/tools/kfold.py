"""Train and test a config on every fold; print each metric as mean +- sd over folds.

Example:
    python tools/split_dataset.py all_films/ --out-dir data/folds --folds 5
    python tools/kfold.py configs/hip_effv2_cbam_cpu.py data/folds --work-dir work_dirs/kfold \
        --cfg-options train_cfg.max_epochs=30

Each fold<i>/ holds train/, val/ and test/ in the template layout; the fold's COCO
files are written to fold<i>/coco/. Model selection uses val; test is held out.
"""
import argparse
import json
from pathlib import Path

import hip_mmpose  # noqa: F401
import numpy as np

from hip_mmpose.data_tools.csv_to_coco import convert_dataset
from hip_mmpose.datasets import METAINFO_FILE
from hip_mmpose.evaluation.hip_metric import HEADLINE_METRICS, METRIC_PREFIX
from hip_mmpose.tools.test import run as test_main
from hip_mmpose.tools.train import run as train_main

HEADLINE = tuple(f'{METRIC_PREFIX}/{name}' for name in HEADLINE_METRICS)


def run(argv=None) -> dict:
    """Cross-validate; return ``{metric: {mean, sd, folds}}`` (also written to
    ``<work-dir>/kfold_summary.json``)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('folds_root', help='folder with fold0/, fold1/, ...')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to train and test, e.g. train_cfg.max_epochs=30')
    args = parser.parse_args(argv)
    folds = sorted(p for p in Path(args.folds_root).iterdir()
                   if p.is_dir() and p.name.startswith('fold'))
    if not folds:
        raise SystemExit(f'error: {args.folds_root}: no fold<i>/ folders')
    results = {}
    for fold in folds:
        ann_root = fold / 'coco'
        convert_dataset(fold, ann_root, metainfo_file=METAINFO_FILE, progress=False)
        work = Path(args.work_dir) / fold.name
        common = ['--data-root', str(fold), '--ann-root', str(ann_root), '--work-dir', str(work)]
        opts = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
        trained = train_main([args.config, *common, *opts])
        best = (trained if isinstance(trained, str)  # a two-stage run: best_cascade.pth
                else max(work.glob('best_*.pth'), key=lambda p: p.stat().st_mtime))
        results[fold.name] = test_main([args.config, str(best), *common, *opts])
    keys = [k for k in HEADLINE if all(k in m for m in results.values())]
    print(f'\n{len(results)}-fold cross-validation of {args.config} (test part of each fold)')
    print(f'{"metric":<22}{"mean":>10}{"sd":>10}   per fold')
    summary = {}
    for key in keys:
        values = np.array([results[f][key] for f in results], float)
        summary[key] = dict(mean=float(values.mean()), sd=float(values.std(ddof=1))
                            if len(values) > 1 else 0.0, folds=values.tolist())
        print(f'{key:<22}{values.mean():>10.3f}{summary[key]["sd"]:>10.3f}   '
              + ' '.join(f'{v:.3f}' for v in values))
    out = Path(args.work_dir) / 'kfold_summary.json'
    out.write_text(json.dumps(summary, indent=1))
    print(f'summary: {out}')
    return summary


def main(argv=None) -> int:
    """``hip-kfold`` / ``tools/kfold.py``: cross-validate; return the exit status."""
    run(argv)
    return 0
