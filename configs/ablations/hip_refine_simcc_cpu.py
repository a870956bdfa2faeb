# Ablation of configs/hip_effv2_cbam_cpu.py: MMPose's SimCC head (x and y as 1-D
# classifications at 2 bins per input pixel) instead of UDP heatmaps.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
codec = dict(
    type='SimCCLabel',
    input_size=(192, 192),
    sigma=(4.9, 4.9),
    simcc_split_ratio=2.0,
    normalize=False,
    use_dark=False,
)
model = dict(
    head=dict(
        _delete_=True,
        type='SimCCHead',
        in_channels=64,
        out_channels=6,
        input_size=(192, 192),
        in_featuremap_size=(48, 48),
        simcc_split_ratio=2.0,
        deconv_out_channels=None,
        deconv_kernel_sizes=None,
        loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10.0, label_softmax=True),
        decoder=codec,
    )
)
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
