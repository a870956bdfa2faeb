from .inferencer import HipInferencer
from .model_files import (PUBLISHED_FORMAT, load_pose_models, publish_checkpoint,
                          read_published)

__all__ = ['HipInferencer', 'load_pose_models', 'publish_checkpoint', 'read_published',
           'PUBLISHED_FORMAT']
