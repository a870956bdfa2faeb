"""Reading films: the one reader of training, inference, the converter and the figures.

Every film reaches the network as an 8-bit, 3-channel (BGR) image, made from the
stored pixels in one documented way (:func:`read_film`):

- **8-bit JPEG/PNG** (grey or colour): as stored; grey is copied into 3 channels.
- **16-bit PNG** (or any stored range other than 8 bits): the robust range, the
  0.5th-99.5th percentile of the film's values, mapped linearly onto 0-255.
- **DICOM**, grey: the Modality LUT (rescale slope/intercept, or a Modality LUT
  Sequence), then the VOI LUT: the first window centre/width with its VOI LUT
  Function (``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID``, DICOM PS3.3 C.11.2.1.2)
  when present, else the first VOI LUT Sequence table, else the robust range;
  MONOCHROME1 (white = low values) is inverted so bone is bright as in
  MONOCHROME2. DICOM colour: RGB as stored (other than 8 bits: robust range).

Values are rounded to the nearest grey level. From a DICOM header only the image
geometry (rows, columns, frames, samples, bit depth, photometric interpretation,
rescale and VOI settings), the pixel spacing and the orientation
(``PatientOrientation``, ``ImageLaterality``) are read; nothing else of it leaves
this module. The spacing is ``PixelSpacing`` (0028,0030, calibrated at the
patient when the modality sets it) or else ``ImagerPixelSpacing`` (0018,1164);
films from other containers take theirs from a ``spacing.csv`` beside them
(:func:`read_spacing_csv`).
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

DICOM_SUFFIXES = ('.dcm', '.dicom')
FILM_SUFFIXES = ('.jpg', '.jpeg', '.png') + DICOM_SUFFIXES
#: The spacing file read beside JPEG/PNG films: columns ``file,spacing_mm``.
SPACING_CSV = 'spacing.csv'
#: Percentiles of the robust range (16-bit PNG, DICOM without a window).
ROBUST_PERCENTILES = (0.5, 99.5)
#: A pixel spacing outside this range (mm) is not believed (and ignored, with a warning).
SPACING_RANGE_MM = (1e-3, 10.0)
#: Default cap on a film's pixel count (width x height): a 10000 x 10000 film.
MAX_FILM_PIXELS = 100_000_000
#: Environment variable that overrides :data:`MAX_FILM_PIXELS` (an integer).
MAX_PIXELS_ENV = 'HIP_MMPOSE_MAX_FILM_PIXELS'
#: The longest side a film may have, in pixels: OpenCV's geometric transforms (the
#: crops of both stages) take at most ``SHRT_MAX`` columns and rows.
MAX_FILM_SIDE = 32767
#: The containers a JPEG/PNG film is opened as (Pillow's names); a file named ``.png``
#: that holds another format (EPS, GIF, TIFF, ...) is refused, never handed to the
#: Pillow plugin that claims it.
IMAGE_FORMATS = ('PNG', 'JPEG')
#: A deflated DICOM's dataset is inflated into memory up to this many bytes before
#: its header must have shown the film's size; then only that size's pixel data
#: (plus :data:`DICOM_SLACK_BYTES`) is inflated.
DICOM_HEADER_BYTES = 8 << 20
#: Bytes a DICOM may hold beyond its header and declared pixel data (trailing
#: elements, padding).
DICOM_SLACK_BYTES = 1 << 20
#: What reading DICOM needs (``pip install`` line of the error messages).
DICOM_PACKAGES = 'pydicom==3.0.1'
_DICOM_DECODER_HINT = (
    'pylibjpeg==2.1.0 pylibjpeg-libjpeg==2.2.0 pylibjpeg-openjpeg==2.3.0 (JPEG, JPEG-LS, JPEG 2000)'
)
_PERCENTILE_SAMPLE = 1 << 22  # pixels; larger films take percentiles of a strided sample
_ROWS_PER_BLOCK = 256


class FilmReadError(ValueError):
    """A film that cannot be read; the message starts with its path."""


class FilmTooLargeError(FilmReadError):
    """A film above the pixel cap; refused before its pixels are decoded."""


@dataclass(frozen=True)
class Film:
    """A film as the network sees it.

    Attributes:
        image (np.ndarray): ``(H, W, 3)`` uint8, BGR (as OpenCV and MMPose expect).
        pixel_spacing (tuple[float, float] | None): millimetres per pixel along
            x (columns) and y (rows); None when unknown.
        spacing_source (str | None): where the spacing came from
            (``'PixelSpacing'``, ``'ImagerPixelSpacing'`` or ``'spacing.csv'``).
        orientation (str | None): how the film is stored, from a DICOM header's
            ``PatientOrientation`` (its rows running towards the patient's left:
            ``'ap'``, the patient's right on the image's left; towards the right:
            ``'mirrored'``); None where the file does not say.
        laterality (str | None): a DICOM header's ``ImageLaterality`` (``'R'``,
            ``'L'``, ``'B'`` both or ``'U'`` unpaired); None where absent.
    """

    image: np.ndarray
    pixel_spacing: tuple | None = None
    spacing_source: str | None = None
    orientation: str | None = None
    laterality: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        """The film's size.

        Returns:
            tuple[int, int]: ``(width, height)`` in pixels.
        """
        return int(self.image.shape[1]), int(self.image.shape[0])


def max_film_pixels() -> int:
    """The pixel cap: ``$HIP_MMPOSE_MAX_FILM_PIXELS`` if set, else :data:`MAX_FILM_PIXELS`.

    Returns:
        int: the largest pixel count (width x height) a film may have.

    Raises:
        ValueError: the variable is set to something other than a positive integer.
    """
    value = os.environ.get(MAX_PIXELS_ENV)
    if not value:
        return MAX_FILM_PIXELS
    try:
        cap = int(value)
    except ValueError:
        raise ValueError(f'{MAX_PIXELS_ENV}={value!r}: expected a whole number of pixels') from None
    if cap <= 0:
        raise ValueError(f'{MAX_PIXELS_ENV}={value!r}: expected a positive number of pixels')
    return cap


def _too_large(path, width, height, cap):
    return FilmTooLargeError(
        f'{path}: film is {width} x {height} = {width * height / 1e6:.1f} Mpx, above '
        f'the {cap / 1e6:g} Mpx cap (set {MAX_PIXELS_ENV} to raise it)'
    )


def _check_size(path, width: int, height: int, cap: int) -> None:
    """Refuse a film above the pixel cap or with a side above :data:`MAX_FILM_SIDE`."""
    if width * height > cap:
        raise _too_large(path, width, height, cap)
    if max(width, height) > MAX_FILM_SIDE:
        raise FilmTooLargeError(
            f'{path}: film is {width} x {height} px; a side above {MAX_FILM_SIDE} px '
            'is not read (the crops cannot handle it)'
        )


def is_dicom(path) -> bool:
    """Whether a file is DICOM (Part 10: ``DICM`` after the 128-byte preamble).

    Args:
        path (str | Path): the file; its name is not looked at.

    Returns:
        bool: True for a DICOM Part 10 file; False otherwise, or when it cannot be
        opened.
    """
    try:
        with open(path, 'rb') as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b'DICM'


def load_film(path, max_pixels: int | None = None) -> np.ndarray:
    """Decode a whole JPEG/PNG film as stored (a truncated file is an error).

    Args:
        path (str | Path): a JPEG or PNG file.
        max_pixels (int, optional): refuse films with more pixels than this. The
            size is read from the header, so a huge film is refused before any
            memory is spent on its pixels. Defaults to None
            (:func:`max_film_pixels`).

    Returns:
        np.ndarray: the pixel array as stored: ``(H, W)`` grey (uint8 or uint16) or
        ``(H, W, 3)`` in BGR order. :func:`read_film` turns it (or a DICOM) into
        the network's input.

    Raises:
        FilmTooLargeError: above the pixel cap.
        FilmReadError: anything else that stops the film being read.
    """
    path = Path(path)
    cap = max_film_pixels() if max_pixels is None else int(max_pixels)
    try:
        with warnings.catch_warnings():
            # our cap replaces PIL's decompression-bomb warning
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as img:
                width, height = img.size
                _check_size(path, width, height, cap)
                img.load()
                if img.mode in ('RGBA', 'P', 'CMYK', 'YCbCr', 'LA'):
                    img = img.convert('RGB')
                arr = np.array(img)
    except FilmReadError:
        raise
    except Image.DecompressionBombError as err:  # beyond PIL's own hard limit
        raise FilmTooLargeError(f'{path}: film refused as too large ({err})') from None
    except Image.UnidentifiedImageError:
        raise FilmReadError(
            f'{path}: unreadable image (not {" or ".join(IMAGE_FORMATS)}, the only '
            'formats read besides DICOM)'
        ) from None
    except MemoryError:
        raise FilmReadError(f'{path}: too large to decode (out of memory)') from None
    except Exception as err:  # PIL raises many types for broken files
        raise FilmReadError(f'{path}: unreadable image ({err})') from err
    if arr.ndim == 3:
        arr = np.ascontiguousarray(arr[..., ::-1])  # RGB -> BGR
    elif arr.dtype == np.int32:  # 16-bit PNGs may decode as 'I'
        arr = arr.astype(np.uint16)
    if arr.size == 0:
        raise FilmReadError(f'{path}: empty image')
    return arr


def read_film(path, max_pixels: int | None = None, pixel_spacing=None) -> Film:
    """Read a JPEG, PNG or DICOM film into the network's input (module doc).

    Args:
        path (str | Path): the film; DICOM is recognised by its content, whatever
            its name.
        max_pixels (int, optional): pixel cap, checked before the pixels are
            decoded. Defaults to None (:func:`max_film_pixels`).
        pixel_spacing (float | tuple[float, float], optional): ``(x, y)`` mm per
            pixel (or one number) from a ``spacing.csv``; it overrides a DICOM
            header's spacing. Defaults to None.

    Returns:
        Film: the 8-bit BGR image and the pixel spacing (None when unknown).

    Raises:
        FilmReadError: the file cannot be read (the message names it and why).
    """
    path = Path(path)
    sides = (None, None)  # orientation, laterality: a DICOM header's only
    try:
        if is_dicom(path):
            image, spacing, source, sides = _read_dicom(path, max_pixels)
        else:
            image, spacing, source = to_bgr8(load_film(path, max_pixels), copy=False), None, None
    except FilmReadError:
        raise
    except MemoryError:
        raise FilmReadError(f'{path}: too large to decode (out of memory)') from None
    except Exception as err:  # a decoder's or parser's own error: named, one line
        raise FilmReadError(f'{path}: unreadable film ({_reason(err)})') from None
    if pixel_spacing is not None:
        spacing, source = as_spacing(pixel_spacing), SPACING_CSV
    return Film(image, spacing, source, *sides)


def to_bgr8(img: np.ndarray, copy: bool = True) -> np.ndarray:
    """A stored film array as the network's 8-bit BGR input (module doc).

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, 3|4)`` (BGR/BGRA), any integer
            or float type.
        copy (bool): return a new array even when ``img`` already is 8-bit BGR
            (for drawing on it). False hands such an input back as it is (for
            readers that do not write to it). Defaults to True.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8; 8-bit input is unchanged, anything else
        mapped from its robust range.
    """
    import cv2

    converted = img.dtype != np.uint8
    if converted:
        img = _robust_8bit(img)
    if img.ndim == 2:
        img, converted = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), True
    elif img.shape[2] == 4:
        img, converted = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR), True
    return img.copy() if copy and not converted else img


#: how far hospitals' windowing moves a film's grey levels (issue 31): the gamma and
#: the window-width factor each, a range ``tools/benchmark_contrast.py`` measures the
#: AI's shift over and the ``RandomWindow`` augmentation draws from
WINDOWING = dict(gamma=(0.8, 1.25), width=(0.8, 1.2))


def rewindow(img: np.ndarray, gamma: float = 1.0, width: float = 1.0) -> np.ndarray:
    """An 8-bit film as another window would show it: the window ``width`` times as
    wide about its centre (grey 127.5), then the grey levels raised to ``gamma``.

    ``width`` 1.2 flattens the contrast (a wider window), 0.8 steepens it and clips
    the darkest and brightest tenth; ``gamma`` below 1 brightens the mid-greys. The
    input is not modified.

    Args:
        img (np.ndarray): uint8 film or crop, any shape.
        gamma (float): exponent on grey / 255, > 0. Defaults to 1.0.
        width (float): window width factor, > 0. Defaults to 1.0.

    Returns:
        np.ndarray: a new uint8 array of ``img``'s shape.
    """
    if img.dtype != np.uint8:
        raise ValueError(f'rewindow: an 8-bit film is expected, not {img.dtype}')
    if not (gamma > 0 and width > 0 and math.isfinite(gamma) and math.isfinite(width)):
        raise ValueError(f'rewindow: gamma and width must be finite and > 0, not {gamma}, {width}')
    grey = np.arange(256, dtype=np.float64) / 255.0
    grey = np.clip(0.5 + (grey - 0.5) / width, 0.0, 1.0) ** gamma
    table = np.rint(grey * 255.0).astype(np.uint8)
    return table[img]


#: The most a film's darkest or brightest grey level counts in :func:`rank_grey_levels`,
#: as a share of the film: a uniform border or collimator mask (73 % of one film of the
#: data set; 95 % of films hold under 25 % at their darkest level) counts as this much.
RANK_END_SHARE = 0.3


def checked_end_share(value, key: str = 'end_share') -> float:
    """The ranking's end share (:data:`RANK_END_SHARE`'s kind) checked: a number in
    (0, 1], wherever one is given (the function, the transform, an ONNX file).

    Args:
        value: the share to check.
        key (str): how the error names it.

    Returns:
        float: ``value`` as a float.

    Raises:
        ValueError: naming ``key`` where ``value`` is not a number in (0, 1].
    """
    number = isinstance(value, (int, float, np.integer, np.floating))
    if not number or isinstance(value, bool) or not 0.0 < value <= 1.0:
        raise ValueError(f'{key} {value!r}: not in (0, 1]')
    return float(value)


def rank_grey_levels(img: np.ndarray, end_share: float = RANK_END_SHARE) -> np.ndarray:
    """Each grey level of an 8-bit image replaced by its mid-rank in the image's own
    histogram, scaled to 0-255: ``255 x (pixels darker + half the pixels as dark) /
    all pixels``, where the darkest and the brightest level each count at most
    ``end_share / (1 - end_share)`` times the film's other pixels (at most
    ``end_share`` of the film).

    A histogram equalisation whose result does not move with the window a film was
    exported at: any increasing grey-level map (a gamma, a window width, a linear
    stretch) keeps every pixel's rank, so a pixel the map leaves unclipped gets the
    same value after it as before (pixels a narrow window clips to black or white
    share their group's mid-rank). OpenCV's ``equalizeHist`` rescales by the darkest
    level's count, so clipping the darkest tenth moves every other pixel too.

    The cap on the two ends keeps a wide uniform border from squeezing the film: a
    film that is 73 % black mask would rank its anatomy into the top quarter of the
    grey levels (and the whole-film stage found no pelvis on one); capped, it ranks as
    a film 30 % black, as many are. Below the cap (nearly every film, and a clip that
    keeps its end below it) the ranks are exactly as uncapped.

    Args:
        img (np.ndarray): uint8, (H, W) or (H, W, C); of a BGR film its grey is
            ranked (OpenCV's BGR to grey: the value itself where the channels are
            equal), of other channel counts their mean.
        end_share (float): the cap's share, in (0, 1]; 1 leaves the ends uncapped.
            A film of one or two grey levels is not capped.

    Returns:
        np.ndarray: a new uint8 array of ``img``'s shape (all channels equal).
    """
    import cv2

    if img.dtype != np.uint8:
        raise TypeError(f'rank_grey_levels: expected a uint8 image, got {img.dtype}')
    end_share = checked_end_share(end_share, 'rank_grey_levels: end_share')
    bgr = img.ndim == 3 and img.shape[-1] == 3
    if bgr:  # OpenCV's grey of a BGR film: its value where the channels are equal
        grey = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2GRAY)
    else:
        grey = img if img.ndim == 2 else img.mean(axis=-1).round().astype(np.uint8)
    grey = np.ascontiguousarray(grey)
    counts = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    lit = np.flatnonzero(counts)
    if end_share < 1.0 and lit.size > 2:  # each end against the film's other pixels
        others = counts.sum() - counts[lit[[0, -1]]]
        counts[lit[[0, -1]]] = np.minimum(
            counts[lit[[0, -1]]], end_share / (1.0 - end_share) * others
        )
    below = np.cumsum(counts) - counts / 2.0
    table = np.rint(255.0 * below / max(counts.sum(), 1.0)).astype(np.uint8)
    out = cv2.LUT(grey, table)
    if bgr:
        return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    return out if img.ndim == 2 else np.repeat(out[..., None], img.shape[-1], -1)


def _robust_range(img: np.ndarray, values=lambda block: block) -> tuple[float, float]:
    flat = img.reshape(-1)
    step = max(1, -(-flat.size // _PERCENTILE_SAMPLE))
    sample = values(flat[::step].astype(np.float64))
    lo, hi = (float(v) for v in np.percentile(sample, ROBUST_PERCENTILES))
    return lo, hi


def _linear_8bit(img: np.ndarray, lo: float, hi: float, values=lambda block: block) -> np.ndarray:
    """``values(img)`` mapped linearly from [lo, hi] onto 0-255, rounded, clipped.

    Works in float32 row blocks: a 100 Mpx 16-bit film needs its 100 MB output and
    a few MB of work space, not a float64 copy of the whole film.
    """
    scale = np.float32(255.0 / max(hi - lo, 1e-6))
    return _map_8bit(img, lambda block: (values(block) - np.float32(lo)) * scale)


def _map_8bit(img: np.ndarray, func) -> np.ndarray:
    out = np.empty(img.shape, np.uint8)
    for start in range(0, img.shape[0], _ROWS_PER_BLOCK):
        block = func(img[start : start + _ROWS_PER_BLOCK].astype(np.float32))
        np.rint(block, out=block)
        np.clip(block, 0, 255, out=block)
        out[start : start + _ROWS_PER_BLOCK] = block
    return out


def _robust_8bit(img: np.ndarray) -> np.ndarray:
    return _linear_8bit(img, *_robust_range(img))


# ---------------------------------------------------------------------- DICOM
def _reason(err: BaseException) -> str:
    """``Type: first line of the message`` of an error, at most 200 characters."""
    text = (str(err).strip().splitlines() or [''])[0][:200]
    return f'{type(err).__name__}: {text}' if text else type(err).__name__


def _read_dicom(path: Path, max_pixels: int | None):
    """(8-bit BGR image, spacing, spacing source, (orientation, laterality)) of a
    DICOM film."""
    try:
        import pydicom
        from pydicom.errors import InvalidDicomError
    except ImportError:
        raise FilmReadError(
            f'{path}: reading DICOM needs pydicom; install it with `pip install {DICOM_PACKAGES}`'
        ) from None
    cap = max_film_pixels() if max_pixels is None else int(max_pixels)
    try:
        # the file meta first: the transfer syntax says how (and whether) to go on
        syntax = pydicom.filereader.read_file_meta_info(path).get('TransferSyntaxUID')
        if syntax is not None and not syntax.is_transfer_syntax:
            raise FilmReadError(
                f'{path}: DICOM with the unknown transfer syntax {str(syntax)[:64]!r}; '
                'export the film uncompressed (e.g. `gdcmconv --raw`)'
            )
        if syntax is not None and syntax.is_deflated:
            ds = _read_deflated(path, cap)
        else:
            # the pixel data stays on disk until the header has been checked
            ds = pydicom.dcmread(path, defer_size='64 KB')
        rows, cols = int(ds.get('Rows', 0) or 0), int(ds.get('Columns', 0) or 0)
        frames = int(ds.get('NumberOfFrames', 1) or 1)
        samples = int(ds.get('SamplesPerPixel', 1) or 1)
        bits = int(ds.get('BitsAllocated', 16) or 16)
        photometric = str(ds.get('PhotometricInterpretation', '')).strip().upper()
    except FilmReadError:
        raise
    except Exception as err:  # pydicom raises many types for malformed files
        kind = 'not a DICOM file' if isinstance(err, InvalidDicomError) else 'unreadable DICOM'
        raise FilmReadError(f'{path}: {kind} ({_reason(err)})') from None
    if not any(k in ds for k in ('PixelData', 'FloatPixelData', 'DoubleFloatPixelData')):
        raise FilmReadError(
            f'{path}: DICOM without pixel data (not an image; e.g. a report '
            'or a presentation state)'
        )
    if frames != 1:
        raise FilmReadError(
            f'{path}: DICOM with {frames} frames; one film per file is read '
            '(split the series into single-frame files)'
        )
    if rows <= 0 or cols <= 0:
        raise FilmReadError(f'{path}: DICOM without a valid Rows/Columns ({rows} x {cols})')
    _check_size(path, cols, rows, cap)
    if samples not in (1, 3):
        raise FilmReadError(f'{path}: DICOM with {samples} samples per pixel (1 or 3 read)')
    if bits not in (1, 8, 16, 32, 64):
        raise FilmReadError(f'{path}: DICOM with {bits} bits allocated (1, 8, 16, 32 or 64)')
    _check_decoder(path, ds)
    _check_pixel_data(path, ds, (rows, cols, samples, bits), cap)
    try:
        arr = ds.pixel_array
    except MemoryError:
        raise FilmReadError(f'{path}: DICOM pixel data too large to decode') from None
    except Exception as err:  # pydicom's decoders raise many types for broken data
        raise FilmReadError(
            f'{path}: DICOM pixel data cannot be decoded ({_reason(err)})'
        ) from None
    if arr.shape[:2] != (rows, cols):
        raise FilmReadError(
            f'{path}: DICOM pixel data is {arr.shape}, the header says {rows} x {cols}'
        )
    try:
        if samples == 3:
            image = to_bgr8(np.ascontiguousarray(arr[..., ::-1]), copy=False)  # pydicom: RGB
        else:
            grey = _dicom_grey_8bit(arr, ds)
            if photometric == 'MONOCHROME1':
                np.subtract(255, grey, out=grey)
            image = to_bgr8(grey, copy=False)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as err:
        raise FilmReadError(
            f'{path}: DICOM grey-level settings cannot be applied ({_reason(err)})'
        ) from None
    spacing, source = _dicom_spacing(path, ds)
    return image, spacing, source, dicom_orientation(ds)


def _read_deflated(path: Path, cap: int):
    """A Deflated Explicit VR Little Endian DICOM, inflated with a byte cap.

    pydicom inflates the whole dataset into memory before looking at it, so a few
    megabytes of zeros can become gigabytes. Here at most
    :data:`DICOM_HEADER_BYTES` are inflated until the header has shown the film's
    size (checked against the pixel cap), and then no more than the header, that
    size's pixel data and :data:`DICOM_SLACK_BYTES`.
    """
    import zlib

    from pydicom.dataset import FileDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
    from pydicom.tag import Tag

    pixel_tags = {Tag(0x7FE0, 0x0010), Tag(0x7FE0, 0x0008), Tag(0x7FE0, 0x0009)}
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    data = bytearray()
    with open(path, 'rb') as fh:
        preamble = read_preamble(fh, False)
        file_meta = _read_file_meta_info(fh)

        def inflate(limit: int) -> bool:
            """Inflate until the stream ends (True) or more than ``limit`` bytes are
            out in all (False)."""
            while len(data) <= limit:
                chunk = inflater.unconsumed_tail or fh.read(1 << 20)
                if not chunk:
                    return True  # the file ends (a cut stream shows when parsed)
                data.extend(inflater.decompress(chunk, limit + 1 - len(data)))
                if inflater.eof:
                    return len(data) <= limit
            return False

        done = inflate(DICOM_HEADER_BYTES)
        header = DicomBytesIO(bytes(data))
        head = read_dataset(
            header, False, True, stop_when=lambda tag, vr, length: tag in pixel_tags
        )
        rows, cols = int(head.get('Rows', 0) or 0), int(head.get('Columns', 0) or 0)
        if rows <= 0 or cols <= 0:
            raise FilmReadError(
                f'{path}: deflated DICOM whose first {DICOM_HEADER_BYTES >> 20} MB '
                'inflated show no Rows/Columns'
            )
        _check_size(path, cols, rows, cap)
        samples = int(head.get('SamplesPerPixel', 1) or 1)
        bits = int(head.get('BitsAllocated', 16) or 16)
        limit = header.tell() + rows * cols * max(samples, 1) * max(-(-bits // 8), 1)
        limit += DICOM_SLACK_BYTES
        if not done and len(data) <= limit:
            done = inflate(limit)
        if not done or len(data) > limit:
            raise FilmTooLargeError(
                f'{path}: deflated DICOM inflates beyond the {limit / 1e6:.1f} MB its '
                f'{cols} x {rows} header allows; refused'
            )
    dataset = read_dataset(DicomBytesIO(bytes(data)), False, True)
    return FileDataset(str(path), dataset, preamble, file_meta, False, True)


def _check_pixel_data(path: Path, ds, shape: tuple, cap: int) -> None:
    """Before decoding: native pixel data no longer than the header's size; an
    encapsulated frame's own declared size (JPEG SOF, JPEG 2000 SIZ) equal to it."""
    rows, cols, samples, bits = shape
    syntax = getattr(ds, 'file_meta', {}).get('TransferSyntaxUID')
    expected = rows * cols * samples * max(bits, 8) // 8
    element = ds.get_item('PixelData') if 'PixelData' in ds else None
    length = getattr(element, 'length', None)
    encapsulated = syntax is not None and syntax.is_compressed
    if not encapsulated:
        if length is not None and length != 0xFFFFFFFF and length > expected + 1:
            raise FilmReadError(
                f"{path}: DICOM pixel data is {length} bytes, the header's "
                f'{cols} x {rows} x {samples} x {bits} bits need {expected}'
            )
        return
    if Path(path).stat().st_size > 2 * expected + DICOM_SLACK_BYTES:
        raise FilmReadError(
            f'{path}: compressed DICOM of {Path(path).stat().st_size} bytes, more than '
            f'twice the {expected} bytes of its {cols} x {rows} film'
        )
    kind = _frame_kind(syntax)
    if kind is None:
        return
    frame = _first_fragment(bytes(ds.PixelData))
    size = (jpeg_frame_size if kind == 'jpeg' else j2k_frame_size)(frame)
    name = 'JPEG 2000' if kind == 'j2k' else 'JPEG'
    if size is None:
        raise FilmReadError(f'{path}: DICOM {name} frame without a readable frame header')
    width, height = size
    if width * height > cap or (width, height) != (cols, rows):
        raise FilmReadError(
            f'{path}: DICOM {name} frame declares {width} x {height} px, the header '
            f'says {cols} x {rows}; refused before decoding'
        )


_JPEG_SYNTAXES = ('1.2.840.10008.1.2.4.5', '1.2.840.10008.1.2.4.7', '1.2.840.10008.1.2.4.8')
_J2K_SYNTAXES = ('1.2.840.10008.1.2.4.9', '1.2.840.10008.1.2.4.20')


def _frame_kind(syntax) -> str | None:
    """``'jpeg'`` (JPEG, JPEG lossless, JPEG-LS), ``'j2k'`` (JPEG 2000, HTJ2K) or None."""
    text = str(syntax)
    if text.startswith(_J2K_SYNTAXES):
        return 'j2k'
    if text.startswith(_JPEG_SYNTAXES):
        return 'jpeg'
    return None


def _first_fragment(data: bytes, limit: int = 1 << 16) -> bytes:
    """The first bytes of the first fragment of encapsulated pixel data (after the
    basic offset table item), at most ``limit``."""
    import struct

    position = 0
    for item in range(2):
        if len(data) < position + 8:
            return b''
        tag, length = struct.unpack_from('<II', data, position)
        if tag != 0xE000FFFE:  # (FFFE,E000) item, little endian
            return b''
        position += 8
        if item == 1:
            return data[position : position + min(length, limit)]
        position += length
    return b''


def jpeg_frame_size(data: bytes) -> tuple[int, int] | None:
    """The ``(width, height)`` a JPEG (or JPEG-LS) codestream declares in its frame header.

    Args:
        data (bytes): the codestream's first bytes (from its SOI marker).

    Returns:
        tuple[int, int] | None: the SOF (or JPEG-LS SOF55) size, or None where no frame
        header is found before the first scan.
    """
    import struct

    if data[:2] != b'\xff\xd8':
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack_from('>H', data, position + 2)
        if (0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)) or marker == 0xF7:
            if position + 9 > len(data):
                return None
            height, width = struct.unpack_from('>HH', data, position + 5)
            return int(width), int(height)
        if marker == 0xDA:  # a scan before any frame header
            return None
        position += 2 + length
    return None


