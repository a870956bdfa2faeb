# The hip model (CPU-sized), coarse to fine: the whole-film stage (film_stage) finds the
# 12 points, this refining stage re-reads each hip at 192x192 around them (image-right
# hip mirrored). Why each setting: docs/accuracy.md.
#   python tools/train.py configs/hip_effv2_cbam_cpu.py --data-root ../shared/hip-xray
_base_ = ['./hip_effv2_cbam_film_cpu.py']

film_stage = dict(
    config='./hip_effv2_cbam_film_cpu.py',  # relative to this file
    cfg_options=dict(),
)  # overrides for that stage

max_epochs = 20  # one variable: tools/train.py keeps the cosine's end on it
input_size = (192, 192)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(48, 48), sigma=2)

train_cfg = dict(max_epochs=max_epochs)
_base_.param_scheduler[1].T_max = _base_.param_scheduler[1].end = max_epochs
param_scheduler = _base_.param_scheduler
# the refining stage is kept by how well it measures the acetabular index
default_hooks = dict(checkpoint=dict(save_best='hip/AI_MAE'))

# after training: per-side point offsets (train films), the grade's P-line shift and the
# uncertainty calibration (val films: AI intervals, P(grade >= II), review flag)
calibration = dict(
    split='train',
    grade_split='val',
    uncertainty=dict(
        level=0.9,
        ai_threshold=30.0,
        # conformal risk control bounds the *expected* share of abnormal hips missed;
        # 0.04 leaves room for one split's share to stay <= 0.05 (docs/uncertainty.md)
        target_missed=0.04,
        band='normal_calls',
        # the review's AI rule: the level (of these) that flags fewest val hips
        flag_levels=(0.5, 0.6, 0.7, 0.8, 0.9),
        # the intervals widen on faint roof lines by (median edge / edge) ** power: the
        # power (of these) under which the val errors are likeliest; (0.0,): no widening
        edge_powers=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    ),
)

model = dict(
    type='HipTopdownPoseEstimator',  # TopdownPoseEstimator + the fitted values above
    # AdaptiveWingLoss (Wang et al. 2019) rather than MSE: docs/accuracy.md
    head=dict(
        out_channels=6,
        decoder=codec,
        loss=dict(_delete_=True, type='AdaptiveWingLoss', use_target_weight=True),
    ),
    # every hip is seen in image-left orientation: a flipped crop is out of distribution
    test_cfg=dict(_delete_=True, flip_test=False),
)

# Pipelines written once (index: step): 0 LoadFilm, 1 RankFilm, 2 MirrorHip,
# 3 GetBBoxCenterScale, 4 RandomBBoxTransform, 5 TopdownAffine, 6 PhotometricDistortion,
# 7 GenerateTarget;
# val: 0 LoadFilm, 1 RankFilm, 2 MirrorHip, 3 GetBBoxCenterScale, 4 TopdownAffine.
# (a name with two leading underscores stays out of the config itself)
__pack = dict(
    type='PackPoseInputs',
    meta_keys=(
        'id',
        'img_id',
        'img_path',
        'category_id',
        'ori_shape',
        'img_shape',
        'input_size',
        'input_center',
        'input_scale',
        'flip',
        'flip_direction',
        'flip_indices',
        'dataset_name',
        'hip_side',
        'mirror',
        'pixel_spacing',
    ),
)
# the film's grey levels by their rank, before the crop: the network does not see the
# window the film was exported at (the whole-film stage's config says why)
__rank = dict(type='RankFilm')
train_pipeline = [
    dict(type='LoadFilm'),
    __rank,
    dict(type='MirrorHip'),
    dict(type='GetBBoxCenterScale', padding=1.5),
    # every crop shifted, as the first stage's crops are at test time (docs/accuracy.md)
    dict(
        type='RandomBBoxTransform',
        shift_factor=0.15,
        shift_prob=1.0,
        scale_factor=(0.8, 1.2),
        rotate_factor=10,
    ),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(
        type='PhotometricDistortion',
        brightness_delta=24,
        contrast_range=(0.7, 1.3),
        saturation_range=(1.0, 1.0),
        hue_delta=1,
    ),
    # the metainfo's joint_weights count the AI's points 1.5x
    dict(type='GenerateTarget', encoder=codec, use_dataset_keypoint_weights=True),
    __pack,
]
val_pipeline = [
    dict(type='LoadFilm'),
    __rank,
    dict(type='MirrorHip'),
    dict(type='GetBBoxCenterScale', padding=1.5),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    __pack,
]
dataset_type = 'HipRefineDataset'
train_dataloader = dict(
    batch_size=16,
    dataset=dict(type=dataset_type, keypoint_source='annotation', pipeline=train_pipeline),
)
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, keypoint_source='file', keypoint_file=None, pipeline=val_pipeline
    )
)
test_dataloader = dict(
    dataset=dict(
        type=dataset_type, keypoint_source='file', keypoint_file=None, pipeline=val_pipeline
    )
)
