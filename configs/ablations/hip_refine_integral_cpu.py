# Ablation of configs/hip_effv2_cbam_cpu.py: integral regression (MMPose's
# IntegralRegressionHead: soft-argmax over a 48x48 map, SmoothL1 on the normalised
# coordinates) instead of UDP heatmaps decoded by argmax. (DSNTHead's Jensen-Shannon
# term needs a target map for every point: a point shifted out of the crop has an
# all-zero map, which the codec's normalising turns into NaN.)
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
codec = dict(
    type='IntegralRegressionLabel',
    input_size=(192, 192),
    heatmap_size=(48, 48),
    sigma=2.0,
    normalize=True,
)
model = dict(
    head=dict(
        _delete_=True,
        type='IntegralRegressionHead',
        in_channels=64,
        in_featuremap_size=(48, 48),
        num_joints=6,
        deconv_out_channels=None,
        deconv_kernel_sizes=None,
        loss=dict(type='SmoothL1Loss', use_target_weight=True),
        decoder=codec,
    )
)
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
