"""The per-film record: one schema, one writer and one reader (JSON and CSV).

Every per-film result the project writes is a record made by :func:`film_record`:
``tools/infer.py``'s ``<film>.json`` and ``summary.csv`` (through
:class:`~hip_mmpose.runtime.measuring.HipMeasurer`, torch or ONNX), and ``tools/test.py``'s
(and validation's) ``<split>_per_film.json`` / ``.csv`` (through ``HipMetric``), which
the report and the cascade's refining stage (its crops around the first stage's
points) read back with :func:`read_json`. Pure numpy and the standard library: the
torch-free runtime writes records too.

Fields of a record (hips keyed by :data:`geometry.HIP_NAMES`)::

    keypoints          12 x [x, y, score], film pixels
    acetabular_index   {hip: degrees or null}
    ihdi_grade         {hip: 'I'..'IV', 'undefined' or null}  (geometry.GRADE_NAMES)
    ihdi_p_line_shift  the P-line shift the grade was decided at, a fraction of the
                       H-line (geometry.ihdi_grades; 0: the clinical definition)
    not_measured       {hip: reason} for each hip geometry.measurability rejects
    pixel_spacing_mm   [x, y] mm per pixel, or null
    h_point_mm         {hip: {lateral_of_p, below_h, lateral_of_d} or null}, null
                       without a spacing (geometry.h_point_offsets, in mm)
    flags              [reason to look at the film by eye] (geometry.plausibility_flags)
    keypoint_spread_px 12 heatmap spreads (px) of the refining stage's points, or null
                       (a single-stage model; utils.uncertainty.heatmap_spread)
    roof_edge          {hip: number or null}: how clearly the predicted roof line lies
                       on an edge of the film (utils.uncertainty.roof_edges; null
                       where there are no spreads)
    acetabular_index_interval  {hip: [low, high] deg or null}: the calibrated interval
                       (utils.uncertainty; null where the model is not calibrated)
    p_ihdi_ge2         {hip: P(grade >= II) or null}
    interval_crosses_threshold {hip: true/false or null}: the interval holds the
                       calibration's AI threshold
    ai_threshold_deg   that threshold (deg), or null
    review             {hip: {"flag": true/false, "reason": text} or null}: flagged for
                       review (interval crosses the threshold, P(grade >= II) in the
                       fitted band, or the network doubts the hip: geometry.doubts);
                       a hip not measured is always flagged
    file               the film's file name (null where the caller gave none)
    image_size         [width, height] px (null where unknown)
    orientation        how the film is stored: 'ap' (read facing the patient: the
                       patient's right on the image's left) or 'mirrored'
                       (geometry.ORIENTATIONS)
    orientation_source where that came from: 'PatientOrientation' (the DICOM
                       header's), 'option' (tools/infer.py --orientation) or 'default'
    patient_side       {hip: 'patient_right' or 'patient_left'}: the patient's side of
                       each image side (geometry.patient_sides)
    model_sha256       the first SHA256_DIGITS hex digits of the SHA-256 of the model
                       file that made the record (file_sha256; null where unknown)

and, in an *evaluation* record (one with ground truth, written by HipMetric)::

    img_path              the film as the data set names it (the report reads it)
    true_keypoints        12 x [x, y]
    true_acetabular_index, true_ihdi_grade   as above, of the truth
    errors_px, mean_error_px   each point's distance from its truth, and their mean
    errors_mm, mean_error_mm   the same in mm (null without a spacing)

A hip in ``not_measured`` has a null AI, grade and ``h_point_mm`` in an inference
record (no number that is not a measurement); an evaluation record keeps them, as
HipMetric scores every hip, and names the hip in ``not_measured`` all the same.
Numbers are rounded as :data:`DIGITS` says; a non-finite number is written as null
(JSON has no NaN) and read back as NaN by :func:`as_arrays`.

The CSV (``summary.csv``, ``<split>_per_film.csv``) is one row per record with the
columns :func:`csv_columns` lists: a summary (no keypoints), read back by
:func:`read_csv` into the record fields it holds. A film that could not be read is
the record ``{'file': ..., 'error': ...}`` (:func:`failure`), a CSV row only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import os.path as osp
from pathlib import Path

import numpy as np

from hip_mmpose import geometry
from hip_mmpose.utils import uncertainty
from hip_mmpose.utils.atomic import write_atomic
from hip_mmpose.utils.safe_text import FORMULA_START, csv_cell

HIPS = geometry.HIP_NAMES
#: keypoints of a film (the two hips' six)
NUM_KEYPOINTS = geometry.NUM_KEYPOINTS
#: Decimals written: pixels, degrees and millimetres; keypoint scores; pixel spacings;
#: the grade's P-line shift (a fraction of the H-line).
DIGITS = dict(px=2, deg=2, mm=2, score=4, spacing=6, shift=6, p=4, edge=4)
#: The fields of every record, and those only an evaluation record has, in order.
PREDICTION_FIELDS = (
    'keypoints',
    'acetabular_index',
    'ihdi_grade',
    'ihdi_p_line_shift',
    'not_measured',
    'pixel_spacing_mm',
    'h_point_mm',
    'flags',
    'keypoint_spread_px',
    'roof_edge',
    'acetabular_index_interval',
    'p_ihdi_ge2',
    'interval_crosses_threshold',
    'ai_threshold_deg',
    'review',
    'file',
    'image_size',
    'orientation',
    'orientation_source',
    'patient_side',
    'model_sha256',
)
EVALUATION_FIELDS = (
    'img_path',
    'true_keypoints',
    'true_acetabular_index',
    'true_ihdi_grade',
    'errors_px',
    'mean_error_px',
    'errors_mm',
    'mean_error_mm',
)
#: the H-point distances (mm) a CSV row holds
CSV_H_POINT_KEYS = ('lateral_of_p', 'below_h')
GRADE_VALUES = {name: grade for grade, name in geometry.GRADE_NAMES.items()}
#: Hex digits of a model file's SHA-256 a record carries (``model_sha256``).
SHA256_DIGITS = 12


class RecordError(ValueError):
    """A file that is not a per-film record file; the message starts with its path."""


def file_sha256(path, digits: int = SHA256_DIGITS) -> str:
    """The first ``digits`` hex digits of a file's SHA-256: a record's ``model_sha256``.

    Args:
        path (str | Path): the file (read in blocks).
        digits (int): how many hex digits. Defaults to :data:`SHA256_DIGITS`.

    Returns:
        str: the hex digits.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as fh:
        for block in iter(lambda: fh.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:digits]


