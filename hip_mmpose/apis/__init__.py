"""The Python API: train and test a config (:mod:`.run`, :mod:`.run_config`), measure
films (:class:`HipInferencer`), read and publish model files (:mod:`.model_files`).

Needs the training stack (torch, MMEngine, MMPose). ``import hip_mmpose`` imports it
where that stack is installed (so that every checkpoint MMEngine loads is checked by
:func:`.model_files.check_published_meta`) and skips it where it is not, so the
torch-free modules work without it.
"""

from .inferencer import HipInferencer
from .model_files import PUBLISHED_FORMAT, load_pose_models, publish_checkpoint, read_published
from .run import TestResult, TrainResult, test, train
from .run_config import build_config

__all__ = [
    'HipInferencer',
    'load_pose_models',
    'publish_checkpoint',
    'read_published',
    'PUBLISHED_FORMAT',
    'build_config',
    'train',
    'test',
    'TrainResult',
    'TestResult',
]
