# Ablation of configs/hip_effv2_cbam_cpu.py: twice the channels where the refining
# stage's scales are fused at stride 4 and in its head (128 instead of 64): more
# capacity at the resolution the points are placed at. Measured once: its training
# loss turned NaN in epoch 8 (README, "Heatmap width and head width"); not retried.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
model = dict(backbone=dict(fuse_channels=128),
             head=dict(in_channels=128, conv_out_channels=(128,)))
