"""The options and printing train, test and k-fold share (MMPose's CLI shape).

The options map onto :mod:`hip_mmpose.apis` (``train``, ``test``, ``build_config``);
nothing here changes a config itself.
"""

from __future__ import annotations

import functools
import os
import os.path as osp
import sys

#: The option that shows an error's traceback instead of its one-line message.
DEBUG_OPTION = '--debug'


def add_debug_arg(parser) -> None:
    """Add ``--debug``: an error shows its traceback, not just its one-line message.

    Args:
        parser (argparse.ArgumentParser): the parser to add it to.
    """
    parser.add_argument(
        DEBUG_OPTION,
        action='store_true',
        help='on an error, show its traceback (default: one line naming the file and why)',
    )


def error_line(err: BaseException) -> str:
    """An error as one line: a refusal (``ValueError``, ``OSError``, a checkpoint the
    loader refused) by its message, anything else with its type and a pointer to
    ``--debug``.

    Args:
        err (BaseException): the error.

    Returns:
        str: ``'error: ...'``, without a newline.
    """
    text = ' '.join(str(err).split()) or type(err).__name__
    if isinstance(err, (ValueError, OSError)) or type(err).__name__ == 'CheckpointLoadError':
        return f'error: {text[:1000]}'
    return f'error: {type(err).__name__}: {text[:1000]} (run with {DEBUG_OPTION} for the traceback)'


def one_line_errors(main):
    """Make a tool's ``main(argv) -> status`` print an error as one line and return 2.

    With ``--debug`` among the arguments the error is raised as it is (traceback).
    ``SystemExit`` and ``KeyboardInterrupt`` pass through.

    Args:
        main (callable): the tool's ``main``.

    Returns:
        callable: ``main`` wrapped.
    """

    @functools.wraps(main)
    def wrapped(argv=None):
        given = sys.argv[1:] if argv is None else list(argv)
        try:
            return main(argv)
        except Exception as err:
            if DEBUG_OPTION in given:
                raise
            print(error_line(err), file=sys.stderr)
            return 2

    return wrapped


