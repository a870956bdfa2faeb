# Ablation of configs/hip_effv2_cbam_cpu.py: every training crop rewindowed
# (RandomWindow prob 1.0 instead of 0.5, the same gamma and width ranges), against
# hip/AI_contrast_shift (tools/benchmark_contrast.py; docs/uncertainty.md).
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
# RandomWindow is the train pipeline's step 7
train_pipeline = (
    _base_.train_pipeline[:7] + [dict(type='RandomWindow', prob=1.0)] + _base_.train_pipeline[8:]
)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
