"""The review's state: the model's records, each reader's points and states, saved at once.

One review file per reader (``OUT/review-<reviewer>.json``), rewritten whole and
atomically (:func:`hip_mmpose.utils.atomic.write_atomic`) at every change, before the
change is answered: a restart, a reload or a killed server finds the last answered
state. Its layout::

    {"format": "hip_mmpose review 1", "reviewer": "dr_a", "blind": false,
     "films_folder": "/path/to/films",
     "films": {"a.png": {"state": "corrected", "version": 3, "time": "...Z",
                         "keypoints": [[x, y], ...], "history": [[[x, y], ...], ...]}}}

A film has a ``version``, raised by each saved change; a change that names an older
version is refused (409), so of two tabs the later stale one is told to reload and
nothing saved is lost. States: ``unchecked`` (not signed off; a moved point reopens a
film), ``accepted`` (signed off as the model placed it, or a blind reading signed
off) and ``corrected`` (signed off with points that differ from the model's).

The model's records come from ``tools/infer.py``'s output (``--results``) or from a
:class:`~hip_mmpose.runtime.measuring.HipMeasurer` run by the server, whose records
are kept in ``OUT/model/`` (infer.py's JSON) so a restart does not measure again.
Every measurement of the reviewer's points is :func:`measure.measure` (the records'
one geometry); a point the reviewer placed scores :data:`measure.PLACED_SCORE`, and a
film whose points the reviewer changed is graded at the clinical P-line (shift 0).
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

from hip_mmpose import geometry
from hip_mmpose.review import measure as measuring
from hip_mmpose.review.films import FilmSet, ReviewError, ReviewSetupError
from hip_mmpose.utils import records
from hip_mmpose.utils.atomic import write_atomic

REVIEW_FORMAT = 'hip_mmpose review 1'
STATES = ('unchecked', 'accepted', 'corrected')
#: states of a signed-off film (exported)
SIGNED = ('accepted', 'corrected')
#: moves kept per film for undo
HISTORY_LIMIT = 50
#: a reviewer's name: it names the review file
REVIEWER_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}')
DEFAULT_REVIEWER = 'reviewer'
#: where the server keeps the records it measured (inside ``--out-dir``)
MODEL_FOLDER = 'model'
GRADES_TO_REVIEW = ('II', 'III', 'IV')


def now() -> str:
    """The time of a change, UTC, to the second (``2025-01-31T09:30:00Z``).

    Returns:
        str: ISO 8601 time.
    """
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def check_reviewer(name: str) -> str:
    """``name`` if it may name a review file, else a one-line error.

    Args:
        name (str): the ``--reviewer`` given.

    Returns:
        str: the name.

    Raises:
        ReviewSetupError: other than 1-64 letters, digits, ``.``, ``_``, ``-``
            (starting with a letter or digit).
    """
    if not isinstance(name, str) or not REVIEWER_PATTERN.fullmatch(name):
        raise ReviewSetupError(
            f'--reviewer {name!r}: use 1-64 letters, digits, ".", "_" or "-" '
            '(it names the review file)'
        )
    return name


def review_path(out_dir, reviewer: str) -> Path:
    """The review file of ``reviewer`` in ``out_dir``.

    Args:
        out_dir (str | Path): the review's output folder.
        reviewer (str): a checked reviewer name (:func:`check_reviewer`).

    Returns:
        Path: ``out_dir/review-<reviewer>.json``.
    """
    return Path(out_dir) / f'review-{reviewer}.json'


def review_paths(out_dir) -> list[Path]:
    """Every reader's review file in ``out_dir``, sorted by name.

    Args:
        out_dir (str | Path): the review's output folder.

    Returns:
        list[Path]: the ``review-*.json`` files.
    """
    folder = Path(out_dir)
    return sorted(folder.glob('review-*.json')) if folder.is_dir() else []


def _finite_point(point) -> bool:
    return (
        isinstance(point, list)
        and len(point) == 2
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in point
        )
    )


def _points_ok(points) -> bool:
    return (
        isinstance(points, list)
        and len(points) <= geometry.NUM_KEYPOINTS
        and all(p is None or _finite_point(p) for p in points)
    )


class ReviewFile:
    """One reader's review file (module doc), held in memory and written whole.

    Args:
        path (Path): the file.
        reviewer (str): the reader's name.
        blind (bool): the reading was made without the model's points.
        films_folder (str): the films' folder when the file was started.
        films (dict, optional): ``{film: entry}``. Defaults to None (none yet).
    """

    def __init__(self, path, reviewer: str, blind: bool, films_folder: str, films=None):
        self.path = Path(path)
        self.reviewer = reviewer
        self.blind = bool(blind)
        self.films_folder = films_folder
        self.films: dict = dict(films or {})

    @classmethod
    def load(cls, path) -> ReviewFile:
        """Read and check a review file.

        Args:
            path (str | Path): the file.

        Returns:
            ReviewFile: its content.

        Raises:
            ReviewSetupError: not readable, not JSON, or not a review file (the
                message names the file and the first problem; the file is left as it is).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise ReviewSetupError(f'{path}: not a readable review file ({err})') from None
        if not isinstance(data, dict) or data.get('format') != REVIEW_FORMAT:
            raise ReviewSetupError(f'{path}: not a review file (format {REVIEW_FORMAT!r})')
        films = data.get('films')
        reviewer = data.get('reviewer')
        if not isinstance(films, dict) or not isinstance(reviewer, str):
            raise ReviewSetupError(f'{path}: a review file needs "reviewer" and "films"')
        for name, entry in films.items():
            problem = cls._entry_problem(entry)
            if problem:
                raise ReviewSetupError(f'{path}: film {name!r}: {problem}')
        return cls(
            path, reviewer, bool(data.get('blind')), str(data.get('films_folder', '')), films
        )

    @staticmethod
    def _entry_problem(entry) -> str | None:
        if not isinstance(entry, dict):
            return 'not an object'
        if entry.get('state') not in STATES:
            return f'state {entry.get("state")!r} is not one of {", ".join(STATES)}'
        version = entry.get('version')
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            return f'version {version!r} is not a positive integer'
        if not _points_ok(entry.get('keypoints')):
            return 'keypoints are not up to 12 finite [x, y] (or null)'
        history = entry.get('history', [])
        if not isinstance(history, list) or not all(_points_ok(h) for h in history):
            return 'history is not a list of keypoint lists'
        if not isinstance(entry.get('time'), str):
            return 'time is missing'
        return None

    def document(self, films: dict) -> dict:
        """The file's content with ``films`` as its films.

        Args:
            films (dict): ``{film: entry}``.

        Returns:
            dict: the JSON document.
        """
        return dict(
            format=REVIEW_FORMAT,
            reviewer=self.reviewer,
            blind=self.blind,
            films_folder=self.films_folder,
            films=films,
        )

    def save(self, films: dict) -> None:
        """Write the file with ``films`` (atomically), then hold them.

        Args:
            films (dict): the new ``{film: entry}``.

        Raises:
            ReviewError: 500 when the file cannot be written; the file and the films
                held keep the previous state.
        """
        text = json.dumps(self.document(films), indent=1, allow_nan=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, text)
        except OSError as err:
            raise ReviewError(
                500, f'{self.path}: could not save ({err}); nothing was changed'
            ) from None
        self.films = films


