"""Export a training checkpoint as a weights-only file with its config embedded.

The result loads with torch.load(..., weights_only=True) and holds its config as
JSON data, so using a model from elsewhere never executes pickled or config code.
tools/infer.py takes it without --config.

Example:
    python tools/publish_model.py work_dirs/demo/best_hip_AI_MAE_epoch_12.pth \
        work_dirs/published/hip_effv2_cbam_cpu.pth
    # -> work_dirs/published/hip_effv2_cbam_cpu-<sha256[:8]>.pth
"""

import argparse

import hip_mmpose  # noqa: F401
from hip_mmpose.apis import publish_checkpoint
from hip_mmpose.tools._cli import add_debug_arg, one_line_errors


@one_line_errors
def main(argv=None) -> int:
    """Publish a checkpoint (weights, JSON config); return the exit status (2: refused,
    the reason on one line)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('checkpoint', help='checkpoint written by tools/train.py')
    parser.add_argument('out_file', help='output path; the hash is added to the name')
    parser.add_argument('--config', help='config to embed (default: the one in the checkpoint)')
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    final = publish_checkpoint(args.checkpoint, args.out_file, args.config)
    print(f'published {final}')
    return 0