def j2k_frame_size(data: bytes) -> tuple[int, int] | None:
    """The ``(width, height)`` a JPEG 2000 codestream declares in its SIZ segment.

    Args:
        data (bytes): the codestream's (or JP2 file's) first bytes.

    Returns:
        tuple[int, int] | None: ``Xsiz - XOsiz`` and ``Ysiz - YOsiz``, or None where
        no SOC + SIZ marker pair is found.
    """
    import struct

    start = data.find(b'\xff\x4f\xff\x51')
    if start < 0 or start + 24 > len(data):
        return None
    xsiz, ysiz, x0, y0 = struct.unpack_from('>IIII', data, start + 8)
    return int(xsiz) - int(x0), int(ysiz) - int(y0)


def _check_decoder(path: Path, ds) -> None:
    """A clear error for compressed pixel data no installed decoder reads."""
    from pydicom.pixels import get_decoder

    syntax = getattr(ds, 'file_meta', {}).get('TransferSyntaxUID')
    if syntax is None or not syntax.is_compressed:
        return
    name = f'{syntax.name} ({syntax})'
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise FilmReadError(
            f'{path}: DICOM compressed as {name}, which no decoder of pydicom '
            'reads; export the film uncompressed (e.g. `gdcmconv --raw`)'
        ) from None
    if not decoder.is_available:
        missing = (
            '; '.join(
                f'{plugin}: needs {", ".join(deps)}'
                for plugin, deps in decoder.missing_dependencies.items()
            )
            if hasattr(decoder, 'missing_dependencies')
            else ''
        )
        raise FilmReadError(
            f'{path}: DICOM compressed as {name}, and no installed decoder '
            f'reads it ({missing or "no plugin available"}); install '
            f'{_DICOM_DECODER_HINT}'
        )


