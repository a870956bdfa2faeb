"""Measuring films with an exported ONNX model: onnxruntime, numpy and OpenCV only.

``tools/export_onnx.py`` writes ONE ``.onnx`` file holding both stages of a
published model as two independent subgraphs of one graph: input ``film_input`` ->
output ``film_heatmaps`` (the whole-film stage) and ``hip_input`` ->
``hip_heatmaps`` (the per-hip stage), dynamic batch. Everything needed around the
networks (input sizes, normalisation, box padding, UDP, codec and decoding
settings, flip test, keypoint names, refine passes, mirroring of the image-right
hip, the per-hip stage's per-side point offsets) is stored in the file's
``metadata_props`` under :data:`METADATA_KEY` as JSON (:data:`ONNX_FORMAT`), read by
:class:`OnnxHipInferencer`; nothing of it is in code.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from hip_mmpose import geometry
from hip_mmpose.runtime import heatmaps as hm
from hip_mmpose.runtime.measuring import HipMeasurer
from hip_mmpose.runtime.topdown import flip_bbox_x, normalize, to_film, topdown_crop
from hip_mmpose.utils import model_schema, records, uncertainty
from hip_mmpose.utils.film_io import checked_end_share, rank_grey_levels

#: ``metadata_props`` key of the JSON description, and its format tag.
METADATA_KEY = 'hip_mmpose'
ONNX_FORMAT = 'hip_mmpose-onnx-v1'
STAGE_NAMES = ('film', 'hip')
#: keypoints of the whole film and of one hip (the per-hip stage's)
NUM_KEYPOINTS = geometry.NUM_KEYPOINTS
HIP_NUM_KEYPOINTS = geometry.HIP_NUM_KEYPOINTS
#: flip modes of MMPose's ``flip_heatmaps`` that :func:`heatmaps.flip_heatmaps` implements
FLIP_MODES = ('heatmap',)
#: The longest metadata text read (an export's is about 3 kB).
MAX_METADATA_CHARS = 1 << 20

#: Every stage entry's keys and their JSON types.
STAGE_KEYS = dict(
    name=str,
    input=str,
    output=str,
    num_keypoints=int,
    input_size=list,
    bbox_padding=(int, float),
    use_udp=bool,
    mirror_hip=bool,
    mean=list,
    std=list,
    bgr_to_rgb=bool,
    codec=dict,
    flip_test=bool,
    flip_mode=str,
    shift_heatmap=bool,
    flip_indices=list,
)


class OnnxModelError(ValueError):
    """An ONNX file that is not a hip_mmpose export; the message starts with its path."""


def stage_names(stage: str) -> tuple[str, str]:
    """The graph's input and output names of a stage.

    Args:
        stage (str): ``'film'`` or ``'hip'`` (:data:`STAGE_NAMES`).

    Returns:
        tuple[str, str]: ``('<stage>_input', '<stage>_heatmaps')``.

    Raises:
        ValueError: another stage name.
    """
    if stage not in STAGE_NAMES:
        raise ValueError(f'stage {stage!r}: expected one of {STAGE_NAMES}')
    return f'{stage}_input', f'{stage}_heatmaps'


def check_metadata(meta, path) -> dict:
    """The JSON description of an export, checked for shape.

    Args:
        meta (Any): the parsed JSON of :data:`METADATA_KEY`.
        path (str | Path): the file, for messages.

    Returns:
        dict: ``meta`` itself.

    Raises:
        OnnxModelError: naming the file and the first key that is wrong.
    """

    def fail(what):
        return OnnxModelError(f'{path}: metadata {METADATA_KEY!r}: {what}')

    if not isinstance(meta, dict) or meta.get('format') != ONNX_FORMAT:
        got = meta.get('format') if isinstance(meta, dict) else type(meta).__name__
        raise fail(f'format {got!r}, expected {ONNX_FORMAT!r}')
    names = meta.get('keypoint_names')
    if not (
        isinstance(names, list)
        and len(names) == NUM_KEYPOINTS
        and all(isinstance(n, str) for n in names)
    ):
        raise fail(f'keypoint_names: expected {NUM_KEYPOINTS} names')
    if not isinstance(meta.get('refine_passes'), int) or meta['refine_passes'] < 0:
        raise fail('refine_passes: expected a whole number >= 0')
    try:
        model_schema.check_refine_passes(meta['refine_passes'])
    except model_schema.ModelSchemaError as err:
        raise fail(str(err)) from None
    stages = meta.get('stages')
    if not (
        isinstance(stages, list)
        and stages
        and all(isinstance(s, dict) for s in stages)
        and [s.get('name') for s in stages] in (list(STAGE_NAMES[:1]), list(STAGE_NAMES))
    ):
        raise fail('stages: expected [{"name": "film", ...}] or film and hip')
    if meta['refine_passes'] and len(stages) < 2:
        raise fail('refine_passes > 0 but no hip stage')
    for stage in stages:
        for key, kind in STAGE_KEYS.items():
            if not isinstance(stage.get(key), kind):
                raise fail(f'stages[{stage["name"]}].{key}: missing or not {kind}')
        codec = stage['codec']
        if codec.get('type') not in hm.CODECS:
            raise fail(
                f'stages[{stage["name"]}].codec.type {codec.get("type")!r}: '
                f'only {", ".join(hm.CODECS)} are implemented'
            )
        missing = [k for k in hm.CODECS[codec['type']] if k not in codec]
        if missing:
            raise fail(f'stages[{stage["name"]}].codec: missing {", ".join(missing)}')
        if not isinstance(stage.get('rank_film', False), bool):  # absent from earlier exports
            raise fail(f'stages[{stage["name"]}].rank_film: not {bool}')
        try:  # absent: exported before the cap, ranked uncapped
            checked_end_share(stage.get('rank_end_share', 1.0), 'rank_end_share')
        except ValueError as err:
            raise fail(f'stages[{stage["name"]}].{err}') from None
        if stage['flip_mode'] not in FLIP_MODES:
            raise fail(
                f'stages[{stage["name"]}].flip_mode {stage["flip_mode"]!r}: only '
                f'{", ".join(FLIP_MODES)}'
            )
        offsets = stage.get('keypoint_offsets')
        if offsets is not None:
            shape = (2, stage['num_keypoints'], 2)
            try:
                values = np.asarray(offsets, np.float64)
                ok = values.shape == shape and bool(np.isfinite(values).all())
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise fail(
                    f'stages[{stage["name"]}].keypoint_offsets: expected finite '
                    f'numbers of shape {shape}'
                )
        if stage.get('p_line_shift') is not None:
            try:
                geometry.checked_p_line_shift(stage['p_line_shift'])
            except ValueError as err:
                raise fail(f'stages[{stage["name"]}].{err}') from None
        if stage.get('uncertainty') is not None:
            try:
                uncertainty.checked_calibration(stage['uncertainty'], f'stages[{stage["name"]}]')
            except ValueError as err:
                raise fail(str(err)) from None
        if sorted(stage['flip_indices']) != list(range(stage['num_keypoints'])):
            raise fail(f'stages[{stage["name"]}].flip_indices: not a permutation of the keypoints')
        try:  # bounds, and the settings against each other (utils/model_schema.py)
            model_schema.check_stage(stage)
        except model_schema.ModelSchemaError as err:
            raise fail(f'stages[{stage["name"]}].{err}') from None
    expected = dict(film=NUM_KEYPOINTS, hip=HIP_NUM_KEYPOINTS)
    for stage in stages:
        if stage['num_keypoints'] != expected[stage['name']]:
            raise fail(
                f'stages[{stage["name"]}].num_keypoints {stage["num_keypoints"]}, '
                f'expected {expected[stage["name"]]}'
            )
    return meta


def read_onnx_model(path, threads: int | None = None):
    """An onnxruntime session of an exported model and its checked description.

    Args:
        path (str | Path): the ``.onnx`` file (``tools/export_onnx.py``).
        threads (int, optional): onnxruntime's intra-op threads (inter-op then 1).
            Defaults to None (onnxruntime's own choice).

    Returns:
        tuple[onnxruntime.InferenceSession, dict]: the session and the metadata.

    Raises:
        OnnxModelError: not a file, not ONNX, or not a hip_mmpose export (no or bad
            metadata, stage inputs/outputs missing), naming the file.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise OnnxModelError(f'{path}: no such file')
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # idle threads sleep instead of spinning: numpy's decoding runs between the passes
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])
    except Exception as err:  # onnxruntime raises its own types for unreadable models
        raise OnnxModelError(f'{path}: not a readable ONNX model ({err})') from None
    text = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if text is None:
        raise OnnxModelError(
            f'{path}: no {METADATA_KEY!r} metadata: not a hip model '
            'exported by tools/export_onnx.py'
        )
    if len(text) > MAX_METADATA_CHARS:
        raise OnnxModelError(
            f'{path}: metadata {METADATA_KEY!r} is {len(text)} characters, more than '
            f'the {MAX_METADATA_CHARS} an export writes'
        )
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise OnnxModelError(f'{path}: metadata {METADATA_KEY!r} is not JSON ({err})') from None
    except RecursionError:
        raise OnnxModelError(
            f'{path}: metadata {METADATA_KEY!r} is nested too deep to read; not an export'
        ) from None
    check_metadata(meta, path)
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    extra = sorted(set(inputs) - {stage_names(s)[0] for s in STAGE_NAMES})
    if extra:
        raise OnnxModelError(f'{path}: the graph has inputs no stage feeds: {", ".join(extra)}')
    for stage in meta['stages']:
        if stage['input'] not in inputs or stage['output'] not in outputs:
            raise OnnxModelError(
                f'{path}: the graph has no {stage["input"]} -> '
                f'{stage["output"]} for the {stage["name"]} stage'
            )
        w, h = stage['input_size']
        if (
            list(inputs[stage['input']][1:]) != [3, h, w]
            or outputs[stage['output']][1] != stage['num_keypoints']
        ):
            raise OnnxModelError(
                f'{path}: {stage["input"]} {inputs[stage["input"]]} -> {stage["output"]} '
                f'{outputs[stage["output"]]} do not match the metadata (input {w}x{h}, '
                f'{stage["num_keypoints"]} keypoints)'
            )
        out_h, out_w = (list(outputs[stage['output']]) + [None, None])[2:4]
        try:  # the codec decodes the heatmaps the graph gives, of a size it declares
            if not (isinstance(out_w, int) and isinstance(out_h, int)):
                raise model_schema.ModelSchemaError(
                    f'{stage["output"]} {outputs[stage["output"]]}: the heatmap size is not '
                    'fixed in the graph'
                )
            model_schema.check_stage(stage, output_size=(out_w, out_h))
        except model_schema.ModelSchemaError as err:
            raise OnnxModelError(f'{path}: stages[{stage["name"]}].{err}') from None
    return session, meta


