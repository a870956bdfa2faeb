# Metainfo of the paediatric AP pelvis keypoint set (12 points, 6 per hip).
# "image_left" is the left half of the picture (the patient's right hip on a
# standard AP film). Numbers in comments are the 1-based ids of the data README.
# Flip pairs (1-based): 1-9, 2-8, 3-7, 4-12, 5-11, 6-10, written as `swap`.
_roof = [255, 128, 0]  # acetabular roof points: orange
_triradiate = [255, 0, 255]  # Hilgenreiner (H-line) points: magenta
_femur = [0, 200, 255]  # proximal femoral metaphysis: cyan

dataset_info = dict(
    dataset_name='hip_xray',
    paper_info=dict(
        author='hip_mmpose contributors',
        title='Paediatric AP pelvis keypoints for acetabular index and IHDI',
        container='hip_mmpose',
        year='2026',
        homepage='',
    ),
    keypoint_info={
        0: dict(
            name='image_left_roof_lateral',
            id=0,
            color=_roof,
            type='upper',
            swap='image_right_roof_lateral',
        ),  # 1
        1: dict(
            name='image_left_roof_middle',
            id=1,
            color=_roof,
            type='upper',
            swap='image_right_roof_middle',
        ),  # 2
        2: dict(
            name='image_left_triradiate',
            id=2,
            color=_triradiate,
            type='upper',
            swap='image_right_triradiate',
        ),  # 3
        3: dict(
            name='image_left_metaphysis_lateral',
            id=3,
            color=_femur,
            type='lower',
            swap='image_right_metaphysis_lateral',
        ),  # 4
        4: dict(
            name='image_left_metaphysis_middle',
            id=4,
            color=_femur,
            type='lower',
            swap='image_right_metaphysis_middle',
        ),  # 5
        5: dict(
            name='image_left_metaphysis_medial',
            id=5,
            color=_femur,
            type='lower',
            swap='image_right_metaphysis_medial',
        ),  # 6
        6: dict(
            name='image_right_triradiate',
            id=6,
            color=_triradiate,
            type='upper',
            swap='image_left_triradiate',
        ),  # 7
        7: dict(
            name='image_right_roof_middle',
            id=7,
            color=_roof,
            type='upper',
            swap='image_left_roof_middle',
        ),  # 8
        8: dict(
            name='image_right_roof_lateral',
            id=8,
            color=_roof,
            type='upper',
            swap='image_left_roof_lateral',
        ),  # 9
        9: dict(
            name='image_right_metaphysis_medial',
            id=9,
            color=_femur,
            type='lower',
            swap='image_left_metaphysis_medial',
        ),  # 10
        10: dict(
            name='image_right_metaphysis_middle',
            id=10,
            color=_femur,
            type='lower',
            swap='image_left_metaphysis_middle',
        ),  # 11
        11: dict(
            name='image_right_metaphysis_lateral',
            id=11,
            color=_femur,
            type='lower',
            swap='image_left_metaphysis_lateral',
        ),  # 12
    },
    skeleton_info={
        0: dict(link=('image_left_roof_lateral', 'image_left_roof_middle'), id=0, color=_roof),
        1: dict(link=('image_left_roof_middle', 'image_left_triradiate'), id=1, color=_roof),
        2: dict(link=('image_left_triradiate', 'image_right_triradiate'), id=2, color=_triradiate),
        3: dict(link=('image_right_triradiate', 'image_right_roof_middle'), id=3, color=_roof),
        4: dict(link=('image_right_roof_middle', 'image_right_roof_lateral'), id=4, color=_roof),
        5: dict(
            link=('image_left_metaphysis_lateral', 'image_left_metaphysis_middle'),
            id=5,
            color=_femur,
        ),
        6: dict(
            link=('image_left_metaphysis_middle', 'image_left_metaphysis_medial'),
            id=6,
            color=_femur,
        ),
        7: dict(
            link=('image_right_metaphysis_medial', 'image_right_metaphysis_middle'),
            id=7,
            color=_femur,
        ),
        8: dict(
            link=('image_right_metaphysis_middle', 'image_right_metaphysis_lateral'),
            id=8,
            color=_femur,
        ),
    },
    # Roof and triradiate points decide the acetabular index: weight them up.
    joint_weights=[1.5, 1.0, 1.5, 1.0, 1.0, 1.0, 1.5, 1.0, 1.5, 1.0, 1.0, 1.0],
    # OKS sigmas: bony corners are sharp (small sigma); the metaphysis middle
    # points lie on a smooth edge and vary more between annotators.
    sigmas=[0.025, 0.035, 0.025, 0.030, 0.035, 0.030, 0.025, 0.035, 0.025, 0.030, 0.035, 0.030],
)
