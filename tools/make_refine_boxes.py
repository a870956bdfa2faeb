#!/usr/bin/env python
"""Boxes for the refining stage from a first stage's predictions.

Reads the raw predictions that ``tools/test.py --dump`` saved and writes, per film,
the box around the predicted keypoints (``--padding`` is applied later by the
second stage's GetBBoxCenterScale, as for ground-truth boxes in training).

Example:
    python tools/test.py configs/hip_effv2_cbam_cpu.py work_dirs/stage1/best.pth \
        --data-root ../shared/hip-xray --ann-root data/hip-xray/coco --dump stage1_test.pkl
    python tools/make_refine_boxes.py stage1_test.pkl --out data/hip-xray/boxes_test.json
"""
import argparse
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np


def boxes_from_predictions(predictions) -> list:
    boxes = []
    for sample in predictions:
        points = np.asarray(sample['pred_instances']['keypoints'])[0]
        (x0, y0), (x1, y1) = points.min(0), points.max(0)
        boxes.append(dict(file_name=os.path.basename(sample['img_path']),
                          image_id=int(sample.get('img_id', -1)),
                          bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                          score=float(np.mean(sample['pred_instances']['keypoint_scores']))))
    return boxes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('predictions', help='.pkl written by tools/test.py --dump')
    parser.add_argument('--out', required=True, help='JSON list of {file_name, bbox}')
    args = parser.parse_args(argv)
    with open(args.predictions, 'rb') as fh:
        # our own dump from tools/test.py: the trusted, local file this pipeline wrote
        predictions = pickle.load(fh)
    boxes = boxes_from_predictions(predictions)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(boxes, indent=1))
    print(f'{len(boxes)} boxes written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
