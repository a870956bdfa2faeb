# Ablation of configs/hip_effv2_cbam_cpu.py: each hip at 256x256 (~0.5 film px per
# input px for a median hip) with 128x128 heatmaps (stride 2), instead of 192x192
# at stride 4.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
input_size = (256, 256)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(128, 128), sigma=2)
model = dict(head=dict(deconv_out_channels=(64,), deconv_kernel_sizes=(4,), decoder=codec))
_base_.train_pipeline[5].input_size = _base_.val_pipeline[4].input_size = input_size
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.val_pipeline))
