"""``LoadFilm``: the one film reader of every pipeline (training, testing, inference);
``RankFilm``: each grey level of the film by its rank (both configs, right after
``LoadFilm``); ``RandomStretch``: an augmentation that changes the angles of a training
crop; ``RandomWindow``: another window's gamma and width on a crop; ``Clahe``:
contrast-limited histogram equalisation of a crop (the last three: ablations, not in
the configs)."""

from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from hip_mmpose.utils.film_io import (
    RANK_END_SHARE,
    WINDOWING,
    checked_end_share,
    rank_grey_levels,
    read_film,
    rewindow,
    to_bgr8,
)


def _log_range(owner: str, name: str, value) -> tuple[float, float]:
    """A ``(low, high)`` range for a log-uniform draw, checked.

    Args:
        owner (str): the transform, named in the error.
        name (str): the argument, named in the error.
        value (Sequence[float]): the range given.

    Returns:
        tuple[float, float]: ``(low, high)`` with ``0 < low <= high < inf``.
    """
    low, high = (float(v) for v in value)
    if not 0 < low <= high < float('inf'):
        raise ValueError(f'{owner}: {name} must be (low, high) with 0 < low <= high, not {value}')
    return low, high


def _probability(owner: str, prob) -> float:
    """``prob`` as a float in [0, 1], or a ValueError naming ``owner``."""
    if not 0 <= prob <= 1:
        raise ValueError(f'{owner}: prob must lie in [0, 1], not {prob}')
    return float(prob)


def _log_uniform(low_high: tuple[float, float]) -> float:
    """A value drawn log-uniformly from ``(low, high)`` (``np.random``)."""
    return float(np.exp(np.random.uniform(*np.log(low_high))))


