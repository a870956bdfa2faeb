"""Write a small synthetic pelvis data set in the template's CSV layout.

Example:
    python tools/make_synthetic_data.py --out-dir data/demo --train 32 --val 8 --test 8
"""

import argparse
import sys

from hip_mmpose.data_tools.synthetic import write_synthetic_dataset


def main(argv=None) -> int:
    """Write the synthetic data set and print the films per split; return the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        '--out-dir', help='folder to create <split>/images and <split>/annotations in'
    )
    parser.add_argument('out_root', nargs='?', help=argparse.SUPPRESS)  # deprecated
    parser.add_argument('--train', type=int, default=32)
    parser.add_argument('--val', type=int, default=8)
    parser.add_argument('--test', type=int, default=8)
    parser.add_argument('--size', type=int, nargs=2, default=(384, 288), metavar=('W', 'H'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out_root is not None:
        print('warning: the positional folder is deprecated; use --out-dir', file=sys.stderr)
    out_dir = args.out_dir or args.out_root
    if out_dir is None:
        parser.error('--out-dir is required')
    counts = write_synthetic_dataset(
        out_dir, dict(train=args.train, val=args.val, test=args.test), tuple(args.size), args.seed
    )
    print(f'wrote {counts} synthetic films under {out_dir}')
    return 0
