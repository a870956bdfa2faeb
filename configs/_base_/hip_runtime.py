# Runtime shared by every hip_mmpose config: MMPose's defaults plus the plugin.
_base_ = ['mmpose::_base_/default_runtime.py']

# Registers HipXrayDataset, the CBAM backbone and HipMetric, and applies the stack
# fixes, also when a config is run with MMPose's own tools.
custom_imports = dict(imports=['hip_mmpose'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
