"""A run's config: loaded by path or name, pointed at a data set, overridden, and set
up for one split, the visualization and the launcher.

:func:`build_config` is what :func:`hip_mmpose.apis.train` and
:func:`hip_mmpose.apis.test` start from; the other functions each rewrite one part
of a loaded config in place (and return it). The command-line tools map their
options onto these (``hip_mmpose/tools/_cli.py``).
"""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from hip_mmpose.utils.compat import config_entry

#: The loader of each split.
SPLIT_LOADERS = dict(train='train_dataloader', val='val_dataloader', test='test_dataloader')

#: The visualization backends added beside the configs' ``LocalVisBackend``
#: (``--vis-backend``): ``'local'`` adds none.
VIS_BACKENDS = dict(local=None, tensorboard=dict(type='TensorboardVisBackend'))

#: The keys of a two-stage config's ``film_stage`` entry itself (not overrides).
_FILM_STAGE_KEYS = ('config', 'cfg_options')


def load_config(config: str) -> Config:
    """``Config.fromfile`` of a path or a packaged config's name.

    Args:
        config (str): the config file, or a packaged config's name such as
            ``configs/hip_effv2_cbam_cpu.py`` from any directory
            (:func:`hip_mmpose.utils.config_files.config_path`).

    Returns:
        Config: the loaded config.

    Raises:
        SystemExit: one line naming the missing file, or the missing package of
            the training stack.
    """
    import hip_mmpose
    from hip_mmpose.utils.config_files import config_path

    if not hip_mmpose.TRAINING_STACK:  # else: "not in the registry" errors much later
        raise SystemExit(
            f'error: {config} needs the training stack; '
            f'{hip_mmpose.MISSING_STACK_PACKAGE} is not installed '
            f'(pip install "hip_mmpose[mmpose]", README)'
        )
    try:
        return Config.fromfile(config_path(config))
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None


def default_work_dir(config: str) -> str:
    """``./work_dirs/<config name>`` (MMPose's default).

    Args:
        config (str): the config's file name or path.

    Returns:
        str: the work dir.
    """
    return osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])


