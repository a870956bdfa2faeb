"""The films a review serves: one folder's films by file name, read as training reads them.

A request names a film by its file name only; a name that is not one of the listed
films (another folder, an absolute path, ``..``) is refused, and so is a film whose
file resolves outside the folder (a symbolic link out of it), when the review
starts and again at each request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from hip_mmpose.utils.film_io import (
    Film,
    FilmReadError,
    folder_spacings,
    list_films,
    read_film,
    read_spacing_csv,
)


class ReviewError(Exception):
    """A refused request or operation: an HTTP status and a one-line message.

    Args:
        status (int): the HTTP status (4xx for the caller's mistakes).
        message (str): what is wrong, for a person.
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ReviewSetupError(ValueError):
    """A review that cannot start (bad folder, options or review file); one line."""


#: Encoded films kept in memory (PNG bytes), most recently used first.
PNG_CACHE_FILMS = 12


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved) lies inside ``folder`` (resolved) or is it.

    Args:
        path (Path): a path.
        folder (Path): a folder.

    Returns:
        bool: True when ``path`` is ``folder`` or below it, links followed.
    """
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


class FilmSet:
    """The films of a review and how each is read and served.

    Args:
        source (str | Path): a folder of films (not searched recursively) or one film.
        max_films (int, optional): keep only the first ``max_films`` films by name.
            Defaults to None (all).
        spacing_csv (str | Path, optional): a ``file,spacing_mm`` CSV; defaults to
            None (the folder's ``spacing.csv`` where there is one; a DICOM header's
            spacing otherwise).

    Raises:
        ReviewSetupError: no such folder or film, no films in it, or a bad spacing CSV.
    """

    def __init__(self, source, max_films: int | None = None, spacing_csv=None):
        source = Path(source)
        if source.is_dir():
            folder, paths = source, list_films(source)
        elif source.is_file():
            folder, paths = source.parent, [source]
        else:
            raise ReviewSetupError(f'{source}: no such film or folder')
        self.folder = folder.resolve()
        self.refused: list[tuple[str, str]] = []
        self.paths: dict[str, Path] = {}
        for path in paths:
            if not inside(path, self.folder):
                self.refused.append((path.name, f'links outside {folder}'))
            else:
                self.paths[path.name] = path
        if max_films is not None:
            self.paths = dict(list(self.paths.items())[:max_films])
        if not self.paths:
            raise ReviewSetupError(f'{source}: no .jpg/.jpeg/.png/.dcm films to review')
        try:
            self.spacings = (
                read_spacing_csv(spacing_csv) if spacing_csv else folder_spacings(self.folder)
            )
        except FilmReadError as err:
            raise ReviewSetupError(str(err)) from None
        self._info: dict[str, tuple] = {}
        self._png: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The films' file names, sorted.

        Returns:
            list[str]: the names a request may give.
        """
        return list(self.paths)

    def path(self, name) -> Path:
        """The file of the film ``name``, checked again at each call.

        Args:
            name: a film's file name, as a request gives it.

        Returns:
            Path: the film's file.

        Raises:
            ReviewError: 404 for a name that is not a listed film (another path, an
                absolute path, ``..``); 403 for a film that now links outside the folder.
        """
        if not isinstance(name, str) or name not in self.paths:
            raise ReviewError(404, f'{name!r} is not a film of this review')
        path = self.paths[name]
        if not inside(path, self.folder):
            raise ReviewError(403, f'{name!r} links outside the films folder; refused')
        return path

    def read(self, name) -> Film:
        """The film as the network sees it (:func:`film_io.read_film`, DICOM windowed).

        Args:
            name (str): a film's file name.

        Returns:
            Film: its 8-bit BGR image and pixel spacing.

        Raises:
            ReviewError: as :meth:`path`; 422 for a film that cannot be read.
        """
        path = self.path(name)
        try:
            film = read_film(path, pixel_spacing=self.spacings.get(name))
        except FilmReadError as err:
            raise ReviewError(422, str(err)) from None
        self._info[name] = (film.size, film.pixel_spacing)
        return film

    def info(self, name) -> tuple[tuple[int, int], tuple | None]:
        """The film's size and pixel spacing (read once, then remembered).

        Args:
            name (str): a film's file name.

        Returns:
            tuple: ``(width, height)`` in pixels and ``(x, y)`` mm per pixel (None
            when unknown).

        Raises:
            ReviewError: as :meth:`read`.
        """
        if name not in self._info:
            self.read(name)
        return self._info[name]

    def png(self, name) -> bytes:
        """The film as a PNG (grey where its three channels are equal), cached.

        Args:
            name (str): a film's file name.

        Returns:
            bytes: the PNG file.

        Raises:
            ReviewError: as :meth:`read`; 500 when OpenCV cannot encode it.
        """
        self.path(name)  # refused names and links out never reach the cache
        with self._lock:
            if name in self._png:
                self._png.move_to_end(name)
                return self._png[name]
        image = self.read(name).image
        grey = image[..., 0]
        if np.array_equal(grey, image[..., 1]) and np.array_equal(grey, image[..., 2]):
            image = grey
        ok, data = cv2.imencode('.png', image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise ReviewError(500, f'{name}: the film could not be encoded as PNG')
        with self._lock:
            self._png[name] = data.tobytes()
            while len(self._png) > PNG_CACHE_FILMS:
                self._png.popitem(last=False)
        return data.tobytes()
