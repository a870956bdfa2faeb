"""Moved to :mod:`hip_mmpose.hip_crops` (pure numpy, importable without the training
stack, so the ONNX runtime shares it); this name stays for existing imports."""
from hip_mmpose.hip_crops import *  # noqa: F401,F403
