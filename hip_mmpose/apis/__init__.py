from .inferencer import HipInferencer
from .model_files import PUBLISHED_FORMAT, load_pose_model, publish_checkpoint

__all__ = ['HipInferencer', 'load_pose_model', 'publish_checkpoint', 'PUBLISHED_FORMAT']
