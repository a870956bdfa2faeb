"""Training and testing the coarse-to-fine hip model through MMEngine's Runner.

A *cascade* config is an ordinary MMPose config of the refining (per-hip) stage
with one extra entry::

    film_stage = dict(config='./hip_effv2_cbam_film_cpu.py', cfg_options=dict())

naming the whole-film stage's config (relative to the cascade config's folder) and
overrides for it. Each stage is an ordinary MMPose top-down model trained by its own
Runner; this module runs them in order under one work dir::

    <work_dir>/film/   the whole-film stage (its logs, checkpoints, val points)
    <work_dir>/hip/    the refining stage
    <work_dir>/best_cascade.pth   both stages' best weights, one weights-only file
    <work_dir>/cascade_state.json what is done (for --resume)

The refining stage's validation and test crops come from the first stage's points
on the same films, handed over as the per-film JSON that :class:`HipMetric` writes
(:mod:`hip_mmpose.utils.records`), read back by :class:`HipRefineDataset`.

A second optional entry, ``calibration = dict(split='train', grade_split='val')``,
measures the refining stage's mean error per hip side and point on the training
films after training (:func:`calibrate`) and stores it in the model, which subtracts
it (:class:`~hip_mmpose.models.HipTopdownPoseEstimator`); with ``grade_split`` it
then fits where the model's IHDI grade is decided on the val films
(:func:`hip_mmpose.geometry.fit_p_line_shift`) and stores that too.
"""

from __future__ import annotations

import copy
import json
import os
import os.path as osp
import time
from pathlib import Path

from mmengine.config import Config

from hip_mmpose.apis.model_files import load_weights, save_published
from hip_mmpose.apis.run_config import (
    SPLIT_LOADERS,
    merge_options,
    set_data_paths,
    use_split_for_test,
)
from hip_mmpose.apis.stages import FILM, HIP, STAGES, film_stage_config
from hip_mmpose.utils.atomic import write_atomic
from hip_mmpose.utils.records import per_film_paths

CASCADE_FILE = 'best_cascade.pth'
STATE_FILE = 'cascade_state.json'


def stage_configs(cfg: Config, work_dir: str, data_root=None, ann_root=None, prepare=None) -> dict:
    """The two stages' configs with work dirs and data paths set.

    Args:
        cfg (Config): a cascade config; a copy without ``film_stage`` is the
            refining (``'hip'``) stage's config.
        work_dir (str): the run's folder; each stage works in ``<work_dir>/<stage>``.
        data_root (str, optional): the films' folder for every loader. Defaults to None
            (the configs').
        ann_root (str, optional): the annotation files' folder for every loader.
            Defaults to None (the configs').
        prepare (callable, optional): ``prepare(cfg, stage name) -> Config`` applies
            the tools' options (launcher, AMP, ...). Defaults to None.

    Returns:
        dict[str, Config]: ``{'film': Config, 'hip': Config}``.
    """
    film = film_stage_config(cfg)
    hip = copy.deepcopy(cfg)
    hip.pop('film_stage')
    hip.pop('calibration', None)
    out = {}
    for name, stage in ((FILM, film), (HIP, hip)):
        set_data_paths(stage, data_root, ann_root)
        stage.work_dir = osp.join(work_dir, name)
        out[name] = prepare(stage, name) if prepare else stage
    return out


# --------------------------------------------------------------------- running
def _runner(cfg: Config, tag: str):
    from hip_mmpose.apis.runner import HipRunner

    # a unique experiment name: two Runners of one process started in the same
    # second would otherwise share MMEngine's logger (and HipMetric's dump folder)
    cfg.experiment_name = (
        f'{tag}_{time.strftime("%Y%m%d_%H%M%S")}_{os.getpid()}_{time.time_ns() % 10**6}'
    )
    return HipRunner.from_cfg(cfg)


def _barrier():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def best_checkpoint(work_dir: str) -> str:
    """The stage's best-on-val checkpoint, else its last one.

    Args:
        work_dir (str): the stage's work dir.

    Returns:
        str: the newest ``best_*.pth`` there, else the path ``last_checkpoint`` names.

    Raises:
        FileNotFoundError: there is neither.
    """
    best = sorted(Path(work_dir).glob('best_*.pth'), key=lambda p: p.stat().st_mtime)
    if best:
        return str(best[-1])
    last = Path(work_dir) / 'last_checkpoint'
    if last.is_file():
        return last.read_text().strip()
    raise FileNotFoundError(f'{work_dir}: no checkpoint (best_*.pth or last_checkpoint)')


