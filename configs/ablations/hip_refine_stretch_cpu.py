# Ablation of configs/hip_effv2_cbam_cpu.py: training crops stretched along y by
# 0.87-1.15 (log-uniform) about the hip's centre (RandomStretch), so they span a wider
# range of acetabular indices than the training films do (an AI of 20 deg reads
# 17.6-22.7): against the pull of the angles toward the mean.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
# after LoadFilm, RankFilm and MirrorHip, before GetBBoxCenterScale (it reads the xyxy box)
train_pipeline = (
    _base_.train_pipeline[:3]
    + [dict(type='RandomStretch', scale=(0.87, 1.15))]
    + _base_.train_pipeline[3:]
)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
