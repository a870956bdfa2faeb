# Ablation of configs/hip_effv2_cbam_film_cpu.py, the whole-film stage, as it was before
# RankFilm (0.2.0): films not ranked, and every training film rewindowed (RandomWindow
# prob 1.0; 0.2.0 had 0.5, the same gamma and width ranges), against the part of
# hip/AI_contrast_shift that comes from where the first stage places the crops
# (docs/uncertainty.md). Trained alone, then joined with a trained refining stage.
# Not taken: RankFilm replaced both.
_base_ = ['../hip_effv2_cbam_film_cpu.py']
# RankFilm is step 1 of both pipelines; PackPoseInputs the last
train_pipeline = (
    _base_.train_pipeline[:1]
    + _base_.train_pipeline[2:-1]
    + [dict(type='RandomWindow', prob=1.0)]
    + _base_.train_pipeline[-1:]
)
val_pipeline = _base_.val_pipeline[:1] + _base_.val_pipeline[2:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
