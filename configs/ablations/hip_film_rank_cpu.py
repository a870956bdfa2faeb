# Ablation of configs/hip_effv2_cbam_film_cpu.py, the whole-film stage of
# hip_rank_cpu.py: the film's grey levels replaced by their mid-rank (RankFilm, right
# after LoadFilm, at training and test time); RandomWindow left out.
_base_ = ['../hip_effv2_cbam_film_cpu.py']
__rank = dict(type='RankFilm')
# train: LoadFilm is step 0, RandomWindow step 7 (the last before packing); val: LoadFilm 0
train_pipeline = (
    _base_.train_pipeline[:1] + [__rank] + _base_.train_pipeline[1:7] + _base_.train_pipeline[8:]
)
val_pipeline = _base_.val_pipeline[:1] + [__rank] + _base_.val_pipeline[1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
