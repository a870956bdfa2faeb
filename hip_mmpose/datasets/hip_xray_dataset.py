"""COCO-style dataset of AP pelvis films with 12 hip keypoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS

#: The metainfo file (keypoint names, flip pairs, sigmas, skeleton, colours).
METAINFO_FILE = str(Path(__file__).resolve().parents[2]
                    / 'configs' / '_base_' / 'datasets' / 'hip_xray.py')


@DATASETS.register_module()
class HipXrayDataset(BaseCocoStyleDataset):
    """One annotated film per image, read from ``tools/convert_csv_to_coco.py`` output.

    The top-down pipeline crops each instance's ``bbox``. The COCO file stores the
    tight box around the keypoints, but cropping that box would hand the model the
    ground truth at test time, and on a new film there is no such box. With
    ``bbox_source='film'`` (the default) the box is the whole film, the same box
    inference uses, so training, testing and deployment see identical inputs.
    ``bbox_source='annotation'`` keeps the stored box (for example for a second
    stage fed with boxes from a first model).
    """

    METAINFO: dict = dict(from_file=METAINFO_FILE)

    def __init__(self, *args, bbox_source: str = 'film', **kwargs):
        if bbox_source not in ('film', 'annotation'):
            raise ValueError(f"bbox_source must be 'film' or 'annotation', got {bbox_source!r}")
        self.bbox_source = bbox_source
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        data_info = super().parse_data_info(raw_data_info)
        if data_info is not None and self.bbox_source == 'film':
            img = raw_data_info['raw_img_info']
            data_info['bbox'] = np.array(
                [[0, 0, img['width'], img['height']]], dtype=np.float32)
        return data_info
