#!/usr/bin/env python
"""Render a split's annotations to PNGs to check labels before training.

Example:
    python tools/browse_dataset.py ../shared/hip-xray --split train --out-dir work_dirs/browse --max 20

Each film gets its 12 points numbered 1-12, the H-line, roof lines, P- and D-lines,
H-points, and the AI and IHDI grade of each hip as the labels imply them.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cv2  # noqa: E402
from tqdm import tqdm  # noqa: E402

from hip_mmpose.data_tools.csv_to_coco import (AnnotationError, pair_split_files,  # noqa: E402
                                               parse_annotation_csv)
from hip_mmpose.film_io import FilmReadError, read_film  # noqa: E402
from hip_mmpose.visualization import draw_hip_geometry  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root', help='folder holding <split>/images and <split>/annotations')
    parser.add_argument('--split', default='train')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--max', type=int, help='render only the first N films')
    args = parser.parse_args(argv)
    try:
        pairs = pair_split_files(Path(args.data_root) / args.split)
    except AnnotationError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for img_path, ann_path in tqdm(pairs[:args.max], unit='film'):
        try:
            film, points = read_film(img_path).image, parse_annotation_csv(ann_path)
        except (FilmReadError, AnnotationError) as err:
            print(f'skipped: {err}', file=sys.stderr)
            failed += 1
            continue
        cv2.imwrite(str(out / f'{img_path.stem}.png'),
                    draw_hip_geometry(film, points, numbers=True,
                                      label=f'{img_path.name} (annotation)'))
    print(f'{len(pairs[:args.max]) - failed} films rendered to {out}/')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
