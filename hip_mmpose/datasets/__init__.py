from .hip_xray_dataset import METAINFO_FILE, HipXrayDataset

__all__ = ['HipXrayDataset', 'METAINFO_FILE']
