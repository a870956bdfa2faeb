# Ablation of configs/hip_effv2_cbam_cpu.py: the same UDP heatmaps, with an angle term
# in training: HeatmapLineHead adds AcetabularLineLoss between the soft-argmax
# locations of the predicted and target heatmaps, so errors that turn the acetabular
# line (roof edge to triradiate) cost more than a shared shift. Inference, weights and
# export are the heatmap head's. The term starts at epoch 5 (the maps need peaks
# first); line_weight 1: at its start it is about the heatmap loss (~2e-3).
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
model = dict(
    head=dict(
        type='HeatmapLineHead',
        beta=20.0,
        line_loss=dict(type='AcetabularLineLoss', point_weight=0.0, line_weight=1.0),
    )
)
