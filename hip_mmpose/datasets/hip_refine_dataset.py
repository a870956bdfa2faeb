"""The refining stage's data: each hip of each film on its own (6 points)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import DATASETS, TRANSFORMS
from mmpose.structures.bbox import flip_bbox
from mmpose.structures.keypoint import flip_keypoints

from hip_mmpose import geometry
from hip_mmpose.datasets.hip_xray_dataset import HipXrayDataset, film_metainfo
from hip_mmpose.utils import records
from hip_mmpose.utils.hip_crops import MIRRORED_HIP, hip_box, hip_metainfo

KEYPOINT_SOURCES = ('annotation', 'file')


@DATASETS.register_module()
class HipRefineDataset(HipXrayDataset):
    """Two samples per film, one per hip, with that hip's six points.

    Each sample carries ``hip_side`` (0 image-left, 1 image-right) and ``mirror``
    (True for the image-right hip; :class:`MirrorHip` in the pipeline mirrors the
    film, points and box, so both hips reach the network as image-left hips). The
    box is the square around the hip's six points (:func:`hip_box`) taken from:

    - ``keypoint_source='annotation'``: the ground truth (training; jitter it with
      ``RandomBBoxTransform`` to look like a first stage's error);
    - ``keypoint_source='file'``: a first stage's predictions, ``keypoint_file``
      being the per-film JSON that :class:`HipMetric` writes (its records'
      ``file`` and ``keypoints``, :mod:`hip_mmpose.utils.records`).

    Ground-truth points always stay attached for evaluation; :class:`HipMetric`
    joins the two hips of a film back into its 12 points.

    Args:
        *args: :class:`HipXrayDataset`'s (MMPose's ``BaseCocoStyleDataset``)
            positional arguments.
        keypoint_source (str): where the hip boxes come from, ``'annotation'`` or
            ``'file'`` (see above). Defaults to 'annotation'.
        keypoint_file (str, optional): the first stage's per-film JSON; required
            with ``keypoint_source='file'`` and only then. Defaults to None.
        **kwargs: :class:`HipXrayDataset`'s keyword arguments (``ann_file``,
            ``data_root``, ``pipeline``, ...), except ``bbox_source`` (always
            ``'film'`` underneath; the hip boxes replace it).
    """

    METAINFO: dict = hip_metainfo(film_metainfo())

    def __init__(
        self, *args, keypoint_source: str = 'annotation', keypoint_file: str | None = None, **kwargs
    ):
        if keypoint_source not in KEYPOINT_SOURCES:
            raise ValueError(
                f'keypoint_source must be one of {KEYPOINT_SOURCES}, got {keypoint_source!r}'
            )
        if (keypoint_source == 'file') != bool(keypoint_file):
            raise ValueError("keypoint_file is required with keypoint_source='file' and only then")
        self.keypoint_source = keypoint_source
        self.stage_keypoints = read_stage_keypoints(keypoint_file) if keypoint_file else {}
        super().__init__(*args, bbox_source='film', **kwargs)

    def load_data_list(self) -> list[dict]:
        """Split every film's record into its two hips' records.

        Returns:
            list[dict]: two records per film, image-left hip first, each with the
            hip's six ground-truth points ``keypoints`` ``(1, 6, 2)`` (in
            :data:`geometry.HIP_KEYPOINTS` order, film pixels), its ``bbox``
            ``(1, 4)`` xyxy (:func:`hip_box` of the annotation's or the first
            stage's points), ``hip_side``, ``mirror`` and ``id`` = film id x 2 + side.

        Raises:
            KeyError: with ``keypoint_source='file'``, a film the keypoint file
                does not name.
        """
        films = super().load_data_list()
        data_list = []
        for film in films:
            name = Path(film['img_path']).name
            truth = film['keypoints'][0]
            if self.keypoint_source == 'file':
                if name not in self.stage_keypoints:
                    raise KeyError(f'{name}: no first-stage points in the keypoint_file')
                source = self.stage_keypoints[name]
            else:
                source = truth
            for side, index in enumerate(geometry.HIP_KEYPOINTS):
                index = list(index)
                hip = dict(film)
                hip.pop('raw_ann_info', None)
                hip.update(
                    id=int(film['id']) * 2 + side,
                    hip_side=side,
                    mirror=side == MIRRORED_HIP,
                    keypoints=truth[index][None].astype(np.float32),
                    keypoints_visible=film['keypoints_visible'][:, index],
                    num_keypoints=len(index),
                    bbox=hip_box(source[index])[None],
                )
                data_list.append(hip)
        return data_list


@TRANSFORMS.register_module()
class MirrorHip(BaseTransform):
    """Mirror film, points and box left-right where ``results['mirror']`` is True.

    Put it after ``LoadFilm`` and before ``GetBBoxCenterScale``. Points keep their
    order (a mirrored image-right hip's points are an image-left hip's). Predictions
    come out in the mirrored film; :func:`hip_crops.merge_hips` maps them back.

    Required keys: ``img``, ``bbox``, ``mirror``; optional: ``keypoints``,
    ``keypoints_visible``. Modified keys: ``img``, ``bbox``, ``keypoints``.
    """

    def transform(self, results: dict) -> dict:
        """Mirror the sample when ``results['mirror']`` is True.

        Mirroring is MMPose's flip (``x -> w - 1 - x``) with the identity as flip
        indices, so point j stays point j.

        Args:
            results (dict): the result dict from the previous transform (with
                ``img`` loaded).

        Returns:
            dict: ``results``, mirrored in place where asked, else unchanged.
        """
        if not results.get('mirror', False):
            return results
        h, w = results['img'].shape[:2]
        results['img'] = cv2.flip(results['img'], 1)
        results['bbox'] = flip_bbox(results['bbox'], image_size=(w, h), bbox_format='xyxy')
        if results.get('keypoints') is not None:
            k = results['keypoints'].shape[-2]
            results['keypoints'], results['keypoints_visible'] = flip_keypoints(
                results['keypoints'],
                results.get('keypoints_visible'),
                image_size=(w, h),
                flip_indices=list(range(k)),
            )
        return results


def read_stage_keypoints(path) -> dict:
    """``{file name: (12, 2) points}`` from a per-film JSON (:func:`records.read_json`):
    the first stage's points that crop the refining stage's hips.

    Args:
        path (str | Path): a per-film JSON written by :class:`HipMetric` or
            ``tools/infer.py`` (earlier dumps with ``pred_keypoints`` read too).

    Returns:
        dict[str, np.ndarray]: ``{film file name: (12, 2) float64 predicted points
        in film pixels}``.

    Raises:
        ValueError: the file cannot be read or has another shape, naming it.
    """
    try:
        arrays = records.as_arrays(records.read_json(path)[0])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f'{path}: not a per-film JSON with "films": [{{"file", "keypoints"}}] ({err})'
        ) from err
    return dict(zip(arrays['file'], arrays['keypoints']))
