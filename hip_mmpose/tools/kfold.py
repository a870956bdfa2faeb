"""Train and test a config on every fold; print each metric as mean +- sd over folds.

Example:
    python tools/split_dataset.py all_films/ --out-dir data/folds --folds 5
    python tools/kfold.py configs/hip_effv2_cbam_cpu.py data/folds --work-dir work_dirs/kfold \
        --cfg-options train_cfg.max_epochs=30

Each fold<i>/ holds train/, val/ and test/ in the template layout; the fold's COCO
files are written to fold<i>/coco/. Model selection uses val; test is held out.
``--resume`` continues an interrupted run fold by fold (``tools/train.py --resume``).

Every film is in exactly one fold's test part, so the folds' test records together
hold one out-of-fold prediction per film: they are pooled into
``<work-dir>/oof_per_film.json`` (and ``.csv``), whose metrics (the ``pooled`` column,
with patient-level bootstrap intervals) measure the config on all the films at once;
``tools/analyze_results.py`` draws its report.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from mmengine.config import DictAction

import hip_mmpose  # noqa: F401
from hip_mmpose.apis import test, train
from hip_mmpose.data_tools.csv_to_coco import convert_dataset
from hip_mmpose.datasets import METAINFO_FILE
from hip_mmpose.evaluation.hip_metric import (
    CI_SUFFIXES,
    HEADLINE_METRICS,
    METRIC_PREFIX,
    REFERENCE_METRICS,
    UNCERTAINTY_METRICS,
    describe_reference_noise,
    summarise_records,
)
from hip_mmpose.tools._cli import print_test_tables, reference_options
from hip_mmpose.utils import records

#: the table's rows (those every fold reports): the headline, the intervals' (a calibrated
#: model), then (--reference-noise) the reference's precision
HEADLINE = tuple(
    f'{METRIC_PREFIX}/{name}' for name in HEADLINE_METRICS + UNCERTAINTY_METRICS + REFERENCE_METRICS
)
#: the pooled out-of-fold records, in the work dir (a ``.csv`` beside it)
POOLED_NAME = 'oof'


def pool_folds(
    per_film: dict, work_dir, bootstrap: int = 1000, reference_noise: bool = False
) -> tuple[dict, str]:
    """Pool the folds' test records: one out-of-fold prediction per film.

    Args:
        per_film (dict): fold name to its test per-film JSON.
        work_dir (str | Path): where ``oof_per_film.json`` / ``.csv`` are written.
        bootstrap (int): resamples of the patient-level bootstrap. Defaults to 1000.
        reference_noise (bool): add the reference's precision (an opt-in analysis,
            :func:`hip_mmpose.evaluation.stats.reference_noise`). Defaults to False.

    Returns:
        tuple[dict, str]: the pooled metrics (:func:`summarise_records`, without the
        ``hip/`` prefix) and the JSON's path.

    Raises:
        records.RecordError: a film is in two folds' test parts.
    """
    films = [
        dict(film, fold=fold)
        for fold, path in per_film.items()
        for film in records.read_json(path)[0]
    ]
    metrics = summarise_records(films, bootstrap=bootstrap, reference_noise=reference_noise)
    json_path, _ = records.write_per_film(
        work_dir, POOLED_NAME, films, dict(metrics, folds=sorted(per_film))
    )
    return metrics, json_path


def run(argv=None) -> dict:
    """Cross-validate; return ``{metric: {mean, sd, folds}}`` (also written to
    ``<work-dir>/kfold_summary.json``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('config')
    parser.add_argument('folds_root', help='folder with fold0/, fold1/, ...')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--epochs',
        type=int,
        metavar='N',
        help='train every stage of every fold N epochs (tools/train.py --epochs)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='passed to train and test, e.g. train_cfg.max_epochs=30',
    )
    parser.add_argument(
        '--reference-noise',
        action='store_true',
        help="also estimate the clinicians' reading precision (tools/test.py --reference-noise)",
    )
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue each fold where its work dir stopped (a finished '
        'stage is not trained again); give the same --cfg-options',
    )
    args = parser.parse_args(argv)
    folds = sorted(
        p for p in Path(args.folds_root).iterdir() if p.is_dir() and p.name.startswith('fold')
    )
    if not folds:
        raise SystemExit(f'error: {args.folds_root}: no fold<i>/ folders')
    results, per_film = {}, {}
    for fold in folds:
        ann_root = fold / 'coco'
        convert_dataset(fold, ann_root, metainfo_file=METAINFO_FILE, progress=False)
        common = dict(
            data_root=str(fold),
            ann_root=str(ann_root),
            work_dir=str(Path(args.work_dir) / fold.name),
            cfg_options=args.cfg_options,
        )
        # model selection on val: best_cascade.pth (two stages) or best_*.pth
        best = train(args.config, resume=args.resume, epochs=args.epochs, **common).checkpoint
        if best is None:
            raise SystemExit(f'error: {common["work_dir"]}: training saved no checkpoint')
        tested = test(
            args.config,
            best,
            **dict(common, cfg_options=reference_options(args.cfg_options, args.reference_noise)),
        )
        print_test_tables(tested, 'test', Path(best).name)
        results[fold.name], per_film[fold.name] = tested.metrics, tested.per_film
    pooled, pooled_path = pool_folds(per_film, args.work_dir, reference_noise=args.reference_noise)
    keys = [
        k
        for k in HEADLINE
        if all(k in m for m in results.values()) and k.split('/', 1)[1] in pooled
    ]
    print(
        f'\n{len(results)}-fold cross-validation of {args.config} (test part of each '
        f"fold; pooled: the {pooled['bootstrap']['films']} films' out-of-fold "
        f'predictions together, 95 % interval by patient bootstrap)'
    )
    width = max([len('metric')] + [len(k) for k in keys]) + 2
    print(f'{"metric":<{width}}{"mean":>8}{"sd":>8}{"pooled":>8}{"interval":>18}   per fold')
    summary = {}
    for key in keys:
        values = np.array([results[f][key] for f in results], float)
        name = key.split('/', 1)[1]
        interval = (
            [pooled[name + s] for s in CI_SUFFIXES] if name + CI_SUFFIXES[0] in pooled else None
        )
        summary[key] = dict(
            mean=float(values.mean()),
            sd=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            folds=values.tolist(),
            pooled=pooled[name],
            pooled_ci=interval,
        )
        shown = f'[{interval[0]:.3f}, {interval[1]:.3f}]' if interval else ''
        print(
            f'{key:<{width}}{values.mean():>8.3f}{summary[key]["sd"]:>8.3f}'
            f'{pooled[name]:>8.3f}{shown:>18}   ' + ' '.join(f'{v:.3f}' for v in values)
        )
    noise = describe_reference_noise(pooled)
    if noise:
        print(f'pooled {noise}')
    out = Path(args.work_dir) / 'kfold_summary.json'
    out.write_text(json.dumps(summary, indent=1))
    print(
        f'summary: {out}\nout-of-fold records: {pooled_path} (report: '
        f'tools/analyze_results.py {pooled_path} --out-dir <folder>)'
    )
    return summary


def main(argv=None) -> int:
    """``hip-kfold`` / ``tools/kfold.py``: cross-validate; return the exit status."""
    run(argv)
    return 0
