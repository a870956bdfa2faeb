"""Keypoints, acetabular index and IHDI grade for new films (no annotations needed).

Examples:
    python tools/infer.py new_films/ --checkpoint work_dirs/published/hip-1a2b3c4d.pth --out-dir out
    python tools/infer.py film.png --checkpoint work_dirs/demo/best_cascade.pth --out-dir out/
    python tools/infer.py new_films/ --onnx hip.onnx --out-dir out/   # no torch needed

Films: JPEG/PNG (8/16-bit, grey or colour) and DICOM (.dcm), read as in training
(hip_mmpose/utils/film_io.py). The pixel spacing comes from a DICOM header or from a
spacing.csv (columns file,spacing_mm) in the films' folder or named by --spacing.
Sides: every result names the image side of each hip (image_left/image_right) and the
patient's (patient_side): a film is taken as read facing the patient (AP: the
patient's right on the image's left) unless its DICOM header's PatientOrientation says
otherwise or --orientation mirrored says it is stored flipped left-right.

Writes OUT/<file name>.json (the film's record, hip_mmpose/utils/records.py: keypoints as
[x, y, score] in film pixels, acetabular_index, ihdi_grade, not_measured,
pixel_spacing_mm, h_point_mm, flags, file, image_size, orientation,
patient_side), OUT/<file name>.overlay.png
and OUT/summary.csv (one row per film, records.csv_columns()): outputs are named by
the film's full file name, so a.jpg and a.png keep separate results. OUT may not be
the input folder or inside it, nor a single film's own folder (outputs would mix
with, and could overwrite, the films, and be read as films by the next run), and no
output is ever written over an input; it is checked writable before the model is
loaded (and made only once the model is). summary.csv is written first with every
film marked as not yet measured (a run that is killed leaves no earlier run's
summary beside its new files), then again at the end. A film that cannot be read
or measured is reported on one line, gets a row in summary.csv with its error, and
the rest go on; the exit status is 2 if any input failed. Any refusal is one line
(--debug shows the traceback).
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
from tqdm import tqdm

import hip_mmpose  # noqa: F401  (imports without the training stack too)
from hip_mmpose import geometry
from hip_mmpose.runtime.measuring import failure_message
from hip_mmpose.tools._cli import add_debug_arg, one_line_errors
from hip_mmpose.utils import records
from hip_mmpose.utils.atomic import write_atomic
from hip_mmpose.utils.film_io import (
    SPACING_CSV,
    FilmReadError,
    folder_spacings,
    list_films,
    read_spacing_csv,
)

SUMMARY_CSV = 'summary.csv'
#: The error of every film in the summary.csv written before the first film is measured.
NOT_YET_MEASURED = 'not measured: the run started but did not finish (interrupted?)'


def parse_args(argv=None):
    """Return ``hip-infer``'s options parsed from ``argv`` (None: ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        'input', help='a film (JPEG/PNG 8/16-bit, grey or RGB, or DICOM) or a folder of them'
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument(
        '--checkpoint',
        help="a published model or a run's best_cascade.pth (both stages), "
        'or a single-stage training checkpoint (needs --config)',
    )
    model.add_argument(
        '--onnx',
        help='a model exported by tools/export_onnx.py: runs on '
        'onnxruntime, without torch (--config, --device unused)',
    )
    parser.add_argument('--config', help='model config (optional for published models)')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--spacing',
        metavar='CSV',
        help=f"file,spacing_mm per film (default: {SPACING_CSV} in the films' "
        'folder, if there is one); overrides DICOM headers',
    )
    parser.add_argument(
        '--device',
        default=None,
        help="'cpu', 'cuda', 'cuda:1', ... (default: cuda when there is one)",
    )
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--no-flip', action='store_true', help='skip the flip test')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=geometry.SCORE_THR,
        help='flag keypoints with a lower heatmap score (and send their hips to review)',
    )
    parser.add_argument('--no-overlay', action='store_true', help='skip the PNG overlays')
    parser.add_argument(
        '--orientation',
        choices=('ap', 'mirrored'),
        default=None,
        help="how the films are stored: 'ap' (default; the patient's right on the "
        "image's left) or 'mirrored' (flipped left-right); a DICOM header's "
        'PatientOrientation is honoured where present',
    )
    parser.add_argument(
        '--sort',
        choices=('file', 'uncertainty'),
        default='file',
        help="order of summary.csv's rows: by file name, or the least certain first "
        '(failed films, then hips flagged for review, then the widest AI interval)',
    )
    parser.add_argument(
        '--ai-threshold',
        type=float,
        default=None,
        metavar='DEG',
        help='the AI line the intervals are checked against: interval_crosses_threshold, '
        "and the review flag of a hip whose triage interval crosses it (default: the model's "
        'calibrated threshold, 30 deg: a clinical line in the first year)',
    )
    add_debug_arg(parser)
    return parser.parse_args(argv)


