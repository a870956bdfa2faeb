"""Review every film's measurement in a browser: move a point, sign off, export for training.

Examples:
    hip-review films/ --results out/                      # tools/infer.py's output
    hip-review films/ --checkpoint work_dirs/demo/best_cascade.pth --out-dir review/
    hip-review films/ --onnx hip.onnx --reviewer dr_a
    hip-review films/ --blind --reviewer dr_b --out-dir review/   # without the model's points
    hip-review films/ --out-dir review/ --export retrain/         # signed-off films -> CSV layout

Serves a local page (http://127.0.0.1:8765/ unless --host/--port say otherwise) and
opens nothing by itself. Films without the model's results are measured when the
server starts (a progress bar) or when first viewed. Each reader's points and states
are saved at once to OUT/review-<reviewer>.json (OUT: --out-dir, by default a folder
beside the results or the films, never inside the films' folder or over the results);
a restart shows the same state. --export DIR writes the signed-off films in the
template's layout (DIR/<split>/images, DIR/<split>/annotations) for
tools/convert_csv_to_coco.py, with a manifest of who read what, when. --host other
than 127.0.0.1 shares the page on a network: anyone who can reach the port can see
every film and, through the page, change the review (docs/review.md).
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import socket
import sys
import threading
import time
from pathlib import Path

from tqdm import tqdm

import hip_mmpose  # noqa: F401  (imports without the training stack too)
from hip_mmpose import geometry
from hip_mmpose.review.export import export_reviews
from hip_mmpose.review.films import FilmSet, ReviewError, ReviewSetupError, inside
from hip_mmpose.review.store import (
    DEFAULT_REVIEWER,
    MODEL_FOLDER,
    ReviewStore,
    check_reviewer,
    read_results,
    review_path,
)

DEFAULT_PORT = 8765
LOOPBACK_NAMES = ['127.0.0.1', 'localhost']


def parse_args(argv=None):
    """Return ``hip-review``'s options parsed from ``argv`` (None: ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('films', help='a folder of films (JPEG/PNG/DICOM) or one film')
    model = parser.add_mutually_exclusive_group()
    model.add_argument('--checkpoint', help='measure with a published model or best_cascade.pth')
    model.add_argument('--onnx', help='measure with a model exported by tools/export_onnx.py')
    model.add_argument('--results', metavar='DIR', help="tools/infer.py's output for these films")
    parser.add_argument('--config', help='model config (a single-stage --checkpoint)')
    parser.add_argument('--device', default=None, help="'cpu', 'cuda', ... (--checkpoint)")
    parser.add_argument(
        '--out-dir',
        help='review files (review-<reviewer>.json) and the records the server measures '
        '(default: <results or films folder>-review beside it)',
    )
    parser.add_argument(
        '--reviewer',
        default=DEFAULT_REVIEWER,
        help=f'the reader; each keeps a review file of their own (default: {DEFAULT_REVIEWER})',
    )
    parser.add_argument(
        '--blind',
        action='store_true',
        help="read without the model's points: place the 12 points in order",
    )
    parser.add_argument(
        '--host',
        default='127.0.0.1',
        help='address to listen on (default 127.0.0.1: this computer only)',
    )
    parser.add_argument(
        '--port', type=int, default=DEFAULT_PORT, help=f'default {DEFAULT_PORT}; 0: any free port'
    )
    parser.add_argument(
        '--allow-host',
        action='append',
        default=[],
        metavar='NAME',
        help='a host name the page may be opened under (with --host; repeatable)',
    )
    parser.add_argument(
        '--export', metavar='DIR', help='write the signed-off films to DIR/<split>/ and stop'
    )
    parser.add_argument('--export-split', default='train', help='the split to write (train)')
    parser.add_argument(
        '--include-unchecked',
        action='store_true',
        help="export films not signed off too (a film nobody read: the model's points)",
    )
    parser.add_argument('--max-films', type=int, help='review only the first N films by name')
    parser.add_argument('--spacing', metavar='CSV', help='file,spacing_mm per film')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=geometry.SCORE_THR,
        help='flag keypoints with a lower heatmap score (and send their hips to review)',
    )
    parser.add_argument('--no-flip', action='store_true', help='skip the flip test (measuring)')
    return parser.parse_args(argv)


def default_out_dir(films: FilmSet, results) -> Path:
    """The default ``--out-dir``: ``<results>-review`` or ``<films folder>-review`` beside it.

    Args:
        films (FilmSet): the films.
        results (str | None): the ``--results`` folder.

    Returns:
        Path: the folder.
    """
    base = Path(results).resolve() if results else films.folder
    return base.parent / f'{base.name}-review'


def check_out_dir(out: Path, films: FilmSet, results) -> str | None:
    """Why ``out`` may not hold the review, or None.

    Args:
        out (Path): the ``--out-dir``.
        films (FilmSet): the films.
        results (str | None): the ``--results`` folder.

    Returns:
        str | None: the reason, or None when it may.
    """
    if inside(out, films.folder):
        return f'--out-dir {out} is the films folder or inside it; choose another folder'
    if results and inside(out, results):
        return (
            f"--out-dir {out} is the model's results folder {results} or inside it; "
            'the review is kept apart from them'
        )
    return None


