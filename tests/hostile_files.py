"""Hostile and odd input files of issue 33, made small in bytes.

Used by ``tests/test_untrusted_input.py`` (each example of the issue) and by
``tools/benchmark_hostile.py`` (peak memory of each). Torch-free: pydicom, Pillow,
OpenCV, numpy, onnx. Every function writes one file and returns its path.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from hip_mmpose import geometry


# ------------------------------------------------------------------ films
def good_film(path, size=(192, 144), seed=0):
    """A synthetic AP pelvis film (PNG/JPEG by the suffix) the models can measure."""
    from hip_mmpose.data_tools.synthetic import render_film, synthetic_points

    rng = np.random.default_rng(seed)
    points = synthetic_points(rng, size[0], size[1], (1, 2))
    cv2.imwrite(str(path), render_film(rng, points, *size))
    return Path(path)


def wide_png(path, width=60000, height=60):
    """A real PNG with a side beyond OpenCV's 32767 (under the pixel cap)."""
    ok, data = cv2.imencode('.png', np.zeros((height, width), np.uint8))
    Path(path).write_bytes(data.tobytes())
    return Path(path)


def other_format_named_png(path, fmt):
    """An EPS, GIF or TIFF image under a ``.png`` name (Pillow would open it)."""
    from PIL import Image

    image = Image.fromarray(np.full((48, 64), 128, np.uint8))
    if fmt == 'EPS':  # Pillow writes EPS only through Ghostscript; a minimal header
        Path(path).write_bytes(
            b'%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 48\n%%EndComments\nshowpage\n%%EOF\n'
        )
    else:
        image.save(path, format=fmt)
    return Path(path)


# ------------------------------------------------------------------ DICOM
EXPLICIT_LE = '1.2.840.10008.1.2.1'
DEFLATED = '1.2.840.10008.1.2.1.99'
JPEG_BASELINE = '1.2.840.10008.1.2.4.50'
J2K_LOSSLESS = '1.2.840.10008.1.2.4.90'


def _header(rows, cols, syntax, bits=16, photometric='MONOCHROME2'):
    """(file meta, dataset without pixel data) of a secondary-capture film."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.Modality = 'DOE^JANE', 'ID-4711', 'DX'
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = 0
    return meta, ds


def _write(path, meta, dataset_bytes: bytes) -> Path:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info

    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_file_meta_info(fp, meta, enforce_standard=True)
    Path(path).write_bytes(b'\0' * 128 + b'DICM' + fp.getvalue() + dataset_bytes)
    return Path(path)


def _dataset_bytes(ds) -> bytes:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


def dicom_film(path, stored: np.ndarray, syntax=EXPLICIT_LE):
    """A 16-bit grey film, uncompressed or (``DEFLATED``) deflated as the standard says."""
    meta, ds = _header(*stored.shape, EXPLICIT_LE if syntax == DEFLATED else syntax)
    ds.PixelData = np.ascontiguousarray(stored, '<u2').tobytes()
    data = _dataset_bytes(ds)
    if syntax == DEFLATED:
        meta.TransferSyntaxUID = DEFLATED
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = packer.compress(data) + packer.flush()
    return _write(path, meta, data)


def unknown_syntax_dicom(path, rows=64, cols=48):
    """A good film whose transfer syntax UID is no transfer syntax."""
    dicom_film(path, np.full((rows, cols), 1000, np.uint16))
    data = (
        Path(path).read_bytes().replace(EXPLICIT_LE.encode() + b'\0', b'1.2.840.99999.1.2.1\0', 1)
    )
    Path(path).write_bytes(data)
    return Path(path)


def deflate_bomb_dicom(path, zeros=64 << 20, rows=512, cols=512):
    """A deflated DICOM whose 512 x 512 header is followed by ``zeros`` bytes of
    zeros as pixel data (1.5 GB of zeros deflate to about 1.5 MB)."""
    meta, ds = _header(rows, cols, DEFLATED)
    head = _dataset_bytes(ds)
    element = struct.pack('<HH2sHI', 0x7FE0, 0x0010, b'OW', 0, zeros)  # PixelData, OW
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = io.BytesIO()
    out.write(packer.compress(head + element))
    chunk = bytes(1 << 24)
    left = zeros
    while left:
        out.write(packer.compress(chunk[: min(left, len(chunk))]))
        left -= min(left, len(chunk))
    out.write(packer.flush())
    return _write(path, meta, out.getvalue())


def _encapsulated_dicom(path, frame: bytes, rows, cols, syntax, bits=8):
    from pydicom.encaps import encapsulate

    meta, ds = _header(rows, cols, syntax, bits=bits)
    ds.PixelData = encapsulate([frame])
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True
    return _write(path, meta, _dataset_bytes(ds))


def jpeg_frame(width=48, height=64, declare=None) -> bytes:
    """A grey baseline JPEG of a vertical ramp; ``declare`` = (w, h) rewrites its
    frame header's size."""
    ramp = np.linspace(20, 230, height).astype(np.uint8)[:, None].repeat(width, 1)
    ok, data = cv2.imencode('.jpg', ramp)
    data = bytearray(data.tobytes())
    if declare is not None:
        at = data.find(b'\xff\xc0')
        struct.pack_into('>HH', data, at + 5, declare[1], declare[0])
    return bytes(data)


