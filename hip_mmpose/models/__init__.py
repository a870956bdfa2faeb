from .cbam import CBAM
from .effv2_cbam import EfficientNetV2CBAM

__all__ = ['CBAM', 'EfficientNetV2CBAM']