@TRANSFORMS.register_module()
class LoadFilm(BaseTransform):
    """Read a JPEG, PNG (8/16-bit) or DICOM film with :func:`film_io.read_film`.

    MMPose's ``LoadImage`` decodes with OpenCV, so a 12-bit film in a 16-bit PNG
    reaches the network as values 0-15 and a DICOM not at all; this transform gives
    every container the network input documented in :mod:`hip_mmpose.utils.film_io`,
    the same one inference uses. An ``img`` already in ``results`` (inference on
    arrays) goes through the same conversion (:func:`film_io.to_bgr8`).

    Required keys: ``img_path`` (or ``img``). Optional: ``pixel_spacing``
    (from the COCO file; kept when set, else the DICOM header's).

    Added keys: ``img`` (uint8 BGR), ``img_shape``, ``ori_shape``,
    ``pixel_spacing`` (``(x, y)`` mm per pixel as float32 array, or None).
    """

    def transform(self, results: dict) -> dict:
        """Load the film (or convert the given ``img``) and record its spacing.

        Args:
            results (dict): the result dict, with ``img_path`` or ``img``.

        Returns:
            dict: ``results`` with ``img``, ``img_shape``, ``ori_shape`` and
            ``pixel_spacing`` set (see the class doc).
        """
        if results.get('img') is None:
            film = read_film(results['img_path'])
            img, spacing = film.image, film.pixel_spacing
        else:
            img, spacing = to_bgr8(np.asarray(results['img']), copy=False), None
        if results.get('pixel_spacing') is None and spacing is not None:
            results['pixel_spacing'] = np.asarray(spacing, np.float32)
        results.setdefault('pixel_spacing', None)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class RandomStretch(BaseTransform):
    """Stretch the film along y by a random factor about the box's centre.

    Scaling y by ``s`` multiplies the tangent of a line's angle to the horizontal by
    ``s``: a roof line at an acetabular index of 20 deg reads 17.6-22.7 deg for
    ``s`` in 0.87-1.15. Training crops then span a wider range of angles than the
    training films' own, so a network cannot get the angle from the shape it expects
    (the mean hip) where the roof's edge is faint, and must read it from the film.
    Points and box move with the pixels (labels stay exact). MMPose's
    ``RandomBBoxTransform`` scales both axes alike, which keeps every angle.

    Put it after ``LoadFilm`` (and ``MirrorHip``) and before ``GetBBoxCenterScale``:
    it reads and writes ``bbox`` as ``[x1, y1, x2, y2]``.

    Required keys: ``img``, ``bbox``; optional: ``keypoints``.
    Modified keys: ``img``, ``bbox``, ``keypoints``.

    Args:
        scale (tuple[float, float]): the range of ``s``, drawn log-uniformly.
            Defaults to ``(0.87, 1.15)``.
        prob (float): the chance of stretching a sample. Defaults to 1.0.
    """

    def __init__(self, scale: tuple = (0.87, 1.15), prob: float = 1.0):
        self.scale = _log_range('RandomStretch', 'scale', scale)
        self.prob = _probability('RandomStretch', prob)

    def _draw(self) -> float | None:
        """The factor for one sample, or None to leave it as it is."""
        if np.random.rand() >= self.prob:
            return None
        return _log_uniform(self.scale)

    def transform(self, results: dict) -> dict:
        """Stretch film, points and box by a drawn factor (or leave them).

        Args:
            results (dict): the result dict, with ``img`` and ``bbox`` (``(1, 4)``
                xyxy) and optionally ``keypoints`` (``(1, K, 2)``).

        Returns:
            dict: ``results``, stretched in place (``stretch`` records the factor,
            1.0 where left as it was).
        """
        s = self._draw()
        results['stretch'] = 1.0 if s is None else s
        if s is None or s == 1.0:
            return results
        bbox = np.asarray(results['bbox'], np.float32)
        cy = float(bbox[..., 1::2].mean())
        # y' = s * y + (1 - s) * cy, the box's centre staying where it is
        matrix = np.array([[1, 0, 0], [0, s, (1 - s) * cy]], np.float32)
        h, w = results['img'].shape[:2]
        results['img'] = cv2.warpAffine(results['img'], matrix, (w, h), flags=cv2.INTER_LINEAR)
        bbox = bbox.copy()
        bbox[..., 1::2] = s * bbox[..., 1::2] + (1 - s) * cy
        results['bbox'] = bbox
        if results.get('keypoints') is not None:
            points = np.array(results['keypoints'], np.float32)
            points[..., 1] = s * points[..., 1] + (1 - s) * cy
            results['keypoints'] = points
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale}, prob={self.prob})'


@TRANSFORMS.register_module()
class Clahe(BaseTransform):
    """Contrast-limited adaptive histogram equalisation (OpenCV's CLAHE) of ``img``.

    Evens out exposure between films and lifts faint edges (the roof's lateral edge,
    the triradiate cartilage). Put it after ``TopdownAffine`` so it equalises the
    crop the network sees, the same at training and test time. The film is grey:
    the three channels are averaged, equalised and written back to all three.

    Required keys: ``img`` (uint8). Modified keys: ``img``.

    Args:
        clip_limit (float): OpenCV's ``clipLimit``. Defaults to 2.0.
        tile_grid_size (tuple[int, int]): tiles along x and y. Defaults to (4, 4).
    """

    def __init__(self, clip_limit: float = 2.0, tile_grid_size: tuple = (4, 4)):
        clip_limit = float(clip_limit)
        tiles = tuple(int(v) for v in tile_grid_size)
        if not clip_limit > 0 or len(tiles) != 2 or min(tiles) < 1:
            raise ValueError(
                f'Clahe: clip_limit must be > 0 and tile_grid_size two positive '
                f'integers, not {clip_limit}, {tile_grid_size}'
            )
        self.clip_limit, self.tile_grid_size = clip_limit, tiles

    def transform(self, results: dict) -> dict:
        """Equalise ``results['img']``.

        Args:
            results (dict): the result dict, with a uint8 ``img`` (H, W) or (H, W, C).

        Returns:
            dict: ``results`` with ``img`` equalised (same shape and dtype).
        """
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'Clahe: expected a uint8 image, got {img.dtype}')
        grey = img if img.ndim == 2 else img.mean(axis=-1).round().astype(np.uint8)
        clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=self.tile_grid_size)
        out = clahe.apply(np.ascontiguousarray(grey))
        results['img'] = out if img.ndim == 2 else np.repeat(out[..., None], img.shape[-1], -1)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(clip_limit={self.clip_limit}, '
            f'tile_grid_size={self.tile_grid_size})'
        )


