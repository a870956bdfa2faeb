"""The review page: a clinician checks each film's measurement, moves points, exports.

``hip-review FILMS --results DIR`` (or ``--checkpoint`` / ``--onnx``) serves a local
page (:mod:`hip_mmpose.review.app`) over the films (:mod:`.films`), the model's records
and each reader's review file (:mod:`.store`); every number is measured by
:mod:`hip_mmpose.geometry` on the server (:mod:`.measure`), and the signed-off films are
written for the converter (:mod:`.export`). Needs the ``review`` extra (Starlette,
uvicorn) for the server only; the store and the export are plain Python.
"""

from .export import export_reviews
from .films import FilmSet, ReviewError, ReviewSetupError
from .store import ReviewFile, ReviewStore

__all__ = [
    'FilmSet',
    'ReviewError',
    'ReviewFile',
    'ReviewSetupError',
    'ReviewStore',
    'export_reviews',
]
