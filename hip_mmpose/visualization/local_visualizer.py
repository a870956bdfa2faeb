"""The hip visualizer: MMPose's ``PoseLocalVisualizer`` that draws the hip geometry.

:class:`HipPoseVisualizer` (in MMPose's ``VISUALIZERS`` registry) draws the roof
lines, H-line, P- and D-lines, H-points, AI and IHDI grade of each hip with
:func:`hip_mmpose.visualization.draw_hip_geometry` (the one drawing; OpenCV only, so
the torch-free runtime's overlays use it too). MMPose's ``PoseVisualizationHook``
(``tools/test.py --show-dir``, validation images in TensorBoard), the dataset
browser and the report's per-film figures draw through it; ``tools/infer.py``'s
overlays (``HipMeasurer.overlay``, torch-free) call the same drawing.
"""

from __future__ import annotations

import os.path as osp

import cv2
import mmcv
import numpy as np
from mmengine.fileio import LocalBackend, register_backend
from mmpose.registry import VISUALIZERS
from mmpose.visualization import PoseLocalVisualizer

from hip_mmpose import geometry
from hip_mmpose.utils.film_io import read_film
from hip_mmpose.utils.hip_crops import merge_hips
from hip_mmpose.visualization.draw import draw_hip_geometry


@VISUALIZERS.register_module()
class HipPoseVisualizer(PoseLocalVisualizer):
    """MMPose's local visualizer drawing the hip geometry of AP pelvis films.

    ``add_datasample`` (what MMPose's ``PoseVisualizationHook`` calls) draws a
    sample's 12 predicted points with the roof lines, H-line, P- and D-lines,
    H-points, and each hip's AI and IHDI grade on the whole film; with
    ``draw_gt`` the ground truth is drawn beside it (ground truth | prediction).

    The refining stage's samples are single hips (``hip_side`` in their metainfo,
    six points, the image-right hip in the mirrored film). A film is drawn once both
    its hips have arrived, joined into its 12 film points as :class:`HipMetric`
    joins them (they arrive one after the other in a test loop), so the per-hip
    stage's overlays show the final 12 points on the film; a lone hip is not drawn
    (validation, where the hook draws only a batch's first sample).

    Args:
        name (str): the instance name (MMEngine's ``ManagerMixin``). Defaults to
            'visualizer'.
        kpt_thr (float): points scoring below it are drawn red (when
            ``add_datasample`` is not given another ``kpt_thr``). Defaults to
            :data:`hip_mmpose.geometry.SCORE_THR`.
        **kwargs: ``PoseLocalVisualizer``'s arguments (``vis_backends``,
            ``save_dir``, ...).
    """

    def __init__(self, name: str = 'visualizer', kpt_thr: float = geometry.SCORE_THR, **kwargs):
        super().__init__(name=name, **kwargs)
        self.kpt_thr = kpt_thr
        self._pending_hip: dict = {}  # (img_path, field) -> (hip side, (6, 3) points)

    def draw_hip_geometry(
        self,
        img: np.ndarray,
        points,
        scores=None,
        score_thr: float | None = None,
        label: str | None = None,
        numbers: bool = False,
        not_measured: dict | None = None,
        p_line_shift: float = 0.0,
    ) -> np.ndarray:
        """A copy of ``img`` with lines, H-points, AI and IHDI grade of each hip.

        Calls :func:`hip_mmpose.visualization.draw_hip_geometry`, the one drawing.

        Args:
            img (np.ndarray): a film (8/16-bit, grey, BGR or BGRA; e.g. what
                :func:`film_io.load_film` returns).
            points (array-like): the 12 points ``(12, 2)`` in film pixels; non-finite
                points are left out (with the lines and angles that need them).
            scores (array-like, optional): ``(12,)`` scores; points below
                ``score_thr`` are drawn red. Defaults to None.
            score_thr (float, optional): the red threshold. Defaults to None (the
                visualizer's ``kpt_thr``).
            label (str, optional): a caption at the top left. Defaults to None.
            numbers (bool): write the 1-based keypoint numbers (for checking
                labels). Defaults to False.
            not_measured (dict, optional): ``{hip name: reason}`` of hips that get no
                AI and grade (the inferencers' ``not_measured``). Defaults to None.
            p_line_shift (float): where the grade is decided
                (:func:`hip_mmpose.geometry.ihdi_grades`). Defaults to 0.0.

        Returns:
            np.ndarray: the drawing, 8-bit BGR (for ``cv2.imwrite``).
        """
        return draw_hip_geometry(
            img,
            points,
            scores,
            self.kpt_thr if score_thr is None else score_thr,
            label=label,
            numbers=numbers,
            not_measured=not_measured,
            p_line_shift=p_line_shift,
        )

    def _film_points(self, data_sample, field: str):
        """The sample's 12 film points and scores from ``pred_instances`` or
        ``gt_instances``; for a single hip, ``None`` until its film's other hip
        has arrived (then both, joined)."""
        instances = data_sample.get(field)
        if instances is None or 'keypoints' not in instances:
            return None, None
        points = np.asarray(instances.keypoints, np.float64)[0]
        scores = instances.get('keypoint_scores')
        scores = np.asarray(scores, np.float64)[0] if scores is not None else np.ones(len(points))
        side = data_sample.metainfo.get('hip_side')
        if side is None:
            return points, scores
        return self._join_hip(data_sample, field, int(side), np.column_stack([points, scores]))

    def _join_hip(self, data_sample, field: str, side: int, hip: np.ndarray):
        key = (data_sample.metainfo.get('img_path'), field)
        other = self._pending_hip.get(key)
        if other is None or other[0] == side:
            # this film's first hip; a hip of an earlier film still waiting is dropped
            self._pending_hip = {k: v for k, v in self._pending_hip.items() if k[0] == key[0]}
            self._pending_hip[key] = (side, hip)
            return None, None
        del self._pending_hip[key]
        hips = [hip, other[1]] if side == 0 else [other[1], hip]
        joined = merge_hips(hips, data_sample.metainfo['ori_shape'][1])
        return joined[:, :2], joined[:, 2]

    def add_datasample(
        self,
        name: str,
        image: np.ndarray,
        data_sample,
        draw_gt: bool = True,
        draw_pred: bool = True,
        draw_heatmap: bool = False,
        draw_bbox: bool = False,
        show_kpt_idx: bool = False,
        skeleton_style: str = 'mmpose',
        show: bool = False,
        wait_time: float = 0,
        out_file: str | None = None,
        kpt_thr: float | None = None,
        step: int = 0,
    ) -> np.ndarray | None:
        """Draw a sample's hip geometry; show it, write it or send it to the backends.

        Args:
            name (str): the image identifier (the backends' tag).
            image (np.ndarray): the film, RGB (as MMPose's hooks read it).
            data_sample (PoseDataSample): one film's (or one hip's) sample.
            draw_gt (bool): also draw the ground truth (left of the prediction).
                Defaults to True.
            draw_pred (bool): draw the prediction. Defaults to True.
            draw_heatmap (bool): accepted for MMPose's hooks and ignored (no
                heatmap is drawn). Defaults to False.
            draw_bbox (bool): accepted and ignored (no box is drawn). Defaults to
                False.
            show_kpt_idx (bool): write the 1-based keypoint numbers. Defaults to
                False.
            skeleton_style (str): accepted and ignored (no skeleton is drawn).
                Defaults to 'mmpose'.
            show (bool): show the drawing in a window. Defaults to False.
            wait_time (float): seconds to show it. Defaults to 0.
            out_file (str, optional): write the drawing there instead of to the
                backends (as PNG, ``.png`` added to a name that is not a PNG or JPEG
                one, e.g. a DICOM film's ``x.dcm``); a drawing that cannot be written
                is logged and skipped. Defaults to None.
            kpt_thr (float, optional): points below it are drawn red. Defaults to
                None (the visualizer's ``kpt_thr``).
            step (int): the backends' global step. Defaults to 0.

        Returns:
            np.ndarray | None: the drawing (RGB), or None for a single hip whose
            film's other hip has not arrived yet.
        """
        film = (
            cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
            if image.ndim == 3 and image.shape[2] == 3
            else image
        )
        file = osp.basename(data_sample.metainfo.get('img_path') or name)
        panels = []
        for field, wanted, what in (
            ('gt_instances', draw_gt, 'ground truth'),
            ('pred_instances', draw_pred, 'prediction'),
        ):
            if not wanted:
                continue
            points, scores = self._film_points(data_sample, field)
            if points is None:
                continue
            prediction = field == 'pred_instances'
            panels.append(
                self.draw_hip_geometry(
                    film,
                    points,
                    scores if prediction else None,
                    kpt_thr,
                    label=f'{file} ({what})',
                    numbers=show_kpt_idx,
                    p_line_shift=data_sample.metainfo.get('p_line_shift', 0.0)
                    if prediction
                    else 0.0,
                )
            )
        if not panels:
            return None
        drawn = cv2.cvtColor(np.concatenate(panels, axis=1), cv2.COLOR_BGR2RGB)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            if not out_file.lower().endswith(('.png', '.jpg', '.jpeg')):
                out_file += '.png'  # a DICOM film's name: OpenCV writes no .dcm
            try:
                mmcv.imwrite(drawn[..., ::-1], out_file)
            except Exception as err:  # one film's overlay: the others still get theirs
                from mmengine.logging import print_log

                print_log(f'{out_file}: overlay not written ({err})', 'current', 30)
        else:
            self.add_image(name, drawn, step)
        return self.get_image()