def _dicom_grey_8bit(arr: np.ndarray, ds) -> np.ndarray:
    """Modality LUT, then VOI (window, VOI LUT table or robust range), to 0-255."""
    from pydicom.pixels import apply_modality_lut, apply_voi

    if 'ModalityLUTSequence' in ds:
        arr = apply_modality_lut(arr, ds)
        slope, intercept = 1.0, 0.0
    else:
        slope = _number(ds.get('RescaleSlope', 1), 1.0)
        intercept = _number(ds.get('RescaleIntercept', 0), 0.0)
        if slope == 0:
            raise ValueError('RescaleSlope is 0')

    def modality(block):
        return block * np.float32(slope) + np.float32(intercept)

    window = _dicom_window(ds)
    if window is not None:
        centre, width, function = window
        if function == 'SIGMOID':
            return _map_8bit(
                arr,
                lambda b: (
                    255.0 / (1.0 + np.exp(np.clip(-4.0 * (modality(b) - centre) / width, -80, 80)))
                ),
            )
        if function == 'LINEAR_EXACT':
            lo, hi = centre - width / 2, centre + width / 2
        else:  # LINEAR: width 1 is a threshold at the centre
            lo = centre - 0.5 - (width - 1) / 2
            hi = centre - 0.5 + (width - 1) / 2
        return _linear_8bit(arr, lo, hi, modality)
    if 'VOILUTSequence' in ds:
        item = ds.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2])
        table = apply_voi(modality(arr.astype(np.float32)), ds, index=0)
        return _linear_8bit(np.asarray(table), 0.0, float(2**bits - 1))
    return _linear_8bit(arr, *_robust_range(arr, modality), modality)