def add_runner_args(parser) -> None:
    """Add the options tools/train.py and tools/test.py share (MMPose's CLI shape).

    ``--work-dir``, ``--data-root``, ``--ann-root``, ``--cfg-options``, ``--launcher``
    and ``--local_rank``.

    Args:
        parser (argparse.ArgumentParser): the parser to add them to.
    """
    from mmengine.config import DictAction

    parser.add_argument(
        '--work-dir',
        help='where logs, checkpoints and metric files go (default: work_dirs/<config name>)',
    )
    parser.add_argument('--data-root', help='folder with <split>/images/ (all loaders)')
    parser.add_argument('--ann-root', help='folder with <split>.json (default: <data-root>/coco)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. train_cfg.max_epochs=5; in a '
        'two-stage config film_stage.<key>=value overrides the '
        'whole-film stage, e.g. film_stage.train_cfg.max_epochs=5',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_visualization_args(parser) -> None:
    """Add MMPose's visualization options (its tools/train.py, tools/test.py) and ``--vis-backend``.

    Args:
        parser (argparse.ArgumentParser): the parser to add them to.
    """
    from hip_mmpose.apis.run_config import VIS_BACKENDS

    parser.add_argument(
        '--show', action='store_true', help='show each overlay in a window (needs a screen)'
    )
    parser.add_argument(
        '--show-dir',
        help='write the overlays (hip lines, AI, grade) to '
        'this folder, relative to <work-dir>/<timestamp>/ as in MMPose '
        '(a two-stage test: <work-dir>/hip/<timestamp>/, the final points); '
        'in training the validation overlays go to the vis backends',
    )
    parser.add_argument(
        '--interval', type=int, default=1, help='draw every N-th validation iteration (default 1)'
    )
    parser.add_argument(
        '--wait-time', type=float, default=1, help='seconds each --show window stays (default 1)'
    )
    parser.add_argument(
        '--vis-backend',
        choices=sorted(VIS_BACKENDS),
        default='local',
        help="where scalars and overlays are logged besides the work dir's "
        "local files: 'tensorboard' adds MMEngine's "
        'TensorboardVisBackend (<work-dir>/<timestamp>/vis_data/) and '
        'draws validation overlays',
    )


def visualization_options(args) -> dict:
    """The ``visualization`` argument of ``apis.train``/``apis.test`` from the options.

    Args:
        args (argparse.Namespace): parsed options of :func:`add_visualization_args`.

    Returns:
        dict: ``show``, ``show_dir``, ``interval``, ``wait_time`` and ``vis_backend``.
    """
    return dict(
        show=args.show,
        show_dir=args.show_dir,
        interval=args.interval,
        wait_time=args.wait_time,
        vis_backend=args.vis_backend,
    )


def set_local_rank(args) -> None:
    """Set ``LOCAL_RANK`` from ``--local_rank`` unless the launcher set it (MMPose's tools).

    Args:
        args (argparse.Namespace): parsed options of :func:`add_runner_args`.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def overlay_dir(log_dir: str, args) -> str | None:
    """Where ``PoseVisualizationHook`` wrote a test's overlays (``--show-dir``).

    Args:
        log_dir (str): the test Runner's log folder (``<work-dir>/<timestamp>``).
        args (argparse.Namespace): parsed options with ``show_dir``.

    Returns:
        str | None: ``<log_dir>/<show_dir>``, or None without ``--show-dir``.
    """
    return osp.join(log_dir, args.show_dir) if args.show_dir is not None else None


def format_metric_table(metrics: dict, title: str = 'metrics') -> str:
    """A two-column text table of a metrics dict (lists and dicts left out).

    Args:
        metrics (dict): metric name to value; floats are shown with 4 decimals.
        title (str): the first column's heading. Defaults to ``'metrics'``.

    Returns:
        str: the table, lines joined by newlines (no trailing newline).
    """
    rows = [
        (str(k), f'{v:.4f}' if isinstance(v, float) else str(v))
        for k, v in metrics.items()
        if not isinstance(v, (list, dict))
    ]
    width = max([len(title)] + [len(k) for k, _ in rows]) + 2
    lines = [f'{title:<{width}}value', '-' * (width + 12)]
    lines += [f'{k:<{width}}{v}' for k, v in rows]
    return '\n'.join(lines)


def print_test_tables(result, split: str, checkpoint_name: str) -> None:
    """Print a test's metric tables (:func:`format_metric_table`).

    A two-stage model gets its whole-film stage's table, then its final points'; a
    one-stage model its one table.

    Args:
        result (TestResult): what ``apis.test`` returned.
        split (str): the split tested.
        checkpoint_name (str): the model file's name, for the titles.
    """
    from hip_mmpose.apis.stages import FILM, HIP
    from hip_mmpose.evaluation.hip_metric import METRIC_PREFIX, describe_reference_noise

    if result.stage_metrics:
        tables = [
            (result.stage_metrics[FILM], f'{split}: whole-film stage only ({checkpoint_name})'),
            (
                result.stage_metrics[HIP],
                f'{split}: final points, refined per hip ({checkpoint_name})',
            ),
        ]
    else:
        tables = [(result.metrics, f'{split} metrics ({checkpoint_name})')]
    for table, title in tables:
        print(format_metric_table(table, title=title))
    noise = describe_reference_noise(result.metrics, METRIC_PREFIX + '/')
    if noise:
        print(noise)
    shift = _p_line_shift(result.per_film)
    if shift:
        print(
            f"IHDI grades decided at the model's P-line shift {shift:+.4f} of the H-line "
            '(fitted on val; --cfg-options test_evaluator.p_line_shift=0 grades at the '
            'clinical P-line)'
        )


def _p_line_shift(per_film) -> float:
    """The P-line shift a test's per-film records were graded at (0 where none)."""
    from hip_mmpose.utils import records

    try:
        films = records.read_json(per_film)[0] if per_film else []
    except (OSError, ValueError):
        return 0.0
    return float(films[0].get('ihdi_p_line_shift') or 0.0) if films else 0.0
