# Whole-film stage (GPU-sized): EfficientNetV2-S with the same CBAM fusion, 512x384
# input, 128x96 heatmaps. The first stage of configs/hip_effv2_cbam.py.
_base_ = ['./hip_effv2_cbam_film_cpu.py']

max_epochs = 30
input_size = (512, 384)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(128, 96), sigma=2)
train_cfg = dict(max_epochs=max_epochs)
_base_.param_scheduler[1].T_max = _base_.param_scheduler[1].end = max_epochs
param_scheduler = _base_.param_scheduler
model = dict(
    backbone=dict(arch='s', fuse_channels=128),
    head=dict(in_channels=128, conv_out_channels=(128,), decoder=codec),
)

# the base's pipelines, resized in place (step indices: see the base config)
_base_.train_pipeline[5].input_size = _base_.val_pipeline[3].input_size = input_size
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.val_pipeline))
