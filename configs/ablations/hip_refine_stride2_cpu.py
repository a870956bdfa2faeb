# Ablation of configs/hip_effv2_cbam_cpu.py: refining-stage heatmaps at stride 2
# (96x96, one deconvolution) instead of stride 4 (48x48); twice the CPU cost.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
codec = dict(type='UDPHeatmap', input_size=(192, 192), heatmap_size=(96, 96), sigma=2)
model = dict(head=dict(deconv_out_channels=(64,), deconv_kernel_sizes=(4,), decoder=codec))
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