def per_film_paths(folder, name: str) -> tuple[str, str]:
    """HipMetric's per-film JSON and CSV of the run ``name`` (e.g. ``'test'``) in ``folder``.

    Args:
        folder (str | Path): the folder the files are (to be) written in.
        name (str): the run's name, e.g. ``'test'`` or ``'val'``.

    Returns:
        tuple[str, str]: the paths ``<folder>/<name>_per_film.json`` and ``.csv``.
    """
    return (osp.join(folder, f'{name}_per_film.json'), osp.join(folder, f'{name}_per_film.csv'))


def write_per_film(folder, name: str, films, summary: dict | None = None) -> tuple[str, str]:
    """Records as the per-film JSON (with ``summary``) and CSV of run ``name`` in ``folder``.

    Args:
        folder (str | Path): where to write (made if missing).
        name (str): the run's name (:func:`per_film_paths`).
        films (Sequence[dict]): the film records.
        summary (dict, optional): the metrics, the JSON's summary. Defaults to None.

    Returns:
        tuple[str, str]: the JSON and CSV paths, each written whole.
    """
    os.makedirs(folder, exist_ok=True)
    json_path, csv_path = per_film_paths(folder, name)
    write_films(json_path, films, summary)
    write_csv(csv_path, films)
    return json_path, csv_path


# ------------------------------------------------------------------ making records
def _number(value, unit: str):
    """A JSON number rounded to :data:`DIGITS` [unit], None where not finite."""
    value = float(value)
    return round(value, DIGITS[unit]) if np.isfinite(value) else None


def _per_hip(values, shown, convert) -> dict:
    return {hip: (convert(v) if show else None) for hip, v, show in zip(HIPS, values, shown)}