def _number(value, default: float) -> float:
    """The first of a DICOM number (or list of numbers), or ``default``."""
    if not isinstance(value, (str, bytes)) and hasattr(value, '__len__'):
        value = value[0] if len(value) else default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _dicom_window(ds):
    """``(centre, width, function)`` of the first window, or None."""
    if 'WindowCenter' not in ds or 'WindowWidth' not in ds:
        return None
    centre = _number(ds.WindowCenter, float('nan'))
    width = _number(ds.WindowWidth, float('nan'))
    function = str(ds.get('VOILUTFunction', 'LINEAR') or 'LINEAR').strip().upper()
    if (
        not (math.isfinite(centre) and math.isfinite(width))
        or width <= 0
        or (function == 'LINEAR' and width < 1)
    ):
        return None  # an unusable window: the robust range instead
    if function not in ('LINEAR', 'LINEAR_EXACT', 'SIGMOID'):
        function = 'LINEAR'
    return centre, width, function


def _dicom_spacing(path, ds):
    for keyword in ('PixelSpacing', 'ImagerPixelSpacing'):
        value = ds.get(keyword)
        if value is None:
            continue
        try:
            row, col = (float(v) for v in value)
            return as_spacing((col, row)), keyword
        except (TypeError, ValueError) as err:
            warnings.warn(f'{path}: {keyword} {value!r} ignored ({err})', stacklevel=2)
    return None, None


