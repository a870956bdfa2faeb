# Ablation of configs/hip_effv2_cbam_cpu.py: the refining stage trained 60 epochs
# instead of the config's 20 (the cosine follows).
_base_ = ['../hip_effv2_cbam_cpu.py']
film_stage = dict(config='../hip_effv2_cbam_film_cpu.py')
max_epochs = 60
train_cfg = dict(max_epochs=max_epochs)
_base_.param_scheduler[1].T_max = _base_.param_scheduler[1].end = max_epochs
param_scheduler = _base_.param_scheduler
