"""Export a published hip model (both stages) to one ONNX file for the torch-free runtime.

Example:
    python tools/export_onnx.py work_dirs/published/hip_effv2_cbam_cpu-1a2b3c4d.pth hip.onnx
    python tools/infer.py new_films/ --onnx hip.onnx --out-dir out/

The file holds the whole-film stage (film_input -> film_heatmaps) and the per-hip
stage (hip_input -> hip_heatmaps) as two independent subgraphs with a dynamic batch,
and every pre/post-processing setting in its metadata (key 'hip_mmpose', JSON).
The input is read weights-only with its configs checked as data.
"""

import argparse
import sys
from pathlib import Path

import hip_mmpose  # noqa: F401
from hip_mmpose.apis.onnx_export import DEFAULT_OPSET, ExportError, export_onnx
from hip_mmpose.tools._cli import add_debug_arg, one_line_errors


@one_line_errors
def main(argv=None) -> int:
    """Export a published model to ONNX and print the file written.

    Args:
        argv (list[str], optional): the command-line arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        int: the exit status: 0, or 2 when the output would overwrite the input or
        the model cannot be exported (the message says why).
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('checkpoint', help="a published model or a run's best_cascade.pth")
    parser.add_argument('out_file', help='the .onnx file to write')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    if Path(args.out_file).resolve() == Path(args.checkpoint).resolve():
        print(f'error: {args.out_file} is the input', file=sys.stderr)
        return 2
    try:
        out = export_onnx(args.checkpoint, args.out_file, args.opset)
    except (ExportError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'exported {out}')
    return 0
