# Ablation of configs/hip_effv2_cbam_cpu.py: twice the channels where the refining
# stage's scales are fused at stride 4 and in its head (128 instead of 64): more
# capacity at the resolution the points are placed at. Its first training's loss turned
# NaN in epoch 8; with --cfg-options optim_wrapper.clip_grad.max_norm=1.0 it trains, no
# better than 64 channels (README, "Heatmap width and head width").
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
model = dict(backbone=dict(fuse_channels=128), head=dict(in_channels=128, conv_out_channels=(128,)))