def overlay_visualizer(kpt_thr: float = geometry.SCORE_THR) -> HipPoseVisualizer:
    """A backend-less :class:`HipPoseVisualizer` for drawing films to arrays.

    Built directly, not through ``get_instance``, so it never becomes MMEngine's
    current visualizer (a Runner's hooks keep theirs).

    Args:
        kpt_thr (float): points scoring below it are drawn red. Defaults to
            :data:`hip_mmpose.geometry.SCORE_THR`.

    Returns:
        HipPoseVisualizer: the visualizer (``draw_hip_geometry`` returns BGR).
    """
    return HipPoseVisualizer(name='hip_overlay', kpt_thr=kpt_thr)


class FilmFileBackend(LocalBackend):
    """A local file backend that reads films as the project does.

    MMPose's ``PoseVisualizationHook`` reads each film with ``fileio.get`` and
    decodes it with OpenCV, which knows no DICOM and cuts 16-bit films to their top
    byte. With ``backend_args=dict(backend='hip_film')`` (``configs/_base_/
    hip_runtime.py``) it gets the film as :func:`film_io.read_film` reads it
    (JPEG/PNG 8/16-bit, DICOM), windowed to 8 bits, PNG-encoded: the overlays show
    the film the model saw.
    """

    def get(self, filepath) -> bytes:
        """The film at ``filepath`` as 8-bit PNG bytes.

        Args:
            filepath (str | Path): a film (JPEG, PNG, DICOM).

        Returns:
            bytes: the PNG encoding of its 8-bit BGR image.
        """
        ok, encoded = cv2.imencode('.png', read_film(filepath).image)
        if not ok:
            raise ValueError(f'{filepath}: could not encode the film for drawing')
        return encoded.tobytes()


register_backend('hip_film', FilmFileBackend)
