# Ablation of configs/hip_effv2_cbam_cpu.py: refining-stage heatmaps at stride 4
# (48x48, no deconvolution) instead of stride 2 (96x96).
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
codec = dict(type='UDPHeatmap', input_size=(192, 192), heatmap_size=(48, 48), sigma=2)
model = dict(head=dict(deconv_out_channels=None, deconv_kernel_sizes=None, decoder=codec))
_base_.train_pipeline[6].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
