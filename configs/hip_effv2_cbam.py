# The hip model (GPU-sized), coarse to fine: EfficientNetV2-S for both stages, the
# whole film at 512x384 (configs/hip_effv2_cbam_film.py), each hip at 192x192 with
# stride-2 heatmaps.
#   python tools/train.py configs/hip_effv2_cbam.py --data-root ../shared/hip-xray
_base_ = ['./hip_effv2_cbam_cpu.py']

film_stage = dict(config='./hip_effv2_cbam_film.py')
max_epochs = 40
train_cfg = dict(max_epochs=max_epochs)
_base_.param_scheduler[1].T_max = _base_.param_scheduler[1].end = max_epochs
param_scheduler = _base_.param_scheduler
# stride-2 heatmaps (96x96) behind one deconvolution: affordable on a GPU
codec = dict(type='UDPHeatmap', input_size=(192, 192), heatmap_size=(96, 96), sigma=2)
model = dict(
    backbone=dict(arch='s', fuse_channels=128),
    head=dict(
        in_channels=128,
        deconv_out_channels=(128,),
        deconv_kernel_sizes=(4,),
        conv_out_channels=(128,),
        decoder=codec,
    ),
)
_base_.train_pipeline[7].encoder = codec
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
