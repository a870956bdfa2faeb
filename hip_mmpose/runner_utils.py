"""Config helpers shared by the train and test tools (hip_mmpose/tools/) and the tests."""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from hip_mmpose.apis.run_config import (SPLIT_LOADERS, VIS_BACKENDS,  # noqa: F401
                                        default_work_dir, load_config, merge_options,
                                        require_annotations, set_data_paths,
                                        set_visualization, sync_schedule,
                                        use_split_for_test)
from hip_mmpose.compat import use_gloo_without_cuda


def format_metric_table(metrics: dict, title: str = 'metrics') -> str:
    """A two-column text table of a metrics dict (scalars only)."""
    rows = [(str(k), f'{v:.4f}' if isinstance(v, float) else str(v))
            for k, v in metrics.items() if not isinstance(v, (list, dict))]
    width = max([len(title)] + [len(k) for k, _ in rows]) + 2
    lines = [f'{title:<{width}}value', '-' * (width + 12)]
    lines += [f'{k:<{width}}{v}' for k, v in rows]
    return '\n'.join(lines)


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


def apply_visualization_args(cfg: Config, args, draw: bool = True) -> Config:
    """MMPose's ``merge_args`` idiom for the visualization options.

    Args:
        cfg (Config): one stage's config.
        args: the parsed options of :func:`add_visualization_args`.
        draw (bool): enable the ``PoseVisualizationHook`` (a two-stage test draws
            only in the refining stage, whose overlays show the final points).

    Returns:
        Config: ``cfg``, changed in place.
    """
    return set_visualization(cfg, show=args.show, show_dir=args.show_dir,
                             interval=args.interval, wait_time=args.wait_time,
                             vis_backend=args.vis_backend, draw=draw)


def overlay_dir(log_dir: str, args) -> str | None:
    """Where ``PoseVisualizationHook`` wrote a test's overlays (``--show-dir``)."""
    return osp.join(log_dir, args.show_dir) if args.show_dir is not None else None


def apply_runner_args(cfg: Config, args) -> Config:
    """Apply the shared options; ``--cfg-options`` first, data paths last."""
    import os
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    options = dict(args.cfg_options or {})
    # `film_stage.<key>=v` of a two-stage config: an override of the whole-film stage
    film = {key.split('.', 1)[1]: options.pop(key) for key in list(options)
            if key.startswith('film_stage.')
            and key.split('.')[1] not in ('config', 'cfg_options')}
    merge_options(cfg, options)
    if film:
        if cfg.get('film_stage') is None:
            raise SystemExit(f'error: {args.config} has no film_stage; drop the '
                             f'film_stage.* options ({", ".join(film)})')
        cfg.film_stage.setdefault('cfg_options', {}).update(film)
    set_data_paths(cfg, args.data_root, args.ann_root)
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        use_gloo_without_cuda(cfg)
    return cfg