def triage(record: dict | None) -> tuple[bool, list[str]]:
    """Whether the model's record asks for a look, and why.

    Uses the record's ``review`` (``{hip: {flag, reason}}``, the calibrated triage)
    where it has one; otherwise its flags, hips not measured and grades II or worse.

    Args:
        record (dict | None): the model's record (None: none yet, flagged: the
            whole reading is the reviewer's).

    Returns:
        tuple[bool, list[str]]: flagged, and the reasons.
    """
    if not record:
        return True, ['no measurement by the model']
    if 'error' in record:
        return True, [record['error']]
    review = record.get('review')
    # the calibrated triage where the model has one (a record without a calibration
    # holds {hip: null})
    if isinstance(review, dict) and any(isinstance(v, dict) for v in review.values()):
        reasons = []
        for hip, label in zip(geometry.HIP_NAMES, geometry.HIP_LABELS):
            item = review.get(hip)
            flagged = item.get('flag') if isinstance(item, dict) else item
            if flagged:
                why = item.get('reason') if isinstance(item, dict) else None
                reasons.append(f'{label}: {why}' if why else f'{label}: flagged for review')
        return bool(reasons), reasons
    reasons = list(record.get('flags') or [])
    for hip, label in zip(geometry.HIP_NAMES, geometry.HIP_LABELS):
        why = (record.get('not_measured') or {}).get(hip)
        if why:
            reasons.append(f'{label}: not measured ({why})')
        grade = (record.get('ihdi_grade') or {}).get(hip)
        if grade in GRADES_TO_REVIEW:
            reasons.append(f'{label}: IHDI grade {grade}')
    return bool(reasons), reasons