def jpeg_dicom(path, rows=64, cols=48, declare=None, frame=None):
    """A DICOM of one baseline JPEG frame: ``frame`` (w, h) pixels (default the
    header's ``cols`` x ``rows``), its SOF claiming ``declare`` (default its size)."""
    width, height = frame or (cols, rows)
    return _encapsulated_dicom(path, jpeg_frame(width, height, declare), rows, cols, JPEG_BASELINE)


def j2k_frame(declare=(30000, 30000), size=880) -> bytes:
    """A JPEG 2000 codestream (SOC, SIZ of one 8-bit component) declaring ``declare``,
    padded to ``size`` bytes; no decoder is meant to see it."""
    width, height = declare
    siz = struct.pack('>HHIIIIIIIIH', 41, 0, width, height, 0, 0, width, height, 0, 0, 1)
    siz += bytes([7, 1, 1])  # 8-bit unsigned, no subsampling
    cod = b'\xff\x52' + struct.pack('>HBBHBBBBBB', 12, 0, 0, 1, 0, 5, 4, 4, 0, 1)
    data = b'\xff\x4f\xff\x51' + siz + cod + b'\xff\x90'
    return data + bytes(max(0, size - len(data) - 2)) + b'\xff\xd9'


def j2k_dicom(path, rows=512, cols=512, declare=(30000, 30000)):
    """A 512 x 512 DICOM carrying a J2K frame that declares ``declare``."""
    return _encapsulated_dicom(path, j2k_frame(declare), rows, cols, J2K_LOSSLESS)


# ------------------------------------------------------------------ annotations
def long_line_csv(path, points=30_000_012):
    """One line of ``points`` "(x, y)" fields (30000012 of them: 300 MB)."""
    field = b'"(1, 2)",'
    with open(path, 'wb') as fh:
        block = field * 100_000
        left = points
        while left:
            n = min(left, 100_000)
            fh.write(block[: n * len(field)])
            left -= n
    return Path(path)


def many_lines_csv(path, lines=2_000_001):
    """``lines`` reader lines of twelve points each."""
    line = (','.join(f'"({10 + i}, {20 + i})"' for i in range(12)) + '\n').encode()
    with open(path, 'wb') as fh:
        left = lines
        while left:
            n = min(left, 10_000)
            fh.write(line * n)
            left -= n
    return Path(path)


def deep_json(depth=200_000) -> str:
    """JSON text of ``depth`` nested lists."""
    return '[' * depth + ']' * depth


# ------------------------------------------------------------------ ONNX models
FILM_INPUT, HIP_INPUT = (64, 48), (32, 32)  # (w, h) of the tiny model's stages
DOWN = 4  # heatmaps a quarter of the input, as the configs'


