# Ablation of configs/hip_effv2_cbam_cpu.py: the refining stage's target heatmaps
# drawn with sigma 3 instead of 2 (48x48 maps: 8.5 film px instead of 5.7 for a median
# crop of 136 px): a wider target, a softer peak for points the readers place loosely.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
codec = dict(_base_.codec, sigma=3)
model = dict(head=dict(decoder=codec))
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
