"""Per-hip crops for the refining stage: the six points of one hip, one orientation.

The refining stage looks at each hip on its own, around points a whole-film stage
found. The image-right hip is mirrored left-right so that both hips reach the one
shared 6-point network looking like an image-left hip (twice the training crops,
one model for both sides). Its points are then, in :data:`geometry.HIP_KEYPOINTS`
order, the same anatomical points as the image-left hip's.

Mirroring follows MMPose's flip convention (``x -> w - 1 - x``, as ``cv2.flip`` and
:func:`mmpose.structures.flip_keypoints`), so mirroring twice is the identity.
"""

from __future__ import annotations

import numpy as np

from hip_mmpose import geometry

__all__ = [
    'IMAGE_LEFT',
    'IMAGE_RIGHT',
    'MIRRORED_HIP',
    'mirror_x',
    'split_hips',
    'merge_hips',
    'hip_box',
    'crop_sides',
    'hip_metainfo',
    'fit_hip_offsets',
]

#: Index of each hip in ``geometry.HIP_NAMES``; the mirrored one.
IMAGE_LEFT, IMAGE_RIGHT = 0, 1
MIRRORED_HIP = IMAGE_RIGHT


def mirror_x(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror points ``(..., 2)`` left-right in a film ``width`` pixels wide.

    Args:
        points (np.ndarray): points ``(..., 2)`` ``(x, y)`` in film pixels.
        width (float): the film's width in pixels.

    Returns:
        np.ndarray: a float64 copy with ``x -> width - 1 - x``; y unchanged.
    """
    out = np.array(points, dtype=np.float64, copy=True)
    out[..., 0] = width - 1 - out[..., 0]
    return out


def split_hips(points: np.ndarray, width: float) -> list[np.ndarray]:
    """The two hips' six points ``(6, 2)`` each, the image-right hip mirrored.

    Args:
        points (np.ndarray): the 12 film points ``(12, 2)``.
        width (float): the film's width in pixels.

    Returns:
        list[np.ndarray]: ``[image-left (6, 2), mirrored image-right (6, 2)]``.
    """
    points = np.asarray(points, dtype=np.float64)
    hips = [points[list(idx)] for idx in geometry.HIP_KEYPOINTS]
    hips[MIRRORED_HIP] = mirror_x(hips[MIRRORED_HIP], width)
    return hips


def merge_hips(hips, width: float, out: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`split_hips`: 12 film points from the two hips' six.

    Args:
        hips (Sequence[np.ndarray]): ``[image-left (6, D), mirrored image-right
            (6, D)]``; columns past the first two (e.g. scores) are carried along
            unchanged.
        width (float): the film's width in pixels.
        out (np.ndarray, optional): an array ``(12, D)`` to fill in place.
            Defaults to None (a new float64 array).

    Returns:
        np.ndarray: ``(12, D)`` points in film pixels.
    """
    left, right = (np.asarray(h, dtype=np.float64) for h in hips)
    if out is None:
        out = np.full((12, left.shape[-1]), np.nan)
    out[list(geometry.HIP_KEYPOINTS[IMAGE_LEFT])] = left
    right = right.copy()
    right[:, :2] = mirror_x(right[:, :2], width)
    out[list(geometry.HIP_KEYPOINTS[IMAGE_RIGHT])] = right
    return out


#: A hip point this many times the median distance from the points' median is an
#: outlier for :func:`hip_box`.
OUTLIER_FACTOR = 3.0


def hip_box(points6: np.ndarray) -> np.ndarray:
    """Square box ``[x1, y1, x2, y2]`` around one hip's six points.

    Centred on the points' extent, its side the larger of the extent's width and
    height; the pipeline's ``GetBBoxCenterScale(padding=...)`` adds the margin.
    A square keeps the crop's scale independent of the hip's shape.

    A point farther than :data:`OUTLIER_FACTOR` times the points' median distance
    from their median is left out of the extent: a whole-film stage that puts one
    point 200 px off would otherwise hand the refining stage a crop several times the
    hip's size, in which it finds nothing (the left-out point is still refined; no
    clinician's hip comes near the factor: at most 1.8 on the 1004 hips of the
    real data set). Non-finite points are left out too.

    Args:
        points6 (np.ndarray): one hip's six points ``(6, 2)`` in pixels.

    Returns:
        np.ndarray: ``(4,)`` float32 ``[x1, y1, x2, y2]`` in the points' pixels.
    """
    points6 = np.asarray(points6, dtype=np.float64)
    finite = points6[np.isfinite(points6).all(-1)]
    if len(finite) >= 2:  # else every point, as given (a non-finite box)
        dist = np.linalg.norm(finite - np.median(finite, 0), axis=-1)
        points6 = finite[dist <= OUTLIER_FACTOR * np.median(dist)]
    low, high = points6.min(0), points6.max(0)
    centre, half = (low + high) / 2, (high - low).max() / 2
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


def crop_sides(points, padding: float) -> np.ndarray:
    """The side of each hip's crop: :func:`hip_box`'s square, padded.

    Args:
        points (np.ndarray): film points ``(N, 12, 2)`` the crops are made around.
        padding (float): ``GetBBoxCenterScale``'s padding of the refining stage.

    Returns:
        np.ndarray: ``(N, 2)`` crop sides in film pixels, ``[IMAGE_LEFT, IMAGE_RIGHT]``.
    """
    points = np.asarray(points, dtype=np.float64)
    return (
        np.array(
            [
                [
                    np.subtract(*hip_box(film[list(index)])[[2, 0]])
                    for index in geometry.HIP_KEYPOINTS
                ]
                for film in points
            ],
            dtype=np.float64,
        ).reshape(-1, len(geometry.HIP_KEYPOINTS))
        * padding
    )


def hip_metainfo(film_metainfo: dict) -> dict:
    """Metainfo of the 6-point hip set, derived from the 12-point set's.

    Names drop the ``image_left_`` prefix; sigmas, joint weights, colours and the
    skeleton are the image-left hip's. No point has a flip partner (both hips are
    seen in one orientation), so the flip indices are the identity.

    Args:
        film_metainfo (dict): the 12-point metainfo as
            :func:`mmpose.datasets.datasets.utils.parse_pose_metainfo` returns it.

    Returns:
        dict: a metainfo dict in MMPose's ``dataset_info`` form.
    """
    index = list(geometry.HIP_KEYPOINTS[IMAGE_LEFT])
    prefix = geometry.HIP_NAMES[IMAGE_LEFT] + '_'
    names = [film_metainfo['keypoint_id2name'][i].replace(prefix, '', 1) for i in index]
    colours = np.asarray(film_metainfo['keypoint_colors'])[index]
    keypoint_info = {
        j: dict(name=name, id=j, color=[int(c) for c in colours[j]], type='', swap='')
        for j, name in enumerate(names)
    }
    old_to_new = {old: new for new, old in enumerate(index)}
    skeleton = [
        (names[old_to_new[a]], names[old_to_new[b]])
        for a, b in film_metainfo['skeleton_links']
        if a in old_to_new and b in old_to_new
    ]
    return dict(
        dataset_name=film_metainfo['dataset_name'] + '_hip',
        keypoint_info=keypoint_info,
        skeleton_info={
            i: dict(link=link, id=i, color=[255, 128, 0]) for i, link in enumerate(skeleton)
        },
        joint_weights=np.asarray(film_metainfo['dataset_keypoint_weights'])[index].tolist(),
        sigmas=np.asarray(film_metainfo['sigmas'])[index].tolist(),
    )


def fit_hip_offsets(pred, truth, crop_points, padding: float) -> np.ndarray:
    """The refining stage's mean error per hip side and point, to subtract from it.

    A network that sees both hips in image-left orientation cannot learn what differs
    between the sides (a reader who places the image-right hip's points a pixel
    further right than the image-left's), and a heatmap decoder returns the mode of
    what the network learned, not the mean of the readers' clicks. Both leave a
    systematic error per point that its training films show as well as any others.
    This measures it: for each hip side and point, the mean of ``truth - pred`` in the
    orientation the network saw (the image-right hip mirrored, so its x error changes
    sign) and in units of the crop's side (``padding`` times the side of
    :func:`hip_box` around ``crop_points``), so that it scales with the hip.
    A point missing in ``pred`` or ``truth`` (non-finite) is left out of its mean.

    Args:
        pred (np.ndarray): refined points ``(N, 12, 2)`` of N films, film pixels.
        truth (np.ndarray): the readers' points ``(N, 12, 2)``.
        crop_points (np.ndarray): the points ``(N, 12, 2)`` the crops were made
            around (the whole-film stage's).
        padding (float): ``GetBBoxCenterScale``'s padding of the refining stage.

    Returns:
        np.ndarray: ``(2, 6, 2)`` float64 offsets, ``[IMAGE_LEFT, IMAGE_RIGHT]``, to
        ADD to a hip's points in the network's orientation after multiplying by the
        crop's (w, h) scale; 0 where no film has the point.

    Raises:
        ValueError: the arrays' shapes differ or are not ``(N, 12, 2)``, or
            ``padding`` is not positive.
    """
    pred, truth, crop_points = (
        np.asarray(a, dtype=np.float64)[..., :2] for a in (pred, truth, crop_points)
    )
    shape = (geometry.NUM_KEYPOINTS, 2)
    if not (pred.shape == truth.shape == crop_points.shape) or pred.shape[1:] != shape:
        raise ValueError(
            f'pred, truth and crop_points must all be (N, {shape[0]}, 2); got '
            f'{pred.shape}, {truth.shape}, {crop_points.shape}'
        )
    if not padding > 0:
        raise ValueError(f'padding must be > 0, got {padding}')
    offsets = np.zeros((2, geometry.HIP_NUM_KEYPOINTS, 2))
    sides = crop_sides(crop_points, padding)
    for side, index in enumerate(geometry.HIP_KEYPOINTS):
        index = list(index)
        side_len = sides[:, side]
        error = (truth[:, index] - pred[:, index]) / side_len[:, None, None]
        if side == MIRRORED_HIP:
            error[..., 0] *= -1
        ok = np.isfinite(error).all(-1) & np.isfinite(side_len)[:, None] & (side_len > 0)[:, None]
        count = ok.sum(0)
        total = np.where(ok[..., None], error, 0.0).sum(0)
        offsets[side] = np.divide(
            total, count[:, None], out=np.zeros_like(total), where=count[:, None] > 0
        )
    return offsets
