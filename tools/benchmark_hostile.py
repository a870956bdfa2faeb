#!/usr/bin/env python
"""Issue 33's hostile and odd inputs at their full size: what each now does, and its
peak memory.

Each example of the issue is made here as a crafted file (tests/hostile_files.py, the
same makers the tests use; here the bombs at the issue's sizes: 1.5 GB of deflated
zeros, a 300 MB annotation line, 2,000,001 reader lines, a graph whose output is
40000 x 40000), then handed to the real tool (tools/infer.py with a tiny two-stage
ONNX model of the export's shape, tools/convert_csv_to_coco.py, tools/publish_model.py,
tools/export_onnx.py) in its own process under ``/usr/bin/time -v``. A folder run has
a good film beside the odd one, which must still be measured. The table gives the
tool's exit status, its refusal or per-film failure line and the peak resident memory
(``Maximum resident set size``); every case must stay under ``--max-mb``.

Example:
    python tools/benchmark_hostile.py                    # every case, the table printed
    python tools/benchmark_hostile.py --markdown table.md --only deflate
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TIME = '/usr/bin/time'
#: Each tool process may reserve this much address space: a bomb that got through
#: would fail to allocate here instead of swapping the machine.
ADDRESS_LIMIT = 16 << 30


def _tool(name: str) -> list[str]:
    return [sys.executable, str(REPO / 'tools' / f'{name}.py')]


def _folder(work: Path, name: str, make) -> Path:
    """A folder of one good film and the odd file ``name`` made by ``make(path)``."""
    from tests import hostile_files as hostile

    folder = work / 'films'
    folder.mkdir()
    hostile.good_film(folder / 'good.png')
    make(folder / name)
    return folder


def cases() -> dict:
    """``{name: build(work) -> (argv, odd file name or None)}`` of every example."""
    import torch

    from tests import hostile_files as hostile

    def infer_folder(name, make, model=None):
        def build(work):
            onnx = model(work) if model else hostile.tiny_onnx(work / 'tiny.onnx')
            folder = _folder(work, name, make)
            return [
                *_tool('infer'),
                str(folder),
                '--onnx',
                str(onnx),
                '--out-dir',
                str(work / 'out'),
            ], name

        return build

    def infer_model(change=None, text=None, sizes=None, bomb=None):
        def build(work):
            meta = hostile.onnx_metadata()
            if change:
                change(meta)
            onnx = hostile.tiny_onnx(work / 'model.onnx', meta, text, sizes, bomb)
            folder = _folder(work, 'good2.png', hostile.good_film)
            argv = [
                *_tool('infer'),
                str(folder),
                '--onnx',
                str(onnx),
                '--out-dir',
                str(work / 'out'),
            ]
            return argv, 'good.png' if bomb else None

        return build

    def published_deep(work):
        path = work / 'deep.pth'
        stage = dict(name='film', config=hostile.deep_json(200_000))
        meta = dict(format='hip_mmpose-published-v2', stages=[stage])
        torch.save(dict(state_dict=dict(film={}), meta=meta), path)
        folder = _folder(work, 'good2.png', hostile.good_film)
        return [
            *_tool('infer'),
            str(folder),
            '--checkpoint',
            str(path),
            '--out-dir',
            str(work / 'o'),
        ], None

    def list_checkpoint(work):
        torch.save([torch.zeros(2)], work / 'list.pth')
        return [*_tool('publish_model'), str(work / 'list.pth'), str(work / 'p.pth')], None

    def truncated(tool):
        def build(work):
            whole = work / 'whole.pth'
            torch.save(dict(state_dict={'w': torch.zeros(1000)}, meta={}), whole)
            data = whole.read_bytes()
            (work / 'model.pth').write_bytes(data[: len(data) // 2])
            if tool == 'export_onnx':
                return [*_tool(tool), str(work / 'model.pth'), str(work / 'm.onnx')], None
            folder = _folder(work, 'good2.png', hostile.good_film)
            return [
                *_tool('infer'),
                str(folder),
                '--checkpoint',
                str(work / 'model.pth'),
                '--out-dir',
                str(work / 'o'),
            ], None

        return build

    def unwritable(work):
        (work / 'a_file').write_text('')
        folder = _folder(work, 'good2.png', hostile.good_film)
        onnx = hostile.tiny_onnx(work / 'tiny.onnx')
        return [
            *_tool('infer'),
            str(folder),
            '--onnx',
            str(onnx),
            '--out-dir',
            str(work / 'a_file' / 'out'),
        ], None

    def film_folder(work):
        folder = _folder(work, 'good2.png', hostile.good_film)
        onnx = hostile.tiny_onnx(work / 'tiny.onnx')
        return [
            *_tool('infer'),
            str(folder / 'good.png'),
            '--onnx',
            str(onnx),
            '--out-dir',
            str(folder),
        ], None

    def converter(make):
        def build(work):
            root = work / 'data' / 'train'
            (root / 'images').mkdir(parents=True)
            (root / 'annotations').mkdir()
            for stem in ('good', 'odd'):
                hostile.good_film(root / 'images' / f'{stem}.png')
            line = ','.join(f'"({10 + i}, {20 + i})"' for i in range(12))
            (root / 'annotations' / 'good.csv').write_text(line)
            make(root / 'annotations' / 'odd.csv')
            return [
                *_tool('convert_csv_to_coco'),
                str(work / 'data'),
                '--out-dir',
                str(work / 'coco'),
                '--no-progress',
            ], 'odd.csv'

        return build

    def stage(index, **values):
        return lambda m: m['stages'][index].update(values)

    def codec(index, **values):
        return lambda m: m['stages'][index]['codec'].update(values)

    def offsets(side, point, value):
        return lambda m: m['stages'][1]['keypoint_offsets'][side].__setitem__(point, value)

    big = [40000, 40000]
    return {
        'A: DICOM with an unknown transfer syntax UID, beside a good film': infer_folder(
            'unknown.dcm', hostile.unknown_syntax_dicom
        ),
        'A: a 60000 x 60 PNG (under the pixel cap), beside a good film': infer_folder(
            'wide.png', hostile.wide_png
        ),
        'A: published config nested 200,000 deep (infer)': published_deep,
        'A: ONNX metadata nested 200,000 deep (infer)': infer_model(
            text=hostile.deep_json(200_000)
        ),
        'A: checkpoint whose top level is a list (publish)': list_checkpoint,
        'A: graph whose real output is 40000 x 40000 (infer)': infer_model(bomb=40000),
        'A: out-dir that cannot be written (infer)': unwritable,
        'A: truncated model (export_onnx)': truncated('export_onnx'),
        'B: deflated DICOM, 1.5 GB of zeros in 1.5 MB, beside a good film': infer_folder(
            'bomb.dcm', lambda p: hostile.deflate_bomb_dicom(p, zeros=1_500_000_000)
        ),
        'B: 512 x 512 DICOM, an 880-byte JPEG 2000 frame declaring 30000 x 30000': infer_folder(
            'j2k.dcm', hostile.j2k_dicom
        ),
        'B: 512 x 512 DICOM, a 1 kB JPEG frame declaring 30000 x 30000': infer_folder(
            'jpeg.dcm', lambda p: hostile.jpeg_dicom(p, 512, 512, (30000, 30000), (8, 8))
        ),
        'B: a 300 MB one-line annotation (30000012 points)': converter(hostile.long_line_csv),
        'B: 2,000,001 reader lines': converter(hostile.many_lines_csv),
        'B: ONNX input_size 40000 x 40000, the graph too': infer_model(
            lambda m: m['stages'][0].update(
                input_size=big,
                codec=dict(m['stages'][0]['codec'], input_size=big, heatmap_size=[10000, 10000]),
            ),
            sizes=dict(film=(40000, 40000)),
        ),
        'B: ONNX refine_passes 1e9': infer_model(lambda m: m.update(refine_passes=10**9)),
        'C: offsets 0.06 of the crop on a roof point (ONNX)': infer_model(
            offsets(0, 0, [0.06, 0.0])
        ),
        'C: offsets 1e300 (ONNX)': infer_model(offsets(1, 2, [1e300, 0.0])),
        'C: hip codec heatmap_size [24, 24] (ONNX)': infer_model(codec(1, heatmap_size=[24, 24])),
        'C: hip codec input_size [384, 384] (ONNX)': infer_model(codec(1, input_size=[384, 384])),
        'C: flip_indices the identity (ONNX)': infer_model(stage(0, flip_indices=list(range(12)))),
        'C: blur_kernel_size 1e9 (ONNX)': infer_model(codec(1, blur_kernel_size=10**9)),
        'C: a 3-value input_size (ONNX)': infer_model(stage(1, input_size=[32, 32, 3])),
        'C: mean of length 2 (ONNX)': infer_model(stage(0, mean=[1.0, 2.0])),
        'C: a string std (ONNX)': infer_model(stage(0, std='58')),
        'D: truncated model beside an intact one (infer)': truncated('infer'),
        "D: a single film's own folder as --out-dir": film_folder,
        'D: an EPS named .png, beside a good film': infer_folder(
            'eps.png', lambda p: hostile.other_format_named_png(p, 'EPS')
        ),
        'D: a GIF named .png, beside a good film': infer_folder(
            'gif.png', lambda p: hostile.other_format_named_png(p, 'GIF')
        ),
        'D: a TIFF named .png, beside a good film': infer_folder(
            'tiff.png', lambda p: hostile.other_format_named_png(p, 'TIFF')
        ),
    }


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


def run_case(build, work: Path) -> dict:
    """Build one case in ``work``, run its tool under ``/usr/bin/time -v``.

    Returns:
        dict: ``status``, ``line`` (the refusal or the odd film's failure), ``peak_mb``,
        ``good`` (whether the good film beside it was measured, None without one).
    """
    argv, odd = build(work)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    run = subprocess.run(
        [TIME, '-v', *argv],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limit,
        timeout=1800,
    )
    peak = re.search(r'Maximum resident set size \(kbytes\): (\d+)', run.stderr)
    status = re.search(r'Exit status: (\d+)', run.stderr)
    lines = [
        piece.strip()
        for line in run.stderr.splitlines()
        for piece in line.split('\r')
        if piece.strip().startswith(('error:', 'skipped:'))
    ]
    line = next((x for x in lines if odd and odd in x), lines[0] if lines else '')
    good = None
    summary = work / 'out' / 'summary.csv'
    if summary.is_file() and odd and odd != 'good.png':
        from hip_mmpose.utils import records

        rows = {r['file']: r for r in records.read_csv(summary)}
        good = 'good.png' in rows and 'error' not in rows['good.png']
    return dict(
        status=int(status.group(1)) if status else None,
        line=line.replace(str(work) + '/', '').replace(str(work), '.'),
        peak_mb=int(peak.group(1)) / 1024 if peak else None,
        good=good,
        traceback='Traceback' in run.stderr,
    )


def main(argv=None) -> int:
    """Run the cases; print (and optionally write) the table.

    Args:
        argv (list[str], optional): the command line. Defaults to None (``sys.argv[1:]``).

    Returns:
        int: 0, or 1 when a case went over ``--max-mb``, printed a traceback, or lost
        the good film beside it.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--only', help='run only the cases whose name contains this text')
    parser.add_argument('--markdown', help='also write the table to this file')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--max-mb', type=float, default=1024, help='peak memory allowed per case')
    args = parser.parse_args(argv)
    if not Path(TIME).is_file():
        print(f'error: {TIME} is needed (GNU time, for the peak memory)', file=sys.stderr)
        return 2
    results, bad = {}, 0
    for name, build in cases().items():
        if args.only and args.only.lower() not in name.lower():
            continue
        work = Path(tempfile.mkdtemp(prefix='hostile-'))
        try:
            result = run_case(build, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ok = (
            result['peak_mb'] is not None
            and result['peak_mb'] <= args.max_mb
            and not result['traceback']
            and result['good'] is not False
        )
        bad += not ok
        results[name] = result
        good = {None: '', True: '; good film measured', False: '; GOOD FILM LOST'}[result['good']]
        print(
            f'{name}\n    exit {result["status"]}, peak {result["peak_mb"]:.0f} MB{good}'
            f'{"" if ok else "  <-- FAILS THE CHECK"}\n    {result["line"]}',
            flush=True,
        )
    rows = ['| example | exit | peak MB | what it now does |', '|---|---|---|---|']
    for name, r in results.items():
        line = r['line'].replace('|', '\\|')
        good = ' (the good film beside it measured)' if r['good'] else ''
        rows.append(f'| {name} | {r["status"]} | {r["peak_mb"]:.0f} | `` {line} ``{good} |')
    table = '\n'.join(rows)
    print('\n' + table)
    if args.markdown:
        Path(args.markdown).write_text(table + '\n')
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
