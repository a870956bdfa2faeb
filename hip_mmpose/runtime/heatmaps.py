"""MMPose's heatmap decoding and flip test, in numpy and OpenCV only.

The same arithmetic (2x2 inverses in closed form, :func:`_inv2x2`) as MMPose 1.x's
``UDPHeatmap.decode`` (``heatmap_type='gaussian'``: arg-max, then
``refine_keypoints_dark_udp``), ``MSRAHeatmap.decode``
(``unbiased``: ``refine_keypoints_dark``, else the quarter-pixel
``refine_keypoints``) and ``flip_heatmaps`` (``flip_mode='heatmap'``,
``shift_heatmap``); ``tests/test_onnx.py`` compares them with MMPose's own.
The codec's settings come from the ONNX file's metadata (:func:`decode`).
"""

from __future__ import annotations

from itertools import product

import cv2
import numpy as np

#: The codecs :func:`decode` implements, with the settings it reads from each.
CODECS = {
    'UDPHeatmap': ('input_size', 'heatmap_size', 'heatmap_type', 'blur_kernel_size'),
    'MSRAHeatmap': ('input_size', 'heatmap_size', 'unbiased', 'blur_kernel_size'),
}


def get_heatmap_maximum(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Location and value of each heatmap's maximum (MMPose's, for ``(K, H, W)``).

    Args:
        heatmaps (np.ndarray): heatmaps ``(K, H, W)``.

    Returns:
        tuple[np.ndarray, np.ndarray]: the arg-max ``(K, 2)`` float32 ``(x, y)`` in
        heatmap pixels (-1 where the maximum is not positive) and the maxima ``(K,)``.
    """
    K, H, W = heatmaps.shape
    flat = heatmaps.reshape(K, -1)
    y_locs, x_locs = np.unravel_index(np.argmax(flat, axis=1), shape=(H, W))
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    vals = np.amax(flat, axis=1)
    locs[vals <= 0.0] = -1
    return locs, vals


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """Blur each heatmap with its maximum kept (in place), as MMPose's ``gaussian_blur``.

    Args:
        heatmaps (np.ndarray): heatmaps ``(K, H, W)``, float32; overwritten.
        kernel (int): the Gaussian kernel size (odd), applied with zero padding.
            Defaults to 11.

    Returns:
        np.ndarray: ``heatmaps``, blurred and rescaled to their former maxima.
    """
    assert kernel % 2 == 1
    border = (kernel - 1) // 2
    K, H, W = heatmaps.shape
    for k in range(K):
        origin_max = np.max(heatmaps[k])
        dr = np.zeros((H + 2 * border, W + 2 * border), dtype=np.float32)
        dr[border:-border, border:-border] = heatmaps[k].copy()
        dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
        heatmaps[k] = dr[border:-border, border:-border].copy()
        heatmaps[k] *= origin_max / np.max(heatmaps[k])
    return heatmaps


def refine_keypoints(keypoints: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """Move each point a quarter pixel toward its higher neighbours (in place).

    MMPose's ``refine_keypoints`` (``MSRAHeatmap`` without ``unbiased``): in x and
    in y separately, by the sign of the central difference at the arg-max.

    Args:
        keypoints (np.ndarray): arg-max points ``(N, K, 2)`` ``(x, y)`` in heatmap
            pixels; overwritten.
        heatmaps (np.ndarray): heatmaps ``(K, H, W)``.

    Returns:
        np.ndarray: ``keypoints``, refined, in heatmap pixels.
    """
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    for n, k in product(range(N), range(K)):
        x, y = keypoints[n, k, :2].astype(int)
        dx = heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1] if 1 < x < W - 1 and 0 < y < H else 0.0
        dy = heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x] if 1 < y < H - 1 and 0 < x < W else 0.0
        keypoints[n, k] += np.sign([dx, dy], dtype=np.float32) * 0.25
    return keypoints


def refine_keypoints_dark(
    keypoints: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int
) -> np.ndarray:
    """DARK's Taylor step on the log of the blurred heatmaps (in place).

    MMPose's ``refine_keypoints_dark`` (``MSRAHeatmap(unbiased=True)``); points
    within 2 pixels of the border, or with a singular Hessian, stay as they are.

    Args:
        keypoints (np.ndarray): arg-max points ``(N, K, 2)`` ``(x, y)`` in heatmap
            pixels; overwritten.
        heatmaps (np.ndarray): heatmaps ``(K, H, W)`` float32; overwritten (by
            the log of their blurred values).
        blur_kernel_size (int): the Gaussian kernel size (odd) of the blur.

    Returns:
        np.ndarray: ``keypoints``, refined, in heatmap pixels.
    """
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    heatmaps = gaussian_blur(heatmaps, blur_kernel_size)
    np.maximum(heatmaps, 1e-10, heatmaps)
    np.log(heatmaps, heatmaps)
    for n, k in product(range(N), range(K)):
        x, y = keypoints[n, k, :2].astype(int)
        if 1 < x < W - 2 and 1 < y < H - 2:
            dx = 0.5 * (heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1])
            dy = 0.5 * (heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x])
            dxx = 0.25 * (heatmaps[k, y, x + 2] - 2 * heatmaps[k, y, x] + heatmaps[k, y, x - 2])
            dxy = 0.25 * (
                heatmaps[k, y + 1, x + 1]
                - heatmaps[k, y - 1, x + 1]
                - heatmaps[k, y + 1, x - 1]
                + heatmaps[k, y - 1, x - 1]
            )
            dyy = 0.25 * (heatmaps[k, y + 2, x] - 2 * heatmaps[k, y, x] + heatmaps[k, y - 2, x])
            derivative = np.array([[dx], [dy]])
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            if dxx * dyy - dxy**2 != 0:
                offset = -np.linalg.inv(hessian) @ derivative
                keypoints[n, k, :2] += np.squeeze(np.array(offset.T), axis=0)
    return keypoints


def _inv2x2(m: np.ndarray) -> np.ndarray:
    """Inverses of 2x2 matrices ``(..., 2, 2)`` in closed form.

    ``np.linalg.inv`` to within rounding, without waking BLAS threads for 2x2
    matrices (on a busy 2-core machine that took 5 ms a call, more than the rest of
    the decoding).
    """
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    out = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2)
    return out / (a * d - b * c)[..., None, None]


def refine_keypoints_dark_udp(
    keypoints: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int
) -> np.ndarray:
    """UDP's DARK step (in place), as MMPose's ``refine_keypoints_dark_udp``.

    The Taylor step on the log of the blurred heatmaps (clipped to [1e-3, 50]),
    with edge padding at the border and the Hessian inverted in closed form.

    Args:
        keypoints (np.ndarray): arg-max points ``(N, K, 2)`` ``(x, y)`` in heatmap
            pixels; overwritten.
        heatmaps (np.ndarray): heatmaps ``(K, H, W)`` float32; overwritten (by
            the log of their blurred, clipped values).
        blur_kernel_size (int): the Gaussian kernel size (odd) of the blur.

    Returns:
        np.ndarray: ``keypoints``, refined, in heatmap pixels.
    """
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    heatmaps = gaussian_blur(heatmaps, blur_kernel_size)
    np.clip(heatmaps, 1e-3, 50.0, heatmaps)
    np.log(heatmaps, heatmaps)
    heatmaps_pad = np.pad(heatmaps, ((0, 0), (1, 1), (1, 1)), mode='edge').flatten()
    for n in range(N):
        index = keypoints[n, :, 0] + 1 + (keypoints[n, :, 1] + 1) * (W + 2)
        index += (W + 2) * (H + 2) * np.arange(0, K)
        index = index.astype(int).reshape(-1, 1)
        i_ = heatmaps_pad[index]
        ix1 = heatmaps_pad[index + 1]
        iy1 = heatmaps_pad[index + W + 2]
        ix1y1 = heatmaps_pad[index + W + 3]
        ix1_y1_ = heatmaps_pad[index - W - 3]
        ix1_ = heatmaps_pad[index - 1]
        iy1_ = heatmaps_pad[index - 2 - W]
        dx = 0.5 * (ix1 - ix1_)
        dy = 0.5 * (iy1 - iy1_)
        derivative = np.concatenate([dx, dy], axis=1).reshape(K, 2, 1)
        dxx = ix1 - 2 * i_ + ix1_
        dyy = iy1 - 2 * i_ + iy1_
        dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
        hessian = np.concatenate([dxx, dxy, dxy, dyy], axis=1).reshape(K, 2, 2)
        hessian = _inv2x2(hessian + np.finfo(np.float32).eps * np.eye(2))
        keypoints[n] -= np.einsum('imn,ink->imk', hessian, derivative).squeeze()
    return keypoints


def decode(codec: dict, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points in the network's input and their scores from one crop's heatmaps.

    Args:
        codec (dict): ``type`` (a key of :data:`CODECS`) and that codec's settings.
        heatmaps (np.ndarray): ``(K, H, W)`` float32.

    Returns:
        tuple[np.ndarray, np.ndarray]: keypoints ``(K, 2)`` in input pixels and
        scores ``(K,)``.
    """
    heatmaps = heatmaps.copy()
    keypoints, scores = get_heatmap_maximum(heatmaps)
    keypoints, scores = keypoints[None], scores[None]
    W, H = codec['heatmap_size']
    if codec['type'] == 'UDPHeatmap':
        if codec['heatmap_type'] != 'gaussian':
            raise ValueError(
                f"UDPHeatmap heatmap_type {codec['heatmap_type']!r}: only 'gaussian' is implemented"
            )
        keypoints = refine_keypoints_dark_udp(
            keypoints, heatmaps, blur_kernel_size=codec['blur_kernel_size']
        )
        keypoints = keypoints / [W - 1, H - 1] * codec['input_size']
    elif codec['type'] == 'MSRAHeatmap':
        if codec['unbiased']:
            keypoints = refine_keypoints_dark(
                keypoints, heatmaps, blur_kernel_size=codec['blur_kernel_size']
            )
        else:
            keypoints = refine_keypoints(keypoints, heatmaps)
        scale_factor = (np.array(codec['input_size']) / codec['heatmap_size']).astype(np.float32)
        keypoints = keypoints * scale_factor
    else:
        raise ValueError(f'codec {codec["type"]!r}: only {", ".join(CODECS)} are implemented')
    return keypoints[0], scores[0]


def flip_heatmaps(heatmaps: np.ndarray, flip_indices, shift_heatmap: bool = False) -> np.ndarray:
    """Heatmaps of flipped inputs back to the unflipped frame (``flip_mode='heatmap'``).

    Mirrored left-right, channels swapped by ``flip_indices``, and shifted one
    pixel right where ``shift_heatmap`` (the first column then repeats).

    Args:
        heatmaps (np.ndarray): heatmaps ``(N, K, H, W)`` of the flipped inputs.
        flip_indices (Sequence[int]): the channel each output channel takes.
        shift_heatmap (bool): shift the result one pixel right (MMPose's
            ``test_cfg.shift_heatmap``). Defaults to False.

    Returns:
        np.ndarray: contiguous heatmaps ``(N, K, H, W)`` (a new array).
    """
    heatmaps = heatmaps[..., ::-1][:, list(flip_indices)]
    if shift_heatmap:
        heatmaps = heatmaps.copy()
        heatmaps[..., 1:] = heatmaps[..., :-1].copy()
    return np.ascontiguousarray(heatmaps)
