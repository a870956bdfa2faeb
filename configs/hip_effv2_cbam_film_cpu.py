# Whole-film stage (CPU-sized): EfficientNetV2-b0 with CBAM on strides 8/16/32 fused
# top-down to a stride-4 map, the whole film squeezed to 256x192 (films are about
# 4:3), 64x48 UDP heatmaps with sub-pixel decoding, flip test.
#
# It is the first stage of configs/hip_effv2_cbam_cpu.py (which finds the hips it
# refines from this stage's points) and, on its own, the single-stage ablation:
#   python tools/train.py configs/hip_effv2_cbam_film_cpu.py
# The whole film is the box (HipXrayDataset's bbox_source='film'): the tight keypoint
# box would hand the model the answer at test time and does not exist for a new film.
_base_ = ['./_base_/hip_runtime.py', './_base_/hip_xray_data.py']

max_epochs = 20  # one variable: tools/train.py keeps the cosine's end on it
input_size = (256, 192)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(64, 48), sigma=2)

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
    ),
]
auto_scale_lr = dict(base_batch_size=16)
# keep the checkpoint that places the points best on val: this stage's points crop the
# refining stage's hips (a few val films can give a low AI error by chance while the
# points are tens of pixels off; the refining stage selects by AI MAE)
default_hooks = dict(checkpoint=dict(save_best='hip/MRE', rule='less'))

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(
        type='EfficientNetV2CBAM',
        arch='b0',
        out_stride=4,
        fuse_channels=64,
        reduction=16,
        # ImageNet weights, where they can be downloaded or are on disk
        # (an mmpretrain classifier; MMEngine's initialiser, as mmpretrain):
        # init_cfg=dict(type='Pretrained', prefix='backbone.',
        #               checkpoint='<mmpretrain effnetv2 .pth>'),
    ),
    head=dict(
        type='HeatmapHead',
        in_channels=64,
        out_channels=12,
        deconv_out_channels=None,
        deconv_kernel_sizes=None,
        conv_out_channels=(64,),
        conv_kernel_sizes=(3,),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec,
    ),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False),
)

# The pipelines are written here once. A child changes the size-dependent steps in
# place (index: step): 0 LoadFilm, 1 RankFilm, 2 GetBBoxCenterScale, 3 RandomFlip,
# 4 RandomBBoxTransform, 5 TopdownAffine, 6 PhotometricDistortion, 7 GenerateTarget;
# val: 0 LoadFilm, 1 RankFilm, 2 GetBBoxCenterScale, 3 TopdownAffine. E.g.
#   _base_.train_pipeline[5].input_size = _base_.val_pipeline[3].input_size = input_size
#   _base_.train_pipeline[7].encoder = codec
# GetBBoxCenterScale's small padding keeps a margin for the random scale/rotation.
# MMPose's default meta keys plus the film's pixel spacing (HipMetric's mm figures)
__pack = dict(
    type='PackPoseInputs',
    meta_keys=(
        'id',
        'img_id',
        'img_path',
        'category_id',
        'crowd_index',
        'ori_shape',
        'img_shape',
        'input_size',
        'input_center',
        'input_scale',
        'flip',
        'flip_direction',
        'flip_indices',
        'raw_ann_info',
        'dataset_name',
        'pixel_spacing',
    ),
)
# the film's grey levels by their rank: the network does not see the window the film
# was exported at (hip/AI_contrast_shift 0.15 -> 0.02 deg; docs/uncertainty.md)
__rank = dict(type='RankFilm')
train_pipeline = [
    dict(type='LoadFilm'),
    __rank,
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform', shift_factor=0.05, scale_factor=(0.85, 1.15), rotate_factor=10
    ),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    # brightness/contrast; hue and saturation do nothing on grey films (0 would crash)
    dict(
        type='PhotometricDistortion',
        brightness_delta=24,
        contrast_range=(0.7, 1.3),
        saturation_range=(1.0, 1.0),
        hue_delta=1,
    ),
    dict(type='GenerateTarget', encoder=codec),
    __pack,
]
val_pipeline = [
    dict(type='LoadFilm'),
    __rank,
    dict(type='GetBBoxCenterScale', padding=1.05),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    __pack,
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
