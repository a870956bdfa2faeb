"""Writing output files whole or not at all (pure Python: the ONNX runtime uses it too)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomic(path, data: bytes | str | Callable[[IO[bytes]], object]) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The temporary file is flushed to disk and renamed over ``path``, so a reader
    (or a crash) never sees half a file; on any error it is removed and ``path``
    keeps what it held before.

    Args:
        path (str | Path): the file to write.
        data (bytes | str | callable): its content (``str`` is written as
            UTF-8), or a function that writes it to the binary file object it
            is given (e.g. ``lambda fh: torch.save(obj, fh)``: streamed, no copy
            in memory).

    Returns:
        Path: ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode('utf-8') if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
