"""Report figures and a summary page from HipMetric's per-film dump.

Example:
    python tools/analyze_results.py work_dirs/demo/20261126_165358/test_per_film.json \
        --out-dir work_dirs/demo/report --work-dir work_dirs/demo

Writes, headless: one side-by-side figure per film (prediction | ground truth, with
roof lines, H-line, P- and D-lines, H-points, AI and IHDI of each hip, errors), mean
distance per film, error per keypoint, AI error per hip, AI scatter (image-left,
image-right, all) with identity and regression lines, Bland-Altman, IHDI confusion
matrices with per-grade recall, point error vs AI error, training curves (with
--work-dir), and summary.md / summary.html with the headline table and every figure.
"""

import argparse

from hip_mmpose.report import write_report
from hip_mmpose.tools._cli import add_debug_arg, one_line_errors


@one_line_errors
def main(argv=None) -> int:
    """Write the report of a per-film dump; return the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('dump', help='<split>_per_film.json written by HipMetric')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--work-dir', help='training work dir, for the training curves')
    parser.add_argument('--max-films', type=int, help='per-film figures for the N worst only')
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    page = write_report(args.dump, args.out_dir, args.work_dir, args.max_films)
    print(f'report: {page}')
    return 0
