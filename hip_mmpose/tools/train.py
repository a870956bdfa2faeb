"""Train a hip keypoint model with MMEngine's Runner (MMPose's tools/train.py shape).

A two-stage config (configs/hip_effv2_cbam*.py) trains the whole-film stage, then
the per-hip refining stage on crops around the first stage's points, one Runner
each, under one work dir; both stages' best weights end in <work-dir>/best_cascade.pth.

Example:
    python tools/train.py configs/hip_effv2_cbam_cpu.py --data-root ../shared/hip-xray \
        --ann-root data/hip-xray/coco --work-dir work_dirs/hip_effv2_cbam_cpu
    python tools/train.py configs/hip_effv2_cbam_cpu.py --data-root data/demo --epochs 2

--epochs N trains every stage N epochs; the cosine ends and the warm-up scales with it
(as with --cfg-options train_cfg.max_epochs=N), and a warm-up longer than a quarter of
the run's iterations is shortened (hip_mmpose/apis/runner.py). The console shows the
run; the system environment and the whole config are in the log file.
"""

import argparse

import hip_mmpose  # noqa: F401  (stack fixes and registries first)
from hip_mmpose.apis import build_config, train
from hip_mmpose.apis.stages import is_cascade
from hip_mmpose.tools._cli import (
    add_runner_args,
    add_visualization_args,
    set_local_rank,
    visualization_options,
)
from hip_mmpose.utils.compat import finish_distributed


def parse_args(argv=None):
    """Return ``hip-train``'s options parsed from ``argv`` (None: ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--epochs',
        type=int,
        metavar='N',
        help='train every stage N epochs, the warm-up and the cosine scaled with it '
        "(default: the config's max_epochs; a short run: --epochs 1)",
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest one in the work dir (a two-stage run: the stage '
        'that was interrupted)',
    )
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation during training'
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size',
    )
    add_runner_args(parser)
    add_visualization_args(parser)
    return parser.parse_args(argv)


def run(argv=None):
    """Train.

    Args:
        argv (list[str], optional): the command line (default: ``sys.argv[1:]``).

    Returns:
        Runner | str | None: the Runner (one stage) or the path of
        ``best_cascade.pth`` (two stages); with a launcher, the checkpoint's path
        (the Runner is let go before the process group closes).
    """
    args = parse_args(argv)
    set_local_rank(args)
    # --cfg-options first: `film_stage=None` makes a two-stage config's refining
    # stage a single-stage config (ablations with given first-stage points)
    cfg = build_config(
        args.config, args.data_root, args.ann_root, args.cfg_options, args.work_dir, args.epochs
    )
    if is_cascade(cfg) and args.resume not in (None, 'auto'):
        raise SystemExit(
            'error: a two-stage run resumes from its work dir: use --resume without a path'
        )
    result = train(
        cfg,
        data_root=args.data_root,
        ann_root=args.ann_root,
        resume=True if args.resume == 'auto' else (args.resume or False),
        validate=not args.no_validate,
        amp=args.amp,
        auto_scale_lr=args.auto_scale_lr,
        launcher=args.launcher,
        visualization=visualization_options(args),
    )
    if args.launcher == 'none':
        return result.runner if result.runner is not None else result.checkpoint
    # the Runner's model wrapper holds the process group: let it go before closing
    # the group, or gloo's threads outlive it and can abort this rank at exit
    checkpoint = result.checkpoint
    del result
    finish_distributed()
    return checkpoint


def main(argv=None) -> int:
    """``hip-train`` / ``tools/train.py``: train; return the exit status."""
    run(argv)
    return 0