def allowed_hosts(host: str, extra: list[str]) -> list[str] | None:
    """The ``Host`` names the server answers (None: any).

    Args:
        host (str): the ``--host``.
        extra (list[str]): ``--allow-host`` names.

    Returns:
        list[str] | None: loopback names for a loopback address; the address and the
        extra names for another; None for a wildcard address without extra names.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == 'localhost' or (address is not None and address.is_loopback):
        return LOOPBACK_NAMES + [host] + extra
    if address is not None and address.is_unspecified:
        return (LOOPBACK_NAMES + extra) if extra else None
    return LOOPBACK_NAMES + [host] + extra


def make_measurer(args):
    """The model's measurer from ``--checkpoint`` or ``--onnx`` (None without either)."""
    options = dict(flip_test=not args.no_flip, batch_size=1, score_thr=args.score_thr)
    if args.onnx:
        from hip_mmpose.runtime import OnnxHipInferencer

        return OnnxHipInferencer(args.onnx, **options)
    if args.checkpoint:
        from hip_mmpose.apis import HipInferencer

        device = args.device
        if device is None:
            import torch

            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        return HipInferencer(args.checkpoint, args.config, device=device, **options)
    return None


def _export(args, films: FilmSet, out: Path) -> int:
    model_records = {}
    for folder in [out / MODEL_FOLDER] + ([Path(args.results)] if args.results else []):
        if folder.is_dir():
            model_records.update(read_results(folder, films.names)[0])
    summary = export_reviews(
        films, out, args.export, args.export_split, args.include_unchecked, model_records
    )
    for item in summary['skipped']:
        print(f'skipped: {item["file"]}: {item["reason"]}', file=sys.stderr)
    if not summary['films']:
        print(
            f'error: no signed-off film in the review files of {out}'
            + ('' if args.include_unchecked else ' (--include-unchecked exports the others)'),
            file=sys.stderr,
        )
        return 2
    readers = ', '.join(summary['readers'])
    print(
        f'{summary["films"]} films, {summary["lines"]} readings ({readers}) written to '
        f'{summary["dir"]}; manifest {summary["manifest"]}'
    )
    print(f'next: {summary["convert"]}')
    return 0


def _measure_in_background(store: ReviewStore) -> threading.Thread | None:
    pending = store.pending()
    if not pending:
        return None

    def run():
        for name in tqdm(pending, desc='measuring', unit='film', file=sys.stderr):
            try:
                store.measure_film(name)
            except Exception as err:  # one film never stops the others
                print(f'skipped: {name}: {err}', file=sys.stderr)

    thread = threading.Thread(target=run, name='hip-review-measuring', daemon=True)
    thread.start()
    return thread


def main(argv=None) -> int:
    """``hip-review`` / ``tools/review.py``: serve the review page, or ``--export``.

    Args:
        argv (list[str], optional): the command line. Defaults to None (``sys.argv[1:]``).

    Returns:
        int: the exit status: 0, or 2 for refused options (no films, a bad review
        file, an out dir inside the films or results, a port in use, nothing to export).
    """
    started = time.perf_counter()
    args = parse_args(argv)
    try:
        check_reviewer(args.reviewer)
        if args.max_films is not None and args.max_films < 1:
            raise ReviewSetupError('--max-films must be at least 1')
        if args.results and not Path(args.results).is_dir():
            raise ReviewSetupError(f'--results {args.results}: no such folder')
        films = FilmSet(args.films, args.max_films, args.spacing)
        out = Path(args.out_dir) if args.out_dir else default_out_dir(films, args.results)
        problem = check_out_dir(out, films, args.results)
        if problem:
            raise ReviewSetupError(problem)
        for name, reason in films.refused:
            print(f'refused: {name}: {reason}', file=sys.stderr)
        if args.export:
            return _export(args, films, out)
        model_given = args.checkpoint or args.onnx or args.results
        if args.blind and model_given:
            raise ReviewSetupError(
                "--blind reads without the model's points: drop --checkpoint/--onnx/--results"
            )
        if not args.blind and not model_given and not review_path(out, args.reviewer).exists():
            raise ReviewSetupError(
                'give the model (--checkpoint, --onnx) or its results (--results), '
                'or read blind (--blind)'
            )
        if (args.config or args.device) and not args.checkpoint:
            raise ReviewSetupError('--config and --device are for --checkpoint')
        out.mkdir(parents=True, exist_ok=True)
        measurer = make_measurer(args)
        store = ReviewStore(
            films,
            out,
            args.reviewer,
            args.blind,
            measurer,
            args.results,
            score_thr=args.score_thr,
        )
    except (ReviewSetupError, ReviewError, ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    for note in store.notes:
        print(f'note: {note}', file=sys.stderr)

    import uvicorn

    from hip_mmpose.review.app import create_app

    token = secrets.token_urlsafe(32)
    app = create_app(
        store,
        token,
        export_split=args.export_split,
        include_unchecked=args.include_unchecked,
        allowed_hosts=allowed_hosts(args.host, args.allow_host),
    )
    family = socket.AF_INET6 if ':' in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(128)  # connections wait in the queue until the server takes them
    except OSError as err:
        sock.close()
        print(
            f'error: cannot listen on {args.host}:{args.port} ({err}); try another --port',
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    shown_host = f'[{args.host}]' if ':' in args.host else args.host
    measured = sum(n in store.records for n in films.names)
    mode = 'blind reading' if args.blind else f'{measured} of {len(films.names)} measured'
    print(
        f'hip-review: {len(films.names)} films in {films.folder} ({mode}); reader '
        f'{args.reviewer}; review file {store.review.path}'
    )
    if args.host not in ('127.0.0.1', 'localhost', '::1'):
        print(
            f'warning: listening on {args.host}: anyone who can reach port {port} sees '
            'every film and can change this review (docs/review.md)',
            file=sys.stderr,
        )
    print(
        f'hip-review: serving http://{shown_host}:{port}/ (ready in '
        f'{time.perf_counter() - started:.1f} s; open it in a browser; Ctrl+C stops)',
        flush=True,
    )
    _measure_in_background(store)
    config = uvicorn.Config(app, log_level='warning', lifespan='off', access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
