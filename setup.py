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
    # measuring films without the training stack (hip_mmpose.runtime, tools/infer.py --onnx):
    #   pip install -e .[runtime]
    extras_require=dict(runtime=['onnxruntime', 'numpy', 'opencv-python-headless', 'Pillow',
                                 'tqdm']),
)
