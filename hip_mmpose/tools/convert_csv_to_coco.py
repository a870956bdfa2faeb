"""Convert template-layout CSV annotations to COCO keypoint JSON, one file per split.

Example:
    python tools/convert_csv_to_coco.py ../shared/hip-xray --out-dir data/hip-xray/coco
"""

import argparse
import json
import sys
from pathlib import Path

import hip_mmpose  # noqa: F401  (applies the stack fixes)
from hip_mmpose.data_tools.csv_to_coco import (
    READER_MODES,
    AnnotationError,
    AnnotationErrors,
    convert_dataset,
    reader_agreement,
)
from hip_mmpose.datasets import METAINFO_FILE
from hip_mmpose.tools._cli import add_debug_arg, one_line_errors


def parse_args(argv=None):
    """Parse the converter's command line.

    Args:
        argv (list[str], optional): the command-line arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: ``data_root``, ``out_dir``, ``num_keypoints``,
        ``metainfo``, ``readers`` and ``no_progress``.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('data_root', help='folder holding <split>/images and <split>/annotations')
    parser.add_argument('--out-dir', required=True, help='where <split>.json are written')
    parser.add_argument(
        '--num-keypoints',
        type=int,
        default=None,
        help="required points per film (default: the metainfo's keypoint "
        'count, 12; every file must match)',
    )
    parser.add_argument(
        '--metainfo',
        default=METAINFO_FILE,
        help='MMPose metainfo file naming the keypoints (used when its '
        'keypoint count matches the data; otherwise kp1..kpN)',
    )
    parser.add_argument(
        '--readers',
        choices=READER_MODES,
        help='annotation files may hold one line per reader: "mean" takes '
        "their mean as the film's points and keeps every reading "
        '(default: one line per file)',
    )
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    add_debug_arg(parser)
    return parser.parse_args(argv)


@one_line_errors
def main(argv=None) -> int:
    """Convert every split under ``data_root``; return the exit status."""
    args = parse_args(argv)
    try:
        written = convert_dataset(
            args.data_root,
            args.out_dir,
            args.num_keypoints,
            args.metainfo,
            progress=not args.no_progress,
            readers=args.readers,
        )
    except AnnotationError as err:
        lines = err.errors if isinstance(err, AnnotationErrors) else [str(err)]
        print(
            ''.join(f'error: {line}\n' for line in lines)
            + f'{len(lines)} bad file(s); nothing written; any earlier output is unchanged.'
            if len(lines) > 1
            else f'error: {lines[0]}\nNothing written; any earlier output is unchanged.',
            file=sys.stderr,
        )
        return 1
    for split, path in written.items():
        print(f'{split}: {path}')
    agreement = (
        reader_agreement(json.loads(Path(p).read_text()) for p in written.values())
        if args.readers
        else None
    )
    if agreement:
        a = agreement
        print(
            f'readers: {a["films"]} films read more than once ({a["pairs"]} pairs of '
            f'readings): their AIs differ by {a["AI_MAD"]:.2f} deg on average, one reading '
            f'errs by sd {a["AI_reader_sd"]:.2f} deg; their grades agree on '
            f'{100 * a["grade_agreement"]:.1f} % of hips (kappa {a["grade_kappa"]:.2f}). Each '
            f"film's points are its readers' mean: against the mean of {a['readers']} "
            f'readings an error-free model would measure AI MAE about '
            f'{a["AI_MAE_error_free_mean"]:.2f} deg ({a["AI_MAE_error_free"]:.2f} against one)'
        )
    return 0
