# Ablation of configs/hip_effv2_cbam_cpu.py: integral regression
# (ablations/hip_refine_integral_cpu.py) with an angle term: the loss also compares
# the predicted acetabular line (roof edge minus triradiate) with the true one
# (AcetabularLineLoss), so errors that turn the line cost more than a shared shift.
_base_ = ['./hip_refine_integral_cpu.py']
model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='AcetabularLineLoss',
            line_weight=1.0,
            point_loss=dict(type='SmoothL1Loss', use_target_weight=True),
        )
    )
)
