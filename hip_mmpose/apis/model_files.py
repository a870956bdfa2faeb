"""Loading pose models from training checkpoints or published weights-only files.

A *published* file (``tools/publish_model.py``) holds only tensors and plain data:
``{'state_dict': {...}, 'meta': {'format': 'hip_mmpose-published-v1', 'config':
'<JSON>', ...}}``. It loads with ``torch.load(weights_only=True)``, and its config is
JSON data, not Python: nothing in a downloaded model is executed. (An MMEngine
config *file* is Python and runs when parsed; the JSON form cannot.)
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from mmengine.config import Config

from hip_mmpose.apis.config_check import (load_published_config, published_config,
                                           published_config_from_text)
from hip_mmpose.compat import load_checkpoint_file

PUBLISHED_FORMAT = 'hip_mmpose-published-v1'


def _data_only_config(cfg: Config) -> dict:
    data = json.loads(json.dumps(cfg.to_dict(), default=str))
    return published_config(data, 'config')  # checked as the loader will check it


def publish_checkpoint(checkpoint, out_file, config=None) -> Path:
    """Write a weights-only copy of ``checkpoint`` with its config embedded as JSON.

    ``config`` (path or Config) defaults to the one MMEngine stored in the
    checkpoint. The output name gets the first 8 hex digits of its SHA-256, as
    MMPose's publish tool does: ``<stem>-<sha8>.pth``.
    """
    ckpt = load_checkpoint_file(checkpoint, 'cpu')  # torch.load(weights_only=True)
    if config is None:
        text = ckpt.get('meta', {}).get('cfg')
        if not text:
            raise ValueError(f'{checkpoint}: no config stored; pass one')
        cfg = Config(published_config_from_text(text, checkpoint))  # read, never executed
    else:
        cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    state = {k: v.detach().clone().cpu() for k, v in ckpt.get('state_dict', ckpt).items()
             if isinstance(v, torch.Tensor)}
    meta = dict(format=PUBLISHED_FORMAT, config=json.dumps(_data_only_config(cfg)),
                source=Path(checkpoint).name,
                epoch=int(ckpt.get('meta', {}).get('epoch', -1)))
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_suffix('.tmp')
    torch.save(dict(state_dict=state, meta=meta), tmp)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    final = out_file.with_name(f'{out_file.stem}-{sha}.pth')
    tmp.replace(final)
    return final


def load_pose_model(checkpoint, config=None, device: str = 'cpu'):
    """An MMPose model ready for inference, from either kind of checkpoint.

    Published files are read with ``weights_only=True`` and their embedded JSON
    config (unless ``config`` overrides it). Training checkpoints need ``config``
    and load through MMEngine (also weights_only, with mmengine's classes
    allow-listed by :mod:`hip_mmpose.compat`).
    """
    from mmpose.apis import init_model

    ckpt = load_checkpoint_file(checkpoint, 'cpu')  # torch.load(weights_only=True)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    if meta.get('format') == PUBLISHED_FORMAT:
        cfg = (Config(load_published_config(meta.get('config'), checkpoint)) if config is None
               else config if isinstance(config, Config) else Config.fromfile(str(config)))
        model = init_model(cfg, None, device=device)
        model.load_state_dict(ckpt['state_dict'])
        return model
    if config is None:
        raise ValueError(f'{checkpoint}: a training checkpoint needs --config '
                         '(or publish it with tools/publish_model.py)')
    return init_model(str(config) if not isinstance(config, Config) else config,
                      str(checkpoint), device=device)
