# The hip model (GPU-sized), coarse to fine: EfficientNetV2-S for both stages, the
# whole film at 512x384 (configs/hip_effv2_cbam_film.py), each hip at 192x192.
#   python tools/train.py configs/hip_effv2_cbam.py --data-root ../shared/hip-xray
_base_ = ['./hip_effv2_cbam_cpu.py']

film_stage = dict(config='./hip_effv2_cbam_film.py')
max_epochs = 40
train_cfg = dict(max_epochs=max_epochs)
_base_.param_scheduler[1].T_max = _base_.param_scheduler[1].end = max_epochs
param_scheduler = _base_.param_scheduler
model = dict(
    backbone=dict(arch='s', fuse_channels=128),
    head=dict(in_channels=128, deconv_out_channels=(128,), conv_out_channels=(128,)))