def output_names(film: Path) -> tuple[str, str]:
    """JSON and overlay file names of one film: by its full name (a.jpg, a.png apart).

    Args:
        film (Path): the film file.

    Returns:
        tuple[str, str]: ``<name>.json`` and ``<name>.overlay.png``.
    """
    return f'{film.name}.json', f'{film.name}.overlay.png'


def check_out_dir(source: Path, films: list, out: Path) -> str | None:
    """Why ``out`` may not take this run's outputs, or None when it may.

    Refused: the input folder itself or a folder inside it, a single film's own
    folder (the next run on that folder would read its overlays as films), and any
    output name that is an input file (so no input is ever written over).

    Args:
        source (Path): the input, a film or a folder of films.
        films (list): the film files read from it.
        out (Path): the ``--out-dir``.

    Returns:
        str | None: the reason for refusing ``out``, or None when it may be used.
    """
    out_resolved = out.resolve()
    if source.is_dir():
        folder = source.resolve()
        if out_resolved == folder or folder in out_resolved.parents:
            return (
                f'--out-dir {out} is the input folder {source} or inside it: outputs '
                'would mix with the films; choose another folder'
            )
    elif out_resolved == source.resolve().parent:
        return (
            f"--out-dir {out} is the film's own folder: its outputs would be read as "
            'films by the next run on that folder; choose another folder'
        )
    inputs = {Path(f).resolve() for f in films}
    names = [SUMMARY_CSV] + [n for f in films for n in output_names(Path(f))]
    for name in names:
        if (out_resolved / name) in inputs:
            return f'{out / name} is an input film; it would be overwritten'
    return None


def writable_problem(out: Path) -> str | None:
    """Why files cannot be written in ``out`` (made where missing), or None.

    Nothing is created: an existing folder takes a temporary file (removed at once);
    for a missing one, its nearest existing parent must be a folder we may write in.

    Args:
        out (Path): the ``--out-dir``.

    Returns:
        str | None: the reason, one line, or None.
    """
    probe = out
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        return f'--out-dir {out}: {probe} is not a folder'
    if probe != out:
        if not os.access(probe, os.W_OK | os.X_OK):
            return f'--out-dir {out}: cannot make it (no permission to write in {probe})'
        return None
    try:
        fd, name = tempfile.mkstemp(dir=out, prefix='.write-test-')
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        return f'--out-dir {out}: cannot write there ({err.strerror or err})'
    return None


