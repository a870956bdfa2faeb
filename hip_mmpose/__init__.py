"""hip_mmpose: MMPose plugin for paediatric hip keypoints, acetabular index and IHDI.

Importing the package applies the stack fixes (:mod:`hip_mmpose.utils.compat`) and
registers every module of the plugin in MMPose's registries.

Without the training stack (torch and the OpenMMLab packages not installed, e.g.
next to ``onnxruntime`` only) the package still imports, registering nothing, so its
torch-free modules (:mod:`hip_mmpose.runtime`, :mod:`hip_mmpose.geometry`,
:mod:`hip_mmpose.utils.film_io`, ...) can be used; :data:`TRAINING_STACK` is then False.
Any other import error is raised as usual.
"""

#: The packages of the training stack whose absence is allowed.
STACK_PACKAGES = ('torch', 'mmengine', 'mmcv', 'mmpose', 'mmpretrain', 'mmdet')

try:
    from .utils import compat

    compat.apply_all()

    # registers the plugin's modules; apis.model_files hands compat fix 5 its check of
    # published files
    from . import datasets, evaluation, models  # noqa: E402,F401
    from .apis import model_files  # noqa: E402,F401
    from .visualization import local_visualizer  # noqa: E402,F401
except ModuleNotFoundError as err:
    if err.name not in STACK_PACKAGES:
        raise
    TRAINING_STACK, MISSING_STACK_PACKAGE = False, err.name
else:
    TRAINING_STACK, MISSING_STACK_PACKAGE = True, None

__version__ = '0.2.0'
