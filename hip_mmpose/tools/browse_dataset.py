"""Render a split's annotations to PNGs to check labels before training.

Example:
    python tools/browse_dataset.py ../shared/hip-xray --split train \
        --out-dir work_dirs/browse --max-films 20

Each film gets its 12 points numbered 1-12, the H-line, roof lines, P- and D-lines,
H-points, and the AI and IHDI grade of each hip as the labels imply them.
"""

import argparse
import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from hip_mmpose.data_tools.csv_to_coco import (
    AnnotationError,
    pair_split_files,
    parse_annotation_csv,
)
from hip_mmpose.tools import DeprecatedAlias
from hip_mmpose.tools._cli import add_debug_arg, one_line_errors
from hip_mmpose.utils.film_io import FilmReadError, read_film
from hip_mmpose.visualization.local_visualizer import overlay_visualizer


@one_line_errors
def main(argv=None) -> int:
    """Render a split's films with their annotated points to ``<out-dir>/<stem>.png``.

    Args:
        argv (list[str], optional): the command-line arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        int: the exit status: 0, or 1 when the split's files do not pair up or a
        film or annotation could not be read (it is skipped, the rest rendered).
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('data_root', help='folder holding <split>/images and <split>/annotations')
    parser.add_argument('--split', default='train')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--max-films', type=int, help='render only the first N films')
    parser.add_argument(
        '--max', dest='max_films', type=int, new='--max-films', action=DeprecatedAlias
    )
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    try:
        pairs = pair_split_files(Path(args.data_root) / args.split)
    except AnnotationError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    visualizer = overlay_visualizer()
    for img_path, ann_path in tqdm(pairs[: args.max_films], unit='film'):
        try:
            film, points = read_film(img_path).image, parse_annotation_csv(ann_path)
            drawn = visualizer.draw_hip_geometry(
                film, points, numbers=True, label=f'{img_path.name} (annotation)'
            )
            ok, png = cv2.imencode('.png', drawn)
            if not ok:
                raise ValueError(f'{img_path}: the drawing could not be encoded')
            (out / f'{img_path.stem}.png').write_bytes(png.tobytes())
        except (FilmReadError, AnnotationError) as err:
            print(f'skipped: {err}', file=sys.stderr)
            failed += 1
            continue
        except Exception as err:  # one film's drawing: the rest go on
            print(f'skipped: {img_path}: not drawn ({type(err).__name__}: {err})', file=sys.stderr)
            failed += 1
            continue
    print(f'{len(pairs[: args.max_films]) - failed} films rendered to {out}/')
    return 1 if failed else 0