def predict_split(cfg: Config, state_dict: dict, split: str, tag: str):
    """Test a stage on ``split`` with given weights.

    Args:
        cfg (Config): the stage's config (copied; its ``load_from`` and ``resume`` are
            not used).
        state_dict (dict): the stage's model weights.
        split (str): the split to test, e.g. ``'val'`` or ``'test'``.
        tag (str): the start of the Runner's experiment name (its log folder).

    Returns:
        tuple[dict, str]: the metrics and the per-film JSON HipMetric wrote.
    """
    cfg = copy.deepcopy(cfg)
    cfg.load_from, cfg.resume = None, False
    use_split_for_test(cfg, split)
    runner = _runner(cfg, tag)
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    model.load_state_dict(state_dict)
    metrics = runner.test()
    _barrier()
    return metrics, per_film_paths(runner.log_dir, split)[0]


def _use_points(cfg: Config, split_files: dict) -> Config:
    for split, path in split_files.items():
        loader = cfg.get(SPLIT_LOADERS[split])
        if loader:
            loader['dataset']['keypoint_file'] = osp.abspath(path)
    return cfg


class CascadeState:
    """What a cascade training has finished (``cascade_state.json``)."""

    def __init__(self, work_dir: str):
        self.path = Path(work_dir) / STATE_FILE
        self.data = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def done(self, stage: str) -> dict | None:
        """What a finished stage recorded.

        Args:
            stage (str): ``'film'`` or ``'hip'``.

        Returns:
            dict | None: its ``checkpoint`` (and, for the first stage, ``val_points``),
            or None where the stage has not finished.
        """
        return self.data.get(stage)

    def mark(self, stage: str, **info):
        """Record a stage as finished and rewrite ``cascade_state.json`` whole.

        Args:
            stage (str): ``'film'`` or ``'hip'``.
            **info: what to keep of it (e.g. ``checkpoint``, ``val_points``).
        """
        self.data[stage] = info
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(self.data, indent=1))


def train_cascade(
    cfg: Config,
    work_dir: str,
    resume: bool = False,
    data_root=None,
    ann_root=None,
    prepare=None,
    validate: bool = True,
    log=print,
) -> str:
    """Train both stages, one Runner each; return the path of ``best_cascade.pth``.

    Args:
        cfg (Config): a cascade config (with ``film_stage``).
        work_dir (str): the run's folder (``film/``, ``hip/`` and the result inside).
        resume (bool): continue whichever stage was interrupted (a finished first
            stage is not trained again). Defaults to False.
        data_root (str, optional): the films' folder for every loader of both
            stages. Defaults to None (the configs').
        ann_root (str, optional): the annotation files' folder. Defaults to None.
        prepare (callable, optional): ``prepare(cfg, stage name)`` returns each
            stage's config with the tools' options applied (launcher, AMP, ...).
            Defaults to None.
        validate (bool): validate each epoch (and keep the best-on-val weights).
            Defaults to True.
        log (callable): where progress lines go. Defaults to ``print``.

    Returns:
        str: the combined weights-only file of both stages.
    """
    stages = stage_configs(cfg, work_dir, data_root, ann_root, prepare)
    if not validate:
        for stage in stages.values():
            stage.val_cfg = stage.val_dataloader = stage.val_evaluator = None
    state = CascadeState(work_dir)
    if not resume:
        state.data = {}

    # 1. whole-film stage
    film_done = state.done(FILM)
    if film_done is None:
        film = stages[FILM]
        if resume and (Path(film.work_dir) / 'last_checkpoint').is_file():
            film.resume, film.load_from = True, None
        log(
            f'== stage 1/2: whole film ({osp.basename(cfg.film_stage["config"])}) '
            f'-> {film.work_dir}'
        )
        _runner(film, FILM).train()
        _barrier()
        film_done = dict(checkpoint=best_checkpoint(film.work_dir))
        if validate:
            # the first stage's points on the val films crop the refining stage's val hips
            _, points = predict_split(
                film, load_weights(film_done['checkpoint']), 'val', f'{FILM}_val'
            )
            film_done['val_points'] = points
        state.mark(FILM, **film_done)
    else:
        log(f'== stage 1/2: whole film: done ({film_done["checkpoint"]})')

    # 2. refining stage
    hip = stages[HIP]
    if validate:
        _use_points(hip, dict(val=film_done['val_points']))
    if resume and (Path(hip.work_dir) / 'last_checkpoint').is_file():
        hip.resume, hip.load_from = True, None
    log(f'== stage 2/2: each hip ({osp.basename(cfg.filename or "config")}) -> {hip.work_dir}')
    _runner(hip, HIP).train()
    _barrier()
    hip_best = best_checkpoint(hip.work_dir)
    film_weights, hip_weights = load_weights(film_done['checkpoint']), load_weights(hip_best)
    hip_done = dict(checkpoint=hip_best)
    if cfg.get('calibration'):
        hip_done['calibration'] = calibrate(
            stages, film_weights, hip_weights, cfg.calibration, film_done.get('val_points'), log
        )
    state.mark(HIP, **hip_done)
    out = osp.join(work_dir, CASCADE_FILE)
    save_published(
        out,
        [
            (FILM, stages[FILM], film_weights, film_done['checkpoint']),
            (HIP, hip, hip_weights, hip_best),
        ],
    )
    log(f'both stages: {out}')
    return out


