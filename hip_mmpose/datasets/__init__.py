from .hip_refine_dataset import HipRefineDataset, MirrorHip
from .hip_xray_dataset import METAINFO_FILE, HipXrayDataset
from .transforms import Clahe, LoadFilm, RandomStretch, RandomWindow, RankFilm

__all__ = [
    'HipXrayDataset',
    'HipRefineDataset',
    'MirrorHip',
    'LoadFilm',
    'RandomStretch',
    'RandomWindow',
    'Clahe',
    'RankFilm',
    'METAINFO_FILE',
]
