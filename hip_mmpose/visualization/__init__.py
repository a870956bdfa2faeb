"""Drawing the hip geometry.

:mod:`.draw` (``draw_hip_geometry``: OpenCV, torch-free, used by the ONNX runtime's
overlays) is the only drawing of the points, lines, angles and grades;
:mod:`.local_visualizer` (``HipPoseVisualizer``, registered in MMPose's
``VISUALIZERS``, and ``FilmFileBackend``) draws with it for MMPose's hooks, the
dataset browser and the report. Importing this package imports only :mod:`.draw`.
"""

from .draw import COLOURS, draw_hip_geometry

__all__ = ['COLOURS', 'draw_hip_geometry']