def film_record(
    keypoints,
    scores,
    *,
    file: str | None = None,
    image_size=None,
    pixel_spacing=None,
    orientation: str = 'ap',
    orientation_source: str = 'default',
    laterality: str | None = None,
    score_thr: float = geometry.SCORE_THR,
    keypoint_names=None,
    truth=None,
    img_path: str | None = None,
    p_line_shift: float = 0.0,
    spreads=None,
    edges=None,
    uncertainty: dict | None = None,
    model_sha256: str | None = None,
) -> dict:
    """The record of one film from its predicted points.

    Args:
        keypoints (array-like): ``(12, 2)`` predicted points in film pixels.
        scores (array-like): ``(12,)`` their scores.
        file (str, optional): the film's file name. Defaults to None.
        image_size (tuple, optional): ``(width, height)``; enables the
            outside-the-film rules. Defaults to None.
        pixel_spacing (tuple, optional): ``(x, y)`` mm per pixel; adds the mm
            figures. Defaults to None.
        orientation (str): how the film is stored (:data:`geometry.ORIENTATIONS`);
            sets ``patient_side``. Defaults to ``'ap'``.
        orientation_source (str): where ``orientation`` came from
            (``'PatientOrientation'``, ``'option'`` or ``'default'``). Defaults to
            ``'default'``.
        laterality (str, optional): a DICOM header's ``ImageLaterality``; ``'R'`` or
            ``'L'`` (one side only, where an AP pelvis shows both) adds a flag.
            Defaults to None.
        score_thr (float): scores below it are low confidence. Defaults to
            :data:`geometry.SCORE_THR`.
        keypoint_names (Sequence[str], optional): the 12 names, for the flags.
            Defaults to None (``point 1`` ...).
        truth (array-like, optional): ``(12, 2)`` true points in film pixels; makes
            an evaluation record.
            Defaults to None.
        img_path (str, optional): the film's path, kept in an evaluation record.
            Defaults to None.
        p_line_shift (float): the predicted grade's P-line shift
            (:func:`geometry.ihdi_grades`; the true grade uses none). Defaults to 0.0.
        spreads (array-like, optional): ``(12,)`` the points' heatmap spreads, film
            px. Defaults to None.
        edges (array-like, optional): ``(2,)`` the hips' roof edges on the film
            (:func:`utils.uncertainty.roof_edges`); kept with ``spreads``, and
            needed where the calibration uses them. Defaults to None.
        uncertainty (dict, optional): the model's interval calibration
            (:func:`utils.uncertainty.checked_calibration`); with ``spreads`` it
            fills the intervals, P(grade >= II) and review fields. Defaults to None.
        model_sha256 (str, optional): the model file's :func:`file_sha256`.
            Defaults to None.

    Returns:
        dict: the record (fields in the order of :data:`PREDICTION_FIELDS`, then
        :data:`EVALUATION_FIELDS` with ``truth``).
    """
    keypoints = np.asarray(keypoints, np.float64)
    scores = np.asarray(scores, np.float64)
    with np.errstate(invalid='ignore', over='ignore'):
        ai = geometry.acetabular_indices(keypoints)
        grades = geometry.ihdi_grades(keypoints, p_line_shift)
    written = _as_written(keypoints, scores)  # the rules judge what the record holds
    reasons = geometry.measurability(*written, image_size, score_thr)
    # an inference record withholds what is not measured; an evaluation record keeps
    # every hip's numbers (the metric scores every hip)
    shown = [truth is not None or not reason for reason in reasons]
    h_point_mm = None
    if pixel_spacing is not None:
        with np.errstate(invalid='ignore', over='ignore'):
            offsets = geometry.h_point_offsets(keypoints * np.asarray(pixel_spacing, np.float64))
        h_point_mm = _per_hip(
            range(len(HIPS)), shown, lambda i: {k: _number(v[i], 'mm') for k, v in offsets.items()}
        )
    record = dict(
        keypoints=[
            [_number(x, 'px'), _number(y, 'px'), _number(s, 'score')]
            for (x, y), s in zip(keypoints, scores)
        ],
        acetabular_index=_per_hip(ai, shown, lambda a: _number(a, 'deg')),
        ihdi_grade=_per_hip(grades, shown, lambda g: geometry.GRADE_NAMES[int(g)]),
        ihdi_p_line_shift=_number(p_line_shift, 'shift'),
        not_measured={hip: reason for hip, reason in zip(HIPS, reasons) if reason},
        pixel_spacing_mm=(
            None if pixel_spacing is None else [_number(v, 'spacing') for v in pixel_spacing]
        ),
        h_point_mm=h_point_mm,
        flags=geometry.plausibility_flags(*written, image_size, score_thr, keypoint_names, ai),
        **_uncertainty_fields(
            keypoints,
            spreads,
            edges,
            uncertainty,
            p_line_shift,
            shown,
            # the review's doubts: only where a calibration makes a review
            record_doubts(keypoints, scores, image_size, keypoint_names) if uncertainty else None,
        ),
        file=file,
        image_size=None if image_size is None else [int(v) for v in image_size],
        orientation=orientation,
        orientation_source=orientation_source,
        patient_side=dict(zip(HIPS, geometry.patient_sides(orientation))),
        model_sha256=model_sha256,
    )
    if laterality in ('R', 'L'):
        record['flags'].append(
            f'the DICOM header marks one side only (ImageLaterality {laterality}); an AP '
            'pelvis film shows both hips'
        )
    if truth is not None:
        truth = np.asarray(truth, np.float64)
        with np.errstate(invalid='ignore', over='ignore'):
            true_ai = geometry.acetabular_indices(truth)
            true_grades = geometry.ihdi_grades(truth)
            errors = geometry.radial_errors(keypoints, truth)
            errors_mm = (
                None
                if pixel_spacing is None
                else geometry.radial_errors(keypoints, truth, pixel_spacing)
            )
        every = [True] * len(HIPS)
        record.update(
            img_path=img_path,
            true_keypoints=[[_number(x, 'px'), _number(y, 'px')] for x, y in truth],
            true_acetabular_index=_per_hip(true_ai, every, lambda a: _number(a, 'deg')),
            true_ihdi_grade=_per_hip(true_grades, every, lambda g: geometry.GRADE_NAMES[int(g)]),
            errors_px=[_number(e, 'px') for e in errors],
            mean_error_px=_number(errors.mean(), 'px'),
            errors_mm=None if errors_mm is None else [_number(e, 'mm') for e in errors_mm],
            mean_error_mm=None if errors_mm is None else _number(errors_mm.mean(), 'mm'),
        )
    return record


