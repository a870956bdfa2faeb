#!/usr/bin/env python
"""Torch vs onnxruntime: seconds per film, peak memory and install size.

Measures the full pipeline (both stages, flip test on unless --no-flip) of one model
on a folder of films twice, each in its own process, one after the other: with
HipInferencer (torch + MMPose) on the published model, and with OnnxHipInferencer
(onnxruntime) on its ONNX export, in a process where torch and every OpenMMLab
package are made unimportable (or in another interpreter, --runtime-python, e.g. a
virtual environment holding only the runtime's packages). Then it adds up the
installed files of the runtime's packages and of the training stack, with their
dependencies, as this interpreter (and --runtime-python) has them.

Example:
    python tools/benchmark_onnx.py work_dirs/accuracy-hip_effv2_cbam_cpu/best_cascade.pth \
        hip.onnx ../shared/hip-xray/test/images --threads 2
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: top-level packages of each way of measuring (their dependencies are added)
RUNTIME_PACKAGES = ('onnxruntime', 'numpy', 'opencv-python', 'opencv-python-headless', 'Pillow')
STACK_PACKAGES = (
    'torch',
    'torchvision',
    'mmengine',
    'mmcv-lite',
    'mmcv',
    'mmpose',
    'mmdet',
    'mmpretrain',
    'numpy',
    'opencv-python',
    'Pillow',
)
#: made unimportable in the ONNX worker
BLOCKED = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmpose', 'mmpretrain', 'mmdet')


def install_size(roots) -> dict:
    """Bytes of the installed files of ``roots`` and their dependencies (the ones
    installed in this interpreter; environment markers and extras respected).

    Args:
        roots (Iterable[str]): distribution names.

    Returns:
        dict: ``bytes`` in all and ``packages`` ({name: bytes}).
    """
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    sizes, stack = {}, list(roots)
    while stack:
        name = canonicalize_name(stack.pop())
        if name in sizes:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total = 0
        for entry in dist.files or []:
            path = Path(dist.locate_file(entry))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = total
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                stack.append(req.name)
    return dict(bytes=sum(sizes.values()), packages=dict(sorted(sizes.items())))


def _worker(kind: str, model: str, films: str, threads: int, batch_size: int, flip: bool) -> dict:
    """Time one path in this process; the result as a dict (printed as JSON)."""
    from hip_mmpose.utils.film_io import list_films, read_film

    if kind == 'onnx':
        from hip_mmpose.runtime import OnnxHipInferencer

        inferencer = OnnxHipInferencer(
            model, flip_test=flip, batch_size=batch_size, threads=threads
        )
        version = 'onnxruntime ' + __import__('onnxruntime').__version__
    else:
        import torch

        from hip_mmpose.apis import HipInferencer

        torch.set_num_threads(threads)
        inferencer = HipInferencer(model, device='cpu', flip_test=flip, batch_size=batch_size)
        version = 'torch ' + torch.__version__
    paths = list_films(films)
    start = time.perf_counter()
    arrays = [read_film(p).image for p in paths]
    read_s = time.perf_counter() - start
    inferencer.predict_arrays(arrays[:2])  # warm-up
    start = time.perf_counter()
    results = inferencer.predict_arrays(arrays)
    measure_s = time.perf_counter() - start
    ai = [[r['acetabular_index'][h] for h in sorted(r['acetabular_index'])] for r in results]
    return dict(
        kind=kind,
        version=version,
        films=len(results),
        s_per_film=measure_s / len(results),
        read_s_per_film=read_s / len(results),
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        torch_loaded='torch' in sys.modules and sys.modules['torch'] is not None,
        keypoints=[[k[:2] for k in r['keypoints']] for r in results],
        ai=ai,
    )


def _run_worker(python: str, kind: str, checkpoint: str, onnx_file: str, args) -> dict:
    command = [
        python,
        __file__,
        '--worker',
        kind,
        checkpoint,
        onnx_file,
        args.films,
        '--threads',
        str(args.threads),
        '--batch-size',
        str(args.batch_size),
    ]
    if args.no_flip:
        command.append('--no-flip')
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f'error: the {kind} run failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _sizes_in(python: str, roots) -> dict:
    code = (
        f'import sys, json; sys.path.insert(0, {str(REPO)!r}); '
        f'from tools.benchmark_onnx import install_size; '
        f'print(json.dumps(install_size({list(roots)!r})))'
    )
    proc = subprocess.run([python, '-c', code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'error: {python}: {proc.stderr[-2000:]}')
    return json.loads(proc.stdout)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('checkpoint', help="a published model or a run's best_cascade.pth")
    parser.add_argument('onnx', help='its export (tools/export_onnx.py)')
    parser.add_argument('films', help='folder of films')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads (default 2)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--no-flip', action='store_true')
    parser.add_argument(
        '--runtime-python',
        help='interpreter for the ONNX run (e.g. a venv with only the '
        "runtime's packages); default: this one, torch blocked",
    )
    parser.add_argument('--worker', choices=('torch', 'onnx'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.worker == 'onnx':
            for name in BLOCKED:
                sys.modules[name] = None  # any import of them fails
        model = args.onnx if args.worker == 'onnx' else args.checkpoint
        result = _worker(
            args.worker, model, args.films, args.threads, args.batch_size, not args.no_flip
        )
        print(json.dumps(result))
        return result
    import numpy as np

    runtime_python = args.runtime_python or sys.executable
    torch_run = _run_worker(sys.executable, 'torch', args.checkpoint, args.onnx, args)
    onnx_run = _run_worker(runtime_python, 'onnx', args.checkpoint, args.onnx, args)
    points_t, points_o = (np.array(r['keypoints'], float) for r in (torch_run, onnx_run))
    n = torch_run['films']
    print(
        f'{n} films, both stages, flip test {"off" if args.no_flip else "on"}, '
        f'batch {args.batch_size}, {args.threads} threads, load {os.getloadavg()[0]:.2f}'
    )
    for run in (torch_run, onnx_run):
        print(
            f'{run["kind"]:>5} ({run["version"]}): {run["s_per_film"]:.3f} s per film '
            f'(with reading the files {run["s_per_film"] + run["read_s_per_film"]:.3f}), '
            f'peak memory {run["peak_mb"]:.0f} MB, torch loaded: {run["torch_loaded"]}'
        )
    print(
        f'onnxruntime is {torch_run["s_per_film"] / onnx_run["s_per_film"]:.2f}x faster; '
        f'points differ by at most {abs(points_t - points_o).max():.3f} px (rounded to '
        '0.01 in the records)'
    )
    stack = install_size(STACK_PACKAGES)
    runtime = _sizes_in(runtime_python, RUNTIME_PACKAGES)
    for name, size in (('training stack', stack), ('runtime', runtime)):
        top = sorted(size['packages'].items(), key=lambda kv: -kv[1])[:6]
        print(
            f'install size, {name}: {size["bytes"] / 2**20:.0f} MB in '
            f'{len(size["packages"])} packages (largest: '
            + ', '.join(f'{k} {v / 2**20:.0f}' for k, v in top)
            + ')'
        )
    return dict(
        torch=torch_run, onnx=onnx_run, stack_bytes=stack['bytes'], runtime_bytes=runtime['bytes']
    )


if __name__ == '__main__':
    main()