@TRANSFORMS.register_module()
class RankFilm(BaseTransform):
    """Every grey level replaced by its mid-rank in the film (:func:`rank_grey_levels`):
    the network sees the film's grey-level order, not the window it was exported at,
    so another hospital's gamma or window width (``tools/benchmark_contrast.py``)
    leaves the input unchanged wherever it does not clip.

    Put it right after ``LoadFilm``, the same in the training and the test pipeline
    (the whole film, before any crop: a rank is the film's, not the crop's).

    Args:
        end_share (float): the most the film's darkest or brightest grey level counts,
            as a share of the film (a wide uniform border counts as this much);
            ``film_io.RANK_END_SHARE`` by default, 1 for the uncapped mid-rank.

    Required keys: ``img`` (uint8). Modified keys: ``img``.
    """

    def __init__(self, end_share: float = RANK_END_SHARE):
        self.end_share = checked_end_share(end_share, 'RankFilm: end_share')

    def transform(self, results: dict) -> dict:
        """Rank the grey levels of ``results['img']``.

        Args:
            results (dict): the result dict, with a uint8 ``img``.

        Returns:
            dict: ``results`` with ``img`` ranked (same shape and dtype).
        """
        results['img'] = rank_grey_levels(results['img'], self.end_share)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(end_share={self.end_share})'


@TRANSFORMS.register_module()
class RandomWindow(BaseTransform):
    """Show a training crop as another hospital's windowing would: a random gamma and
    window width (:func:`film_io.rewindow`), so the network's points do not move with
    the contrast the film was exported at (``tools/benchmark_contrast.py`` measures
    how far they do). MMPose's ``PhotometricDistortion`` changes brightness and
    contrast linearly; a window's gamma and its clipping are not linear.

    Put it after ``TopdownAffine`` (it is per pixel: the crop is cheaper than the film).

    Required keys: ``img`` (uint8). Modified keys: ``img``.

    Args:
        gamma (tuple[float, float]): range of the gamma, drawn log-uniformly.
            Defaults to ``film_io.WINDOWING['gamma']`` (0.8-1.25).
        width (tuple[float, float]): range of the window-width factor, drawn
            log-uniformly. Defaults to ``film_io.WINDOWING['width']`` (0.8-1.2).
        prob (float): the chance of rewindowing a sample. Defaults to 0.5.
    """

    def __init__(self, gamma: tuple | None = None, width: tuple | None = None, prob: float = 0.5):
        self.gamma = _log_range(
            'RandomWindow', 'gamma', WINDOWING['gamma'] if gamma is None else gamma
        )
        self.width = _log_range(
            'RandomWindow', 'width', WINDOWING['width'] if width is None else width
        )
        self.prob = _probability('RandomWindow', prob)

    def transform(self, results: dict) -> dict:
        """Rewindow ``results['img']`` by a drawn gamma and width (or leave it).

        Args:
            results (dict): the result dict, with a uint8 ``img``.

        Returns:
            dict: ``results`` with ``img`` rewindowed; ``window`` records the
            ``(gamma, width)`` drawn, ``(1.0, 1.0)`` where left as it was.
        """
        if np.random.rand() >= self.prob:
            results['window'] = (1.0, 1.0)
            return results
        gamma, width = _log_uniform(self.gamma), _log_uniform(self.width)
        results['img'] = rewindow(results['img'], gamma, width)
        results['window'] = (gamma, width)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(gamma={self.gamma}, width={self.width}, prob={self.prob})'
