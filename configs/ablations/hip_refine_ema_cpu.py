# Ablation of configs/hip_effv2_cbam_cpu.py: the refining stage validated, kept and
# published as an exponential moving average of its weights (MMEngine's EMAHook)
# from epoch 8 on (before it the average is a copy: an average that starts at the
# random initial weights measured 90-150 px off for 8 epochs); momentum 0.004, so
# the last ~250 iterations, about 5 of the 20 epochs, weigh most.
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
custom_hooks = _base_.custom_hooks + [  # MMPose's runtime's hooks, then the average
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.004,
        update_buffers=True,
        begin_epoch=8,
        priority=49,
    )
]
