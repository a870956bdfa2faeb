# Ablation of configs/hip_effv2_cbam_cpu.py: the refining stage's heatmaps trained
# with MMPose's plain KeypointMSELoss (the config's loss until AdaptiveWingLoss
# measured better on val; README, "Loss and weight averaging").
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
model = dict(head=dict(loss=dict(_delete_=True, type='KeypointMSELoss', use_target_weight=True)))
