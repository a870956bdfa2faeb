# CPU-sized variant of hip_effv2_cbam.py (used by `make demo`): EfficientNetV2-b0
# with the same multi-scale CBAM fusion, 256x192 input, 64x48 heatmaps.
_base_ = ['./hip_effv2_cbam.py']

input_size = (256, 192)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(64, 48), sigma=2)

train_cfg = dict(max_epochs=60)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=60, eta_min=1e-5, by_epoch=True, begin=0, end=60),
]
model = dict(
    backbone=dict(arch='b0', fuse_channels=64),
    head=dict(in_channels=64, conv_out_channels=(64,), decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.85, 1.15),
         rotate_factor=10),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PhotometricDistortion', brightness_delta=24, contrast_range=(0.7, 1.3),
         saturation_range=(1.0, 1.0), hue_delta=1),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
