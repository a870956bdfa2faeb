# Stock MMPose top-down heatmap baseline: mmpretrain EfficientNetV2-b0, stride-32
# features, three deconvolutions to a 64x64 heatmap, UDP codec, whole film input
# squeezed to 256x256 (the set-up the brief measured: ~7 px, AI MAE 3.7 deg).
_base_ = ['./_base_/hip_runtime.py', './_base_/hip_xray_data.py']

input_size = (256, 256)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(64, 64), sigma=2)

train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=40, eta_min=1e-5, by_epoch=True, begin=0, end=40),
]
auto_scale_lr = dict(base_batch_size=16)
# keep the checkpoint that measures the acetabular index best on val
default_hooks = dict(checkpoint=dict(save_best='hip/AI_MAE', rule='less'))

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(type='mmpretrain.EfficientNetV2', arch='b0', out_indices=(6,)),
    head=dict(
        type='HeatmapHead', in_channels=192, out_channels=12,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# GetBBoxCenterScale's small padding keeps a margin for the random scale/rotation.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.85, 1.15),
         rotate_factor=10),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    # brightness/contrast; hue and saturation do nothing on grey films (0 would crash)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