def dicom_orientation(ds) -> tuple[str | None, str | None]:
    """How a DICOM film is stored and which side it shows, from its header.

    ``PatientOrientation`` (0020,0020) names the patient direction of the image's
    rows (left to right) and columns (top to bottom); an AP film read facing the
    patient runs towards the patient's left along its rows (``L\\F``: ``'ap'``), a
    mirrored one towards the right (``R\\F``: ``'mirrored'``). The first letter of
    the rows' direction decides; any other value (a lateral view, a malformed tag)
    says nothing. ``ImageLaterality`` (0020,0062) is kept as written when it is one of
    R, L, B, U.

    Args:
        ds (pydicom.Dataset): the film's header.

    Returns:
        tuple[str | None, str | None]: the orientation (:data:`geometry.ORIENTATIONS`)
        and the laterality; None each where the header does not say.
    """
    orientation = laterality = None
    try:
        value = ds.get('PatientOrientation')
        rows = str(value if isinstance(value, str) else (value or [''])[0]).strip().upper()
        orientation = {'L': 'ap', 'R': 'mirrored'}.get(rows[:1])
        side = str(ds.get('ImageLaterality') or '').strip().upper()
        laterality = side if side in ('R', 'L', 'B', 'U') else None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        pass  # a malformed tag says nothing; the film is still read
    return orientation, laterality


