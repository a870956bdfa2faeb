# Runtime shared by every hip_mmpose config: MMPose's defaults plus the plugin.
_base_ = ['mmpose::_base_/default_runtime.py']

# Registers HipXrayDataset, the CBAM backbone and HipMetric, and applies the stack
# fixes, also when a config is run with MMPose's own tools.
custom_imports = dict(imports=['hip_mmpose'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    # MMPose's hook reads films through the project's reader (DICOM, 16-bit windowed):
    # hip_mmpose.visualization.local_visualizer.FilmFileBackend
    visualization=dict(backend_args=dict(backend='hip_film')),
)

# MMPose names its visualizer 'visualizer'; MMEngine then hands every later Runner of
# the same process (k-fold, tests) the first run's visualizer, and their logs land in
# the first run's folder. Without a name each run gets its own (the experiment name).
# HipPoseVisualizer (hip_mmpose/visualization/local_visualizer.py) is MMPose's PoseLocalVisualizer
# drawing the hip lines, AI and grade; MMPose's PoseVisualizationHook
# (default_hooks.visualization, off unless --show/--show-dir/--vis-backend tensorboard)
# draws with it. TensorBoard: tools/train.py --vis-backend tensorboard, or add
# dict(type='TensorboardVisBackend') to vis_backends.
visualizer = dict(
    _delete_=True, type='HipPoseVisualizer', vis_backends=[dict(type='LocalVisBackend')]
)
