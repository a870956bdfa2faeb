"""MMPose's top-down crop and its inverse, in numpy and OpenCV only.

The same arithmetic (and dtypes) as MMPose 1.x's ``GetBBoxCenterScale``,
``TopdownAffine`` (UDP or not), ``PoseDataPreprocessor`` and
``TopdownPoseEstimator.add_pred_to_datasample``, so that a crop made here is the
crop MMPose makes; ``tests/test_onnx.py`` compares them with MMPose's own.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def bbox_xyxy2cs(bbox: np.ndarray, padding: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of an ``[x1, y1, x2, y2]`` box (``GetBBoxCenterScale``).

    Args:
        bbox (np.ndarray): the box ``(4,)``.
        padding (float): the scale is the box's size times this. Defaults to 1.

    Returns:
        tuple[np.ndarray, np.ndarray]: centre ``(2,)`` and scale ``(2,)`` (w, h).
    """
    bbox = np.asarray(bbox, np.float32)
    return (bbox[2:] + bbox[:2]) * 0.5, (bbox[2:] - bbox[:2]) * padding


def fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow the scale ``(2,)`` to ``w / h == aspect_ratio`` (``TopdownAffine``).

    Args:
        scale (np.ndarray): the box size ``(2,)`` (w, h) in film pixels.
        aspect_ratio (float): the network input's ``w / h``.

    Returns:
        np.ndarray: ``(2,)`` (w, h): the side that is too short lengthened, the
        other unchanged.
    """
    w, h = np.hsplit(scale[None], [1])
    return np.where(
        w > h * aspect_ratio, np.hstack([w, w / aspect_ratio]), np.hstack([h * aspect_ratio, h])
    )[0]


def _rotate_point(pt: np.ndarray, angle_rad: float) -> np.ndarray:
    sn, cs = np.sin(angle_rad), np.cos(angle_rad)
    return np.array([[cs, -sn], [sn, cs]]) @ pt


def _get_3rd_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    direction = a - b
    return b + np.r_[-direction[1], direction[0]]


def get_udp_warp_matrix(
    center: np.ndarray, scale: np.ndarray, rot: float, output_size: tuple[int, int]
) -> np.ndarray:
    """The 2x3 film-to-input matrix of UDP (MMPose's ``get_udp_warp_matrix``).

    Args:
        center (np.ndarray): the box centre ``(2,)``.
        scale (np.ndarray): the box size ``(2,)`` (w, h).
        rot (float): rotation in degrees.
        output_size (tuple[int, int]): the network's input (w, h).

    Returns:
        np.ndarray: the matrix ``(2, 3)`` float32.
    """
    input_size = center * 2
    rot_rad = np.deg2rad(rot)
    warp_mat = np.zeros((2, 3), dtype=np.float32)
    scale_x = (output_size[0] - 1) / scale[0]
    scale_y = (output_size[1] - 1) / scale[1]
    warp_mat[0, 0] = math.cos(rot_rad) * scale_x
    warp_mat[0, 1] = -math.sin(rot_rad) * scale_x
    warp_mat[0, 2] = scale_x * (
        -0.5 * input_size[0] * math.cos(rot_rad)
        + 0.5 * input_size[1] * math.sin(rot_rad)
        + 0.5 * scale[0]
    )
    warp_mat[1, 0] = math.sin(rot_rad) * scale_y
    warp_mat[1, 1] = math.cos(rot_rad) * scale_y
    warp_mat[1, 2] = scale_y * (
        -0.5 * input_size[0] * math.sin(rot_rad)
        - 0.5 * input_size[1] * math.cos(rot_rad)
        + 0.5 * scale[1]
    )
    return warp_mat


def get_warp_matrix(
    center: np.ndarray, scale: np.ndarray, rot: float, output_size: tuple[int, int]
) -> np.ndarray:
    """The 2x3 film-to-input matrix without UDP (MMPose's ``get_warp_matrix``).

    No shift, and the aspect ratio already fixed (:func:`fix_aspect_ratio`).

    Args:
        center (np.ndarray): the box centre ``(2,)``.
        scale (np.ndarray): the box size ``(2,)`` (w, h).
        rot (float): rotation in degrees.
        output_size (tuple[int, int]): the network's input (w, h).

    Returns:
        np.ndarray: the matrix ``(2, 3)``.
    """
    shift = np.array((0.0, 0.0))
    src_w = scale[0]
    dst_w, dst_h = output_size[:2]
    rot_rad = np.deg2rad(rot)
    src_dir = _rotate_point(np.array([src_w * -0.5, 0.0]), rot_rad)
    dst_dir = np.array([dst_w * -0.5, 0.0])
    src = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center + scale * shift
    src[1, :] = center + src_dir + scale * shift
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    src[2, :] = _get_3rd_point(src[0, :], src[1, :])
    dst[2, :] = _get_3rd_point(dst[0, :], dst[1, :])
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def flip_bbox_x(bbox: np.ndarray, width: int) -> np.ndarray:
    """An ``[x1, y1, x2, y2]`` box mirrored left-right in a film ``width`` wide.

    MMPose's ``flip_bbox`` (``x -> w - 1 - x``); x1 and x2 swap so that x1 <= x2
    still holds.

    Args:
        bbox (np.ndarray): the box ``(4,)`` xyxy in film pixels.
        width (int): the film's width in pixels.

    Returns:
        np.ndarray: the mirrored box ``(4,)`` float32.
    """
    bbox = np.asarray(bbox, np.float32)
    out = bbox.copy()
    out[::2] = width - bbox[-2::-2] - 1
    return out


def topdown_crop(
    img: np.ndarray, bbox: np.ndarray, padding: float, input_size: tuple[int, int], use_udp: bool
):
    """Crop a box of a film to the network's input (``GetBBoxCenterScale``, ``TopdownAffine``).

    Args:
        img (np.ndarray): the film, ``(H, W, 3)`` uint8.
        bbox (np.ndarray): ``[x1, y1, x2, y2]`` in film pixels.
        padding (float): ``GetBBoxCenterScale``'s padding.
        input_size (tuple[int, int]): the network's input (w, h).
        use_udp (bool): unbiased data processing (``TopdownAffine(use_udp=...)``).

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: the crop ``(h, w, 3)`` uint8 and
        the centre and scale (after the aspect ratio is fixed) that map the
        network's points back to the film (:func:`to_film`).
    """
    w, h = input_size
    center, scale = bbox_xyxy2cs(bbox, padding)
    scale = fix_aspect_ratio(scale, w / h)
    warp = (get_udp_warp_matrix if use_udp else get_warp_matrix)(center, scale, 0.0, (w, h))
    crop = cv2.warpAffine(img, warp, (int(w), int(h)), flags=cv2.INTER_LINEAR)
    return crop, center, scale


def normalize(crops: list[np.ndarray], mean, std, bgr_to_rgb: bool) -> np.ndarray:
    """Crops to the network's input batch, as MMPose's ``PoseDataPreprocessor``.

    Channel order first, then ``(x - mean) / std`` per channel.

    Args:
        crops (list[np.ndarray]): crops ``(h, w, 3)`` uint8 BGR, all one size.
        mean (Sequence[float]): per-channel means, in the channel order after
            ``bgr_to_rgb``.
        std (Sequence[float]): per-channel standard deviations.
        bgr_to_rgb (bool): reverse the channels to RGB before normalising.

    Returns:
        np.ndarray: the batch ``(N, 3, h, w)`` float32, contiguous.
    """
    batch = np.stack(crops).transpose(0, 3, 1, 2)
    if bgr_to_rgb:
        batch = batch[:, ::-1]
    batch = batch.astype(np.float32)
    mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((batch - mean) / std)


def to_film(keypoints: np.ndarray, input_size, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Points in the network's input back to film pixels (MMPose's ``add_pred_to_datasample``).

    ``TopdownPoseEstimator.add_pred_to_datasample``'s arithmetic:
    ``keypoints / input_size * scale + center - scale / 2``.

    Args:
        keypoints (np.ndarray): points ``(..., K, 2)`` in input pixels.
        input_size (Sequence[int]): the network's input (w, h).
        center (np.ndarray): the crop's centre ``(2,)`` (:func:`topdown_crop`).
        scale (np.ndarray): the crop's scale ``(2,)`` (w, h) in film pixels.

    Returns:
        np.ndarray: the points ``(..., K, 2)`` in film pixels.
    """
    return keypoints / input_size * scale + center - 0.5 * scale
