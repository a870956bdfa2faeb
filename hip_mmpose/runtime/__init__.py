"""Measuring films without the training stack: onnxruntime, numpy and OpenCV.

Importing it imports neither torch nor any OpenMMLab package::

    from hip_mmpose.runtime import OnnxHipInferencer
    inferencer = OnnxHipInferencer('hip.onnx')          # tools/export_onnx.py
    for path, film, result, error in inferencer.predict_files(paths): ...
"""

from .model import (
    METADATA_KEY,
    ONNX_FORMAT,
    OnnxHipInferencer,
    OnnxModelError,
    read_onnx_model,
    stage_names,
)

__all__ = [
    'OnnxHipInferencer',
    'OnnxModelError',
    'read_onnx_model',
    'stage_names',
    'METADATA_KEY',
    'ONNX_FORMAT',
]
