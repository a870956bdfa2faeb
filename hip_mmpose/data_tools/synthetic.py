"""A small synthetic AP-pelvis set in the template's CSV layout, for the demo and tests.

Films are drawn, not real: iliac wings, acetabular roofs, triradiate gaps and femoral
shafts as bright shapes on a noisy dark background, with the 12 keypoints placed so
that each hip has a chosen acetabular index and IHDI grade. The grade is checked with
:mod:`hip_mmpose.geometry` so the labels obey the same definitions as the metric.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

from hip_mmpose import geometry


def _hip_points(rng, triradiate, outward, roof_len, ai_deg, grade):
    """Six points of one hip in the film's frame, ``(6, 2)`` in the order of
    :data:`geometry.HIP_KEYPOINTS` (roof lateral, roof middle, triradiate,
    metaphysis lateral, middle, medial)."""
    out = np.asarray(outward, float)
    down = np.array([0.0, 1.0])
    ai = np.radians(ai_deg)
    p_tri = np.asarray(triradiate, float)
    p_lat = p_tri + roof_len * (np.cos(ai) * out - np.sin(ai) * down)
    p_mid = (p_lat + p_tri) / 2 - 0.06 * roof_len * down  # roof bulges upward
    L = roof_len
    u = lambda lo, hi: rng.uniform(lo * L, hi * L)
    if grade == 1:
        lateral, below = u(-0.45, -0.08), u(0.15, 0.5)
    elif grade == 2:
        lateral = u(0.08, 0.3)
        below = lateral + u(0.08, 0.35)
    elif grade == 3:
        below = u(0.05, 0.25)
        lateral = below + u(0.08, 0.35)
    else:
        lateral, below = u(0.1, 0.35), -u(0.1, 0.3)
    foot = np.array([p_lat[0], p_tri[1]])
    h_point = foot + lateral * out + below * down
    half = 0.28 * L * out
    tilt = rng.uniform(-0.05, 0.1) * L * down
    return np.stack(
        [
            p_lat,
            p_mid,
            p_tri,
            h_point + half - tilt,
            h_point + 0.04 * L * down,
            h_point - half + tilt,
        ]
    )


def synthetic_points(rng, width, height, grades=(1, 1)):
    """The 12 keypoints of one synthetic film with the given IHDI grades per hip.

    Each hip gets a random acetabular index of 14-36 degrees and its H-point placed
    for its grade; the pelvis is then rotated by up to 4 degrees and shifted by up
    to 4% of the film.

    Args:
        rng (np.random.Generator): the random source (consumed in a fixed order,
            so a seed gives the same points).
        width (int): the film's width in pixels.
        height (int): the film's height in pixels.
        grades (tuple[int, int]): the IHDI grades (1-4, :data:`geometry.GRADES`)
            of the image-left and image-right hips. Defaults to (1, 1).

    Returns:
        np.ndarray: ``(12, 2)`` float64 keypoints ``(x, y)`` in film pixels.
    """
    cx, hy = width / 2, 0.45 * height
    half_gap = rng.uniform(0.14, 0.19) * width
    roof_len = rng.uniform(0.11, 0.14) * width
    left = _hip_points(rng, (cx - half_gap, hy), (-1, 0), roof_len, rng.uniform(14, 36), grades[0])
    right = _hip_points(rng, (cx + half_gap, hy), (1, 0), roof_len, rng.uniform(14, 36), grades[1])
    points = np.empty((12, 2))
    for hip, six in zip(geometry.HIP_KEYPOINTS, (left, right)):
        points[list(hip)] = six
    angle = np.radians(rng.uniform(-4, 4))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([cx, height / 2]) + rng.uniform(-0.04, 0.04, 2) * [width, height]
    return (points - [cx, height / 2]) @ rot.T + centre


def render_film(rng, points, width, height) -> np.ndarray:
    """Draw a pelvis-like 8-bit grayscale film around the keypoints.

    Iliac wings, acetabular roofs (roof lateral -> triradiate), triradiate gaps, the
    pubis/ischium and the femoral shafts under the metaphyses, blurred, on a dark
    background with Gaussian noise (sigma 8 grey levels).

    Args:
        rng (np.random.Generator): the random source of the noise.
        points (np.ndarray): ``(12, 2)`` keypoints in film pixels
            (:func:`synthetic_points`).
        width (int): the film's width in pixels.
        height (int): the film's height in pixels.

    Returns:
        np.ndarray: ``(height, width)`` uint8 grey film.
    """
    yy, xx = np.mgrid[0:height, 0:width]
    img = 40 + 25 * np.exp(-((xx - width / 2) ** 2) / (0.3 * width) ** 2)
    img = img.astype(np.float32)
    p = points
    tri_left, tri_right = (p[i] for i in geometry.TRIRADIATE)
    hline = tri_right - tri_left
    for tri, lat, sign in zip(
        p[list(geometry.TRIRADIATE)], p[list(geometry.ROOF_LATERAL)], (-1, 1)
    ):
        wing_centre = (int(lat[0] - sign * 0.02 * width), int(lat[1] - 0.2 * height))
        cv2.ellipse(
            img,
            wing_centre,
            (int(0.13 * width), int(0.2 * height)),
            float(np.degrees(np.arctan2(hline[1], hline[0]))) + sign * 15,
            0,
            360,
            150,
            -1,
        )
        cv2.line(img, tuple(map(int, lat)), tuple(map(int, tri)), 225, 4)
        cv2.circle(img, tuple(map(int, tri)), 4, 60, -1)  # triradiate cartilage gap
    # pubis/ischium between the hips, below the H-line
    mid = (tri_left + tri_right) / 2
    cv2.ellipse(
        img,
        (int(mid[0]), int(mid[1] + 0.15 * height)),
        (int(0.1 * width), int(0.12 * height)),
        0,
        0,
        360,
        120,
        -1,
    )
    for metaphysis in zip(
        geometry.METAPHYSIS_LATERAL, geometry.METAPHYSIS_MIDDLE, geometry.METAPHYSIS_MEDIAL
    ):
        top = p[list(metaphysis)]
        shaft = np.concatenate([top, top[::-1] + [0, 0.45 * height]]).astype(np.int32)
        cv2.fillPoly(img, [shaft], 185)
        cv2.polylines(img, [top.astype(np.int32)], False, 230, 2)
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    img += rng.normal(0, 8, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def format_csv_line(points) -> str:
    """One line of the template's annotation CSV: ``"(x, y)"`` fields, one decimal.

    Args:
        points (np.ndarray): ``(K, 2)`` keypoints in film pixels.

    Returns:
        str: the line, without a line break.
    """
    return ','.join(f'"({x:.1f}, {y:.1f})"' for x, y in points)


def write_synthetic_dataset(out_root, counts=None, size=(384, 288), seed=0) -> dict:
    """Write ``out_root/<split>/{images,annotations}``; returns films per split.

    Grades cycle through every (image-left, image-right) pair of grades I-IV, the
    pairs of two different grades first, so each split of at least 4 films holds
    every grade; each film's grades are checked with :func:`geometry.ihdi_grades`.
    Films are ``S<patient>_<01|02>.png`` (two films per synthetic patient) with
    ``<stem>.csv`` beside them in ``annotations/``.

    Args:
        out_root (str | Path): the data root; split folders are created in it
            (existing files of the same name are overwritten).
        counts (dict[str, int], optional): ``{split: number of films}``. Defaults
            to None: ``dict(train=32, val=8, test=8)``.
        size (tuple[int, int]): ``(width, height)`` of the films in pixels.
            Defaults to (384, 288).
        seed (int): seed of the random generator. Defaults to 0.

    Returns:
        dict[str, int]: ``{split: number of films written}``.
    """
    counts = counts or dict(train=32, val=8, test=8)
    width, height = size
    rng = np.random.default_rng(seed)
    grade_cycle = list(itertools.product(geometry.GRADES, repeat=2))
    # pairs of two different grades first ((I, II), (I, III), (I, IV), (II, I), ...)
    # so that small splits see all grades; equal pairs last
    grade_cycle.sort(key=lambda g: g[0] == g[1])
    out_root = Path(out_root)
    for split, n in counts.items():
        (out_root / split / 'images').mkdir(parents=True, exist_ok=True)
        (out_root / split / 'annotations').mkdir(parents=True, exist_ok=True)
        for i in range(n):
            grades = grade_cycle[i % len(grade_cycle)]
            points = synthetic_points(rng, width, height, grades)
            assert tuple(geometry.ihdi_grades(points)) == grades, (grades, points)
            stem = f'S{i // 2:03d}_{i % 2 + 1:02d}'  # two films per synthetic patient
            cv2.imwrite(
                str(out_root / split / 'images' / f'{stem}.png'),
                render_film(rng, points, width, height),
            )
            (out_root / split / 'annotations' / f'{stem}.csv').write_text(
                format_csv_line(points) + '\n'
            )
    return counts
