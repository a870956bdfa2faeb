# Ablation of configs/hip_effv2_cbam_cpu.py: hips are also shown flipped in training
# (RandomFlip after the mirroring), so the refining stage can average each crop with
# its flipped copy at test time (flip test), at twice the test cost.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
model = dict(test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))
_base_.train_pipeline.insert(2, dict(type='RandomFlip', direction='horizontal'))
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
