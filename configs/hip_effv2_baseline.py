# Stock MMPose top-down heatmap baseline (single stage, for comparison): mmpretrain
# EfficientNetV2-b0, stride-32 features, three deconvolutions to a 64x64 heatmap, UDP
# codec, the whole film squeezed to 256x256.
_base_ = ['./hip_effv2_cbam_film_cpu.py']

input_size = (256, 256)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(64, 64), sigma=2)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.EfficientNetV2', arch='b0', out_indices=(6,)),
    head=dict(
        _delete_=True,
        type='HeatmapHead',
        in_channels=192,
        out_channels=12,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec,
    ),
)

# the base's pipelines, resized in place (step indices: see the base config)
_base_.train_pipeline[5].input_size = _base_.val_pipeline[3].input_size = input_size
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.val_pipeline))
