"""COCO-style dataset of AP pelvis films with 12 hip keypoints."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS

#: The metainfo file (keypoint names, flip pairs, sigmas, skeleton, colours).
METAINFO_FILE = str(Path(__file__).resolve().parents[2]
                    / 'configs' / '_base_' / 'datasets' / 'hip_xray.py')

BBOX_SOURCES = ('film', 'annotation', 'file')


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
    - ``'file'``: boxes predicted by a first stage, from ``bbox_file`` (a JSON list
      of ``{"file_name", "bbox": [x, y, w, h]}`` as ``tools/make_refine_boxes.py``
      writes). Ground-truth keypoints stay attached for evaluation.
    """

    METAINFO: dict = dict(from_file=METAINFO_FILE)

    def __init__(self, *args, bbox_source: str = 'film', bbox_file: str | None = None,
                 **kwargs):
        if bbox_source not in BBOX_SOURCES:
            raise ValueError(f'bbox_source must be one of {BBOX_SOURCES}, got {bbox_source!r}')
        if (bbox_source == 'file') != bool(bbox_file):
            raise ValueError("bbox_file is required with bbox_source='file' and only then")
        self.bbox_source = bbox_source
        self.stage_boxes = _read_boxes(bbox_file) if bbox_file else {}
        # MMPose's own bbox_file means "detections without annotations"; ours keeps them
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        data_info = super().parse_data_info(raw_data_info)
        if data_info is None or self.bbox_source == 'annotation':
            return data_info
        img = raw_data_info['raw_img_info']
        if self.bbox_source == 'film':
            box = [0, 0, img['width'], img['height']]
        else:
            if img['file_name'] not in self.stage_boxes:
                raise KeyError(f'{img["file_name"]}: no box in the bbox_file')
            x, y, w, h = self.stage_boxes[img['file_name']]
            box = [x, y, x + w, y + h]
        data_info['bbox'] = np.array([box], dtype=np.float32)
        return data_info


def _read_boxes(path: str) -> dict:
    try:
        entries = json.loads(Path(path).read_text())
        return {e['file_name']: [float(v) for v in e['bbox']] for e in entries}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f'{path}: not a list of {{"file_name", "bbox"}} entries ({err})') from err
