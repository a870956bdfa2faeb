#!/usr/bin/env python
"""Evaluate a checkpoint on the test split with MMEngine's Runner.

Example:
    python tools/test.py configs/hip_effv2_cbam.py work_dirs/hip_effv2_cbam/best.pth \
        --data-root ../shared/hip-xray --ann-root data/hip-xray/coco --dump preds.pkl
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hip_mmpose  # noqa: E402,F401  (stack fixes and registries first)
from hip_mmpose.runner_utils import (add_runner_args, apply_runner_args,  # noqa: E402
                                     finish_distributed, format_metric_table,
                                     use_split_for_test)
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--split', default='test',
                        help='split the test loader reads (default: test; e.g. val)')
    parser.add_argument('--report', metavar='DIR',
                        help='also write the report figures and summary page to DIR '
                             '(tools/analyze_results.py)')
    parser.add_argument('--dump', help='also dump raw predictions to this .pkl file')
    add_runner_args(parser)
    return parser.parse_args(argv)


def merge_args(cfg: Config, args) -> Config:
    cfg.load_from = args.checkpoint
    apply_runner_args(cfg, args)
    if args.split != 'test':
        use_split_for_test(cfg, args.split)
    if args.dump:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--dump must end with .pkl or .pickle, got {args.dump}')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = ([*evaluators, dump] if isinstance(evaluators, (list, tuple))
                              else [evaluators, dump])
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    main_process = runner.rank == 0  # every rank gets the metrics; one writes
    if args.launcher != 'none':
        finish_distributed()
    if not main_process:
        return metrics
    print(format_metric_table(metrics, title=f'test metrics ({Path(args.checkpoint).name})'))
    if args.report:
        from hip_mmpose.report import write_report
        dump = Path(runner.log_dir) / f'{args.split}_per_film.json'
        page = write_report(dump, args.report, work_dir=cfg.work_dir)
        print(f'report: {page}')
    return metrics


if __name__ == '__main__':
    main()
