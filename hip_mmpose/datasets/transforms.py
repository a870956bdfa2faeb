"""``LoadFilm``: the one film reader of every pipeline (training, testing, inference)."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from hip_mmpose.film_io import read_film, to_bgr8


@TRANSFORMS.register_module()
class LoadFilm(BaseTransform):
    """Read a JPEG, PNG (8/16-bit) or DICOM film with :func:`film_io.read_film`.

    MMPose's ``LoadImage`` decodes with OpenCV, so a 12-bit film in a 16-bit PNG
    reaches the network as values 0-15 and a DICOM not at all; this transform gives
    every container the network input documented in :mod:`hip_mmpose.film_io`,
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
