"""Model files: training checkpoints, and published weights-only files.

A *published* file (``tools/publish_model.py``, and the ``best_cascade.pth`` that
``tools/train.py`` writes for a two-stage config) holds only tensors and plain
data::

    {'state_dict': {'film': {...}, 'hip': {...}},        # one entry per stage
     'meta': {'format': 'hip_mmpose-published-v2',
              'stages': [{'name': 'film', 'config': '<JSON>', 'source': ..., 'epoch': N},
                         {'name': 'hip', ...}]}}

It loads with ``torch.load(weights_only=True)``, and its configs are JSON data, not
Python: nothing in a downloaded model is executed. (An MMEngine config *file* is
Python and runs when parsed; the JSON form cannot.) A single-stage model has one
stage, ``film``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from mmengine.config import Config

from hip_mmpose.apis.config_check import (
    load_published_config,
    published_config,
    published_config_from_text,
)
from hip_mmpose.apis.stages import FILM, HIP, film_stage_config, is_cascade
from hip_mmpose.utils import model_schema
from hip_mmpose.utils.atomic import write_atomic
from hip_mmpose.utils.compat import load_checkpoint_file, register_checkpoint_check

PUBLISHED_FORMAT = 'hip_mmpose-published-v2'
_OLD_FORMAT = 'hip_mmpose-published-v1'  # one stage, config in meta['config']


def _data_only_config(cfg: Config) -> dict:
    data = json.loads(json.dumps(cfg.to_dict(), default=str))
    data.pop('film_stage', None)  # the stages are stored one by one
    return published_config(data, 'config')  # checked as the loader will check it


def _load(path) -> dict:
    """A model file given to inference, export or publishing, loaded and checked for shape."""
    # torch.load(weights_only=True), checked; no advice to use another file beside it
    ckpt = load_checkpoint_file(path, 'cpu', resume_advice=False)
    if not isinstance(ckpt, dict):
        raise ValueError(
            f'{path}: holds a {type(ckpt).__name__}, not a checkpoint (a mapping with '
            'state_dict and meta)'
        )
    meta = ckpt.get('meta', {})
    if meta is not None and not isinstance(meta, dict):
        raise ValueError(f'{path}: meta is a {type(meta).__name__}, not a mapping')
    return ckpt


def load_weights(checkpoint) -> dict:
    """The model weights of a training checkpoint (tensors only).

    Args:
        checkpoint (str | Path): the checkpoint file, read with
            ``torch.load(weights_only=True)``
            (:func:`hip_mmpose.utils.compat.load_checkpoint_file`).

    Returns:
        dict[str, torch.Tensor]: its ``state_dict`` (or the file itself when it has
        none), non-tensor entries dropped.

    Raises:
        ValueError: the file holds no tensors.
    """
    return _weights_of(_load(checkpoint), checkpoint)


def _weights_of(ckpt, checkpoint) -> dict:
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    state = state if isinstance(state, dict) else {}
    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ValueError(f'{checkpoint}: no model weights in it')
    return state


def check_stage_file(name: str, cfg: dict, weights: dict, source) -> None:
    """Check what a model file declares and fits for one stage (utils/model_schema.py).

    The config's crop size, padding, codec and normalisation, and the weights'
    ``keypoint_offsets`` and ``p_line_shift``, against the schema the ONNX runtime
    checks too; the refining stage's ``refine_passes``.

    Args:
        name (str): ``'film'`` or ``'hip'``.
        cfg (dict): the stage's config as plain data.
        weights (dict): its state dict.
        source (str | Path): the file, for the message.

    Raises:
        ModelSchemaError: a value outside the schema, naming the file, stage and key.
    """
    stage = model_schema.config_stage(name, cfg)
    for key in ('keypoint_offsets', 'p_line_shift'):
        value = weights.get(key)
        if isinstance(value, torch.Tensor):
            stage[key] = value.detach().cpu().double().tolist()
    try:
        model_schema.check_stage(stage)
        test_cfg = (cfg.get('model') or {}).get('test_cfg') or {}
        if name == HIP and isinstance(test_cfg, dict) and 'refine_passes' in test_cfg:
            model_schema.check_refine_passes(test_cfg['refine_passes'])
    except model_schema.ModelSchemaError as err:
        raise model_schema.ModelSchemaError(f'{source} ({name} stage): {err}') from None


def check_pose_model(name: str, model, source) -> None:
    """Check a built stage as the ONNX runtime checks an export: its settings, its
    flip partners, and the codec's heatmap size against the heatmaps the network gives
    (one pass on zeros).

    Args:
        name (str): ``'film'`` or ``'hip'``.
        model (torch.nn.Module): the stage's MMPose model, its weights loaded.
        source (str | Path): the file, for the message.

    Raises:
        ModelSchemaError: a value outside the schema, naming the file, stage and key.
    """
    stage = model_schema.config_stage(name, model.cfg.to_dict())
    meta = model.dataset_meta or {}
    if 'flip_indices' in meta:
        stage['flip_indices'] = [int(i) for i in meta['flip_indices']]
    stage['num_keypoints'] = int(meta.get('num_keypoints', len(stage.get('flip_indices', []))))
    for key in ('keypoint_offsets', 'p_line_shift'):
        value = getattr(model, key, None)
        if isinstance(value, torch.Tensor):
            stage[key] = value.detach().cpu().double().tolist()
    output = None
    try:
        model_schema.check_stage(stage)  # the sizes bounded before a pass is made at them
        width, height = (stage.get('codec') or {}).get('input_size') or stage['input_size']
    except model_schema.ModelSchemaError as err:
        raise model_schema.ModelSchemaError(f'{source} ({name} stage): {err}') from None
    except KeyError:
        width = height = 0
    if width and height:
        param = next(model.parameters(), None)
        device = param.device if param is not None else 'cpu'
        with torch.no_grad():
            heatmaps = model._forward(torch.zeros(1, 3, int(height), int(width), device=device))
        if isinstance(heatmaps, torch.Tensor) and heatmaps.ndim == 4:
            output = (int(heatmaps.shape[3]), int(heatmaps.shape[2]))
    try:
        model_schema.check_stage(stage, output_size=output)
    except model_schema.ModelSchemaError as err:
        raise model_schema.ModelSchemaError(f'{source} ({name} stage): {err}') from None


def save_published(out_file, stages) -> Path:
    """Write a published file of one or more stages whole (:func:`write_atomic`).

    Args:
        out_file (str | Path): where to write it.
        stages (list[tuple]): ``(name, config, state_dict, source)`` per stage; the
            config is a :class:`Config` (stored as JSON), ``source`` the checkpoint
            the weights came from (its name is recorded).

    Returns:
        Path: ``out_file``.
    """
    meta = dict(format=PUBLISHED_FORMAT, stages=[])
    state = {}
    for name, cfg, weights, source in stages:
        data = _data_only_config(cfg)
        check_stage_file(name, data, weights, source)  # nothing outside the schema is published
        meta['stages'].append(
            dict(name=name, config=json.dumps(data), source=Path(str(source)).name)
        )
        state[name] = {k: v.detach().clone().cpu() for k, v in weights.items()}
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out_file, lambda fh: torch.save(dict(state_dict=state, meta=meta), fh))


def is_published(ckpt: dict) -> bool:
    """Whether a loaded checkpoint is a published file (format v2, or the older v1).

    Args:
        ckpt (dict): the loaded file (anything else answers False).

    Returns:
        bool: True when ``ckpt['meta']['format']`` names a published format.
    """
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return isinstance(meta, dict) and meta.get('format') in (PUBLISHED_FORMAT, _OLD_FORMAT)


def read_published(path) -> list[tuple[str, dict, dict]]:
    """Read the stages of a published file: their names, configs and weights.

    The configs are returned as data (dicts) checked by
    :func:`~hip_mmpose.apis.config_check.load_published_config`, never executed.
    A v1 file gives one ``'film'`` stage.

    Args:
        path (str | Path): the published file.

    Returns:
        list[tuple[str, dict, dict]]: ``(stage name, config dict, state_dict)`` per
        stage, in the file's order.

    Raises:
        ValueError: not a published hip_mmpose model, or malformed stage entries.
    """
    return _stages_of(_load(path), path)


def _stages_of(ckpt: dict, path) -> list[tuple[str, dict, dict]]:
    """:func:`read_published` of a file already loaded."""
    if not is_published(ckpt):
        raise ValueError(
            f'{path}: not a published hip_mmpose model (publish a training '
            'checkpoint with tools/publish_model.py)'
        )
    meta = ckpt['meta']
    if meta['format'] == _OLD_FORMAT:
        return [('film', load_published_config(meta.get('config'), path), _weights_of(ckpt, path))]
    states = ckpt.get('state_dict')
    stages = published_stages(meta, path)
    for s in stages:
        if not isinstance(states, dict) or not isinstance(states.get(s['name']), dict):
            raise ValueError(f'{path}: state_dict has no weights of the {s["name"]} stage')
    return [
        (
            s['name'],
            load_published_config(s.get('config'), f'{path} ({s["name"]} stage)'),
            _weights_of(states[s['name']], f'{path} ({s["name"]} stage)'),
        )
        for s in stages
    ]


def published_stages(meta: dict, source) -> list[dict]:
    """The stage entries of a published file's meta, checked for shape.

    Args:
        meta (dict): ``ckpt['meta']`` of a published v2 file.
        source (str | Path): the file, for the error message.

    Returns:
        list[dict]: ``meta['stages']``: a non-empty list of dicts whose ``name`` is
        ``'film'`` or ``'hip'``.

    Raises:
        ValueError: ``meta['stages']`` is not such a list.
    """
    stages = meta.get('stages')
    if (
        not isinstance(stages, list)
        or not stages
        or not all(isinstance(s, dict) and s.get('name') in ('film', 'hip') for s in stages)
    ):
        raise ValueError(
            f'{source}: meta.stages: expected a list of {{"name": "film"|"hip", '
            '"config": ...}} entries'
        )
    return stages


def check_published_meta(checkpoint, path) -> None:
    """Refuse a published file whose embedded configs are not plain data (compat fix 5
    runs this on every checkpoint it loads).

    Args:
        checkpoint: what ``torch.load`` returned.
        path: the file, for messages.

    Raises:
        ValueError: a poisoned or malformed embedded config, naming the file.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and meta.get('format') == 'hip_mmpose-published-v1':
        load_published_config(meta.get('config'), source=path)
    elif isinstance(meta, dict) and meta.get('format') == PUBLISHED_FORMAT:
        for stage in published_stages(meta, path):  # both stages' configs, or refused
            load_published_config(stage.get('config'), source=f'{path} ({stage["name"]} stage)')