def _uncertainty_fields(
    keypoints, spreads, edges, calibration, p_line_shift, shown, doubts=None
) -> dict:
    """The record's spread, roof edge, interval, probability and review fields
    (``doubts``: the hips' :func:`geometry.doubts`, flagged for review)."""
    none = {hip: None for hip in HIPS}
    out = dict(
        keypoint_spread_px=None,
        roof_edge=none,
        acetabular_index_interval=none,
        p_ihdi_ge2=none,
        interval_crosses_threshold=none,
        ai_threshold_deg=None,
        review=none,
    )
    if spreads is None:
        return out
    spreads = np.asarray(spreads, np.float64)
    if not np.isfinite(spreads).any():
        return out
    out['keypoint_spread_px'] = [_number(v, 'px') for v in spreads]
    if edges is not None:
        edges = np.asarray(edges, np.float64)
        out['roof_edge'] = {hip: _number(e, 'edge') for hip, e in zip(HIPS, edges)}
    if not calibration:
        return out
    with np.errstate(invalid='ignore', over='ignore'):
        m = uncertainty.measure(keypoints, spreads, calibration, p_line_shift, edges, doubts)
    threshold = calibration['ai_threshold']
    crosses = (m['ai_low'] <= threshold) & (m['ai_high'] > threshold)
    interval = [
        [_number(lo, 'deg'), _number(hi, 'deg')] if np.isfinite(lo) and np.isfinite(hi) else None
        for lo, hi in zip(m['ai_low'], m['ai_high'])
    ]
    out.update(
        acetabular_index_interval=_per_hip(interval, shown, lambda v: v),
        p_ihdi_ge2=_per_hip(m['p_ge2'], shown, lambda p: _number(p, 'p')),
        interval_crosses_threshold=_per_hip(crosses, shown, bool),
        ai_threshold_deg=_number(threshold, 'deg'),
        # a hip that is not measured is always one to look at
        review={
            hip: (
                dict(flag=bool(flag), reason=str(reason))
                if show
                else dict(flag=True, reason='not measured')
            )
            for hip, flag, reason, show in zip(HIPS, m['review'], m['reason'], shown)
        },
    )
    return out


def record_doubts(keypoints, scores, image_size=None, keypoint_names=None) -> list:
    """:func:`geometry.doubts` of one film, the review flag's: on the points and
    scores as a record holds them (rounded to :data:`DIGITS`) and at
    :data:`geometry.SCORE_THR`, the threshold the review band is fitted with (a
    tool's ``--score-thr`` moves the ``flags``, not the review), so a film's raw
    points (``tools/infer.py``, HipMetric) and its record read back (the band's
    fit, :func:`film_doubts`) give the same answer.

    Args:
        keypoints (array-like): ``(12, 2)`` predicted points in film pixels.
        scores (array-like): ``(12,)`` their scores.
        image_size (tuple, optional): ``(width, height)``. Defaults to None.
        keypoint_names (Sequence[str], optional): names for the reasons. Defaults
            to None (``point 1`` ...).

    Returns:
        list[str | None]: the two hips' reasons, None where a hip is not in doubt.
    """
    points, scores = _as_written(keypoints, scores)
    return geometry.doubts(points, scores, image_size, geometry.SCORE_THR, keypoint_names)


def _as_written(keypoints, scores) -> tuple[np.ndarray, np.ndarray]:
    """Points and scores as a record writes them (:func:`_number`; not finite: NaN),
    so the rules judged on them give the same answer on the record read back."""

    def rounded(values, unit):
        values = np.asarray(values, np.float64)
        flat = [_number(v, unit) for v in values.ravel()]
        return np.array(flat, np.float64).reshape(values.shape)

    return rounded(keypoints, 'px'), rounded(scores, 'score')


