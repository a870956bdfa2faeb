#!/usr/bin/env python
"""Draw the documentation's pictures: the project's overlay on synthetic films.

The film and its 12 points come from :mod:`hip_mmpose.data_tools.synthetic` (drawn,
not real: real films and anything made from them never go into git); the overlay is
drawn by :func:`hip_mmpose.visualization.draw.draw_hip_geometry`, the drawing every
overlay of the project uses (``tools/infer.py``, ``HipPoseVisualizer``, the report).

Two pictures: ``overlay.png`` (the README's: both hips, every line, AI and grade) and
``borderline.png`` (the model card's failure case: a hip whose H-point lies about one
pixel lateral of the P-line, where any reader's grade is a coin toss).

Example:
    python tools/make_doc_figures.py                  # writes docs/overlay.png, docs/borderline.png
    python tools/make_doc_figures.py --out-dir /tmp/figures
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
#: sd of one clinician's H-point offset from the P-line, in H-line lengths (docs/accuracy.md)
READER_SD = 0.015


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


def borderline_figure(size=(640, 480), seed=3, lateral=0.005, zoom=3) -> np.ndarray:
    """A zoomed image-right hip whose H-point lies just lateral of the P-line.

    The synthetic film of :func:`overlay_figure` with the image-right hip's metaphysis
    moved along the H-line so that its H-point lies ``lateral`` H-line lengths lateral
    of the P-line (grade II by the clinical definition, by a pixel).

    Args:
        size (tuple[int, int]): the film's ``(width, height)``. Defaults to (640, 480).
        seed (int): seed of the film. Defaults to 3.
        lateral (float): the H-point's distance lateral of the P-line, as a fraction
            of the H-line's length. Defaults to 0.005.
        zoom (int): the crop's magnification. Defaults to 3.

    Returns:
        np.ndarray: the zoomed crop, ``(H, W, 3)`` uint8 BGR.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    points = synthetic_points(rng, width, height, (1, 2))
    hip = 1  # image-right
    outward, _ = geometry.hip_frames(points)
    now = geometry.h_point_offsets(points)['lateral_of_p'][hip]
    length = geometry.h_line_lengths(points)
    want = lateral * length
    metaphysis = [
        m[hip]
        for m in (
            geometry.METAPHYSIS_LATERAL,
            geometry.METAPHYSIS_MIDDLE,
            geometry.METAPHYSIS_MEDIAL,
        )
    ]
    points[metaphysis] += (want - now) * outward[hip]
    assert geometry.ihdi_grades(points)[hip] == 2
    film = render_film(rng, points, width, height)
    drawn = draw_hip_geometry(film, points, p_line_shift=P_LINE_SHIFT)
    centre = points[list(geometry.HIP_KEYPOINTS[hip])].mean(0)
    half = int(0.12 * width)
    x0, y0 = (int(round(c)) - half for c in centre)
    crop = drawn[max(y0, 0) : y0 + 2 * half, max(x0, 0) : x0 + 2 * half]
    crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    lines = [
        f'H-point {want:.1f} px lateral of the P-line: grade II',
        f'one reading errs by sd {READER_SD * length:.1f} px here: a coin toss',
    ]
    for i, text in enumerate(lines):
        cv2.putText(crop, text, (8, 22 + 22 * i), 0, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return crop


def main(argv=None) -> int:
    """Write the PNGs and print their paths; return the exit status (0).

    Args:
        argv (list[str], optional): the command line. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        int: the exit status, 0.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--out-dir', default=str(REPO / 'docs'), help='folder to write the PNGs to')
    args = parser.parse_args(argv)
    for name, figure in (
        ('overlay.png', overlay_figure()),
        ('borderline.png', borderline_figure()),
    ):
        ok, png = cv2.imencode('.png', figure, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        assert ok
        print(f'wrote {write_atomic(Path(args.out_dir) / name, png.tobytes())}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
