# Ablation of configs/hip_effv2_cbam_film_cpu.py, the whole-film stage: every training
# film rewindowed (RandomWindow prob 1.0 instead of 0.5, the same gamma and width
# ranges), against the part of hip/AI_contrast_shift that comes from where the first
# stage places the crops (docs/uncertainty.md). Trained alone, then joined with a
# trained refining stage.
_base_ = ['../hip_effv2_cbam_film_cpu.py']
# RandomWindow is the train pipeline's step 7
train_pipeline = (
    _base_.train_pipeline[:7] + [dict(type='RandomWindow', prob=1.0)] + _base_.train_pipeline[8:]
)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
