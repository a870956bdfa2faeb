# Ablation of configs/hip_effv2_cbam_cpu.py: the refining stage's target heatmaps
# drawn with sigma 1.5 instead of 2 (48x48 maps: 4.3 film px instead of 5.7 for a
# median crop of 136 px): a sharper peak (ablations/hip_refine_sigma3_cpu.py: the other way).
_base_ = ['./hip_refine_sigma3_cpu.py']
codec = dict(_base_.codec, sigma=1.5)
model = dict(head=dict(decoder=codec))
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
