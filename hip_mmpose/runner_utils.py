"""Config helpers shared by the train and test tools (hip_mmpose/tools/) and the tests."""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from hip_mmpose.compat import use_gloo_without_cuda

SPLIT_LOADERS = dict(train='train_dataloader', val='val_dataloader', test='test_dataloader')


def load_config(config: str) -> Config:
    """``Config.fromfile`` of a path or a packaged config's name (``configs/x.py``
    from any directory); a missing file stops with one line naming it.

    Args:
        config (str): the config file or name (:func:`config_files.config_path`).

    Returns:
        Config: the loaded config.
    """
    import hip_mmpose
    from hip_mmpose.config_files import config_path
    if not hip_mmpose.TRAINING_STACK:  # else: "not in the registry" errors much later
        raise SystemExit(f'error: {config} needs the training stack; '
                         f'{hip_mmpose.MISSING_STACK_PACKAGE} is not installed '
                         f'(pip install "hip_mmpose[mmpose]", README)')
    try:
        return Config.fromfile(config_path(config))
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None


def set_data_paths(cfg: Config, data_root: str | None = None,
                   ann_root: str | None = None) -> Config:
    """Point every dataloader at one data set.

    ``data_root`` holds ``<split>/images/``; ``ann_root`` holds ``<split>.json``
    (default ``<data_root>/coco``). Loaders missing from the config are skipped.
    """
    if data_root is None and ann_root is None:
        return cfg
    for split, key in SPLIT_LOADERS.items():
        loader = cfg.get(key)
        if not loader:
            continue
        dataset = loader['dataset']
        if data_root is not None:
            dataset['data_root'] = data_root
        root = ann_root if ann_root is not None else osp.join(dataset['data_root'], 'coco')
        dataset['ann_file'] = osp.abspath(osp.join(root, f'{split}.json'))
    return cfg


def sync_schedule(cfg: Config, old_max_epochs) -> Config:
    """Keep epoch-based schedulers ending at ``train_cfg.max_epochs``.

    A scheduler whose ``end`` (and ``T_max``) equalled the config's own
    ``max_epochs`` follows a new value set by ``--cfg-options`` (the demo's
    ``train_cfg.max_epochs=12`` then anneals over 12 epochs, not the config's 30).
    """
    new = cfg.get('train_cfg', {}).get('max_epochs')
    if old_max_epochs is None or new is None or new == old_max_epochs:
        return cfg
    for sched in cfg.get('param_scheduler') or []:
        if sched.get('by_epoch', True) and sched.get('end') == old_max_epochs:
            sched['end'] = new
            if sched.get('T_max') == old_max_epochs - sched.get('begin', 0):
                sched['T_max'] = new - sched.get('begin', 0)
    return cfg


def merge_options(cfg: Config, options: dict | None) -> Config:
    """``cfg.merge_from_dict(options)`` with the schedule kept on ``max_epochs``."""
    if options:
        old = cfg.get('train_cfg', {}).get('max_epochs')
        cfg.merge_from_dict(options)
        sync_schedule(cfg, old)
    return cfg


def require_annotations(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """Stop with one line naming the convert command when a loader's COCO file is missing."""
    for split in splits:
        loader = cfg.get(SPLIT_LOADERS[split])
        if not loader:
            continue
        dataset = loader['dataset']
        ann = dataset.get('ann_file', '')
        path = ann if osp.isabs(ann) else osp.join(dataset.get('data_root') or '', ann)
        if ann and not osp.isfile(path):
            root = dataset.get('data_root') or '<data root>'
            raise SystemExit(
                f'error: {path} does not exist; convert the annotations first: '
                f'hip-convert {root} --out-dir {osp.dirname(path)}')


def use_split_for_test(cfg: Config, split: str) -> Config:
    """Make the test loader read ``split`` (its COCO file, image folder, dump name)."""
    dataset = cfg.test_dataloader['dataset']
    folder = osp.dirname(dataset['ann_file'])
    dataset['ann_file'] = osp.join(folder, f'{split}.json')
    dataset['data_prefix'] = dict(img=f'{split}/images/')
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get('type') == 'HipMetric':
            evaluator['dump_name'] = split
    return cfg


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


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


#: ``--vis-backend`` choices: the backends added beside the configs' LocalVisBackend
VIS_BACKENDS = dict(local=None, tensorboard=dict(type='TensorboardVisBackend'))


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
    backend = VIS_BACKENDS[args.vis_backend]
    if backend is not None:
        if args.vis_backend == 'tensorboard':
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                raise SystemExit('error: --vis-backend tensorboard needs the tensorboard '
                                 'package: pip install tensorboard==2.21.0') from None
        backends = cfg.visualizer.setdefault('vis_backends', [])
        if not any(b.get('type') == backend['type'] for b in backends):
            backends.append(dict(backend))
    if draw and (args.show or args.show_dir is not None or backend is not None):
        hook = cfg.get('default_hooks', {}).get('visualization')
        if hook is None:
            raise SystemExit(f'error: {cfg.filename}: default_hooks has no visualization '
                             "hook; set visualization=dict(type='PoseVisualizationHook')")
        hook.enable = True
        hook.show = args.show
        if args.show:
            hook.wait_time = args.wait_time
        hook.out_dir = args.show_dir
        hook.interval = args.interval
    return cfg


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