# ---------------------------------------------------------------------- spacing
def as_spacing(value) -> tuple[float, float]:
    """``(x, y)`` mm per pixel from one number or a pair; checked.

    Args:
        value (float | Sequence[float]): one spacing for both axes, or an
            ``(x, y)`` pair, in mm per pixel.

    Returns:
        tuple[float, float]: ``(x, y)`` mm per pixel.

    Raises:
        ValueError: not a positive, finite spacing within :data:`SPACING_RANGE_MM`.
    """
    values = [float(v) for v in (value if np.ndim(value) else (value, value))]
    if len(values) != 2:
        raise ValueError(f'expected one spacing or an (x, y) pair, got {value!r}')
    lo, hi = SPACING_RANGE_MM
    if not all(math.isfinite(v) and lo <= v <= hi for v in values):
        raise ValueError(f'pixel spacing {value!r} mm is outside {lo:g}-{hi:g} mm')
    return tuple(values)


def read_spacing_csv(path) -> dict[str, tuple[float, float]]:
    """``{film file name: (x, y) mm per pixel}`` from a ``file,spacing_mm`` CSV.

    Args:
        path (str | Path): the CSV (UTF-8, a BOM allowed); ``file`` is a plain file
            name, ``spacing_mm`` one number used for x and y.

    Returns:
        dict[str, tuple[float, float]]: ``{film file name: (x, y) mm per pixel}``.

    Raises:
        FilmReadError: a missing column, a bad number, a film named twice (the
            message names the file and its line).
    """
    path = Path(path)
    spacings: dict = {}
    try:
        with open(path, newline='', encoding='utf-8-sig') as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {'file', 'spacing_mm'} <= set(reader.fieldnames):
                raise FilmReadError(
                    f'{path}: expected the columns file,spacing_mm, found '
                    f'{",".join(reader.fieldnames or [])!r}'
                )
            for row in reader:
                where = f'{path}:{reader.line_num}'
                name = (row['file'] or '').strip()
                if not name or Path(name).name != name:
                    raise FilmReadError(f'{where}: file {name!r} is not a plain file name')
                if name in spacings:
                    raise FilmReadError(f'{where}: {name} is listed twice')
                try:
                    spacings[name] = as_spacing(float(row['spacing_mm']))
                except (TypeError, ValueError) as err:
                    raise FilmReadError(
                        f'{where}: spacing_mm {row["spacing_mm"]!r}: {err}'
                    ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise FilmReadError(f'{path}: cannot read the spacing file ({err})') from None
    return spacings


def folder_spacings(folder) -> dict[str, tuple[float, float]]:
    """The spacings of ``folder/spacing.csv``, or ``{}`` when there is none.

    Args:
        folder (str | Path): a folder of films.

    Returns:
        dict[str, tuple[float, float]]: as :func:`read_spacing_csv`.
    """
    path = Path(folder) / SPACING_CSV
    return read_spacing_csv(path) if path.is_file() else {}


def list_films(folder) -> list[Path]:
    """The films of a folder (JPEG, PNG, DICOM by suffix), sorted by name.

    Args:
        folder (str | Path): the folder (not searched recursively).

    Returns:
        list[Path]: its files with a suffix in :data:`FILM_SUFFIXES` (any case).
    """
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in FILM_SUFFIXES
    )
