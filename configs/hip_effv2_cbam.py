# Main model (GPU-sized): EfficientNetV2-S with CBAM on strides 8/16/32, fused
# top-down to a stride-4 map, 512x384 input (films are about 4:3), 128x96 heatmaps
# decoded with UDP's sub-pixel (DARK-style) refinement, flip test.
#   python tools/train.py configs/hip_effv2_cbam.py --data-root ../shared/hip-xray \
#       --ann-root data/hip-xray/coco
_base_ = ['./hip_effv2_baseline.py']

input_size = (512, 384)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(128, 96), sigma=2)

train_cfg = dict(max_epochs=120)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=200, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', T_max=120, eta_min=1e-5, by_epoch=True, begin=0, end=120),
]

model = dict(
    backbone=dict(_delete_=True, type='EfficientNetV2CBAM', arch='s', out_stride=4,
                  fuse_channels=128, reduction=16,
                  # ImageNet weights, where they can be downloaded or are on disk:
                  # init_cfg=dict(type='Pretrained', checkpoint='<mmpretrain effnetv2 .pth>'),
                  ),
    head=dict(in_channels=128, deconv_out_channels=None, deconv_kernel_sizes=None,
              conv_out_channels=(128,), conv_kernel_sizes=(3,), decoder=codec))

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
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
