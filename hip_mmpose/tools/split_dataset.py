"""Patient-grouped train/val/test split or k folds of one folder of films.

Examples:
    # one folder with images/ and annotations/ -> train/val/test (70/15/15 % of films)
    python tools/split_dataset.py all_films/ --out-dir data/mysplit --seed 0
    # 5 folds: fold<i>/{train,val,test}; test = group i, val = group i+1
    python tools/split_dataset.py all_films/ --out-dir data/folds --folds 5
    # patients from a CSV (columns file,patient) instead of the file name
    python tools/split_dataset.py all_films/ --out-dir data/mysplit --patient-csv ids.csv
    # check an existing split for patients in two parts (exit 1 if any)
    python tools/split_dataset.py --check ../shared/hip-xray

The patient of a film is group 1 of --patient-pattern on its file name (default: the
part before the first '_', as in P031b0f_01.jpg). A patient never lands in two parts.
"""

import argparse
import sys

from hip_mmpose.data_tools.csv_to_coco import AnnotationError
from hip_mmpose.data_tools.splits import DEFAULT_PATIENT_PATTERN, check_split, split_folder


def main(argv=None) -> int:
    """Write a patient-grouped split (or k folds), or check an existing one.

    Args:
        argv (list[str], optional): the command-line arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        int: the exit status: 0; 1 on bad input or when ``--check`` finds a patient
        in two splits (missing arguments exit through argparse).
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('source', nargs='?', help='folder with images/ and annotations/')
    parser.add_argument('--out-dir', help='where the split folders are written')
    parser.add_argument(
        '--ratios',
        type=float,
        nargs=3,
        default=(0.7, 0.15, 0.15),
        metavar=('TRAIN', 'VAL', 'TEST'),
        help='film fractions',
    )
    parser.add_argument('--folds', type=int, help='write k folds instead of one split')
    parser.add_argument(
        '--patient-pattern',
        default=DEFAULT_PATIENT_PATTERN,
        help='regular expression; group 1 is the patient id',
    )
    parser.add_argument('--patient-csv', help='CSV with columns file,patient')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--symlink', action='store_true', help='link films instead of copying')
    parser.add_argument('--check', metavar='ROOT', help='only check an existing split')
    args = parser.parse_args(argv)
    try:
        if args.check:
            shared = check_split(args.check, args.patient_pattern, args.patient_csv)
            for (a, b), patients in shared.items():
                print(
                    f'{a} and {b} share {len(patients)} patients: {", ".join(patients[:10])}'
                    + (' ...' if len(patients) > 10 else '')
                )
            print('no patient is in two splits' if not shared else 'split REFUSED')
            return 1 if shared else 0
        if not args.source or not args.out_dir:
            parser.error('source and --out-dir are required (or use --check ROOT)')
        counts = split_folder(
            args.source,
            args.out_dir,
            args.ratios,
            folds=args.folds,
            pattern=args.patient_pattern,
            mapping_csv=args.patient_csv,
            seed=args.seed,
            symlink=args.symlink,
        )
    except AnnotationError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for part, (films, patients) in counts.items():
        print(f'{part:>12}: {films:4d} films, {patients:4d} patients')
    return 0