def _usable(record) -> bool:
    points = record.get('keypoints')
    return (
        isinstance(record.get('file'), str)
        and isinstance(points, list)
        and len(points) == geometry.NUM_KEYPOINTS
        and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
            for p in points
            for v in p
        )
        and isinstance(record.get('acetabular_index'), dict)
        and isinstance(record.get('ihdi_grade'), dict)
    )


def read_results(folder, names) -> tuple[dict, list[str]]:
    """The model's records of the films ``names`` from a folder of record JSONs.

    Every ``*.json`` of ``folder`` is read with :func:`records.read_json`
    (``tools/infer.py``'s per-film files, or a per-film dump of many); each record
    is matched to a film by its ``file``.

    Args:
        folder (str | Path): the results folder.
        names (Iterable[str]): the films' file names.

    Returns:
        tuple[dict, list[str]]: ``{film: record}`` and notes on files skipped.
    """
    names, found, notes = set(names), {}, []
    for path in sorted(Path(folder).glob('*.json')):
        try:
            film_records, _ = records.read_json(path)
        except (records.RecordError, OSError) as err:
            notes.append(f'skipped {err}')
            continue
        for record in film_records:
            if record.get('file') in names:
                if _usable(record):
                    found[record['file']] = record
                else:
                    notes.append(f'skipped {path}: the record of {record["file"]} is malformed')
    return found, notes


def default_keypoint_names() -> list[str]:
    """The 12 keypoint names of the packaged metainfo (``point 1`` ... without mmengine).

    Returns:
        list[str]: the names in keypoint order.
    """
    try:
        from hip_mmpose.data_tools.csv_to_coco import load_metainfo_names
        from hip_mmpose.utils.config_files import METAINFO_FILE

        names, _ = load_metainfo_names(METAINFO_FILE)
        if len(names) == geometry.NUM_KEYPOINTS:
            return names
    except ImportError:
        pass
    return [f'point {k + 1}' for k in range(geometry.NUM_KEYPOINTS)]


def check_points(points, image_size, partial: bool) -> list[list[float]]:
    """Points from a request, checked and rounded as records round them.

    Args:
        points: the request's ``keypoints``.
        image_size (tuple[int, int]): the film's ``(width, height)``.
        partial (bool): fewer than 12 points are allowed (a reading being placed).

    Returns:
        list[list[float]]: ``[[x, y], ...]`` rounded to 0.01 px.

    Raises:
        ReviewError: 422 naming the first problem: not a list, a wrong count, a point
            that is not two numbers, a non-finite number, a point outside the film.
    """
    count = geometry.NUM_KEYPOINTS
    if not isinstance(points, list):
        raise ReviewError(422, f'"keypoints" must be a list of {count} [x, y] points')
    if len(points) != count and not (partial and len(points) < count):
        raise ReviewError(422, f'expected {count} keypoints [[x, y], ...], got {len(points)}')
    width, height = image_size
    out = []
    for index, point in enumerate(points, start=1):
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)
        ):
            raise ReviewError(422, f'point {index}: expected [x, y] numbers, got {point!r:.60}')
        try:
            x, y = float(point[0]), float(point[1])
        except OverflowError:
            x = y = math.inf
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ReviewError(422, f'point {index}: non-finite coordinate')
        if not (0 <= x <= width and 0 <= y <= height):
            raise ReviewError(
                422, f'point {index} ({x:g}, {y:g}) lies outside the {width}x{height} film'
            )
        out.append([round(x, records.DIGITS['px']), round(y, records.DIGITS['px'])])
    return out


