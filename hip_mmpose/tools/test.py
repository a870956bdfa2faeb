"""Evaluate a model on the test split with MMEngine's Runner and HipMetric.

A two-stage config takes the run's best_cascade.pth (or its published file): the
whole-film stage runs on the split's films, the refining stage on the hips around
those points; both stages' metrics are printed, the final points' last.

Example:
    python tools/test.py configs/hip_effv2_cbam_cpu.py work_dirs/hip_effv2_cbam_cpu/best_cascade.pth \
        --data-root ../shared/hip-xray --ann-root data/hip-xray/coco --report work_dirs/report
"""
import argparse
from pathlib import Path

import hip_mmpose  # noqa: F401  (stack fixes and registries first)
from hip_mmpose.compat import finish_distributed, use_gloo_without_cuda
from hip_mmpose.apis.cascade import HIP, is_cascade, test_cascade
from hip_mmpose.runner_utils import (add_runner_args, add_visualization_args,
                                     apply_runner_args, load_config, apply_visualization_args,
                                     format_metric_table, overlay_dir,
                                     require_annotations, use_split_for_test)
from mmengine.config import Config
from mmengine.runner import Runner


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
    add_visualization_args(parser)
    return parser.parse_args(argv)


def add_dump(cfg: Config, args) -> Config:
    if args.dump:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--dump must end with .pkl or .pickle, got {args.dump}')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = ([*evaluators, dump] if isinstance(evaluators, (list, tuple))
                              else [evaluators, dump])
    return cfg


def stage_args(cfg: Config, args, draw: bool = True) -> Config:
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        use_gloo_without_cuda(cfg)
    # a two-stage run draws its final points: the refining stage's (draw=False for
    # the whole-film stage)
    return apply_visualization_args(cfg, args, draw=draw)


def single_stage_args(cfg: Config, args) -> Config:
    cfg.load_from = args.checkpoint
    if args.split != 'test':
        use_split_for_test(cfg, args.split)
    return stage_args(add_dump(cfg, args), args)


def _rank() -> int:
    from mmengine.dist import get_rank
    return get_rank()


def run(argv=None) -> dict:
    """Test and print the metric tables.

    Args:
        argv (list[str], optional): the command line (default: ``sys.argv[1:]``).

    Returns:
        dict: the final metrics (two stages: the first stage's also, under
        ``film_stage/...``).
    """
    args = parse_args(argv)
    cfg = apply_runner_args(load_config(args.config), args)
    name = Path(args.checkpoint).name
    if args.split == 'test':
        require_annotations(cfg, ('test',))
    if is_cascade(cfg):
        result = test_cascade(cfg, args.checkpoint, cfg.work_dir, split=args.split,
                              data_root=args.data_root, ann_root=args.ann_root,
                              prepare=lambda stage, stage_name: stage_args(
                                  add_dump(stage, args) if stage_name == HIP else stage, args,
                                  draw=stage_name == HIP))
        metrics, per_film = result['hip'], result['per_film']
        tables = [(result['film'], f'{args.split}: whole-film stage only ({name})'),
                  (metrics, f'{args.split}: final points, refined per hip ({name})')]
        metrics = dict(metrics, **{f'film_stage/{k}': v for k, v in result['film'].items()})
    else:
        runner = Runner.from_cfg(single_stage_args(cfg, args))
        metrics = runner.test()
        per_film = Path(runner.log_dir) / f'{args.split}_per_film.json'
        tables = [(metrics, f'{args.split} metrics ({name})')]
    main_process = _rank() == 0  # every rank gets the metrics; one writes
    if args.launcher != 'none':
        finish_distributed()
    if not main_process:
        return metrics
    for table, title in tables:
        print(format_metric_table(table, title=title))
    if args.show_dir is not None:  # PoseVisualizationHook's folder: <log dir>/<show-dir>
        print(f'overlays: {overlay_dir(str(Path(per_film).parent), args)}')
    if args.report:
        from hip_mmpose.report import write_report
        page = write_report(per_film, args.report, work_dir=cfg.work_dir)
        print(f'report: {page}')
    return metrics


def main(argv=None) -> int:
    """``hip-test`` / ``tools/test.py``: test; return the exit status."""
    run(argv)
    return 0
