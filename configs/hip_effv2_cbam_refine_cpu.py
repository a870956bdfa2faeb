# Second, refining stage (CPU-sized): the same network looks again at the band of
# the film that holds the 12 points, at about 3.5x the first stage's resolution.
#
# The whole-film first stage (hip_effv2_cbam_cpu.py) sees 4 film pixels per input
# pixel and 16 per heatmap cell; one degree of acetabular index is about one film
# pixel at the roof. Here the box around the points (about 450x90 px on a 1024 px
# film), padded by 1.35, fills a 448x176 input: ~1.3 film px per input px.
#
# Training crops the ground-truth keypoint box with generous shift/scale jitter
# (a first stage is ~5-10 px off); validation and test crop the box around the
# FIRST STAGE's predictions (bbox_source='file'), never the truth:
#   python tools/make_refine_boxes.py stage1_val.pkl --out data/hip-xray/boxes_val.json
#   python tools/train.py configs/hip_effv2_cbam_refine_cpu.py ... --cfg-options \
#       val_dataloader.dataset.bbox_file=data/hip-xray/boxes_val.json \
#       test_dataloader.dataset.bbox_file=data/hip-xray/boxes_test.json
_base_ = ['./hip_effv2_cbam_cpu.py']

input_size = (448, 176)
codec = dict(type='UDPHeatmap', input_size=input_size, heatmap_size=(112, 44), sigma=2)
model = dict(head=dict(decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.35),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_factor=0.06, scale_factor=(0.85, 1.2),
         rotate_factor=8),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PhotometricDistortion', brightness_delta=24, contrast_range=(0.7, 1.3),
         saturation_range=(1.0, 1.0), hue_delta=1),
    # the metainfo's joint_weights count points 1, 3, 7, 9 (they set the AI) 1.5x
    dict(type='GenerateTarget', encoder=codec, use_dataset_keypoint_weights=True),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.35),
    dict(type='TopdownAffine', input_size=input_size, use_udp=True),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(bbox_source='annotation', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(bbox_source='file', bbox_file=None, pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(bbox_source='file', bbox_file=None, pipeline=val_pipeline))