class OnnxHipInferencer(HipMeasurer):
    """:class:`hip_mmpose.apis.HipInferencer` on onnxruntime, without torch or OpenMMLab.

    The same points, records, flags and overlays (the measuring loop is
    :class:`~hip_mmpose.runtime.measuring.HipMeasurer`'s); only the two stages' networks
    run on onnxruntime, with MMPose's crop and decoding redone in numpy/OpenCV.

    Args:
        model (str | Path): an ``.onnx`` file written by ``tools/export_onnx.py``.
        flip_test (bool): average the whole-film stage with the mirrored film (as
            in testing); the per-hip stage flips as its config says. Defaults to
            True.
        batch_size (int): films per pass. Defaults to 8.
        score_thr (float): keypoints scoring below it are flagged as low
            confidence. Defaults to :data:`hip_mmpose.geometry.SCORE_THR` (0.3).
        threads (int, optional): onnxruntime's intra-op threads. Defaults to None
            (onnxruntime's own choice).
    """

    def __init__(
        self,
        model,
        flip_test: bool = True,
        batch_size: int = 8,
        score_thr: float = geometry.SCORE_THR,
        threads: int | None = None,
    ):
        self.path = Path(model)
        self.session, self.meta = read_onnx_model(model, threads)
        self.model_sha256 = records.file_sha256(model)  # provenance of every record
        self.stages = {s['name']: s for s in self.meta['stages']}
        self.stages['film'] = dict(self.stages['film'], flip_test=flip_test)
        self.keypoint_names = list(self.meta['keypoint_names'])
        self.refine_passes = self.meta['refine_passes']
        # the grade's decision point travels with the last stage that runs
        last = self.stages['hip'] if self.refine_passes else self.stages['film']
        self.p_line_shift = float(last.get('p_line_shift') or 0.0)
        # the intervals' calibration, fitted on val by tools/train.py ({} if none)
        self.uncertainty = uncertainty.checked_calibration(
            last.get('uncertainty') or [0.0] * uncertainty.NUM_CALIBRATION, str(self.path)
        )
        self.batch_size = batch_size
        self.score_thr = score_thr
        # every graph input is fed: the stage not run gets an empty batch
        self._idle = {
            i.name: np.zeros([0] + list(i.shape[1:]), np.float32) for i in self.session.get_inputs()
        }

    def _run(
        self,
        stage: dict,
        images: list[np.ndarray],
        boxes: list[np.ndarray],
        sides: list[int] | None = None,
    ):
        """Keypoints ``(N, K, 2)`` in film pixels and scores ``(N, K)``, one crop per
        (image, box), as MMPose's test pipeline and ``TopdownPoseEstimator`` make
        them; with ``sides`` (each crop's hip side), plus the stage's
        ``keypoint_offsets`` times the crop's scale, as ``HipTopdownPoseEstimator``."""
        if stage.get('rank_film'):  # RankFilm: each film ranked once, before any crop
            ranked = {}
            for img in images:
                if id(img) not in ranked:
                    ranked[id(img)] = rank_grey_levels(img, stage.get('rank_end_share', 1.0))
            images = [ranked[id(img)] for img in images]
        crops, centers, scales = zip(
            *(
                topdown_crop(img, box, stage['bbox_padding'], stage['input_size'], stage['use_udp'])
                for img, box in zip(images, boxes)
            )
        )
        inputs = normalize(crops, stage['mean'], stage['std'], stage['bgr_to_rgb'])
        n = len(crops)
        if stage['flip_test']:  # both orientations in one pass
            inputs = np.concatenate([inputs, np.ascontiguousarray(inputs[..., ::-1])])
        feed = dict(self._idle, **{stage['input']: inputs})
        heatmaps = self.session.run([stage['output']], feed)[0]
        if stage['flip_test']:
            flipped = hm.flip_heatmaps(heatmaps[n:], stage['flip_indices'], stage['shift_heatmap'])
            heatmaps = (heatmaps[:n] + flipped) * 0.5
        offsets = stage.get('keypoint_offsets')
        offsets = None if offsets is None or sides is None else np.asarray(offsets)
        keypoints, scores, spreads = [], [], []
        for i, (maps, center, scale) in enumerate(zip(heatmaps, centers, scales)):
            points, score = hm.decode(stage['codec'], maps)
            points = to_film(points, tuple(stage['input_size']), center, scale)
            if offsets is not None:
                points = points + offsets[sides[i]] * scale
            keypoints.append(points)
            scores.append(score)
            # as HipTopdownPoseEstimator: heatmap px to film px by the crop's scale
            size = np.asarray(maps.shape[-2:][::-1], np.float64)
            spreads.append(uncertainty.heatmap_spread(maps) * float(np.mean(scale / size)))
        return np.stack(keypoints), np.stack(scores), np.stack(spreads)

    def _film_points(self, films: list[np.ndarray]):
        return self._run(
            self.stages['film'],
            films,
            [np.array([0, 0, f.shape[1], f.shape[0]], np.float32) for f in films],
        )[:2]

    def _hip_points(self, crops: list[dict]):
        stage = self.stages['hip']
        images, boxes, mirrored = [], [], {}
        for crop in crops:
            img, box = crop['img'], np.asarray(crop['bbox'], np.float32)
            if crop['mirror'] and stage['mirror_hip']:  # MirrorHip: film and box mirrored
                key = id(img)
                if key not in mirrored:
                    mirrored[key] = cv2.flip(img, 1)
                img, box = mirrored[key], flip_bbox_x(box, img.shape[1])
            images.append(img)
            boxes.append(box)
        return self._run(stage, images, boxes, [int(crop['hip_side']) for crop in crops])
