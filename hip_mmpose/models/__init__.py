from .cbam import CBAM
from .effv2_cbam import EfficientNetV2CBAM
from .losses import AcetabularLineLoss, acetabular_lines

__all__ = ['CBAM', 'EfficientNetV2CBAM', 'AcetabularLineLoss', 'acetabular_lines']
