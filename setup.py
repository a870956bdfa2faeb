from setuptools import find_packages, setup

setup(
    name='hip_mmpose',
    version='0.1.0',
    description='MMPose plugin: paediatric hip keypoints, acetabular index and IHDI grade',
    packages=find_packages(include=['hip_mmpose', 'hip_mmpose.*']),
    python_requires='>=3.9',
    # The pinned stack is installed by `make` (see DEVELOPERS.md); several of its
    # packages must go in with --no-deps, which install_requires cannot express.
    install_requires=[],
    # DICOM films (hip_mmpose/film_io.py); `make` installs these from requirements.txt
    # Measuring films without the training stack (hip_mmpose.runtime, tools/infer.py
    # --onnx):  pip install -e .[runtime]   (.[runtime,dicom] for DICOM films). numpy and
    # OpenCV at the training stack's versions: OpenCV 5's warpAffine rounds differently
    # (crops differ by 1-2 grey levels, points by up to 0.5 px on real films).
    extras_require=dict(
        dicom=['pydicom==3.0.1', 'pylibjpeg==2.1.0', 'pylibjpeg-libjpeg==2.2.0',
               'pylibjpeg-openjpeg==2.3.0'],
        runtime=['onnxruntime==1.32.0', 'numpy==1.26.4', 'opencv-python-headless==4.10.0.84',
                 'Pillow', 'tqdm']),
)
