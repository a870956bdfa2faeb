# Ablation of configs/hip_effv2_cbam_cpu.py: every crop equalised by CLAHE (OpenCV's
# contrast-limited adaptive histogram equalisation, 4x4 tiles of 48 px, clip 2) after
# TopdownAffine, at training and test time: evens out exposure between films and
# lifts faint edges.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
__clahe = dict(type='Clahe', clip_limit=2.0, tile_grid_size=(4, 4))
# train: after TopdownAffine (index 5), before PhotometricDistortion; val: after TopdownAffine (4)
train_pipeline = _base_.train_pipeline[:6] + [__clahe] + _base_.train_pipeline[6:]
val_pipeline = _base_.val_pipeline[:5] + [__clahe] + _base_.val_pipeline[5:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
