"""The two stages of a cascade config: their names, and the whole-film stage's config.

Below both :mod:`hip_mmpose.apis.cascade` (which runs the stages) and
:mod:`hip_mmpose.apis.model_files` (which builds them from a file), so neither imports
the other.
"""

from __future__ import annotations

import os
import os.path as osp

from mmengine.config import Config

from hip_mmpose.apis.run_config import merge_options

FILM, HIP = 'film', 'hip'
STAGES = (FILM, HIP)


def is_cascade(cfg: Config) -> bool:
    """Whether ``cfg`` is a two-stage (cascade) config.

    Args:
        cfg (Config): a loaded config.

    Returns:
        bool: True when it sets ``film_stage`` (to something other than None).
    """
    return cfg.get('film_stage') is not None


def film_stage_config(cfg: Config) -> Config:
    """The whole-film stage's config of a cascade config (its overrides applied).

    ``cfg.film_stage`` is a config path, or ``dict(config=path, cfg_options=...)``;
    a relative path is taken from the folder of ``cfg``'s file.

    Args:
        cfg (Config): a cascade config.

    Returns:
        Config: the whole-film stage's config, ``cfg_options`` merged in.

    Raises:
        FileNotFoundError: the whole-film stage's config does not exist.
    """
    entry = cfg.film_stage
    path = entry['config'] if isinstance(entry, dict) else entry
    base = osp.dirname(cfg.filename) if cfg.filename else os.getcwd()
    path = osp.normpath(osp.join(base, path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'{cfg.filename}: film_stage config {path} does not exist')
    film = Config.fromfile(path)
    return merge_options(film, (entry.get('cfg_options') if isinstance(entry, dict) else None))
