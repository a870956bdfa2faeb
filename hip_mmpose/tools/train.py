"""Train a hip keypoint model with MMEngine's Runner (MMPose's tools/train.py shape).

A two-stage config (configs/hip_effv2_cbam*.py) trains the whole-film stage, then
the per-hip refining stage on crops around the first stage's points, one Runner
each, under one work dir; both stages' best weights end in <work-dir>/best_cascade.pth.

Example:
    python tools/train.py configs/hip_effv2_cbam_cpu.py --data-root ../shared/hip-xray \
        --ann-root data/hip-xray/coco --work-dir work_dirs/hip_effv2_cbam_cpu
"""
import argparse

import hip_mmpose  # noqa: F401  (stack fixes and registries first)
from hip_mmpose.compat import finish_distributed, use_gloo_without_cuda
from hip_mmpose.apis.cascade import is_cascade, train_cascade
from hip_mmpose.runner_utils import (add_runner_args, add_visualization_args,
                                     apply_runner_args, load_config, apply_visualization_args,
                                     require_annotations)
from mmengine.config import Config
from mmengine.runner import Runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or without a path from the '
                             'latest one in the work dir (a two-stage run: the stage '
                             'that was interrupted)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch size')
    add_runner_args(parser)
    add_visualization_args(parser)
    return parser.parse_args(argv)


def stage_args(cfg: Config, args) -> Config:
    """The options that apply to each stage's own config."""
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        use_gloo_without_cuda(cfg)
    return apply_visualization_args(cfg, args)


def single_stage_args(cfg: Config, args) -> Config:
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return stage_args(cfg, args)


def run(argv=None):
    """Train.

    Args:
        argv (list[str], optional): the command line (default: ``sys.argv[1:]``).

    Returns:
        Runner | str: the Runner (one stage) or the path of ``best_cascade.pth``
        (two stages).
    """
    args = parse_args(argv)
    # --cfg-options first: `film_stage=None` makes a two-stage config's refining
    # stage a single-stage config (ablations with given first-stage points)
    cfg = apply_runner_args(load_config(args.config), args)
    if is_cascade(cfg) and args.resume not in (None, 'auto'):
        raise SystemExit('error: a two-stage run resumes from its work dir: use '
                         '--resume without a path')
    require_annotations(cfg, ('train', 'val') if not args.no_validate else ('train',))
    if is_cascade(cfg):
        result = train_cascade(cfg, cfg.work_dir, resume=args.resume is not None,
                               data_root=args.data_root, ann_root=args.ann_root,
                               prepare=lambda stage, _: stage_args(stage, args),
                               validate=not args.no_validate)
    else:
        result = Runner.from_cfg(single_stage_args(cfg, args))
        result.train()
    if args.launcher != 'none':
        finish_distributed()
    return result


def main(argv=None) -> int:
    """``hip-train`` / ``tools/train.py``: train; return the exit status."""
    run(argv)
    return 0