def film_doubts(records) -> list:
    """Each record's :func:`record_doubts` from its keypoints, scores and size.

    Args:
        records (Sequence[dict]): film records (:func:`read_json`).

    Returns:
        list[list[str | None]]: ``(N, 2)`` reasons, None where a hip is not in doubt.
    """
    records = list(records)
    if not records:
        return []
    d = as_arrays(records)
    return [
        record_doubts(points, scores, r.get('image_size'))
        for r, points, scores in zip(records, d['keypoints'], d['keypoint_scores'])
    ]


def uncertainty_rank(record: dict) -> tuple:
    """Sort key putting the least certain films first: failures, then films with a
    hip flagged for review, then by the widest AI interval (no interval counts as
    widest), then by file name.

    Args:
        record (dict): a film record or a :func:`failure`.

    Returns:
        tuple: the key (ascending = least certain first).
    """
    if 'error' in record:
        return (0, 0.0, record.get('file') or '')
    review = record.get('review') or {}
    flagged = any((review.get(hip) or {}).get('flag') for hip in HIPS)
    widths = [
        (iv[1] - iv[0]) if iv else math.inf
        for iv in (record.get('acetabular_index_interval') or {}).values()
    ] or [math.inf]
    return (1 if flagged else 2, -max(widths), record.get('file') or '')


def failure(file: str, error: str, model_sha256: str | None = None) -> dict:
    """The record of a film that could not be measured (a CSV row only).

    Args:
        file (str): the film's file name.
        error (str): why it could not be measured.
        model_sha256 (str, optional): the model file's :func:`file_sha256`. Defaults
            to None (not written).

    Returns:
        dict: ``{'file': file, 'error': error}`` (and ``model_sha256`` where given).
    """
    record = dict(file=file, error=error)
    if model_sha256 is not None:
        record['model_sha256'] = model_sha256
    return record


def is_evaluation(record: dict) -> bool:
    """Whether ``record`` holds ground truth (HipMetric's).

    Args:
        record (dict): a film record.

    Returns:
        bool: True when it has ``true_keypoints``.
    """
    return 'true_keypoints' in record


# ------------------------------------------------------------------ JSON
def write_film(path, record: dict) -> Path:
    """One record as its own JSON file (``tools/infer.py``'s ``<film>.json``), whole.

    Args:
        path (str | Path): the JSON file to write (atomically).
        record (dict): the film's record; a NaN or inf in it raises ``ValueError``.

    Returns:
        Path: the file written.
    """
    return write_atomic(path, json.dumps(record, indent=1, allow_nan=False))


def write_films(path, records, summary: dict | None = None) -> Path:
    """Records of many films and the metrics they gave as one JSON file, written whole.

    The file is ``{"summary": {...}, "films": [record, ...]}`` (HipMetric's dump).

    Args:
        path (str | Path): the JSON file to write (atomically).
        records (Iterable[dict]): the film records.
        summary (dict, optional): the metrics. Defaults to None (written as ``{}``).

    Returns:
        Path: the file written.
    """
    return write_atomic(
        path, json.dumps(dict(summary=summary or {}, films=list(records)), indent=1)
    )


def read_json(path) -> tuple[list[dict], dict]:
    """The records and summary of a file :func:`write_films` or :func:`write_film` wrote.

    A per-film JSON from before this schema (HipMetric's ``pred_keypoints``,
    ``ai_pred``, ...) is read too: its records are made again from its points.

    Args:
        path (str | Path): the JSON file.

    Returns:
        tuple[list[dict], dict]: the records (one for a single film's file) and the
        summary (``{}`` where there is none).

    Raises:
        RecordError: the file is not one of those (a ``ValueError``; an unreadable
            file raises ``OSError``).
    """
    try:
        data = json.loads(Path(path).read_text())
    except ValueError as err:
        raise RecordError(f'{path}: not JSON ({err})') from err
    except RecursionError:
        raise RecordError(f'{path}: nested too deep to read; not a per-film JSON') from None
    if isinstance(data, dict) and isinstance(data.get('films'), list):
        films, summary = data['films'], data.get('summary') or {}
    elif isinstance(data, dict) and 'keypoints' in data:
        films, summary = [data], {}
    else:
        raise RecordError(
            f'{path}: not a per-film JSON (a record, or {{"films": [record, ...]}}}})'
        )
    return [_checked(film, path, i) for i, film in enumerate(films)], summary


def _checked(film, path, index: int) -> dict:
    if isinstance(film, dict) and 'pred_keypoints' in film and 'keypoints' not in film:
        film = _from_earlier_dump(film)
    missing = (
        [f for f in ('file', 'keypoints', 'acetabular_index', 'ihdi_grade') if f not in film]
        if isinstance(film, dict)
        else ['a record']
    )
    if missing:
        raise RecordError(f'{path}: film {index} has no {", ".join(missing)}')
    points = film['keypoints']
    if not (isinstance(points, list) and all(isinstance(p, list) and len(p) == 3 for p in points)):
        raise RecordError(
            f'{path}: film {index} ({film["file"]}): keypoints are not [[x, y, score], ...]'
        )
    return film


