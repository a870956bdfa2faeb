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


def reference_options(cfg_options: dict | None, reference_noise: bool) -> dict | None:
    """``--cfg-options`` with ``test_evaluator.reference_noise=True`` added on request.

    Args:
        cfg_options (dict, optional): the parsed ``--cfg-options``.
        reference_noise (bool): ``--reference-noise``.

    Returns:
        dict | None: the options (of a two-stage config, the refining stage's evaluator:
        the final points').
    """
    if not reference_noise:
        return cfg_options
    return {**(cfg_options or {}), 'test_evaluator.reference_noise': True}


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


def format_headline_table(columns, title: str, prefix: str = '') -> str:
    """The headline metrics (:data:`hip_mmpose.evaluation.hip_metric.HEADLINE_METRICS`,
    then the intervals' :data:`~hip_mmpose.evaluation.hip_metric.UNCERTAINTY_METRICS` of
    a calibrated model) as a text table, one column per metrics dict, the last one's
    95 % intervals beside.

    Args:
        columns (Sequence[tuple[str, dict]]): ``(heading, metrics)`` per column, e.g.
            the whole-film stage's and the final points'.
        title (str): the line above the table.
        prefix (str): the keys' prefix, e.g. ``'hip/'``. Defaults to ``''``.

    Returns:
        str: the table, lines joined by newlines (no trailing newline); a metric none
        of the columns has is left out.
    """
    from hip_mmpose.evaluation.hip_metric import (
        CI_SUFFIXES,
        HEADLINE_METRICS,
        UNCERTAINTY_METRICS,
    )

    def cell(metrics, name):
        value = metrics.get(prefix + name)
        return '' if value is None else f'{value:.3f}' if isinstance(value, float) else str(value)

    last = columns[-1][1]
    rows = []
    for name in HEADLINE_METRICS + UNCERTAINTY_METRICS:
        values = [cell(metrics, name) for _, metrics in columns]
        if not any(values):
            continue
        low, high = (last.get(prefix + name + suffix) for suffix in CI_SUFFIXES)
        interval = f'[{low:.3f}, {high:.3f}]' if low is not None and high is not None else ''
        rows.append((name, values, interval))
    width = max([len('metric')] + [len(name) for name, _, _ in rows]) + 2
    widths = [max(9, len(heading) + 2) for heading, _ in columns]
    head = f'{"metric":<{width}}' + ''.join(
        f'{heading:>{w}}' for (heading, _), w in zip(columns, widths)
    )
    head += '   95 % interval' if any(interval for _, _, interval in rows) else ''
    lines = [title, head, '-' * len(head)]
    lines += [
        f'{name:<{width}}'
        + ''.join(f'{v:>{w}}' for v, w in zip(values, widths))
        + (f'   {interval}' if interval else '')
        for name, values, interval in rows
    ]
    return '\n'.join(lines)


def print_test_tables(result, split: str, checkpoint_name: str) -> None:
    """Print a test's headline metrics (:func:`format_headline_table`) and where every
    metric and each film's result are.

    A two-stage model gets a column for its whole-film stage beside its final points';
    every metric (with its interval) is in the per-film JSON's summary and the run's
    log. Where the metric was asked for the reference's precision
    (``--reference-noise``) its sentence follows.

    Args:
        result (TestResult): what ``apis.test`` returned.
        split (str): the split tested.
        checkpoint_name (str): the model file's name, for the title.
    """
    from hip_mmpose.apis.stages import FILM, HIP
    from hip_mmpose.evaluation.hip_metric import METRIC_PREFIX, describe_reference_noise

    prefix = METRIC_PREFIX + '/'
    if result.stage_metrics:
        columns = [
            ('whole film', result.stage_metrics[FILM]),
            ('final', result.stage_metrics[HIP]),
        ]
        title = (
            f'{split} metrics ({checkpoint_name}): whole film = the whole-film stage only; '
            'final = the final points, refined per hip'
        )
    else:
        columns = [('value', result.metrics)]
        title = f'{split} metrics ({checkpoint_name})'
    print(format_headline_table(columns, title, prefix))
    noise = describe_reference_noise(result.metrics, prefix)
    if noise:
        print(noise)
    shift = _p_line_shift(result.per_film)
    if shift:
        print(
            f"IHDI grades decided at the model's P-line shift {shift:+.4f} of the H-line "
            '(fitted on val; --cfg-options test_evaluator.p_line_shift=0 grades at the '
            'clinical P-line)'
        )
    for line in output_lines(result.per_film):
        print(line)


def output_lines(per_film) -> list[str]:
    """Where a test's outputs are: the per-film JSON (every metric in its ``summary``)
    and CSV, and the run's log (every metric, the environment and the config).

    Args:
        per_film (str): the per-film JSON HipMetric wrote (``<log dir>/<split>_per_film.json``).

    Returns:
        list[str]: one line per output that exists.
    """
    if not per_film:
        return []
    folder = osp.dirname(per_film)
    csv_file = osp.splitext(per_film)[0] + '.csv'
    log = osp.join(folder, osp.basename(folder) + '.log')
    lines = [f'per film:    {per_film}' + (f' and {csv_file}' if osp.isfile(csv_file) else '')]
    lines.append(f'all metrics: the "summary" of {osp.basename(per_film)}')
    if osp.isfile(log):
        lines.append(f'log:         {log}')
    return lines


def _p_line_shift(per_film) -> float:
    """The P-line shift a test's per-film records were graded at (0 where none)."""
    from hip_mmpose.utils import records

    try:
        films = records.read_json(per_film)[0] if per_film else []
    except (OSError, ValueError):
        return 0.0
    return float(films[0].get('ihdi_p_line_shift') or 0.0) if films else 0.0
