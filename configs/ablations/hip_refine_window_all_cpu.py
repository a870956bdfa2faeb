# Ablation of configs/hip_effv2_cbam_cpu.py as it was before RankFilm (0.2.0): films not
# ranked, and every training crop rewindowed (RandomWindow prob 1.0; 0.2.0 had 0.5,
# the same gamma and width ranges), against hip/AI_contrast_shift
# (tools/benchmark_contrast.py; docs/uncertainty.md). Not taken: RankFilm replaced both.
# The run measured trained this refining stage alone on 0.2.0's (unranked) whole-film
# stage (tools/train.py --resume in a work dir holding it); trained from scratch, the
# whole-film stage named here ranks its films.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
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
