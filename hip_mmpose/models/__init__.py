from .cbam import CBAM
from .effv2_cbam import EfficientNetV2CBAM
from .heatmap_line_head import HeatmapLineHead, soft_argmax
from .hip_estimator import HipTopdownPoseEstimator
from .losses import AcetabularLineLoss, acetabular_lines

__all__ = [
    'CBAM',
    'EfficientNetV2CBAM',
    'AcetabularLineLoss',
    'acetabular_lines',
    'HeatmapLineHead',
    'HipTopdownPoseEstimator',
    'soft_argmax',
]