def _from_earlier_dump(film: dict) -> dict:
    """A record from a HipMetric film entry of before :mod:`records` (pred_keypoints,
    keypoint_scores, true_keypoints, pixel_spacing_mm, file, img_path)."""
    points = np.asarray(film['pred_keypoints'], np.float64)[:, :2]
    scores = film.get('keypoint_scores') or [np.nan] * len(points)
    truth = film.get('true_keypoints')
    return film_record(
        points,
        np.asarray(scores, np.float64),
        file=film.get('file'),
        pixel_spacing=film.get('pixel_spacing_mm'),
        truth=None if truth is None else np.asarray(truth, np.float64),
        img_path=film.get('img_path'),
    )


def as_arrays(records) -> dict:
    """Arrays of many records, keyed by the record's field names.

    Args:
        records (Sequence[dict]): film records (as :func:`read_json` gives them).

    Returns:
        dict: ``file`` (list), ``keypoints`` ``(N, K, 2)``, ``keypoint_scores``
        ``(N, K)``, ``acetabular_index`` ``(N, 2)`` (NaN where null),
        ``ihdi_grade`` ``(N, 2)`` int (``geometry.GRADE_UNDEFINED`` where null),
        ``keypoint_spread`` ``(N, K)``, ``roof_edge`` ``(N, 2)`` (NaN where null),
        ``ai_interval`` ``(N, 2, 2)`` (low, high per
        hip), ``p_ihdi_ge2`` ``(N, 2)`` (NaN where null) and,
        when every record is an evaluation record, ``true_keypoints``,
        ``true_acetabular_index``, ``true_ihdi_grade`` and ``errors_px`` ``(N, K)``.
    """
    records = list(records)
    count = len(records[0]['keypoints']) if records else NUM_KEYPOINTS

    def floats(key, shape):
        rows = [np.nan if v is None else v for r in records for v in _flat(r[key])]
        return np.array(rows, np.float64).reshape((len(records),) + shape)

    def grades(key):
        return np.array(
            [
                [GRADE_VALUES.get(r[key][hip], geometry.GRADE_UNDEFINED) for hip in HIPS]
                for r in records
            ],
            np.int64,
        ).reshape(-1, len(HIPS))

    points = floats('keypoints', (count, 3))
    out = dict(
        file=[r['file'] for r in records],
        keypoints=points[..., :2],
        keypoint_scores=points[..., 2],
        acetabular_index=floats('acetabular_index', (len(HIPS),)),
        ihdi_grade=grades('ihdi_grade'),
        keypoint_spread=np.array(
            [r.get('keypoint_spread_px') or [None] * count for r in records], np.float64
        ).reshape(len(records), count),
        roof_edge=np.array(
            [[(r.get('roof_edge') or {}).get(h) for h in HIPS] for r in records], np.float64
        ).reshape(len(records), len(HIPS)),
        ai_interval=np.array(
            [
                [(r.get('acetabular_index_interval') or {}).get(h) or [None, None] for h in HIPS]
                for r in records
            ],
            np.float64,
        ).reshape(len(records), len(HIPS), 2),
        p_ihdi_ge2=np.array(
            [[(r.get('p_ihdi_ge2') or {}).get(h) for h in HIPS] for r in records], np.float64
        ).reshape(len(records), len(HIPS)),
    )
    if records and all(is_evaluation(r) for r in records):
        out.update(
            true_keypoints=floats('true_keypoints', (count, 2)),
            true_acetabular_index=floats('true_acetabular_index', (len(HIPS),)),
            true_ihdi_grade=grades('true_ihdi_grade'),
            errors_px=floats('errors_px', (count,)),
        )
    return out


def _flat(value) -> list:
    """A record field's numbers in order: per hip (dicts), per point (lists of lists)."""
    if isinstance(value, dict):
        return [value[hip] for hip in HIPS]
    return [v for item in value for v in (item if isinstance(item, list) else [item])]


