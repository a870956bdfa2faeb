# Ablation of configs/hip_effv2_cbam_cpu.py: every point weighs the same in the loss
# (the main config counts the roof and triradiate points, which set the AI, 1.5x).
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
_base_.train_pipeline[7].use_dataset_keypoint_weights = False
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
