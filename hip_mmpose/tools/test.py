"""Evaluate a model on the test split with MMEngine's Runner and HipMetric.

A two-stage config takes the run's best_cascade.pth (or its published file): the
whole-film stage runs on the split's films, the refining stage on the hips around
those points; both stages' metrics are printed, the final points' last.

Example:
    python tools/test.py configs/hip_effv2_cbam_cpu.py \
        work_dirs/hip_effv2_cbam_cpu/best_cascade.pth \
        --data-root ../shared/hip-xray --ann-root data/hip-xray/coco --report work_dirs/report
"""

import argparse
from pathlib import Path

import hip_mmpose  # noqa: F401  (stack fixes and registries first)
from hip_mmpose.apis import test
from hip_mmpose.tools._cli import (
    add_debug_arg,
    add_runner_args,
    add_visualization_args,
    one_line_errors,
    overlay_dir,
    print_test_tables,
    reference_options,
    set_local_rank,
    visualization_options,
)
from hip_mmpose.utils.compat import finish_distributed


def parse_args(argv=None):
    """Return ``hip-test``'s options parsed from ``argv`` (None: ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--split', default='test', help='split the test loader reads (default: test; e.g. val)'
    )
    parser.add_argument(
        '--report',
        metavar='DIR',
        help='also write the report figures and summary page to DIR (tools/analyze_results.py)',
    )
    parser.add_argument('--dump', help='also dump raw predictions to this .pkl file')
    parser.add_argument(
        '--reference-noise',
        action='store_true',
        help="also estimate the clinicians' own reading precision from patients with "
        'several films (an analysis resting on assumptions that real readings can '
        'break: hip_mmpose/evaluation/stats.py reference_noise)',
    )
    add_runner_args(parser)
    add_visualization_args(parser)
    add_debug_arg(parser)
    return parser.parse_args(argv)


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
    set_local_rank(args)
    if args.dump and not args.dump.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'--dump must end with .pkl or .pickle, got {args.dump}')
    result = test(
        args.config,
        args.checkpoint,
        split=args.split,
        data_root=args.data_root,
        ann_root=args.ann_root,
        work_dir=args.work_dir,
        cfg_options=reference_options(args.cfg_options, args.reference_noise),
        dump=args.dump,
        launcher=args.launcher,
        visualization=visualization_options(args),
    )
    main_process = _rank() == 0  # every rank gets the metrics; one writes
    if args.launcher != 'none':
        finish_distributed()
    if not main_process:
        return result.metrics
    print_test_tables(result, args.split, Path(args.checkpoint).name)
    if args.show_dir is not None:  # PoseVisualizationHook's folder: <log dir>/<show-dir>
        print(f'overlays: {overlay_dir(str(Path(result.per_film).parent), args)}')
    if args.report:
        from hip_mmpose.report import write_report

        page = write_report(result.per_film, args.report, work_dir=result.work_dir)
        print(f'report: {page}')
    return result.metrics


@one_line_errors
def main(argv=None) -> int:
    """``hip-test`` / ``tools/test.py``: test; return the exit status (2: refused, the
    reason on one line)."""
    run(argv)
    return 0
