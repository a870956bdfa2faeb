"""Exporting a published hip model (both stages) to one ONNX file.

The file holds the two networks as two independent subgraphs of one graph (see
:mod:`hip_mmpose.runtime.model`: ``film_input -> film_heatmaps`` and ``hip_input
-> hip_heatmaps``, dynamic batch) and, in its ``metadata_props``, everything the
torch-free runtime needs around them, read from the models MMPose builds from the
published configs (codec objects, test pipelines, data preprocessors, test_cfg and
dataset metainfo), so no setting is written twice.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch
from mmengine.registry import init_default_scope
from mmpose.registry import TRANSFORMS

from hip_mmpose.apis.cascade import refine_passes
from hip_mmpose.apis.model_files import load_pose_models
from hip_mmpose.apis.stages import FILM, HIP
from hip_mmpose.runtime import heatmaps as runtime_heatmaps
from hip_mmpose.runtime.model import (
    FLIP_MODES,
    METADATA_KEY,
    ONNX_FORMAT,
    STAGE_NAMES,
    check_metadata,
    stage_names,
)
from hip_mmpose.utils.atomic import write_atomic

#: test-pipeline steps the runtime reproduces; anything else cannot be exported
PIPELINE_STEPS = (
    'LoadImage',
    'LoadFilm',
    'RankFilm',
    'MirrorHip',
    'GetBBoxCenterScale',
    'TopdownAffine',
    'PackPoseInputs',
)
DEFAULT_OPSET = 17


class ExportError(ValueError):
    """A model the runtime cannot reproduce; the message names the file and the setting."""


def _pipeline_settings(model, source) -> dict:
    """Box padding, input size, UDP and mirroring from the stage's test pipeline,
    read from the transforms MMPose builds (their defaults included)."""
    init_default_scope(model.cfg.get('default_scope', 'mmpose'))
    steps = {}
    for step in model.cfg.test_dataloader.dataset.pipeline:
        if step['type'] not in PIPELINE_STEPS:
            raise ExportError(
                f'{source}: test pipeline step {step["type"]!r} has no '
                f'ONNX runtime equivalent (supported: {", ".join(PIPELINE_STEPS)})'
            )
        steps[step['type']] = TRANSFORMS.build(step)
    if 'GetBBoxCenterScale' not in steps or 'TopdownAffine' not in steps:
        raise ExportError(
            f'{source}: test pipeline without GetBBoxCenterScale and '
            'TopdownAffine: not a top-down model'
        )
    if steps.get('LoadImage') is not None and steps['LoadImage'].to_float32:
        raise ExportError(f'{source}: LoadImage(to_float32=True) is not supported')
    order = [step['type'] for step in model.cfg.test_dataloader.dataset.pipeline]
    if 'RankFilm' in steps and order.index('RankFilm') > order.index('GetBBoxCenterScale'):
        raise ExportError(
            f'{source}: RankFilm after the crop; the runtime ranks the whole film '
            '(put it right after LoadFilm)'
        )
    affine = steps['TopdownAffine']
    return dict(
        input_size=[int(v) for v in affine.input_size],
        bbox_padding=float(steps['GetBBoxCenterScale'].padding),
        use_udp=bool(affine.use_udp),
        mirror_hip='MirrorHip' in steps,
        rank_film='RankFilm' in steps,
        **({'rank_end_share': steps['RankFilm'].end_share} if 'RankFilm' in steps else {}),
    )


def _codec_settings(model, source) -> dict:
    codec = getattr(model.head, 'decoder', None)
    kind = type(codec).__name__
    if kind not in runtime_heatmaps.CODECS:
        raise ExportError(
            f'{source}: codec {kind!r} is not supported by the ONNX runtime '
            f'(supported: {", ".join(runtime_heatmaps.CODECS)})'
        )
    settings = dict(type=kind)
    for key in runtime_heatmaps.CODECS[kind]:
        value = getattr(codec, key)
        settings[key] = (
            value
            if isinstance(value, (bool, str))
            else [int(v) for v in value]
            if isinstance(value, (tuple, list))
            else int(value)
        )
    return settings


def stage_metadata(name: str, model, source) -> dict:
    """The runtime's description of one stage, read from the model MMPose built.

    The keys are ``STAGE_KEYS`` of :mod:`hip_mmpose.runtime.model`: input/output
    names, keypoint count, test-pipeline settings, normalisation, codec, flip test.

    Args:
        name (str): ``'film'`` or ``'hip'``.
        model (TopdownPoseEstimator): the stage's MMPose model.
        source (str | Path): the published file, for messages.

    Returns:
        dict: JSON-ready settings.

    Raises:
        ExportError: a setting the runtime does not reproduce (padding of the
            preprocessor, flip mode, codec, test-pipeline step), named.
    """
    where = f'{source} ({name} stage)'
    pre = model.data_preprocessor
    if getattr(pre, 'pad_size_divisor', 1) != 1:
        raise ExportError(f'{where}: data_preprocessor.pad_size_divisor != 1 is not supported')
    test_cfg = dict(model.test_cfg or {})
    flip_mode = test_cfg.get('flip_mode', 'heatmap')
    if test_cfg.get('flip_test', False) and flip_mode not in FLIP_MODES:
        raise ExportError(f'{where}: test_cfg.flip_mode {flip_mode!r} is not supported')
    meta = model.dataset_meta
    input_name, output_name = stage_names(name)
    settings = dict(
        name=name,
        input=input_name,
        output=output_name,
        num_keypoints=int(meta['num_keypoints']),
        **_pipeline_settings(model, where),
        mean=[float(v) for v in pre.mean.flatten()],
        std=[float(v) for v in pre.std.flatten()],
        bgr_to_rgb=bool(pre._channel_conversion),
        codec=_codec_settings(model, where),
        flip_test=bool(test_cfg.get('flip_test', False)),
        flip_mode=flip_mode,
        shift_heatmap=bool(test_cfg.get('shift_heatmap', False)),
        flip_indices=[int(i) for i in meta['flip_indices']],
    )
    offsets = getattr(model, 'keypoint_offsets', None)  # HipTopdownPoseEstimator's
    if offsets is not None:
        settings['keypoint_offsets'] = offsets.detach().cpu().double().tolist()
    shift = getattr(model, 'p_line_shift', None)  # HipTopdownPoseEstimator's
    if shift is not None:
        settings['p_line_shift'] = float(shift)
    calibration = getattr(model, 'uncertainty', None)  # HipTopdownPoseEstimator's
    if calibration is not None:
        settings['uncertainty'] = calibration.detach().cpu().double().tolist()
    return settings


class _Stages(torch.nn.Module):
    """The stages' networks (backbone, neck, head), one input and output each."""

    def __init__(self, models: dict):
        super().__init__()
        self.names = list(models)
        self.stages = torch.nn.ModuleDict(models)

    def forward(self, *inputs):
        return tuple(self.stages[name]._forward(x) for name, x in zip(self.names, inputs))