def set_data_paths(
    cfg: Config, data_root: str | None = None, ann_root: str | None = None
) -> Config:
    """Point every dataloader at one data set.

    Loaders missing from the config are skipped.

    Args:
        cfg (Config): one stage's config.
        data_root (str, optional): the folder with ``<split>/images/``.
            Defaults to None (each loader's own).
        ann_root (str, optional): the folder with ``<split>.json``.
            Defaults to None (``<data_root>/coco``).

    Returns:
        Config: ``cfg``, changed in place.
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


def sync_schedule(cfg: Config, old_max_epochs: int | None) -> Config:
    """Keep the schedule the same shape when ``train_cfg.max_epochs`` changes.

    A scheduler counted in epochs whose ``end`` (and ``T_max``) equalled the
    config's own ``max_epochs`` follows the new value (``train_cfg.max_epochs=12``
    then anneals over 12 epochs, not the config's 20); one counted in iterations
    (``by_epoch=False``: the warm-up) is scaled by the same factor, so that it keeps
    its share of the run (the configs' 100 iterations of 20 epochs become 5 of one
    epoch). Where the run is still shorter than that (a tiny data set),
    :func:`fit_warmup` shortens it when the Runner knows the run's iterations.

    Args:
        cfg (Config): the config after ``train_cfg.max_epochs`` was changed.
        old_max_epochs (int, optional): its value before.

    Returns:
        Config: ``cfg``, changed in place.
    """
    new = cfg.get('train_cfg', {}).get('max_epochs')
    if old_max_epochs is None or new is None or new == old_max_epochs:
        return cfg
    for sched in cfg.get('param_scheduler') or []:
        if not sched.get('by_epoch', True):
            for key in ('begin', 'end'):
                if sched.get(key):
                    sched[key] = max(1, round(sched[key] * new / old_max_epochs))
        elif sched.get('end') == old_max_epochs:
            sched['end'] = new
            if sched.get('T_max') == old_max_epochs - sched.get('begin', 0):
                sched['T_max'] = new - sched.get('begin', 0)
    return cfg


#: The longest share of a run an iteration-based scheduler from its start (the
#: warm-up) may take (:func:`fit_warmup`); the configs' 100 iterations are about a
#: tenth of a 20-epoch run on the 502 real films.
WARMUP_MAX_SHARE = 0.25


def fit_warmup(schedulers, max_iters: int) -> tuple[list, list]:
    """End every iteration-based scheduler from the run's start (the warm-up) within
    :data:`WARMUP_MAX_SHARE` of the run.

    A warm-up is written in iterations for one data set; on a smaller one (or a
    shorter run) it would still be warming up when the run ends. The Runner knows the
    run's iterations only once its training loop is built
    (:class:`hip_mmpose.apis.runner.HipRunner` calls this then).

    Args:
        schedulers (list[dict]): ``param_scheduler`` configs (not changed).
        max_iters (int): the run's iterations (``train_loop.max_iters``).

    Returns:
        tuple[list, list]: the schedulers (copies, a warm-up that was too long ending
        at the share) and ``(type, old end, new end)`` of each one changed.
    """
    import copy

    limit = max(1, int(max_iters * WARMUP_MAX_SHARE))
    out, changed = [], []
    for sched in schedulers:
        sched = copy.deepcopy(sched)
        if (
            isinstance(sched, dict)
            and not sched.get('by_epoch', True)
            and not sched.get('begin', 0)
            and isinstance(sched.get('end'), int)
            and sched['end'] > limit
        ):
            changed.append((sched.get('type'), sched['end'], limit))
            sched['end'] = limit
        out.append(sched)
    return out, changed


def epoch_options(epochs: int | None, two_stages: bool = False) -> dict:
    """The ``cfg_options`` that train every stage for ``epochs`` epochs.

    Args:
        epochs (int, optional): epochs of each stage; None: nothing changes.
        two_stages (bool): the config has a whole-film stage (``film_stage``).
            Defaults to False.

    Returns:
        dict: ``{'train_cfg.max_epochs': epochs}`` and, with ``two_stages``,
        ``film_stage.train_cfg.max_epochs`` too (:func:`sync_schedule` then scales
        each stage's warm-up and cosine); ``{}`` without ``epochs``.

    Raises:
        SystemExit: ``epochs`` is below 1.
    """
    if epochs is None:
        return {}
    if int(epochs) < 1:
        raise SystemExit(f'error: --epochs must be at least 1, got {epochs}')
    options = {'train_cfg.max_epochs': int(epochs)}
    if two_stages:
        options['film_stage.train_cfg.max_epochs'] = int(epochs)
    return options


def merge_options(cfg: Config, options: dict | None) -> Config:
    """``cfg.merge_from_dict(options)`` with the schedule kept on ``max_epochs``.

    Args:
        cfg (Config): the config.
        options (dict, optional): ``{'dotted.key': value}`` overrides (MMEngine's
            ``--cfg-options``). Defaults to None (nothing changes).

    Returns:
        Config: ``cfg``, changed in place.
    """
    if options:
        old = cfg.get('train_cfg', {}).get('max_epochs')
        cfg.merge_from_dict(options)
        sync_schedule(cfg, old)
    return cfg


def build_config(
    config: str | Config,
    data_root: str | None = None,
    ann_root: str | None = None,
    cfg_options: dict | None = None,
    work_dir: str | None = None,
    epochs: int | None = None,
) -> Config:
    """The config of a run: loaded, overridden, pointed at the data, with a work dir.

    The overrides go first (``film_stage=None`` makes a two-stage config's refining
    stage a single-stage config), the data paths last.

    Args:
        config (str | Config): a config file, a packaged config's name
            (``configs/hip_effv2_cbam_cpu.py``), or a loaded config (copied, not
            changed).
        data_root (str, optional): the folder with ``<split>/images/``, for every
            loader. Defaults to None (the config's).
        ann_root (str, optional): the folder with ``<split>.json``. Defaults to None
            (``<data_root>/coco``).
        cfg_options (dict, optional): ``{'dotted.key': value}`` overrides; in a
            two-stage config ``film_stage.<key>`` overrides the whole-film stage
            (kept in ``film_stage.cfg_options``: that stage's config is read when it
            runs). Defaults to None.
        work_dir (str, optional): where logs, checkpoints and metric files go.
            Defaults to None: the config's ``work_dir``, else
            ``./work_dirs/<config name>``.
        epochs (int, optional): train every stage this many epochs, warm-up and
            cosine scaled with it (:func:`epoch_options`; a ``max_epochs`` in
            ``cfg_options`` wins). Defaults to None (the config's).

    Returns:
        Config: the run's config. The whole-film stage of a two-stage config is
        not loaded here: pass ``data_root``/``ann_root`` to :func:`train` or
        :func:`test`, which point both stages at them.

    Raises:
        SystemExit: the config does not exist, or ``film_stage.*`` overrides were
            given for a config without ``film_stage``.
    """
    if isinstance(config, Config):
        import copy

        cfg, name = copy.deepcopy(config), config.filename or 'config'
    else:
        cfg, name = load_config(config), config
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(cfg.filename or name)
    options = dict(cfg_options or {})
    two_stages = options.get('film_stage', cfg.get('film_stage')) is not None
    options = {**epoch_options(epochs, two_stages), **options}
    film = {
        key.split('.', 1)[1]: options.pop(key)
        for key in list(options)
        if key.startswith('film_stage.') and key.split('.')[1] not in _FILM_STAGE_KEYS
    }
    merge_options(cfg, options)
    if film:
        if cfg.get('film_stage') is None:
            raise SystemExit(
                f'error: {name} has no film_stage; drop the '
                f'film_stage.* options ({", ".join(film)})'
            )
        if isinstance(cfg.film_stage, str):  # film_stage='./x.py' is read as well
            cfg.film_stage = dict(config=cfg.film_stage)
        config_entry(cfg.film_stage, 'cfg_options', {}).update(film)
    return set_data_paths(cfg, data_root, ann_root)


def require_annotations(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """Stop with one line naming the convert command when a loader's COCO file is
    missing.

    Args:
        cfg (Config): the run's config.
        splits (tuple[str]): the splits whose loaders (if any) must find their file.
            Defaults to all three.

    Raises:
        SystemExit: ``error: <file> does not exist; convert the annotations first:
            hip-convert ...``.
    """
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
                f'hip-convert {root} --out-dir {osp.dirname(path)}'
            )


def use_split_for_test(cfg: Config, split: str) -> Config:
    """Make the test loader read ``split`` (its COCO file, image folder, dump name).

    Args:
        cfg (Config): one stage's config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        Config: ``cfg``, changed in place.
    """
    dataset = cfg.test_dataloader['dataset']
    folder = osp.dirname(dataset['ann_file'])
    dataset['ann_file'] = osp.join(folder, f'{split}.json')
    dataset['data_prefix'] = dict(img=f'{split}/images/')
    evaluators = (
        cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    )
    for evaluator in evaluators:
        if evaluator.get('type') == 'HipMetric':
            evaluator['dump_name'] = split
    return cfg


def add_dump(cfg: Config, out_file: str | None) -> Config:
    """Also dump the raw predictions of the test loop (MMEngine's ``DumpResults``).

    Args:
        cfg (Config): one stage's config.
        out_file (str, optional): a ``.pkl``/``.pickle`` file. Defaults to None
            (nothing changes).

    Returns:
        Config: ``cfg``, changed in place.

    Raises:
        ValueError: ``out_file`` is not a pickle file name.
    """
    if out_file:
        if not out_file.endswith(('.pkl', '.pickle')):
            raise ValueError(f'a dump file must end with .pkl or .pickle, got {out_file}')
        dump = dict(type='DumpResults', out_file_path=out_file)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = (
            [*evaluators, dump] if isinstance(evaluators, (list, tuple)) else [evaluators, dump]
        )
    return cfg


def set_visualization(
    cfg: Config,
    show: bool = False,
    show_dir: str | None = None,
    interval: int = 1,
    wait_time: float = 1,
    vis_backend: str = 'local',
    draw: bool = True,
) -> Config:
    """MMPose's visualization options (its tools' ``merge_args``) and a vis backend.

    Args:
        cfg (Config): one stage's config.
        show (bool): show each overlay in a window. Defaults to False.
        show_dir (str, optional): write the overlays to this folder (relative to
            the run's timestamp folder, as in MMPose). Defaults to None.
        interval (int): draw every N-th iteration. Defaults to 1.
        wait_time (float): seconds each ``show`` window stays. Defaults to 1.
        vis_backend (str): a key of :data:`VIS_BACKENDS`; ``'tensorboard'`` adds
            MMEngine's ``TensorboardVisBackend`` and turns the overlays on.
            Defaults to ``'local'``.
        draw (bool): enable the ``PoseVisualizationHook`` when anything asks for
            overlays (a two-stage test draws only in the refining stage, whose
            overlays show the final points). Defaults to True.

    Returns:
        Config: ``cfg``, changed in place.

    Raises:
        SystemExit: TensorBoard is asked for but not installed, or the config has
            no visualization hook to enable.
    """
    backend = VIS_BACKENDS[vis_backend]
    if backend is not None:
        if vis_backend == 'tensorboard':
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                raise SystemExit(
                    'error: --vis-backend tensorboard needs the tensorboard '
                    'package: pip install tensorboard==2.21.0'
                ) from None
        backends = config_entry(cfg.visualizer, 'vis_backends', [])
        if not any(b.get('type') == backend['type'] for b in backends):
            backends.append(dict(backend))
    if draw and (show or show_dir is not None or backend is not None):
        hook = cfg.get('default_hooks', {}).get('visualization')
        if hook is None:
            raise SystemExit(
                f'error: {cfg.filename}: default_hooks has no visualization '
                "hook; set visualization=dict(type='PoseVisualizationHook')"
            )
        hook.enable = True
        hook.show = show
        if show:
            hook.wait_time = wait_time
        hook.out_dir = show_dir
        hook.interval = interval
    return cfg


def set_launcher(cfg: Config, launcher: str = 'none') -> Config:
    """Set the job launcher; without CUDA a distributed run uses gloo (compat fix 9).

    Args:
        cfg (Config): one stage's config.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
            Defaults to ``'none'``.

    Returns:
        Config: ``cfg``, changed in place.
    """
    from hip_mmpose.utils.compat import use_gloo_without_cuda

    cfg.launcher = launcher
    if launcher != 'none':
        use_gloo_without_cuda(cfg)
    return cfg
