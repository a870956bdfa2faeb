"""Train and test from Python: what ``hip-train``, ``hip-test`` and ``hip-kfold`` run.

A config is given by path, by a packaged config's name or as a loaded ``Config``;
the data paths, overrides and options are arguments. A two-stage config (with
``film_stage``) runs through :mod:`hip_mmpose.apis.cascade`, one Runner per stage;
any other config through one MMEngine Runner, as MMPose's tools do.

Example:
    >>> from hip_mmpose.apis import test, train
    >>> trained = train('configs/hip_effv2_cbam_cpu.py', data_root='data/films',
    ...                 work_dir='work_dirs/demo',
    ...                 cfg_options={'train_cfg.max_epochs': 12})
    >>> result = test('configs/hip_effv2_cbam_cpu.py', trained.checkpoint,
    ...               data_root='data/films', work_dir='work_dirs/demo_test')
    >>> result.metrics['hip/AI_MAE'], result.per_film
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmengine.config import Config

from hip_mmpose.apis.cascade import best_checkpoint, test_cascade, train_cascade
from hip_mmpose.apis.run_config import (
    add_dump,
    build_config,
    require_annotations,
    set_launcher,
    set_visualization,
    use_split_for_test,
)
from hip_mmpose.apis.runner import HipRunner
from hip_mmpose.apis.stages import FILM, HIP, is_cascade
from hip_mmpose.utils.records import file_sha256, per_film_paths


@dataclass
class TrainResult:
    """What :func:`train` made.

    Attributes:
        checkpoint (str | None): the model to test: a two-stage run's
            ``best_cascade.pth``; a one-stage run's best-on-val checkpoint, else its
            last (None if the config saved none).
        work_dir (str): the run's folder.
        runner (Runner | None): a one-stage run's Runner (after training); None for
            a two-stage run (one Runner per stage).
    """

    checkpoint: str | None
    work_dir: str
    runner: Any = None


@dataclass
class TestResult:
    """What :func:`test` measured.

    Attributes:
        metrics (dict): every metric: the final points' (``hip/AI_MAE``, ...) and, of
            a two-stage model, the whole-film stage's as ``film_stage/hip/...``.
        per_film (str): the per-film JSON ``HipMetric`` wrote for the final points
            (``<split>_per_film.json``; a ``.csv`` beside it).
        work_dir (str): the run's folder.
        stage_metrics (dict): each stage's own metrics by stage name
            (``{'film': ..., 'hip': ...}``); empty for a one-stage model.
    """

    __test__ = False  # not a pytest test class

    metrics: dict
    per_film: str
    work_dir: str
    stage_metrics: dict = field(default_factory=dict)


def _prepare(
    launcher: str, visualization: dict | None, amp: bool = False, auto_scale_lr: bool = False
) -> Callable[[Config, bool], Config]:
    """The per-stage options of a run, as ``prepare(cfg, draw)``."""

    def prepare(cfg: Config, draw: bool = True) -> Config:
        if amp:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        set_launcher(cfg, launcher)
        return set_visualization(cfg, draw=draw, **(visualization or {}))

    return prepare


def train(
    config: str | Config,
    data_root: str | None = None,
    ann_root: str | None = None,
    work_dir: str | None = None,
    cfg_options: dict | None = None,
    resume: bool | str = False,
    validate: bool = True,
    amp: bool = False,
    auto_scale_lr: bool = False,
    launcher: str = 'none',
    visualization: dict | None = None,
    log: Callable[[str], Any] = print,
    epochs: int | None = None,
) -> TrainResult:
    """Train a config: one Runner, or one per stage of a two-stage config.

    Args:
        config (str | Config): a config file, a packaged config's name
            (``configs/hip_effv2_cbam_cpu.py``) or a loaded config (copied).
        data_root (str, optional): the folder with ``<split>/images/``, for every
            loader of every stage. Defaults to None (the config's).
        ann_root (str, optional): the folder with ``<split>.json``. Defaults to None
            (``<data_root>/coco``).
        work_dir (str, optional): the run's folder. Defaults to None (the config's
            ``work_dir``, else ``./work_dirs/<config name>``).
        cfg_options (dict, optional): ``{'dotted.key': value}`` overrides;
            ``film_stage.<key>`` for a two-stage config's whole-film stage
            (:func:`build_config`). The warm-up and the cosine follow
            ``train_cfg.max_epochs``. Defaults to None.
        resume (bool | str): True: continue from the latest checkpoint in the work
            dir (a two-stage run: the stage that was interrupted; a finished first
            stage is not trained again); a path: from that checkpoint (one-stage
            configs only). Defaults to False.
        validate (bool): validate every epoch (and keep the best-on-val weights).
            Defaults to True.
        amp (bool): automatic mixed precision. Defaults to False.
        auto_scale_lr (bool): scale the learning rate by the actual batch size.
            Defaults to False.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``; without
            CUDA a distributed run uses gloo (compat fix 9). The caller closes the
            process group (:func:`hip_mmpose.utils.compat.finish_distributed`) once
            it lets go of the returned Runner, whose model wrapper holds the group.
            Defaults to ``'none'``.
        visualization (dict, optional): keyword arguments of
            :func:`set_visualization` for every stage (``show``, ``show_dir``,
            ``interval``, ``wait_time``, ``vis_backend``). Defaults to None.
        log (callable): where a two-stage run's progress lines go. Defaults to
            ``print``.
        epochs (int, optional): train every stage this many epochs, the warm-up
            and the cosine scaled with it (:func:`build_config`). Defaults to None
            (the config's ``max_epochs``).

    Returns:
        TrainResult: the checkpoint to test, the work dir and (one stage) the Runner.

    Raises:
        ValueError: ``resume`` is a path and the config has two stages.
        SystemExit: the config or a loader's COCO file does not exist (one line
            naming the convert command).
    """
    cfg = build_config(config, data_root, ann_root, cfg_options, work_dir, epochs)
    if is_cascade(cfg) and isinstance(resume, str):
        raise ValueError(
            'a two-stage run resumes from its work dir (resume=True), '
            f'not from a checkpoint: {resume}'
        )
    require_annotations(cfg, ('train', 'val') if validate else ('train',))
    prepare = _prepare(launcher, visualization, amp, auto_scale_lr)
    if is_cascade(cfg):
        checkpoint = train_cascade(
            cfg,
            cfg.work_dir,
            resume=bool(resume),
            data_root=data_root,
            ann_root=ann_root,
            prepare=lambda stage, _: prepare(stage),
            validate=validate,
            log=log,
        )
        return TrainResult(checkpoint, cfg.work_dir)

    if not validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if resume is True:
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    runner = HipRunner.from_cfg(prepare(cfg))
    runner.train()
    try:
        checkpoint = best_checkpoint(cfg.work_dir)
    except FileNotFoundError:  # no checkpoint hook, or another rank's file not yet there
        checkpoint = None
    return TrainResult(checkpoint, cfg.work_dir, runner)


def test(
    config: str | Config,
    checkpoint: str,
    split: str = 'test',
    data_root: str | None = None,
    ann_root: str | None = None,
    work_dir: str | None = None,
    cfg_options: dict | None = None,
    dump: str | None = None,
    launcher: str = 'none',
    visualization: dict | None = None,
) -> TestResult:
    """Test a model on one split with ``HipMetric``.

    A two-stage model runs its whole-film stage on the split's films, then the
    refining stage on the hips around those points (``model.test_cfg.refine_passes``
    times), as :class:`HipInferencer` does.

    Args:
        config (str | Config): a config file, a packaged config's name or a loaded
            config (copied).
        checkpoint (str): a one-stage config's checkpoint; a two-stage config's
            ``best_cascade.pth`` or its published file.
        split (str): the split the test loader reads (``'test'``, ``'val'``,
            ``'train'``). Defaults to ``'test'``.
        data_root (str, optional): the folder with ``<split>/images/``. Defaults to
            None (the config's).
        ann_root (str, optional): the folder with ``<split>.json``. Defaults to None
            (``<data_root>/coco``).
        work_dir (str, optional): the run's folder. Defaults to None (the config's
            ``work_dir``, else ``./work_dirs/<config name>``).
        cfg_options (dict, optional): overrides, as for :func:`train`. Defaults to
            None.
        dump (str, optional): also dump the raw predictions (of the final points)
            to this ``.pkl`` file. Defaults to None.
        launcher (str): as for :func:`train`. Defaults to ``'none'``.
        visualization (dict, optional): keyword arguments of
            :func:`set_visualization`; a two-stage model draws in its refining stage
            only (the final points). Defaults to None.

    Returns:
        TestResult: the metrics, the per-film JSON of the final points, the work dir
        and each stage's metrics.

    Raises:
        ValueError: a two-stage config with a checkpoint that lacks a stage, or a
            ``dump`` that is not a ``.pkl`` file.
        SystemExit: the config or the test split's COCO file does not exist.
    """
    cfg = build_config(config, data_root, ann_root, cfg_options, work_dir)
    _name_model(cfg, checkpoint)
    if split == 'test':
        require_annotations(cfg, ('test',))
    prepare = _prepare(launcher, visualization)
    if is_cascade(cfg):
        out = test_cascade(
            cfg,
            checkpoint,
            cfg.work_dir,
            split=split,
            data_root=data_root,
            ann_root=ann_root,
            prepare=lambda stage, name: prepare(
                add_dump(stage, dump) if name == HIP else stage, draw=name == HIP
            ),
        )
        stages = {FILM: out['film'], HIP: out['hip']}
        metrics = dict(out['hip'], **{f'film_stage/{k}': v for k, v in out['film'].items()})
        return TestResult(metrics, str(out['per_film']), cfg.work_dir, stages)

    cfg.load_from = checkpoint
    if split != 'test':
        use_split_for_test(cfg, split)
    runner = HipRunner.from_cfg(prepare(add_dump(cfg, dump)))
    metrics = runner.test()
    return TestResult(metrics, per_film_paths(runner.log_dir, split)[0], cfg.work_dir)


test.__test__ = False  # not a pytest test function where it is imported


def _name_model(cfg: Config, checkpoint) -> None:
    """Every HipMetric of ``cfg`` writes the model file's SHA-256 prefix into its records."""
    import os.path as osp

    if not osp.isfile(str(checkpoint)):
        return  # the loader names a missing file
    evaluators = cfg.test_evaluator
    for evaluator in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
        if evaluator.get('type') == 'HipMetric':
            evaluator['model_sha256'] = file_sha256(checkpoint)