register_checkpoint_check(check_published_meta)


def publish_checkpoint(checkpoint, out_file, config=None) -> Path:
    """Write a weights-only copy of ``checkpoint`` with its config(s) as JSON.

    The output name gets the first 8 hex digits of its SHA-256, as MMPose's publish
    tool does: ``<stem>-<sha8>.pth``.

    Args:
        checkpoint (str | Path): a published file (e.g. a two-stage run's
            ``best_cascade.pth``; its stages are re-published as they are) or a
            single-stage training checkpoint.
        out_file (str | Path): the output path before the hash is added; only its
            folder and stem are used.
        config (str | Path | Config, optional): the config of a training
            checkpoint (ignored for a published file). Defaults to None: the one
            MMEngine stored in the checkpoint (``meta['cfg']``, read as data).

    Returns:
        Path: the file written, ``<out_file's folder>/<stem>-<sha8>.pth``.

    Raises:
        ValueError: a training checkpoint with no stored config and none given,
            or with no weights; a stage whose settings or fitted values the loaders
            would refuse (:func:`check_pose_model`: each stage is built and checked
            before anything is written).
    """
    ckpt = _load(checkpoint)
    if is_published(ckpt):
        stages = [
            (name, Config(cfg), state, checkpoint)
            for name, cfg, state in _stages_of(ckpt, checkpoint)
        ]
    else:
        if config is None:
            text = (ckpt.get('meta') or {}).get('cfg')
            if not text:
                raise ValueError(f'{checkpoint}: no config stored; pass one')
            cfg = Config(published_config_from_text(text, checkpoint))  # never executed
        else:
            cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
        stages = [('film', cfg, _weights_of(ckpt, checkpoint), checkpoint)]
    for name, cfg, state, _ in stages:  # built and checked as the loaders will check it
        _build(cfg, state, 'cpu', name, checkpoint)
    out_file = Path(out_file)
    tmp = save_published(out_file.with_name(out_file.name + '.part'), stages)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    final = out_file.with_name(f'{out_file.stem}-{sha}.pth')
    tmp.replace(final)
    return final


