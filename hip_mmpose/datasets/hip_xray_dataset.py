"""COCO-style dataset of AP pelvis films with 12 hip keypoints."""

from __future__ import annotations

import contextlib
import functools
import io

import numpy as np
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS

from hip_mmpose.utils.config_files import METAINFO_FILE

BBOX_SOURCES = ('film', 'annotation')


@functools.lru_cache(maxsize=1)
def film_metainfo() -> dict:
    """The 12-point metainfo, parsed as MMPose's datasets parse it (computed once).

    Returns:
        dict: :func:`mmpose.datasets.datasets.utils.parse_pose_metainfo` of
        :data:`METAINFO_FILE` (keypoint names, flip indices, sigmas, skeleton, ...).
    """
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    return parse_pose_metainfo(dict(from_file=METAINFO_FILE))


@DATASETS.register_module()
class HipXrayDataset(BaseCocoStyleDataset):
    """One annotated film per image, read from ``tools/convert_csv_to_coco.py`` output.

    The top-down pipeline crops each instance's ``bbox``; ``bbox_source`` says
    which box that is:

    - ``'film'`` (default): the whole film. The COCO file's tight keypoint box
      would hand the model the ground truth at test time, and a new film has no
      such box; the whole film is the box inference uses too.
    - ``'annotation'``: the stored tight keypoint box, for training a second,
      refining stage (jitter it with ``RandomBBoxTransform``).

    The refining stage's per-hip crops are :class:`HipRefineDataset`'s.

    Args:
        *args: MMPose's ``BaseCocoStyleDataset`` positional arguments.
        bbox_source (str): ``'film'`` or ``'annotation'`` (see above). Defaults to
            'film'.
        serialize_data (bool): MMEngine's packing of the annotation list into one
            buffer, which spares copies of a list of millions of instances in
            dataloader workers and ends in a full ``gc.collect()`` (0.3-1 s in a
            process holding a model, for every dataset a Runner builds). A few
            thousand films need no packing. Defaults to False.
        **kwargs: ``BaseCocoStyleDataset``'s keyword arguments (``ann_file``,
            ``data_root``, ``data_prefix``, ``pipeline``, ``test_mode``, ...).
    """

    METAINFO: dict = dict(from_file=METAINFO_FILE)

    def __init__(self, *args, bbox_source: str = 'film', serialize_data: bool = False, **kwargs):
        if bbox_source not in BBOX_SOURCES:
            raise ValueError(f'bbox_source must be one of {BBOX_SOURCES}, got {bbox_source!r}')
        self.bbox_source = bbox_source
        super().__init__(*args, serialize_data=serialize_data, **kwargs)

    def _load_annotations(self):
        """MMPose's, without the four progress lines xtcocotools prints per COCO file.

        Returns:
            tuple[list[dict], list[dict]]: what
            ``BaseCocoStyleDataset._load_annotations`` returns.
        """
        with contextlib.redirect_stdout(io.StringIO()):
            return super()._load_annotations()

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        """Parse one film's COCO annotation, with its pixel spacing and box.

        Args:
            raw_data_info (dict): ``raw_ann_info`` and ``raw_img_info`` of one
                instance, as ``BaseCocoStyleDataset`` reads them from ``ann_file``.

        Returns:
            dict | None: MMPose's parsed instance plus ``pixel_spacing`` (``(2,)``
            float32 ``(x, y)`` mm per pixel, or None); with ``bbox_source='film'``
            its ``bbox`` is the whole film ``[[0, 0, width, height]]`` (xyxy, film
            pixels). None for an instance MMPose filters out.
        """
        data_info = super().parse_data_info(raw_data_info)
        if data_info is None:
            return data_info
        img = raw_data_info['raw_img_info']
        # mm per pixel (x, y), recorded by the converter where the film has one
        spacing = img.get('pixel_spacing')
        data_info['pixel_spacing'] = (
            None if spacing is None else np.asarray(spacing, np.float32).reshape(2)
        )
        if self.bbox_source == 'annotation':
            return data_info
        data_info['bbox'] = np.array([[0, 0, img['width'], img['height']]], dtype=np.float32)
        return data_info
