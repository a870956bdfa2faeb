from .hip_refine_dataset import HipRefineDataset, MirrorHip
from .hip_xray_dataset import METAINFO_FILE, HipXrayDataset
from .transforms import Clahe, LoadFilm, RandomStretch, RandomWindow, RankFilm, rank_grey_levels

__all__ = [
    'HipXrayDataset',
    'HipRefineDataset',
    'MirrorHip',
    'LoadFilm',
    'RandomStretch',
    'RandomWindow',
    'Clahe',
    'RankFilm',
    'rank_grey_levels',
    'METAINFO_FILE',
]
