"""Where the plugin's configs are: inside the package, as MMPose ships its own.

``hip_mmpose/.mim/configs`` is the repository's ``configs/`` (a link in a checkout,
a copy in a built wheel: ``pyproject.toml`` package data), so the configs and the
metainfo are found through the package wherever it is installed.
"""

from __future__ import annotations

import os.path as osp
from pathlib import Path

#: The folder holding the plugin's configs (``configs/`` of the repository).
CONFIG_ROOT = Path(__file__).resolve().parents[1] / '.mim' / 'configs'

#: The metainfo file (keypoint names, flip pairs, sigmas, skeleton, colours).
METAINFO_FILE = str(CONFIG_ROOT / '_base_' / 'datasets' / 'hip_xray.py')


def config_path(config: str) -> str:
    """The file of a config given as a path or as the name of a packaged one.

    A path that exists is returned as it is; otherwise the name (e.g.
    ``hip_effv2_cbam_cpu.py`` or ``configs/hip_effv2_cbam_cpu.py``) is looked up in
    the package's configs, so the tools take the README's ``configs/...`` paths
    from any directory.

    Args:
        config (str): a config file path or name.

    Returns:
        str: the path of an existing config file.

    Raises:
        FileNotFoundError: naming the file and the package folder looked in.
    """
    if osp.isfile(config):
        return config
    parts = Path(config).parts
    if parts and parts[0] == 'configs':
        parts = parts[1:]
    candidate = CONFIG_ROOT.joinpath(*parts) if parts else CONFIG_ROOT
    if candidate.is_file():
        return str(candidate)
    raise FileNotFoundError(
        f'{config}: no such config file (nor {candidate} in the hip_mmpose package)'
    )
