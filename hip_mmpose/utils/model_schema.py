"""One schema for what a model file fits or declares, wherever the file is read.

A model file (a published ``.pth`` or an exported ``.onnx``) carries, besides its
networks, numbers that decide every measurement: the crop's input size, the codec's
heatmap size and decoding settings, the normalisation, the flip partners, the
refining stage's per-side point offsets and the grade's P-line shift, how often the
refining stage runs. Each is checked here against a bound (what training or the
calibration can produce) or against the graph it describes, by
:func:`check_stage` and :func:`check_refine_passes`; the ONNX runtime
(:func:`hip_mmpose.runtime.model.check_metadata`), the torch loader and the
publisher (:mod:`hip_mmpose.apis.model_files`) all call them, so one file is
refused by all three alike. Torch-free (numpy only).

A stage is described as the ONNX metadata describes it (keys of
:data:`hip_mmpose.runtime.model.STAGE_KEYS`); every key present is checked, a key
absent is not (a torch model's config does not name its flip partners, its
metainfo does).
"""

from __future__ import annotations

import math

import numpy as np

from hip_mmpose import geometry

#: The longest side of a stage's input (and so of its heatmaps), in pixels. The
#: configs use 192-512; a larger input is no hip model of this project.
MAX_INPUT_SIDE = 2048
#: The most passes of the refining stage (the configs use 1-2).
MAX_REFINE_PASSES = 8
#: The largest Gaussian kernel of the DARK decoding (MMPose's default is 11).
MAX_BLUR_KERNEL = 99
#: The crop's padding around a box (``GetBBoxCenterScale``; the configs use 1.25-1.5).
BBOX_PADDING_RANGE = (1.0, 4.0)
#: The largest refining-stage offset (crop-scale units, either axis). The
#: calibration's offsets on the real films reach 2.8 px of a 136-px crop (0.021);
#: ``tools/train.py`` keeps none beyond this bound (offsets 0, the log says why).
KEYPOINT_OFFSET_LIMIT = 0.04
#: The keypoints of each stage.
STAGE_KEYPOINTS = dict(film=geometry.NUM_KEYPOINTS, hip=geometry.HIP_NUM_KEYPOINTS)


class ModelSchemaError(ValueError):
    """A value of a model file outside the schema; the message names the key."""


def flip_indices(num_keypoints: int) -> list[int]:
    """The flip partners of a stage's keypoints, from :mod:`hip_mmpose.geometry`.

    The whole-film stage swaps each hip's point with the other hip's same point
    (the metainfo's ``swap`` pairs 1-9, 2-8, 3-7, 4-12, 5-11, 6-10); the per-hip
    stage sees every hip in one orientation, so its points have no partner.

    Args:
        num_keypoints (int): 12 (whole film) or 6 (one hip).

    Returns:
        list[int]: ``flip_indices[i]`` is the point that ``i`` becomes when flipped.

    Raises:
        ModelSchemaError: another keypoint count.
    """
    if num_keypoints == geometry.HIP_NUM_KEYPOINTS:
        return list(range(num_keypoints))
    if num_keypoints != geometry.NUM_KEYPOINTS:
        raise ModelSchemaError(
            f'num_keypoints {num_keypoints!r}: expected {geometry.NUM_KEYPOINTS} or '
            f'{geometry.HIP_NUM_KEYPOINTS}'
        )
    partners = list(range(num_keypoints))
    for left, right in zip(*geometry.HIP_KEYPOINTS):
        partners[left], partners[right] = right, left
    return partners