def prepare_out_dir(out: Path, films: list) -> str | None:
    """Make ``out``, check it takes files, and mark every film as not yet measured.

    ``summary.csv`` is written with one failure row per film
    (:data:`NOT_YET_MEASURED`), so a run killed before its end leaves no earlier
    run's summary beside its new files; the end of the run writes it again.

    Args:
        out (Path): the ``--out-dir``.
        films (list): the film files of this run.

    Returns:
        str | None: why ``out`` cannot be used (one line), or None.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix='.write-test-')
        os.close(fd)
        os.unlink(probe)
        records.write_csv(
            out / SUMMARY_CSV, [records.failure(Path(f).name, NOT_YET_MEASURED) for f in films]
        )
    except OSError as err:
        return f'--out-dir {out}: cannot write there ({err.strerror or err})'
    return None


@one_line_errors
def main(argv=None) -> int:
    """``hip-infer`` / ``tools/infer.py``: measure films; write records, overlays and CSV.

    Args:
        argv (list[str], optional): the command line. Defaults to None (``sys.argv[1:]``).

    Returns:
        int: the exit status: 0, or 2 when a film failed or the options are refused
        (a missing input, a bad spacing CSV, an out dir that would mix with the films,
        an unusable ONNX file).
    """
    args = parse_args(argv)
    source = Path(args.input)
    if source.is_dir():
        films = list_films(source)
        if not films:
            print(f'error: {source}: no .jpg/.jpeg/.png/.dcm films to read', file=sys.stderr)
            return 2
    elif source.exists():
        films = [source]
    else:
        print(f'error: {source}: no such file or folder', file=sys.stderr)
        return 2
    try:
        spacings = (
            read_spacing_csv(args.spacing)
            if args.spacing
            else folder_spacings(source if source.is_dir() else source.parent)
        )
    except FilmReadError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    problem = check_out_dir(source, films, Path(args.out_dir)) or writable_problem(
        Path(args.out_dir)
    )
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    options = dict(flip_test=not args.no_flip, batch_size=args.batch_size, score_thr=args.score_thr)
    if args.onnx:
        if args.config or args.device:
            print('error: --config and --device are for --checkpoint, not --onnx', file=sys.stderr)
            return 2
        from hip_mmpose.runtime import OnnxHipInferencer, OnnxModelError

        try:
            inferencer = OnnxHipInferencer(args.onnx, **options)
        except OnnxModelError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
    else:
        from hip_mmpose.apis import HipInferencer

        if args.device is None:
            import torch

            args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
        inferencer = HipInferencer(args.checkpoint, args.config, device=args.device, **options)
    if args.ai_threshold is not None:
        if not inferencer.uncertainty:
            print(
                'error: --ai-threshold needs a model with an uncertainty calibration '
                '(trained by tools/train.py with calibration.uncertainty)',
                file=sys.stderr,
            )
            return 2
        from hip_mmpose.utils.uncertainty import CALIBRATION_BOUNDS

        low, high = CALIBRATION_BOUNDS['ai_threshold']
        if not low <= args.ai_threshold <= high:
            print(f'error: --ai-threshold must lie in [{low:g}, {high:g}] deg', file=sys.stderr)
            return 2
        inferencer.uncertainty = dict(inferencer.uncertainty, ai_threshold=args.ai_threshold)
    inferencer.orientation = args.orientation
    out = Path(args.out_dir)
    problem = prepare_out_dir(out, films)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    rows, failed = [], 0
    progress = tqdm(total=len(films), unit='film', disable=len(films) < 2)
    for path, film, result, error in inferencer.predict_files(films, spacings):
        progress.update()
        if error:
            failed += 1
            progress.write(f'skipped: {error}', file=sys.stderr)
            rows.append(records.failure(path.name, error, inferencer.model_sha256))
            continue
        try:
            png = None
            if not args.no_overlay:
                ok, png = cv2.imencode('.png', inferencer.overlay(film, result))
                if not ok:
                    raise ValueError('the overlay could not be encoded')
            records.write_film(out / output_names(path)[0], result)
            if png is not None:
                write_atomic(out / output_names(path)[1], png.tobytes())
        except Exception as err:  # one film's drawing or writing: the rest go on
            if isinstance(err, OSError) and not isinstance(err, FileNotFoundError):
                raise  # the out dir itself failed: every film would
            failed += 1
            error = failure_message(path, err, 'not written')
            progress.write(f'skipped: {error}', file=sys.stderr)
            rows.append(records.failure(path.name, error, inferencer.model_sha256))
            continue
        rows.append(result)
    progress.close()
    if args.sort == 'uncertainty':
        rows.sort(key=records.uncertainty_rank)
    records.write_csv(out / SUMMARY_CSV, rows)
    print(
        f'{len(films) - failed} of {len(films)} films measured; results in {out}/'
        + (f'; {failed} failed' if failed else '')
    )
    return 2 if failed else 0