class ReviewStore:
    """Films, the model's records and one reader's review; every operation the API has.

    Thread-safe: the server calls it from several threads (requests, the background
    measuring).

    Args:
        films (FilmSet): the films served.
        out_dir (str | Path): the review's output folder (review files, ``model/``).
        reviewer (str): the reader's name. Defaults to :data:`DEFAULT_REVIEWER`.
        blind (bool): the reader places the points without seeing the model's.
            Defaults to False.
        measurer (HipMeasurer, optional): measures films without a record. Defaults
            to None.
        results_dir (str | Path, optional): ``tools/infer.py`` output to read.
            Defaults to None.
        score_thr (float): the low-confidence threshold of re-measured records.
            Defaults to :data:`geometry.SCORE_THR`.

    Raises:
        ReviewSetupError: a bad reviewer name, an unreadable review file, or one
            written in the other mode (blind or not).
    """

    def __init__(
        self,
        films: FilmSet,
        out_dir,
        reviewer: str = DEFAULT_REVIEWER,
        blind: bool = False,
        measurer=None,
        results_dir=None,
        score_thr: float = geometry.SCORE_THR,
    ):
        self.films = films
        self.out_dir = Path(out_dir)
        self.model_dir = self.out_dir / MODEL_FOLDER
        self.reviewer = check_reviewer(reviewer)
        self.blind = bool(blind)
        self.measurer = measurer
        self.score_thr = float(measurer.score_thr if measurer is not None else score_thr)
        self.keypoint_names = (
            list(measurer.keypoint_names) if measurer is not None else default_keypoint_names()
        )
        self.notes: list[str] = []
        self.records: dict[str, dict] = {}
        if self.model_dir.is_dir():  # what this server measured before
            found, notes = read_results(self.model_dir, films.names)
            self.records.update(found)
            self.notes += notes
        if results_dir is not None:
            found, notes = read_results(results_dir, films.names)
            self.records.update(found)
            self.notes += notes
        path = review_path(self.out_dir, self.reviewer)
        if path.exists():
            self.review = ReviewFile.load(path)
            if self.review.blind != self.blind:
                was = 'blind' if self.review.blind else 'with the model'
                raise ReviewSetupError(
                    f'{path}: this reading was made {was}; start '
                    f'{"with" if self.review.blind else "without"} --blind, or give '
                    'another --reviewer'
                )
            if self.review.films_folder and self.review.films_folder != str(films.folder):
                self.notes.append(
                    f'{path} was started on {self.review.films_folder}; films are matched '
                    'by file name'
                )
        else:
            self.review = ReviewFile(path, self.reviewer, self.blind, str(films.folder))
        self._lock = threading.RLock()
        self._model_lock = threading.Lock()
        self._views: dict[str, tuple] = {}

    # ------------------------------------------------------------ the model
    def record(self, name: str) -> dict | None:
        """The model's record of a film (None while it has none).

        Args:
            name (str): a film's file name.

        Returns:
            dict | None: the record (a failure record ``{file, error}`` for a film
            the model could not read).
        """
        return self.records.get(name)

    def pending(self) -> list[str]:
        """Films the measurer still has to measure (none without a measurer).

        Returns:
            list[str]: their names, in list order.
        """
        if self.measurer is None or self.blind:
            return []
        return [n for n in self.films.names if n not in self.records]

    def measure_film(self, name: str) -> dict | None:
        """Measure a film with the model unless it has a record; keep the record.

        A record is written to ``OUT/model/<film>.json`` (``tools/infer.py``'s
        record, :func:`records.write_film`), so a restart finds it.

        Args:
            name (str): a film's file name.

        Returns:
            dict | None: its record (None without a measurer; a blind reading
            measures nothing).
        """
        if name in self.records or self.measurer is None or self.blind:
            return self.records.get(name)
        path = self.films.path(name)
        with self._model_lock:
            if name in self.records:
                return self.records[name]
            result = None
            for _, _, result, error in self.measurer.predict_files(
                [path], {name: self.films.spacings[name]} if name in self.films.spacings else {}
            ):
                if error:
                    result = records.failure(name, error)
                else:
                    result['file'] = name
                    self.model_dir.mkdir(parents=True, exist_ok=True)
                    records.write_film(self.model_dir / f'{name}.json', result)
            self.records[name] = result
            return result

    # ------------------------------------------------------------ reading
    def _entry(self, name: str) -> dict | None:
        return self.review.films.get(name)

    def _model_points(self, record) -> list | None:
        if self.blind or not record or 'error' in record:
            return None
        return [None if k[0] is None or k[1] is None else [k[0], k[1]] for k in record['keypoints']]

    def _current(self, name: str, record) -> list:
        entry = self._entry(name)
        if entry is not None:
            return copy.deepcopy(entry['keypoints'])
        return self._model_points(record) or []

    def _scores(self, current: list, record) -> list:
        model = self._model_points(record)
        if model is None:
            return [measuring.PLACED_SCORE] * len(current)
        return [
            record['keypoints'][i][2]
            if i < len(model) and point == model[i] and record['keypoints'][i][2] is not None
            else measuring.PLACED_SCORE
            for i, point in enumerate(current)
        ]

    def _film_info(self, name: str, record) -> tuple:
        if record and 'error' not in record and record.get('image_size'):
            return tuple(record['image_size']), record.get('pixel_spacing_mm')
        return self.films.info(name)

    def _partial(self, name, current, scores, size, spacing) -> dict:
        none = {hip: None for hip in geometry.HIP_NAMES}
        return dict(
            keypoints=[
                [None, None, None] if p is None else [p[0], p[1], s]
                for p, s in zip(current, scores)
            ],
            acetabular_index=dict(none),
            ihdi_grade=dict(none),
            ihdi_p_line_shift=0.0,
            not_measured={hip: 'points still to place' for hip in geometry.HIP_NAMES},
            pixel_spacing_mm=None if spacing is None else list(spacing),
            h_point_mm=None,
            flags=[],
            file=name,
            image_size=list(size),
        )

    def _measure(self, name: str, current: list, record) -> dict:
        """The record of ``current`` (the model's own where unchanged)."""
        model = self._model_points(record)
        if model is not None and current == model:
            return copy.deepcopy(record)
        scores = self._scores(current, record)
        size, spacing = self._film_info(name, record)
        if not measuring.complete(current):
            return self._partial(name, current, scores, size, spacing)
        return measuring.measure(
            current,
            scores,
            size,
            spacing,
            self.score_thr,
            self.keypoint_names,
            p_line_shift=0.0,
            file=name,
        )

    def view(self, name: str, measure_now: bool = True) -> dict:
        """What ``GET /api/films/<file>`` answers: the record of the current points and
        the review's state of the film.

        Args:
            name (str): a film's file name.
            measure_now (bool): measure the film with the model when it has no
                record yet. Defaults to True.

        Returns:
            dict: the record's fields (the model's record while the points are the
            model's; a blind reading shows none of the model's), and ``state``,
            ``version``, ``edited``, ``keypoints`` (current, ``[x, y, score]``),
            ``model_keypoints`` (None when blind), ``lines`` (:func:`measure.lines`),
            ``placed``, ``keypoint_names``, ``undo`` (moves that can be undone),
            ``time``, ``reviewer``, ``blind``, ``measured``, ``needs_review`` and
            ``review_reasons`` (the model's triage), and ``model`` (the model's
            measurement, None when blind).

        Raises:
            ReviewError: 404 for a name that is not a film of the review.
        """
        self.films.path(name)
        if measure_now:
            self.measure_film(name)
        with self._lock:
            record = self.records.get(name)
            entry = self._entry(name)
            key = (entry['version'] if entry else 0, id(record))
            cached = self._views.get(name)
            if cached and cached[0] == key:
                return copy.deepcopy(cached[1])
            view = self._view(name, record, entry)
            self._views[name] = (key, view)
            return copy.deepcopy(view)

    def _view(self, name: str, record, entry) -> dict:
        current = self._current(name, record)
        failed = bool(record and 'error' in record)
        size = None
        if failed:
            out = dict(record)
        else:
            try:
                out = self._measure(name, current, record)
                size = out.get('image_size')
            except ReviewError as err:  # an unreadable film without a record
                out = records.failure(name, err.message)
                failed = True
        model = self._model_points(record)
        flagged, reasons = (False, []) if self.blind else triage(record)
        out.update(
            file=name,
            state=entry['state'] if entry else 'unchecked',
            version=entry['version'] if entry else 0,
            time=entry['time'] if entry else None,
            edited=bool(model is not None and current != model),
            model_keypoints=None if model is None else copy.deepcopy(record['keypoints']),
            lines=None if failed else measuring.lines(current),
            placed=sum(p is not None for p in current),
            keypoint_names=self.keypoint_names,
            undo=len(entry.get('history', [])) if entry else 0,
            reviewer=self.reviewer,
            blind=self.blind,
            measured=record is not None,
            image_size=size,
            needs_review=flagged,
            review_reasons=reasons,
            model=None
            if self.blind or not record or failed
            else {
                key: record.get(key)
                for key in (
                    'acetabular_index',
                    'ihdi_grade',
                    'acetabular_index_interval',
                    'p_ihdi_ge2',
                    'review',
                    'flags',
                    'not_measured',
                    'ihdi_p_line_shift',
                )
            },
        )
        if failed:
            out.setdefault('keypoints', [])
        return out

    def summary(self, name: str) -> dict:
        """A film's line in ``GET /api/films`` (no measuring).

        Args:
            name (str): a film's file name.

        Returns:
            dict: ``file``, ``state``, ``acetabular_index``, ``ihdi_grade``,
            ``flags``, ``edited``, ``version``, ``measured``, ``needs_review``,
            ``review_reasons``, ``acetabular_index_interval``, ``p_ihdi_ge2``,
            ``placed`` and ``error`` (None or why the film could not be read).
        """
        none = {hip: None for hip in geometry.HIP_NAMES}
        record = self.records.get(name)
        if self._entry(name) is None and (not record or 'error' in record or self.blind):
            # nothing to measure yet: the line without reading the film
            flagged, reasons = (False, []) if self.blind else triage(record)
            return dict(
                file=name,
                state='unchecked',
                acetabular_index=dict(none),
                ihdi_grade=dict(none),
                flags=[],
                edited=False,
                version=0,
                measured=record is not None,
                needs_review=flagged,
                review_reasons=reasons,
                acetabular_index_interval=None,
                p_ihdi_ge2=None,
                placed=0,
                error=record.get('error') if record else None,
            )
        view = self.view(name, measure_now=False)
        return dict(
            file=name,
            state=view['state'],
            acetabular_index=view.get('acetabular_index') or dict(none),
            ihdi_grade=view.get('ihdi_grade') or dict(none),
            flags=view.get('flags') or [],
            edited=view['edited'],
            version=view['version'],
            measured=view['measured'],
            needs_review=view['needs_review'],
            review_reasons=view['review_reasons'],
            acetabular_index_interval=None
            if view['edited'] or self.blind
            else view.get('acetabular_index_interval'),
            p_ihdi_ge2=None if view['edited'] or self.blind else view.get('p_ihdi_ge2'),
            placed=view['placed'],
            error=view.get('error'),
        )

    def summaries(self) -> list[dict]:
        """Every film's :meth:`summary`, those flagged for review first (by name after).

        Returns:
            list[dict]: one line per film.
        """
        lines = [self.summary(name) for name in self.films.names]
        return sorted(lines, key=lambda line: (not line['needs_review'], line['file']))

    def measure_points(self, name: str, points) -> dict:
        """The measurement of points not saved (the page, while a point is dragged).

        Args:
            name (str): a film's file name.
            points: 12 ``[x, y]`` in film pixels (checked as :func:`check_points`).

        Returns:
            dict: ``acetabular_index``, ``ihdi_grade``, ``not_measured``,
            ``h_point_mm``, ``flags``, ``ihdi_p_line_shift`` and ``lines``.
        """
        self.films.path(name)
        record = self.records.get(name)
        if record and 'error' in record:
            raise ReviewError(422, record['error'])
        size, _ = self._film_info(name, record)
        points = check_points(points, size, partial=False)
        out = self._measure(name, points, record)
        keys = (
            'acetabular_index',
            'ihdi_grade',
            'not_measured',
            'h_point_mm',
            'flags',
            'ihdi_p_line_shift',
        )
        result = {key: out.get(key) for key in keys}
        result['lines'] = measuring.lines(points)
        return result

    # ------------------------------------------------------------ changing
    def _partial_allowed(self, name: str) -> bool:
        return self.blind or self._model_points(self.records.get(name)) is None

    def _change(self, name: str, version) -> dict:
        """A copy of the film's entry for a change at ``version`` (409 when stale)."""
        entry = self._entry(name)
        current = entry['version'] if entry else 0
        if version is not None:
            if not isinstance(version, int) or isinstance(version, bool):
                raise ReviewError(422, f'"version" must be an integer, got {version!r:.40}')
            if version != current:
                raise ReviewError(
                    409,
                    f'{name}: version {version} is stale; the film is at version {current} '
                    '(changed in another tab or by another reader of this review): '
                    'reload it; nothing was changed',
                )
        if entry is None:
            entry = dict(
                state='unchecked',
                version=0,
                keypoints=self._current(name, self.records.get(name)),
                history=[],
            )
        entry = copy.deepcopy(entry)
        entry['version'] = current + 1
        entry['time'] = now()
        return entry

    def _save(self, name: str, entry: dict) -> dict:
        films = dict(self.review.films)
        films[name] = entry
        self.review.save(films)
        return self.view(name, measure_now=False)

    def _film_ready(self, name: str):
        self.films.path(name)
        if self.measurer is not None and not self.blind:
            self.measure_film(name)
        record = self.records.get(name)
        if record and 'error' in record:
            raise ReviewError(422, record['error'])
        return record

    def set_keypoints(self, name: str, points, version) -> dict:
        """Save the film's points (a move, or points placed); the film is reopened.

        Args:
            name (str): a film's file name.
            points: ``[[x, y], ...]``: 12, or fewer while a blind reading (or a film
                without the model's points) is being placed.
            version (int): the version the change was made on.

        Returns:
            dict: the film's new :meth:`view`.

        Raises:
            ReviewError: 404 unknown film, 422 bad points or version, 409 stale
                version, 500 not saved; nothing is changed.
        """
        record = self._film_ready(name)
        size, _ = self._film_info(name, record)
        points = check_points(points, size, partial=self._partial_allowed(name))
        if version is None:
            raise ReviewError(422, '"version" is required (the version the points were moved on)')
        with self._lock:
            entry = self._change(name, version)
            entry['history'] = (entry['history'] + [entry['keypoints']])[-HISTORY_LIMIT:]
            entry['keypoints'] = points
            entry['state'] = 'unchecked'
            return self._save(name, entry)

    def set_state(self, name: str, state, version=None) -> dict:
        """Sign a film off (``accepted``; ``corrected`` where its points differ from the
        model's) or reopen it (``unchecked``).

        Args:
            name (str): a film's file name.
            state (str): ``accepted`` (or ``corrected``: the server decides which) or
                ``unchecked``.
            version (int, optional): the version the decision was made on (409 when
                stale). Defaults to None (not checked).

        Returns:
            dict: the film's new :meth:`view`.

        Raises:
            ReviewError: 422 for another state, or a film whose 12 points are not all
                placed or not all inside the film; 409 stale version, 404 unknown film,
                500 not saved.
        """
        if state not in STATES:
            raise ReviewError(422, f'state {state!r:.40} is not one of {", ".join(STATES)}')
        record = self._film_ready(name)
        with self._lock:
            entry = self._change(name, version)
            if state == 'unchecked':
                entry['state'] = 'unchecked'
            else:
                if not measuring.complete(entry['keypoints']):
                    placed = sum(p is not None for p in entry['keypoints'])
                    raise ReviewError(
                        422,
                        f'{name}: {placed} of {geometry.NUM_KEYPOINTS} points placed; '
                        'place them all before signing off',
                    )
                size, _ = self._film_info(name, record)
                check_points(entry['keypoints'], size, partial=False)  # e.g. the model's
                model = self._model_points(record)
                edited = model is not None and entry['keypoints'] != model
                entry['state'] = 'corrected' if edited else 'accepted'
            return self._save(name, entry)

    def undo(self, name: str, version) -> dict:
        """Put back the points before the last move (or reset); the film is reopened.

        Args:
            name (str): a film's file name.
            version (int): the version the undo was asked on.

        Returns:
            dict: the film's new :meth:`view`.

        Raises:
            ReviewError: 422 nothing to undo, 409 stale version, 404, 500.
        """
        self._film_ready(name)
        with self._lock:
            entry = self._change(name, version)
            if not entry['history']:
                raise ReviewError(422, f'{name}: no move to undo')
            entry['keypoints'] = entry['history'].pop()
            entry['state'] = 'unchecked'
            return self._save(name, entry)

    def reset(self, name: str, version) -> dict:
        """Put the model's points back (no points for a blind reading); undoable.

        Args:
            name (str): a film's file name.
            version (int): the version the reset was asked on.

        Returns:
            dict: the film's new :meth:`view`.

        Raises:
            ReviewError: 409 stale version, 404, 500.
        """
        record = self._film_ready(name)
        with self._lock:
            entry = self._change(name, version)
            entry['history'] = (entry['history'] + [entry['keypoints']])[-HISTORY_LIMIT:]
            entry['keypoints'] = self._model_points(record) or []
            entry['state'] = 'unchecked'
            return self._save(name, entry)