def _build(cfg: Config, state: dict | None, device: str, name: str = FILM, source='model'):
    from mmpose.apis import init_model

    model = init_model(cfg, None, device=device)
    if state is not None:
        try:
            model.load_state_dict(state)
        except ValueError as err:  # a fitted value refused (HipTopdownPoseEstimator)
            raise model_schema.ModelSchemaError(f'{source} ({name} stage): {err}') from None
    model.eval()
    check_pose_model(name, model, source)
    return model


def load_pose_models(checkpoint, config=None, device: str = 'cpu') -> dict:
    """Build the MMPose models of a checkpoint, ready for inference.

    Published files (one or two stages) are read with ``weights_only=True`` and their
    embedded JSON configs, unless ``config`` overrides them; a cascade config gives
    both stages. Training checkpoints need ``config`` (a single-stage one); they are
    read the same way (weights_only, with mmengine's classes allow-listed by
    :mod:`hip_mmpose.utils.compat`). Each model is built by ``mmpose.apis.init_model``
    and then given the stage's weights.

    Args:
        checkpoint (str | Path): a published file or a training checkpoint.
        config (str | Path | Config, optional): a config overriding the published
            ones, required for a training checkpoint. Defaults to None.
        device (str): the device the models are built on. Defaults to 'cpu'.

    Returns:
        dict[str, torch.nn.Module]: ``{stage name: model}``, ``'film'`` and (for a
        two-stage model) ``'hip'``.

    Raises:
        ValueError: a training checkpoint without ``config``, or with a two-stage
            ``config``; a two-stage published file with a single-stage ``config``.
    """
    ckpt = _load(checkpoint)
    user_cfg = (
        None
        if config is None
        else config
        if isinstance(config, Config)
        else Config.fromfile(str(config))
    )
    if is_published(ckpt):
        stages = _stages_of(ckpt, checkpoint)
        if user_cfg is not None:
            configs = (
                {FILM: film_stage_config(user_cfg), HIP: user_cfg}
                if is_cascade(user_cfg)
                else {FILM: user_cfg}
            )
        else:
            configs = {name: Config(cfg) for name, cfg, _ in stages}
        missing = [name for name, _, _ in stages if name not in configs]
        if missing:
            raise ValueError(
                f'{checkpoint}: holds the {" and ".join(n for n, _, _ in stages)} stages, '
                f'but the config given configures only the {" and ".join(configs)} stage; '
                'pass the two-stage config (with film_stage), or no config'
            )
        return {
            name: _build(configs[name], state, device, name, checkpoint)
            for name, _, state in stages
        }
    if user_cfg is None:
        raise ValueError(
            f'{checkpoint}: a training checkpoint needs --config '
            '(or publish it with tools/publish_model.py)'
        )
    if is_cascade(user_cfg):
        raise ValueError(
            f"{checkpoint}: a two-stage config needs the run's "
            "best_cascade.pth (or its published file), not one stage's checkpoint"
        )
    return {FILM: _build(user_cfg, _weights_of(ckpt, checkpoint), device, FILM, checkpoint)}
