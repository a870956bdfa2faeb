"""Reading films: JPEG/PNG, 8- or 16-bit, grey or colour, fully decoded, size-capped."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

FILM_SUFFIXES = ('.jpg', '.jpeg', '.png')
#: Default cap on a film's pixel count (width x height): a 10000 x 10000 film.
MAX_FILM_PIXELS = 100_000_000
#: Environment variable that overrides :data:`MAX_FILM_PIXELS` (an integer).
MAX_PIXELS_ENV = 'HIP_MMPOSE_MAX_FILM_PIXELS'


class FilmReadError(ValueError):
    """A film that cannot be read; the message starts with its path."""


class FilmTooLargeError(FilmReadError):
    """A film above the pixel cap; refused before its pixels are decoded."""


def max_film_pixels() -> int:
    """The pixel cap: ``$HIP_MMPOSE_MAX_FILM_PIXELS`` if set, else :data:`MAX_FILM_PIXELS`."""
    value = os.environ.get(MAX_PIXELS_ENV)
    if not value:
        return MAX_FILM_PIXELS
    try:
        cap = int(value)
    except ValueError:
        raise ValueError(f'{MAX_PIXELS_ENV}={value!r}: expected a whole number of pixels') \
            from None
    if cap <= 0:
        raise ValueError(f'{MAX_PIXELS_ENV}={value!r}: expected a positive number of pixels')
    return cap


def load_film(path, max_pixels: int | None = None) -> np.ndarray:
    """Decode a whole film (a truncated file is an error, not a grey stripe).

    Args:
        path: a JPEG or PNG file.
        max_pixels: refuse films with more pixels than this (default
            :func:`max_film_pixels`). The size is read from the header, so a
            huge film is refused before any memory is spent on its pixels.

    Returns:
        The pixel array as stored: ``(H, W)`` grey (uint8 or uint16) or
        ``(H, W, 3)`` in BGR order, as OpenCV and MMPose expect.

    Raises:
        FilmTooLargeError: above the pixel cap.
        FilmReadError: anything else that stops the film being read.
    """
    path = Path(path)
    cap = max_film_pixels() if max_pixels is None else int(max_pixels)

    def too_large(width, height):
        return FilmTooLargeError(
            f'{path}: film is {width} x {height} = {width * height / 1e6:.1f} Mpx, above '
            f'the {cap / 1e6:g} Mpx cap (set {MAX_PIXELS_ENV} to raise it)')

    try:
        with warnings.catch_warnings():
            # our cap replaces PIL's decompression-bomb warning
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > cap:
                    raise too_large(width, height)
                img.load()
                if img.mode in ('RGBA', 'P', 'CMYK', 'YCbCr', 'LA'):
                    img = img.convert('RGB')
                arr = np.array(img)
    except FilmReadError:
        raise
    except Image.DecompressionBombError as err:  # beyond PIL's own hard limit
        raise FilmTooLargeError(f'{path}: film refused as too large ({err})') from None
    except Exception as err:  # PIL raises many types for broken files
        raise FilmReadError(f'{path}: unreadable image ({err})') from err
    if arr.ndim == 3:
        arr = np.ascontiguousarray(arr[..., ::-1])  # RGB -> BGR
    elif arr.dtype == np.int32:  # 16-bit PNGs may decode as 'I'
        arr = arr.astype(np.uint16)
    if arr.size == 0:
        raise FilmReadError(f'{path}: empty image')
    return arr


def list_films(folder) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in FILM_SUFFIXES)
