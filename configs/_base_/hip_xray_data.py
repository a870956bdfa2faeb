# The hip X-ray data set: loaders, whole-film boxes and evaluators.
# Each model config sets the pipelines (they depend on its input size and codec):
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline)), etc.
#
# Films and COCO files: <data_root>/<split>/images/ and <data_root>/coco/<split>.json.
# tools/train.py and tools/test.py rewrite them for every loader with
# --data-root/--ann-root (or set them per loader with --cfg-options).
#
# The box the top-down pipeline crops is the whole film (HipXrayDataset's default
# bbox_source='film'): the ground-truth keypoint box would leak the answer at test
# time and does not exist for a new film.
data_root = 'data/hip-xray/'
dataset_type = 'HipXrayDataset'

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='coco/train.json',
        data_prefix=dict(img='train/images/'),
        pipeline=[],
    ),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='coco/val.json',
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=[],
    ),
)
test_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='coco/test.json',
        data_prefix=dict(img='test/images/'),
        test_mode=True,
        pipeline=[],
    ),
)

# Landmark error, AI agreement and IHDI grading in film pixels (HipMetric); the
# per-film results go to <work_dir>/<timestamp>/{val,test}_per_film.json|csv.
val_evaluator = dict(type='HipMetric', dump_name='val', bootstrap=0)  # CIs at test time
test_evaluator = dict(type='HipMetric', dump_name='test')
