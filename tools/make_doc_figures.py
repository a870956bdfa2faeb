#!/usr/bin/env python
"""Draw the documentation's picture: the project's overlay on a synthetic film.

The film and its 12 points come from :mod:`hip_mmpose.data_tools.synthetic` (drawn,
not real: real films and anything made from them never go into git); the overlay is
drawn by :func:`hip_mmpose.visualization.draw.draw_hip_geometry`, the drawing every
overlay of the project uses (``tools/infer.py``, ``HipPoseVisualizer``, the report).

Example:
    python tools/make_doc_figures.py                  # writes docs/overlay.png
    python tools/make_doc_figures.py --out /tmp/overlay.png
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from hip_mmpose import geometry  # noqa: E402
from hip_mmpose.data_tools.synthetic import render_film, synthetic_points  # noqa: E402
from hip_mmpose.utils.atomic import write_atomic  # noqa: E402
from hip_mmpose.visualization.draw import draw_hip_geometry  # noqa: E402

#: the grade decision of the card's CPU run (docs/accuracy.md), drawn beside the P-line
P_LINE_SHIFT = -0.0057


def overlay_figure(size=(640, 480), grades=(1, 2), seed=3) -> np.ndarray:
    """The overlay of one synthetic film with the given IHDI grades.

    Args:
        size (tuple[int, int]): the film's ``(width, height)`` in pixels. Defaults
            to (640, 480).
        grades (tuple[int, int]): IHDI grades (1-4) of the image-left and
            image-right hips. Defaults to (1, 2).
        seed (int): seed of the film's random shapes and noise. Defaults to 3.

    Returns:
        np.ndarray: the drawing, ``(H, W, 3)`` uint8 BGR.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    points = synthetic_points(rng, width, height, grades)
    assert tuple(geometry.ihdi_grades(points)) == tuple(grades)
    film = render_film(rng, points, width, height)
    return draw_hip_geometry(
        film,
        points,
        label='synthetic film, its 12 labelled points',
        p_line_shift=P_LINE_SHIFT,
    )


def main(argv=None) -> int:
    """Write the overlay PNG and print its path; return the exit status (0).

    Args:
        argv (list[str], optional): the command line. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        int: the exit status, 0.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        '--out', default=str(REPO / 'docs' / 'overlay.png'), help='the PNG to write'
    )
    args = parser.parse_args(argv)
    ok, png = cv2.imencode('.png', overlay_figure(), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    print(f'wrote {write_atomic(args.out, png.tobytes())}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