def _crop_padding(hip_cfg: Config) -> float:
    """The refining stage's box padding: its test pipeline's ``GetBBoxCenterScale`` as
    MMPose builds it (so its default, 1.25, where the config leaves it out)."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import TRANSFORMS

    init_default_scope(hip_cfg.get('default_scope', 'mmpose'))
    for step in hip_cfg.test_dataloader['dataset']['pipeline']:
        if step.get('type') == 'GetBBoxCenterScale':
            return float(TRANSFORMS.build(step).padding)
    raise ValueError(
        f"{hip_cfg.filename}: the refining stage's test pipeline has no "
        "GetBBoxCenterScale, so its crops' scale is unknown"
    )


def calibrate(
    stages: dict,
    film_weights: dict,
    hip_weights: dict,
    calibration: dict,
    val_points: str | None = None,
    log=print,
) -> dict:
    """Measure the refining stage's mean error per hip side and point on a split
    (the training films) and store it in ``hip_weights['keypoint_offsets']``.

    The whole-film stage finds the split's points, the refining stage refines the
    hips around them (as at test time), and
    :func:`hip_mmpose.utils.hip_crops.fit_hip_offsets` measures what is left per point;
    :class:`HipTopdownPoseEstimator` subtracts it from then on. With ``val_points``
    the val split is measured without and with the offsets, for the log; with
    ``calibration['grade_split'] == 'val'`` as well, the grade's P-line shift is fitted
    on the val films' calibrated points (:func:`geometry.fit_p_line_shift`) and stored
    in ``hip_weights['p_line_shift']`` (0, the clinical P-line, where it cannot be
    fitted: too few hips, or a fit out of bounds; the log says why).

    Args:
        stages (dict[str, Config]): the two stages' configs (:func:`stage_configs`).
        film_weights (dict): the whole-film stage's weights.
        hip_weights (dict): the refining stage's weights; its ``keypoint_offsets``
            entry is set.
        calibration (dict): ``split`` (the split the offsets are measured on,
            ``'train'``) and ``grade_split`` (``'val'``, or None to grade at the
            clinical P-line).
        val_points (str, optional): the first stage's per-film JSON on val. Defaults
            to None (no val comparison, no grade fit).
        log (callable): where progress lines go. Defaults to ``print``.

    Returns:
        dict: ``split``, ``films``, ``offsets`` (2 x K x 2 nested list, crop-scale
        units), ``p_line_shift`` and, with ``val_points``, ``val_before`` /
        ``val_after`` metrics.

    Raises:
        ValueError: the refining stage's model is not a ``HipTopdownPoseEstimator``
            (it has nowhere to keep the offsets), the split is not a known one, or
            ``grade_split`` is neither ``'val'`` nor None.
    """
    import numpy as np
    import torch

    from hip_mmpose import geometry
    from hip_mmpose.utils import records, uncertainty
    from hip_mmpose.utils.hip_crops import crop_sides, fit_hip_offsets

    hip = stages[HIP]
    if hip.model.get('type') != 'HipTopdownPoseEstimator':
        raise ValueError(
            f'{hip.filename}: calibration needs model.type='
            f'"HipTopdownPoseEstimator" (got {hip.model.get("type")!r}); set '
            'calibration=None to train without it'
        )
    split = calibration.get('split', 'train')
    if split not in SPLIT_LOADERS:
        raise ValueError(f'calibration split {split!r}: expected one of {sorted(SPLIT_LOADERS)}')
    grade_split = calibration.get('grade_split')
    if grade_split not in (None, 'val'):
        raise ValueError(f"calibration grade_split {grade_split!r}: expected 'val' or None")
    hip_weights['keypoint_offsets'] = torch.zeros(2, geometry.HIP_NUM_KEYPOINTS, 2)
    hip_weights['p_line_shift'] = torch.zeros(())
    hip_weights['uncertainty'] = torch.zeros(uncertainty.NUM_CALIBRATION)
    log(f'== calibration: both stages on the {split} films, mean error per hip side and point')
    _, film_points = predict_split(stages[FILM], film_weights, split, f'{FILM}_{split}')
    _, hip_points = predict_split(
        _use_points(copy.deepcopy(hip), {'test': film_points}), hip_weights, split, f'{HIP}_{split}'
    )
    refined = records.as_arrays(records.read_json(hip_points)[0])
    crops = dict(
        zip(
            *(
                records.as_arrays(records.read_json(film_points)[0])[k]
                for k in ('file', 'keypoints')
            )
        )
    )
    padding = _crop_padding(hip)
    crop_points = np.stack([crops[f] for f in refined['file']])
    offsets = fit_hip_offsets(refined['keypoints'], refined['true_keypoints'], crop_points, padding)
    from hip_mmpose.utils.model_schema import KEYPOINT_OFFSET_LIMIT

    beyond = int((np.abs(offsets) > KEYPOINT_OFFSET_LIMIT).sum())
    if beyond:  # a model file keeps none beyond the bound (utils/model_schema.py)
        log(
            f'   {beyond} offsets beyond +-{KEYPOINT_OFFSET_LIMIT} of the crop (largest '
            f'{np.abs(offsets).max():.3f}) clipped to it: a mean error that large is no '
            'fixed correction (an undertrained stage?)'
        )
        offsets = np.clip(offsets, -KEYPOINT_OFFSET_LIMIT, KEYPOINT_OFFSET_LIMIT)
    side = np.median(crop_sides(crop_points, padding)[:, 0])
    log(
        f'   {len(refined["file"])} films; offsets (px at a median crop of {side:.0f} px): '
        f'mean {np.abs(offsets).mean() * side:.2f}, largest {np.abs(offsets).max() * side:.2f}'
    )
    result = dict(
        split=split, films=len(refined['file']), offsets=offsets.tolist(), p_line_shift=0.0
    )
    val_hip = _use_points(copy.deepcopy(hip), {'test': val_points}) if val_points else None
    if val_hip is not None:  # the offsets are still 0 here
        result['val_before'], _ = predict_split(val_hip, hip_weights, 'val', f'{HIP}_val_raw')
    hip_weights['keypoint_offsets'] = torch.as_tensor(offsets, dtype=torch.float32)
    if val_hip is not None:
        result['val_after'], val_after = predict_split(
            val_hip, hip_weights, 'val', f'{HIP}_val_calib'
        )
        keys = ('hip/AI_MAE', 'hip/MRE', 'hip/AI_r', 'hip/IHDI_kappa')
        log(
            '   val '
            + ', '.join(
                f'{k.split("/")[1]} {result["val_before"].get(k, float("nan")):.3f}'
                f' -> {result["val_after"].get(k, float("nan")):.3f}'
                for k in keys
            )
        )
        if grade_split:
            result['p_line_shift'] = fit_grade_decision(val_after, log)
            hip_weights['p_line_shift'] = torch.tensor(result['p_line_shift'])
        options = calibration.get('uncertainty', {})
        if options is not None:
            result['uncertainty'] = fit_uncertainty(
                val_after, result['p_line_shift'], log, **options
            )
            hip_weights['uncertainty'] = torch.tensor(
                [result['uncertainty'].get(k, 0.0) for k in uncertainty.CALIBRATION_KEYS],
                dtype=torch.float32,
            )
    elif grade_split:
        log('   grade decision: no val films (validation is off); the clinical P-line')
    return result


def fit_grade_decision(per_film: str, log=print) -> float:
    """The grade's P-line shift fitted on a split's per-film JSON, with a log line.

    Args:
        per_film (str): HipMetric's per-film JSON of the calibrated model on val.
        log (callable): where the line goes. Defaults to ``print``.

    Returns:
        float: :func:`geometry.fit_p_line_shift` of its points, or 0.0 (the clinical
        P-line) where that refuses (the log says why).
    """
    import numpy as np

    from hip_mmpose import geometry
    from hip_mmpose.evaluation.hip_metric import hip_measures, summarise
    from hip_mmpose.utils import records

    films = records.as_arrays(records.read_json(per_film)[0])
    pred, truth = films['keypoints'], films['true_keypoints']
    try:
        shift = geometry.fit_p_line_shift(pred, truth)
    except ValueError as err:
        log(f'   grade decision: the clinical P-line ({err})')
        return 0.0
    length = float(np.nanmedian(geometry.h_line_lengths(truth)))
    before, after = (summarise(hip_measures(pred, truth, p_line_shift=s)) for s in (0.0, shift))
    log(
        f'   grade decision: P-line shift {shift:+.4f} of the H-line ({shift * length:+.1f} px '
        f'on the median {length:.0f}-px H-line), fitted on {len(pred)} val films\n'
        '   val '
        + ', '.join(
            f'{k} {before[k]:.3f} -> {after[k]:.3f}'
            for k in ('IHDI_bal_acc', 'IHDI_kappa', 'IHDI_ge2_sens', 'IHDI_ge2_spec')
        )
    )
    return shift


def fit_uncertainty(
    per_film: str,
    p_line_shift: float = 0.0,
    log=print,
    level: float | None = None,
    ai_threshold: float | None = None,
    target_missed: float | None = None,
    band: str = 'normal_calls',
    flag_levels=None,
    edge_powers=None,
) -> dict:
    """The AI intervals, P(grade >= II) and review band fitted on a split's per-film
    JSON (:func:`hip_mmpose.utils.uncertainty.fit_calibration`), with log lines.

    Args:
        per_film (str): HipMetric's per-film JSON of the calibrated model on val
            (with each point's heatmap spread).
        p_line_shift (float): the model's fitted P-line shift. Defaults to 0.0.
        log (callable): where the lines go. Defaults to ``print``.
        level (float, optional): the intervals' coverage (config
            ``calibration.uncertainty.level``). Defaults to None
            (:data:`hip_mmpose.utils.uncertainty.DEFAULT_LEVEL`).
        ai_threshold (float, optional): the AI (deg) whose crossing flags a hip.
            Defaults to None (:data:`hip_mmpose.utils.uncertainty.DEFAULT_AI_THRESHOLD`).
        target_missed (float, optional): the expected share of new abnormal hips
            called normal without a flag (conformal risk control on the val hips).
            Defaults to None
            (:data:`hip_mmpose.utils.uncertainty.DEFAULT_TARGET_MISSED`).
        band (str): the upper end of the band of P(grade >= II): ``'normal_calls'``
            (the probability at the grade decision: only hips called grade I are
            flagged by it) or ``'symmetric'`` (``1 - p_low``). Defaults to
            ``'normal_calls'``.
        flag_levels (sequence[float], optional): the levels the review's AI rule is
            picked from (config ``calibration.uncertainty.flag_levels``). Defaults
            to None (:data:`hip_mmpose.utils.uncertainty.DEFAULT_FLAG_LEVELS`).
        edge_powers (sequence[float], optional): the exponents of the roof edge's
            widening tried (config ``calibration.uncertainty.edge_powers``; ``[0]``
            leaves the edge out). Defaults to None
            (:data:`hip_mmpose.utils.uncertainty.DEFAULT_EDGE_POWERS`).

    Returns:
        dict: the calibration values, ``{}`` where it cannot be fitted (the log says
        why; the model then reports no intervals).
    """
    from hip_mmpose.utils import records, uncertainty

    recs = records.read_json(per_film)[0]
    films = records.as_arrays(recs)
    level = uncertainty.DEFAULT_LEVEL if level is None else level
    ai_threshold = uncertainty.DEFAULT_AI_THRESHOLD if ai_threshold is None else ai_threshold
    target = uncertainty.DEFAULT_TARGET_MISSED if target_missed is None else target_missed
    try:
        fitted = uncertainty.fit_calibration(
            films['keypoints'],
            films['true_keypoints'],
            films['keypoint_spread'],
            p_line_shift,
            level=level,
            ai_threshold=ai_threshold,
            target_missed=target,
            band=band,
            flag_levels=uncertainty.DEFAULT_FLAG_LEVELS if flag_levels is None else flag_levels,
            edges=films['roof_edge'],  # all NaN (records without edges): not used
            edge_powers=uncertainty.DEFAULT_EDGE_POWERS if edge_powers is None else edge_powers,
            doubts=records.film_doubts(recs),
        )
    except ValueError as err:
        log(f'   uncertainty: not calibrated ({err})')
        return {}
    edge = (
        f' x ({fitted["edge_ref"]:.2f} / roof edge)^{fitted["edge_power"]:.2f}'
        if fitted['edge_power']
        else ''
    )
    log(
        f'   uncertainty on {fitted["hips"]} val hips: {level:.0%} AI intervals '
        f'+-{fitted["ai_q"]:.2f} x sqrt({fitted["ai_floor"]:.2f}^2 + sd^2){edge} deg; '
        f'P(grade >= II) = logistic({fitted["grade_a"]:+.2f} {fitted["grade_b"]:+.2f} z); '
        f'review band P in [{fitted["p_low"]:.2f}, {fitted["p_high"]:.2f}] or the '
        f'{fitted["flag_level"]:.0%} interval (+-{fitted["flag_q"]:.2f} x sigma) crossing '
        f'{ai_threshold:g} deg: {fitted["flagged"]:.0%} of the val hips flagged'
    )
    if fitted['allowed'] < 0:
        log(
            f'   only {fitted["abnormal"]} val hips the reference calls abnormal: too few '
            f'to hold target_missed={target:g} (needs '
            f'{uncertainty.fewest_abnormal(target)}), so the band flags every hip called '
            'normal; more val films, or a higher target'
        )
    return {k: fitted[k] for k in uncertainty.CALIBRATION_KEYS}


def test_cascade(
    cfg: Config,
    checkpoint: str,
    work_dir: str,
    split: str = 'test',
    data_root=None,
    ann_root=None,
    prepare=None,
    hip_options: dict | None = None,
) -> dict:
    """Test both stages on ``split``: the first on the whole films, the second on
    the hips around the first stage's points.

    Args:
        cfg (Config): the cascade config (models and loaders).
        checkpoint (str): ``best_cascade.pth`` or a published two-stage file.
        work_dir (str): the run's folder; each stage logs in ``<work_dir>/<stage>``.
        split (str): the split to test. Defaults to ``'test'``.
        data_root (str, optional): the films' folder. Defaults to None (the configs').
        ann_root (str, optional): the annotation files' folder. Defaults to None.
        prepare (callable, optional): ``prepare(cfg, stage name)`` applies the tools'
            options to each stage's config. Defaults to None.
        hip_options (dict, optional): extra entries for the refining stage's config
            (e.g. an added evaluator). Defaults to None.

    Returns:
        dict: ``{'film': metrics, 'hip': metrics, 'film_points': path,
        'per_film': path}``; the ``hip`` metrics are those of the final points.
    """
    from hip_mmpose.apis.model_files import read_published

    stages = stage_configs(cfg, work_dir, data_root, ann_root, prepare)
    weights = dict((name, state) for name, _, state in read_published(checkpoint))
    missing = [s for s in STAGES if s not in weights]
    if missing:
        raise ValueError(
            f"{checkpoint}: a two-stage config needs both stages' weights; "
            f'missing {missing} (train with this config, or publish its '
            f'{CASCADE_FILE})'
        )
    film_metrics, film_points = predict_split(stages[FILM], weights[FILM], split, f'{FILM}_{split}')
    merge_options(stages[HIP], hip_options)
    points = film_points
    for i in range(refine_passes(stages[HIP])):
        # the test loader reads `split`; a later pass crops around the last pass's points
        hip = _use_points(copy.deepcopy(stages[HIP]), {'test': points})
        hip_metrics, points = predict_split(hip, weights[HIP], split, f'{HIP}_{split}_{i + 1}')
    return dict(film=film_metrics, hip=hip_metrics, film_points=film_points, per_film=points)


def refine_passes(hip_cfg: Config) -> int:
    """How often the refining stage looks again at each hip when testing.

    Pass k crops around pass k-1's points, which recovers hips the whole-film stage
    placed far off.

    Args:
        hip_cfg (Config): the refining stage's config.

    Returns:
        int: ``model.test_cfg.refine_passes``, 1 where unset.

    Raises:
        ValueError: it is below 1 or above ``model_schema.MAX_REFINE_PASSES``.
    """
    from hip_mmpose.utils.model_schema import MAX_REFINE_PASSES

    passes = int(hip_cfg.get('model', {}).get('test_cfg', {}).get('refine_passes', 1))
    if not 1 <= passes <= MAX_REFINE_PASSES:
        raise ValueError(
            f'model.test_cfg.refine_passes must be 1-{MAX_REFINE_PASSES}, got {passes}'
        )
    return passes