def _whole(value, key: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ModelSchemaError(f'{key}: {value!r} is not a whole number')
    if not lo <= int(value) <= hi:
        raise ModelSchemaError(f'{key}: {value!r} is outside {lo}-{hi}')
    return int(value)


def _size(value, key: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ModelSchemaError(f'{key}: {value!r} is not a [width, height] pair')
    width, height = (_whole(v, key, 1, MAX_INPUT_SIDE) for v in value)
    return width, height


def _numbers(value, key: str, count: int) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise ModelSchemaError(f'{key}: expected {count} numbers, got {value!r}'[:200])
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise ModelSchemaError(f'{key}: {v!r} is not a number'[:200])
        if not math.isfinite(float(v)):
            raise ModelSchemaError(f'{key}: {v!r} is not finite')
        out.append(float(v))
    return out


def check_keypoint_offsets(offsets, num_keypoints: int = geometry.HIP_NUM_KEYPOINTS):
    """The refining stage's per-side offsets, checked against :data:`KEYPOINT_OFFSET_LIMIT`.

    Args:
        offsets (array-like): ``(2, K, 2)`` offsets in crop-scale units.
        num_keypoints (int): ``K``. Defaults to ``geometry.HIP_NUM_KEYPOINTS``.

    Returns:
        np.ndarray: the offsets, float64.

    Raises:
        ModelSchemaError: another shape, a value that is not a finite number, or one
            beyond the bound.
    """
    shape = (2, num_keypoints, 2)
    try:
        values = np.asarray(offsets, np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != shape or not np.isfinite(values).all():
        raise ModelSchemaError(f'keypoint_offsets: expected finite numbers of shape {shape}')
    largest = float(np.abs(values).max())
    if largest > KEYPOINT_OFFSET_LIMIT:
        raise ModelSchemaError(
            f'keypoint_offsets: {largest:.4g} of the crop, beyond the '
            f'+-{KEYPOINT_OFFSET_LIMIT} the calibration keeps'
        )
    return values


def check_refine_passes(passes, stages: int = 2) -> int:
    """How often the refining stage runs, checked.

    Args:
        passes: the declared number.
        stages (int): the stages the model has (no pass without a refining stage).
            Defaults to 2.

    Returns:
        int: the number of passes.

    Raises:
        ModelSchemaError: not a whole number within ``0``-:data:`MAX_REFINE_PASSES`,
            or passes without a refining stage.
    """
    passes = _whole(passes, 'refine_passes', 0, MAX_REFINE_PASSES)
    if passes and stages < 2:
        raise ModelSchemaError('refine_passes > 0 but no hip stage')
    return passes


def check_stage(stage: dict, output_size=None) -> dict:
    """Check one stage's declared settings (every key of it that is present).

    Args:
        stage (dict): settings as the ONNX metadata names them: ``name``,
            ``num_keypoints``, ``input_size`` ``[w, h]``, ``bbox_padding``,
            ``mean``, ``std``, ``codec`` (``input_size``, ``heatmap_size``,
            ``blur_kernel_size``), ``flip_indices``, ``keypoint_offsets``,
            ``p_line_shift``.
        output_size (tuple[int, int], optional): ``(w, h)`` of the heatmaps the
            network really gives (the graph's output shape, or a forward pass); the
            codec's ``heatmap_size`` must equal it. Defaults to None (not checked).

    Returns:
        dict: ``stage`` itself.

    Raises:
        ModelSchemaError: the first value outside the schema, its key named.
    """
    name = stage.get('name')
    count = stage.get('num_keypoints', STAGE_KEYPOINTS.get(name))
    if name in STAGE_KEYPOINTS and count != STAGE_KEYPOINTS[name]:
        raise ModelSchemaError(f'num_keypoints {count!r}, expected {STAGE_KEYPOINTS[name]}')
    input_size = _size(stage['input_size'], 'input_size') if 'input_size' in stage else None
    if 'bbox_padding' in stage:
        padding = _numbers([stage['bbox_padding']], 'bbox_padding', 1)[0]
        lo, hi = BBOX_PADDING_RANGE
        if not lo <= padding <= hi:
            raise ModelSchemaError(f'bbox_padding: {padding!r} is outside {lo}-{hi}')
    if 'mean' in stage:
        _numbers(stage['mean'], 'mean', 3)
    if 'std' in stage:
        std = _numbers(stage['std'], 'std', 3)
        if min(std) <= 0:
            raise ModelSchemaError(f'std: {std!r}: every value must be > 0')
    codec = stage.get('codec')
    if codec is not None:
        if not isinstance(codec, dict):
            raise ModelSchemaError(f'codec: {type(codec).__name__}, expected a mapping')
        if 'input_size' in codec:
            codec_input = _size(codec['input_size'], 'codec.input_size')
            if input_size is not None and codec_input != input_size:
                raise ModelSchemaError(
                    f'codec.input_size {list(codec_input)} is not the input_size '
                    f'{list(input_size)} the crops are made at'
                )
            input_size = codec_input
        if 'heatmap_size' in codec:
            heatmap = _size(codec['heatmap_size'], 'codec.heatmap_size')
            if input_size is not None and (
                heatmap[0] > input_size[0] or heatmap[1] > input_size[1]
            ):
                raise ModelSchemaError(
                    f'codec.heatmap_size {list(heatmap)} is larger than the input '
                    f'{list(input_size)}'
                )
            if output_size is not None and tuple(output_size) != heatmap:
                raise ModelSchemaError(
                    f'codec.heatmap_size {list(heatmap)} is not the {list(output_size)} '
                    'heatmaps the network gives'
                )
        if 'blur_kernel_size' in codec:
            kernel = _whole(codec['blur_kernel_size'], 'codec.blur_kernel_size', 1, MAX_BLUR_KERNEL)
            if kernel % 2 == 0:
                raise ModelSchemaError(f'codec.blur_kernel_size: {kernel} is not odd')
    if 'flip_indices' in stage and count is not None:
        expected = flip_indices(count)
        if list(stage['flip_indices']) != expected:
            raise ModelSchemaError(
                f"flip_indices: {stage['flip_indices']!r} are not the metainfo's flip "
                f'pairs {expected}'[:300]
            )
    if stage.get('keypoint_offsets') is not None:
        check_keypoint_offsets(stage['keypoint_offsets'], count)
    if stage.get('p_line_shift') is not None:
        try:
            geometry.checked_p_line_shift(stage['p_line_shift'])
        except ValueError as err:
            raise ModelSchemaError(str(err)) from None
    return stage


def config_stage(name: str, cfg: dict) -> dict:
    """A stage's settings as its (published, plain-data) config declares them.

    Read without building anything: the test pipeline's ``TopdownAffine`` input
    size and ``GetBBoxCenterScale`` padding, the head's decoder (codec), the data
    preprocessor's mean and std.

    Args:
        name (str): ``'film'`` or ``'hip'``.
        cfg (dict): the stage's config as plain data.

    Returns:
        dict: the settings :func:`check_stage` checks (only those the config names).
    """

    def get(node, *keys):
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    stage = dict(name=name)
    pipeline = get(cfg, 'test_dataloader', 'dataset', 'pipeline') or []
    for step in pipeline if isinstance(pipeline, list) else []:
        kind = step.get('type') if isinstance(step, dict) else None
        if kind == 'TopdownAffine' and 'input_size' in step:
            stage['input_size'] = list(step['input_size'])
        elif kind == 'GetBBoxCenterScale' and 'padding' in step:
            stage['bbox_padding'] = step['padding']
    codec = get(cfg, 'model', 'head', 'decoder')
    if isinstance(codec, dict):
        stage['codec'] = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in codec.items()
            if k in ('input_size', 'heatmap_size', 'blur_kernel_size')
        }
    for key in ('mean', 'std'):
        value = get(cfg, 'model', 'data_preprocessor', key)
        if value is not None:
            stage[key] = list(value) if isinstance(value, (list, tuple)) else value
    return stage