# ------------------------------------------------------------------ CSV
def csv_columns(evaluation: bool = False, num_keypoints: int = NUM_KEYPOINTS) -> list[str]:
    """The CSV columns: the prediction's, then the truth's and the errors for evaluation.

    The prediction's columns are ``tools/infer.py``'s ``summary.csv``; an evaluation
    CSV adds the true AI and grade, the mean errors and one error column per keypoint.

    Args:
        evaluation (bool): add the evaluation columns. Defaults to False.
        num_keypoints (int): keypoints per film, for the per-keypoint error columns.
            Defaults to :data:`NUM_KEYPOINTS` (12).

    Returns:
        list[str]: the column names, in order.
    """
    columns = (
        ['file']
        + [f'ai_{hip}' for hip in HIPS]
        + [f'ihdi_{hip}' for hip in HIPS]
        + ['orientation']
        + [f'{kind}_{side}' for kind in ('ai', 'ihdi') for side in geometry.PATIENT_SIDES]
        + ['spacing_x_mm', 'spacing_y_mm']
        + [f'h_{key}_mm_{hip}' for key in CSV_H_POINT_KEYS for hip in HIPS]
        + [f'ai_{end}_{hip}' for end in ('low', 'high') for hip in HIPS]
        + [f'p_ihdi_ge2_{hip}' for hip in HIPS]
        + [f'interval_crosses_threshold_{hip}' for hip in HIPS]
        + [f'review_{hip}' for hip in HIPS]
        + [f'review_reason_{hip}' for hip in HIPS]
        + ['mean_score', 'flags', 'model_sha256', 'error']
    )
    if evaluation:
        columns += (
            [f'true_ai_{hip}' for hip in HIPS]
            + [f'true_ihdi_{hip}' for hip in HIPS]
            + ['mean_error_px', 'mean_error_mm']
            + [f'error_px_kp{k + 1:02d}' for k in range(num_keypoints)]
        )
    return columns


def _csv_row(record: dict) -> dict:
    if 'error' in record:
        return dict(
            file=record['file'], error=record['error'], model_sha256=record.get('model_sha256')
        )
    row = dict(file=record['file'])
    row.update({f'ai_{hip}': record['acetabular_index'][hip] for hip in HIPS})
    row.update({f'ihdi_{hip}': record['ihdi_grade'][hip] for hip in HIPS})
    # the same hips by the patient's side (a record from before the field: AP)
    orientation = record.get('orientation') or 'ap'
    row['orientation'] = orientation
    for hip, side in zip(HIPS, geometry.patient_sides(orientation)):
        row.update({f'ai_{side}': row[f'ai_{hip}'], f'ihdi_{side}': row[f'ihdi_{hip}']})
    spacing = record['pixel_spacing_mm'] or [None, None]
    row.update(spacing_x_mm=spacing[0], spacing_y_mm=spacing[1])
    h_mm = record['h_point_mm'] or {}
    row.update(
        {
            f'h_{key}_mm_{hip}': (h_mm.get(hip) or {}).get(key)
            for key in CSV_H_POINT_KEYS
            for hip in HIPS
        }
    )
    for hip in HIPS:
        interval = (record.get('acetabular_index_interval') or {}).get(hip) or [None, None]
        review = (record.get('review') or {}).get(hip) or {}
        row.update(
            {
                f'ai_low_{hip}': interval[0],
                f'ai_high_{hip}': interval[1],
                f'p_ihdi_ge2_{hip}': (record.get('p_ihdi_ge2') or {}).get(hip),
                f'interval_crosses_threshold_{hip}': _bool_cell(
                    (record.get('interval_crosses_threshold') or {}).get(hip)
                ),
                f'review_{hip}': _bool_cell(review.get('flag')),
                f'review_reason_{hip}': review.get('reason'),
            }
        )
    scores = np.array([np.nan if k[2] is None else k[2] for k in record['keypoints']], float)
    row['mean_score'] = (
        _number(np.mean(scores[np.isfinite(scores)]), 'score')
        if np.isfinite(scores).any()
        else None
    )
    row['flags'] = '; '.join(record['flags'])
    row['model_sha256'] = record.get('model_sha256')
    if is_evaluation(record):
        row.update({f'true_ai_{hip}': record['true_acetabular_index'][hip] for hip in HIPS})
        row.update({f'true_ihdi_{hip}': record['true_ihdi_grade'][hip] for hip in HIPS})
        row.update(mean_error_px=record['mean_error_px'], mean_error_mm=record['mean_error_mm'])
        row.update({f'error_px_kp{k + 1:02d}': e for k, e in enumerate(record['errors_px'])})
    return row


def _bool_cell(value):
    return None if value is None else ('true' if value else 'false')


def _bool(cell: str):
    text = _text(cell)
    return None if text is None else text == 'true'


