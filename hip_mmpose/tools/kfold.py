"""Train and test a config on every fold; print each metric as mean +- sd over folds.

Example:
    python tools/split_dataset.py all_films/ --out-dir data/folds --folds 5
    python tools/kfold.py configs/hip_effv2_cbam_cpu.py data/folds --work-dir work_dirs/kfold \
        --cfg-options train_cfg.max_epochs=30

Each fold<i>/ holds train/, val/ and test/ in the template layout; the fold's COCO
files are written to fold<i>/coco/. Model selection uses val; test is held out.
``--resume`` continues an interrupted run fold by fold (``tools/train.py --resume``).
"""
import argparse
import json
from pathlib import Path

import hip_mmpose  # noqa: F401
import numpy as np
from mmengine.config import DictAction

from hip_mmpose.apis import test, train
from hip_mmpose.data_tools.csv_to_coco import convert_dataset
from hip_mmpose.datasets import METAINFO_FILE
from hip_mmpose.evaluation.hip_metric import HEADLINE_METRICS, METRIC_PREFIX
from hip_mmpose.tools._cli import print_test_tables

HEADLINE = tuple(f'{METRIC_PREFIX}/{name}' for name in HEADLINE_METRICS)


def run(argv=None) -> dict:
    """Cross-validate; return ``{metric: {mean, sd, folds}}`` (also written to
    ``<work-dir>/kfold_summary.json``)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('folds_root', help='folder with fold0/, fold1/, ...')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='passed to train and test, e.g. train_cfg.max_epochs=30')
    parser.add_argument('--resume', action='store_true',
                        help='continue each fold where its work dir stopped (a finished '
                             'stage is not trained again); give the same --cfg-options')
    args = parser.parse_args(argv)
    folds = sorted(p for p in Path(args.folds_root).iterdir()
                   if p.is_dir() and p.name.startswith('fold'))
    if not folds:
        raise SystemExit(f'error: {args.folds_root}: no fold<i>/ folders')
    results = {}
    for fold in folds:
        ann_root = fold / 'coco'
        convert_dataset(fold, ann_root, metainfo_file=METAINFO_FILE, progress=False)
        common = dict(data_root=str(fold), ann_root=str(ann_root),
                      work_dir=str(Path(args.work_dir) / fold.name),
                      cfg_options=args.cfg_options)
        # model selection on val: best_cascade.pth (two stages) or best_*.pth
        best = train(args.config, resume=args.resume, **common).checkpoint
        if best is None:
            raise SystemExit(f'error: {common["work_dir"]}: training saved no checkpoint')
        tested = test(args.config, best, **common)
        print_test_tables(tested, 'test', Path(best).name)
        results[fold.name] = tested.metrics
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
