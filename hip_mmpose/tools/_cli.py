"""The options and printing train, test and k-fold share (MMPose's CLI shape).

The options map onto :mod:`hip_mmpose.apis` (``train``, ``test``, ``build_config``);
nothing here changes a config itself.
"""
from __future__ import annotations

import os
import os.path as osp


def add_runner_args(parser) -> None:
    """The options tools/train.py and tools/test.py share (MMPose's CLI shape)."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='where logs, checkpoints and metric files go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--data-root', help='folder with <split>/images/ (all loaders)')
    parser.add_argument('--ann-root', help='folder with <split>.json (default: <data-root>/coco)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_epochs=5; in a '
                             'two-stage config film_stage.<key>=value overrides the '
                             'whole-film stage, e.g. film_stage.train_cfg.max_epochs=5')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_visualization_args(parser) -> None:
    """MMPose's visualization options (its tools/train.py and tools/test.py) and
    ``--vis-backend``."""
    from hip_mmpose.apis.run_config import VIS_BACKENDS
    parser.add_argument('--show', action='store_true',
                        help='show each overlay in a window (needs a screen)')
    parser.add_argument('--show-dir', help='write the overlays (hip lines, AI, grade) to '
                        'this folder, relative to <work-dir>/<timestamp>/ as in MMPose '
                        '(a two-stage test: <work-dir>/hip/<timestamp>/, the final points); '
                        'in training the validation overlays go to the vis backends')
    parser.add_argument('--interval', type=int, default=1,
                        help='draw every N-th validation iteration (default 1)')
    parser.add_argument('--wait-time', type=float, default=1,
                        help='seconds each --show window stays (default 1)')
    parser.add_argument('--vis-backend', choices=sorted(VIS_BACKENDS), default='local',
                        help="where scalars and overlays are logged besides the work dir's "
                             "local files: 'tensorboard' adds MMEngine's "
                             'TensorboardVisBackend (<work-dir>/<timestamp>/vis_data/) and '
                             'draws validation overlays')


def visualization_options(args) -> dict:
    """The ``visualization`` argument of ``apis.train``/``apis.test`` from the options
    of :func:`add_visualization_args`."""
    return dict(show=args.show, show_dir=args.show_dir, interval=args.interval,
                wait_time=args.wait_time, vis_backend=args.vis_backend)


def set_local_rank(args) -> None:
    """``LOCAL_RANK`` from ``--local_rank`` unless the launcher set it (MMPose's tools)."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def overlay_dir(log_dir: str, args) -> str | None:
    """Where ``PoseVisualizationHook`` wrote a test's overlays (``--show-dir``)."""
    return osp.join(log_dir, args.show_dir) if args.show_dir is not None else None


def format_metric_table(metrics: dict, title: str = 'metrics') -> str:
    """A two-column text table of a metrics dict (scalars only)."""
    rows = [(str(k), f'{v:.4f}' if isinstance(v, float) else str(v))
            for k, v in metrics.items() if not isinstance(v, (list, dict))]
    width = max([len(title)] + [len(k) for k, _ in rows]) + 2
    lines = [f'{title:<{width}}value', '-' * (width + 12)]
    lines += [f'{k:<{width}}{v}' for k, v in rows]
    return '\n'.join(lines)


def print_test_tables(result, split: str, checkpoint_name: str) -> None:
    """Print a test's metric tables: a two-stage model's whole-film stage, then its
    final points; a one-stage model's one table.

    Args:
        result (TestResult): what ``apis.test`` returned.
        split (str): the split tested.
        checkpoint_name (str): the model file's name, for the titles.
    """
    from hip_mmpose.apis.cascade import FILM, HIP
    if result.stage_metrics:
        tables = [(result.stage_metrics[FILM],
                   f'{split}: whole-film stage only ({checkpoint_name})'),
                  (result.stage_metrics[HIP],
                   f'{split}: final points, refined per hip ({checkpoint_name})')]
    else:
        tables = [(result.metrics, f'{split} metrics ({checkpoint_name})')]
    for table, title in tables:
        print(format_metric_table(table, title=title))