def write_csv(path, records) -> Path:
    """Write one CSV row per record (:func:`csv_columns`), the file whole.

    Text cells go through :func:`safe_text.csv_cell` (no spreadsheet formulas); null is
    an empty cell. The evaluation columns are written when any record has ground truth;
    a :func:`failure` record fills only ``file`` and ``error``.

    Args:
        path (str | Path): the CSV file to write (atomically).
        records (Iterable[dict]): film records, or failures.

    Returns:
        Path: the file written.
    """
    records = list(records)
    evaluation = any(is_evaluation(r) for r in records)
    count = max((len(r['keypoints']) for r in records if 'keypoints' in r), default=NUM_KEYPOINTS)
    table = io.StringIO(newline='')
    writer = csv.DictWriter(table, csv_columns(evaluation, count), restval='')
    writer.writeheader()
    writer.writerows(
        {key: csv_cell('' if value is None else value) for key, value in _csv_row(r).items()}
        for r in records
    )
    return write_atomic(path, table.getvalue())


def _text(cell: str) -> str | None:
    """A written cell back: None for empty, :func:`csv_cell`'s quote taken off."""
    if cell == '':
        return None
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_START else cell


def _float(cell: str):
    text = _text(cell)
    return None if text is None else float(text)


def read_csv(path) -> list[dict]:
    """The rows of a file :func:`write_csv` wrote, as record fields.

    Args:
        path (str | Path): the CSV file.

    Returns:
        list[dict]: per row ``file``, ``acetabular_index``, ``ihdi_grade``,
        ``orientation`` and ``patient_side`` (where the CSV has them),
        ``pixel_spacing_mm``, ``h_point_mm`` (the distances the CSV holds),
        ``mean_score``, ``flags``, ``model_sha256``, the intervals, P(grade >= II) and
        review fields (where the CSV has them) and, in an evaluation CSV,
        ``true_acetabular_index``, ``true_ihdi_grade``, ``mean_error_px``,
        ``mean_error_mm`` and ``errors_px``; a failure row is ``{'file', 'error'}``
        (and ``model_sha256`` where it names one). Empty cells are None.
    """
    with open(path, newline='', encoding='utf-8') as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        if _text(row.get('error', '')):
            out.append(
                failure(_text(row['file']), _text(row['error']), _text(row.get('model_sha256', '')))
            )
            continue
        spacing = [_float(row['spacing_x_mm']), _float(row['spacing_y_mm'])]
        has_spacing = None not in spacing
        h_mm = {
            hip: {key: _float(row[f'h_{key}_mm_{hip}']) for key in CSV_H_POINT_KEYS} for hip in HIPS
        }
        record = dict(
            file=_text(row['file']),
            acetabular_index={hip: _float(row[f'ai_{hip}']) for hip in HIPS},
            ihdi_grade={hip: _text(row[f'ihdi_{hip}']) for hip in HIPS},
            pixel_spacing_mm=spacing if has_spacing else None,
            h_point_mm=(
                {
                    hip: (None if all(v is None for v in d.values()) else d)
                    for hip, d in h_mm.items()
                }
                if has_spacing
                else None
            ),
            mean_score=_float(row['mean_score']),
            flags=_text(row['flags']).split('; ') if _text(row['flags']) else [],
            model_sha256=_text(row.get('model_sha256', '')),
        )
        if _text(row.get('orientation', '')) in geometry.ORIENTATIONS:
            orientation = _text(row['orientation'])
            record.update(
                orientation=orientation,
                patient_side=dict(zip(HIPS, geometry.patient_sides(orientation))),
            )
        if f'ai_low_{HIPS[0]}' in row:  # written since the intervals exist
            record.update(
                acetabular_index_interval={
                    hip: (
                        None
                        if _float(row[f'ai_low_{hip}']) is None
                        else [_float(row[f'ai_low_{hip}']), _float(row[f'ai_high_{hip}'])]
                    )
                    for hip in HIPS
                },
                p_ihdi_ge2={hip: _float(row[f'p_ihdi_ge2_{hip}']) for hip in HIPS},
                interval_crosses_threshold={
                    hip: _bool(row[f'interval_crosses_threshold_{hip}']) for hip in HIPS
                },
                review={
                    hip: (
                        None
                        if _bool(row[f'review_{hip}']) is None
                        else dict(
                            flag=_bool(row[f'review_{hip}']),
                            reason=_text(row[f'review_reason_{hip}']) or '',
                        )
                    )
                    for hip in HIPS
                },
            )
        if 'mean_error_px' in row:
            errors = sorted(k for k in row if k.startswith('error_px_kp'))
            record.update(
                true_acetabular_index={hip: _float(row[f'true_ai_{hip}']) for hip in HIPS},
                true_ihdi_grade={hip: _text(row[f'true_ihdi_{hip}']) for hip in HIPS},
                mean_error_px=_float(row['mean_error_px']),
                mean_error_mm=_float(row['mean_error_mm']),
                errors_px=[_float(row[k]) for k in errors],
            )
        out.append(record)
    return out