def export_onnx(checkpoint, out_file, opset: int = DEFAULT_OPSET) -> Path:
    """Export both stages of a published model to one ONNX file with its metadata.

    Args:
        checkpoint (str | Path): a published file or a run's ``best_cascade.pth``
            (read weights-only by :func:`load_pose_models`, configs checked as data).
        out_file (str | Path): the ``.onnx`` to write (whole, then renamed).
        opset (int): the ONNX opset. Defaults to ``DEFAULT_OPSET`` (17).

    Returns:
        Path: ``out_file``.

    Raises:
        ExportError: a setting the runtime cannot reproduce, named.
    """
    import onnx

    models = load_pose_models(checkpoint, None, 'cpu')
    assert (FILM, HIP) == STAGE_NAMES
    meta_film = models[FILM].dataset_meta
    stages = [
        stage_metadata(name, models[name], checkpoint) for name in STAGE_NAMES if name in models
    ]
    meta = dict(
        format=ONNX_FORMAT,
        source=Path(str(checkpoint)).name,
        keypoint_names=[
            meta_film['keypoint_id2name'][i] for i in range(meta_film['num_keypoints'])
        ],
        refine_passes=refine_passes(models[HIP].cfg) if HIP in models else 0,
        stages=stages,
    )
    check_metadata(meta, out_file)  # what the runtime will accept
    net = _Stages({s['name']: models[s['name']].eval() for s in stages})
    dummies = tuple(torch.zeros(2, 3, s['input_size'][1], s['input_size'][0]) for s in stages)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # shapes traced as constants (e.g. mmcv's adaptive padding): only the batch varies
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(
            net,
            dummies,
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=[s['input'] for s in stages],
            output_names=[s['output'] for s in stages],
            dynamic_axes={n: {0: 'batch'} for s in stages for n in (s['input'], s['output'])},
        )
        real = net(*dummies)  # the heatmaps' real sizes, written into the graph's outputs
    proto = onnx.load_from_string(buffer.getvalue())
    for output, heatmaps in zip(proto.graph.output, real):
        for axis in (1, 2, 3):  # only the batch varies (the tracer may name the others)
            dim = output.type.tensor_type.shape.dim[axis]
            dim.Clear()
            dim.dim_value = int(heatmaps.shape[axis])
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    proto.producer_name = 'hip_mmpose tools/export_onnx.py'
    onnx.checker.check_model(proto)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out_file, proto.SerializeToString())