def onnx_stage(name, input_size=None):
    """The metadata of one stage of the tiny model (as tools/export_onnx.py writes it)."""
    count = geometry.NUM_KEYPOINTS if name == 'film' else geometry.HIP_NUM_KEYPOINTS
    width, height = input_size or (FILM_INPUT if name == 'film' else HIP_INPUT)
    partners = list(range(count))
    if name == 'film':
        for left, right in zip(*geometry.HIP_KEYPOINTS):
            partners[left], partners[right] = right, left
    return dict(
        name=name,
        input=f'{name}_input',
        output=f'{name}_heatmaps',
        num_keypoints=count,
        input_size=[width, height],
        bbox_padding=1.25,
        use_udp=True,
        mirror_hip=name == 'hip',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        codec=dict(
            type='UDPHeatmap',
            input_size=[width, height],
            heatmap_size=[width // DOWN, height // DOWN],
            heatmap_type='gaussian',
            blur_kernel_size=11,
        ),
        flip_test=name == 'film',
        flip_mode='heatmap',
        shift_heatmap=False,
        flip_indices=partners,
        **(
            dict(keypoint_offsets=[[[0.0, 0.0]] * count] * 2, p_line_shift=0.0)
            if name == 'hip'
            else {}
        ),
    )


def onnx_metadata(refine_passes=1):
    """The metadata of the tiny two-stage model."""
    return dict(
        format='hip_mmpose-onnx-v1',
        source='tiny.pth',
        keypoint_names=[f'point {i + 1}' for i in range(geometry.NUM_KEYPOINTS)],
        refine_passes=refine_passes,
        stages=[onnx_stage('film'), onnx_stage('hip')],
    )


def tiny_onnx(path, meta=None, metadata_text=None, sizes=None, bomb=None, fail=False):
    """A two-stage ONNX model of the export's shape: per stage an average pool to a
    quarter of the input and a fixed 1x1 convolution to the keypoints' heatmaps.

    Args:
        path: the ``.onnx`` to write.
        meta (dict, optional): the metadata (default :func:`onnx_metadata`).
        metadata_text (str, optional): the metadata text as it is (overrides ``meta``).
        sizes (dict, optional): ``{stage: (w, h)}`` the graph's inputs really have
            (default: the metadata's).
        bomb (int, optional): the film stage's real heatmaps are ``bomb x bomb``
            (computed at run time; the graph declares the metadata's size).
        fail (bool): the hip stage fails at run time (a reshape to a size its
            input does not have).
    """
    import onnx
    from onnx import TensorProto, helper

    meta = meta or onnx_metadata()
    stages = {s['name']: s for s in onnx_metadata()['stages']}
    nodes, inputs, outputs, inits = [], [], [], []
    rng = np.random.default_rng(0)
    for name in ('film', 'hip'):
        width, height = (sizes or {}).get(name) or stages[name]['input_size']
        count = stages[name]['num_keypoints']
        x, y = f'{name}_input', f'{name}_heatmaps'
        inputs.append(
            helper.make_tensor_value_info(x, TensorProto.FLOAT, ['batch', 3, height, width])
        )
        out_shape = ['batch', count, height // DOWN, width // DOWN]
        outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, out_shape))
        weight = rng.normal(0, 0.01, (count, 3, 1, 1)).astype(np.float32)
        inits.append(
            helper.make_tensor(f'{name}_w', TensorProto.FLOAT, weight.shape, weight.ravel())
        )
        nodes.append(
            helper.make_node(
                'AveragePool',
                [x],
                [f'{name}_pooled'],
                kernel_shape=[DOWN, DOWN],
                strides=[DOWN, DOWN],
            )
        )
        last = f'{name}_conv' if (bomb and name == 'film') or (fail and name == 'hip') else y
        nodes.append(helper.make_node('Conv', [f'{name}_pooled', f'{name}_w'], [last]))
        if bomb and name == 'film':  # the size comes from the input at run time
            inits.append(helper.make_tensor('bomb_scale', TensorProto.INT64, [4], [1, 1, 0, 0]))
            inits.append(helper.make_tensor('bomb_add', TensorProto.INT64, [4], [0, 0, bomb, bomb]))
            nodes += [
                helper.make_node('ReduceMean', [last], ['film_mean'], axes=[2, 3], keepdims=1),
                helper.make_node('Shape', [last], ['film_shape']),
                helper.make_node('Mul', ['film_shape', 'bomb_scale'], ['film_scaled']),
                helper.make_node('Add', ['film_scaled', 'bomb_add'], ['bomb_shape']),
                helper.make_node('Expand', ['film_mean', 'bomb_shape'], [y]),
            ]
        if fail and name == 'hip':  # to [batch, 7, h, w]: the size is wrong only at run time
            inits.append(helper.make_tensor('one_more', TensorProto.INT64, [4], [0, 1, 0, 0]))
            nodes += [
                helper.make_node('Shape', [last], ['hip_shape']),
                helper.make_node('Add', ['hip_shape', 'one_more'], ['bad_shape']),
                helper.make_node('Reshape', [last, 'bad_shape'], [y]),
            ]
    graph = helper.make_graph(nodes, 'tiny_hip', inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key = 'hip_mmpose'
    entry.value = metadata_text if metadata_text is not None else json.dumps(meta)
    onnx.save(model, str(path))
    return Path(path)
