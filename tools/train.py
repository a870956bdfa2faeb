#!/usr/bin/env python
"""Train a hip keypoint model with MMEngine's Runner (MMPose's tools/train.py shape).

Example:
    python tools/train.py configs/hip_effv2_cbam.py --data-root ../shared/hip-xray \
        --ann-root data/hip-xray/coco --work-dir work_dirs/hip_effv2_cbam
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hip_mmpose  # noqa: E402,F401  (stack fixes and registries first)
from hip_mmpose.runner_utils import (add_runner_args, apply_runner_args,  # noqa: E402
                                     finish_distributed)
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or without a path from the '
                             'latest one in the work dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch size')
    add_runner_args(parser)
    return parser.parse_args(argv)


def merge_args(cfg: Config, args) -> Config:
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    return apply_runner_args(cfg, args)


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg)
    runner.train()
    if args.launcher != 'none':
        finish_distributed()
    return runner


if __name__ == '__main__':
    main()
