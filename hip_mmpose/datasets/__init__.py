from .hip_refine_dataset import HipRefineDataset, MirrorHip
from .hip_xray_dataset import METAINFO_FILE, HipXrayDataset

__all__ = ['HipXrayDataset', 'HipRefineDataset', 'MirrorHip', 'METAINFO_FILE']
