"""hip_mmpose: MMPose plugin for paediatric hip keypoints, acetabular index and IHDI.

Importing the package applies the stack fixes (:mod:`hip_mmpose.compat`) and
registers every module of the plugin in MMPose's registries.
"""
from . import compat

compat.apply_all()

from . import datasets, evaluation, models, visualization  # noqa: E402,F401  (registers the plugin modules)

__version__ = '0.1.0'
