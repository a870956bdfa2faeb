"""Reading films: JPEG/PNG, 8- or 16-bit, grey or colour, fully decoded."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FILM_SUFFIXES = ('.jpg', '.jpeg', '.png')


class FilmReadError(ValueError):
    """A film that cannot be read; the message starts with its path."""


def load_film(path) -> np.ndarray:
    """Decode a whole film (a truncated file is an error, not a grey stripe).

    Returns the pixel array as stored: ``(H, W)`` grey (uint8 or uint16) or
    ``(H, W, 3)`` in BGR order, as OpenCV and MMPose expect.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ('RGBA', 'P', 'CMYK', 'YCbCr', 'LA'):
                img = img.convert('RGB')
            arr = np.array(img)
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
