# Stock MMPose top-down heatmap baseline: mmpretrain EfficientNetV2-b0, stride-32
# features, three deconvolutions to a 64x64 heatmap, UDP codec, whole film input.
_base_ = ['./_base_/hip_runtime.py']

# The box the top-down pipeline crops is the whole film (HipXrayDataset's default
# bbox_source='film'): the ground-truth keypoint box would leak the answer at test
# time and does not exist for a new film. GetBBoxCenterScale's small padding keeps
# a margin for the random scale/rotation.
# Films and COCO files: <data_root>/<split>/images/, <data_root>/coco/<split>.json.
# tools/train.py and tools/test.py rewrite them for every loader with
# --data-root/--ann-root (or use --cfg-options per dataloader).
data_root = 'data/hip-xray/'
dataset_type = 'HipXrayDataset'

input_size = (256, 256)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(64, 64), sigma=2)

train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=40, eta_min=1e-5, by_epoch=True, begin=0, end=40),
]
auto_scale_lr = dict(base_batch_size=16)

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

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.85, 1.15),
         rotate_factor=10),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PhotometricDistortion', brightness_delta=24, contrast_range=(0.7, 1.3),
         saturation_range=(1.0, 1.0), hue_delta=1),  # hue/saturation: no-ops on grey films (0 would crash)
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='coco/train.json',
                 data_prefix=dict(img='train/images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='coco/val.json',
                 data_prefix=dict(img='val/images/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='coco/test.json',
                 data_prefix=dict(img='test/images/'), test_mode=True, pipeline=val_pipeline))

# Interim landmark metrics; NME is normalised by the H-line (points 3 and 7).
val_evaluator = [
    dict(type='EPE'),
    dict(type='NME', norm_mode='keypoint_distance', keypoint_indices=[2, 6]),
    dict(type='PCKAccuracy', thr=0.05),
]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='EPE', rule='less'))
