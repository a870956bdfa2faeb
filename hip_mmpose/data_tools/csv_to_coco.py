"""Convert the template's CSV annotations to COCO keypoint JSON.

Layout read (one folder per split)::

    DATA_ROOT/<split>/images/<stem>.jpg|.jpeg|.png|.dcm
    DATA_ROOT/<split>/images/spacing.csv       optional: file,spacing_mm per film
    DATA_ROOT/<split>/annotations/<stem>.csv   one line "(x1, y1)","(x2, y2)",...
                                               (with readers='mean': one line per reader)

Each image record holds the film's ``width`` and ``height`` and, where known,
``pixel_spacing`` = [x, y] mm per pixel: a DICOM header's (:mod:`film_io`), or the
film's row of ``spacing.csv`` (which overrides the header). Nothing else of a
DICOM header is written.

Every file is checked before anything is written; a bad film or annotation file
does not stop the others being checked, and then an :class:`AnnotationErrors`
names every bad file and what is wrong with it (one line each), and no JSON (not
even for a split that was fine) is left behind. An annotation file is read at most
:data:`MAX_ANNOTATION_BYTES` and :data:`MAX_READERS` lines, and a line no further
than the point count it must have. The outputs are written as one set: a
temporary folder beside OUT_DIR is filled and then swapped into place, so a failure
leaves the previous output as it was and split files the new data lacks do not
linger beside the new ones. OUT_DIR belongs to the converter: it may hold only its
own earlier outputs (anything else is refused, never deleted).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hip_mmpose.utils.film_io import FILM_SUFFIXES, FilmReadError, folder_spacings, read_film

IMAGE_SUFFIXES = FILM_SUFFIXES
_NUMBER = r'[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?'
_POINT = re.compile(rf'^\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)$')
# a field is quoted ("(x, y)"), a bare parenthesised pair, or anything else (an error)
_FIELD = re.compile(r'"([^"]*)"|(\([^)]*\))|([^,]+)')


class AnnotationError(ValueError):
    """Bad input; the message starts with the offending path."""


class AnnotationErrors(AnnotationError):
    """Several bad files; ``errors`` holds one message per file (each names its path).

    Args:
        errors (list[str]): the messages, in the order the files were read.
    """

    def __init__(self, errors: list):
        self.errors = list(errors)
        more = f' (and {len(self.errors) - 1} more bad files)' if len(self.errors) > 1 else ''
        super().__init__(self.errors[0] + more)


#: How several readers' lines of one annotation file become its reference.
READER_MODES = ('mean',)
#: The most readers (lines) one annotation file may have: every pair of readings is
#: compared, and a file of thousands of lines is not an annotation.
MAX_READERS = 20
#: The largest annotation file read, in bytes: 20 readers' 12 points take under 10 kB.
MAX_ANNOTATION_BYTES = 64 * 1024


def parse_annotation_csv(path: Path, num_keypoints: int | None = None) -> np.ndarray:
    """Read one annotation file into a ``(K, 2)`` float array.

    The file is one line of ``"(x, y)"`` fields; integers or decimals, with or
    without spaces, quoted or not.

    Args:
        path (Path): the annotation CSV (UTF-8, a BOM allowed).
        num_keypoints (int, optional): the number of points the file must have.
            Defaults to None (any number).

    Returns:
        np.ndarray: ``(K, 2)`` float64 ``(x, y)`` film pixels, in file order.

    Raises:
        AnnotationError: an unreadable or empty file, more than one line,
            non-numeric or non-finite text, or a point count other than
            ``num_keypoints``.
    """
    readers = parse_annotation_readers(path, num_keypoints)
    if len(readers) > 1:
        raise AnnotationError(
            f'{path}: expected one line of points, found {len(readers)} lines '
            '(one per reader? convert with --readers mean)'
        )
    return readers[0]


def parse_annotation_readers(path: Path, num_keypoints: int | None = None) -> np.ndarray:
    """Read an annotation file of one line per reader into ``(R, K, 2)``.

    Each line is what :func:`parse_annotation_csv` reads (one reader's points of
    the film); blank lines are skipped. Every line must have the same number of
    points (``num_keypoints`` where given).

    Args:
        path (Path): the annotation CSV (UTF-8, a BOM allowed).
        num_keypoints (int, optional): the number of points every line must have.
            Defaults to None (the first line's).

    Returns:
        np.ndarray: ``(R, K, 2)`` float64 film pixels, readers in file order.

    Raises:
        AnnotationError: an unreadable or empty file, more than
            :data:`MAX_READERS` lines, non-numeric or non-finite text, or lines whose
            point counts differ (from each other or from ``num_keypoints``); the
            message names the file and the line.
    """
    path = Path(path)
    try:
        with open(path, 'rb') as fh:
            raw = fh.read(MAX_ANNOTATION_BYTES + 1)
        if len(raw) > MAX_ANNOTATION_BYTES:
            raise AnnotationError(
                f'{path}: larger than {MAX_ANNOTATION_BYTES // 1024} kB; not an annotation '
                f'file ({MAX_READERS} readers of one film fit in far less)'
            )
        text = raw.decode('utf-8-sig').strip()
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f'{path}: cannot read annotation ({err})') from err
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise AnnotationError(f'{path}: annotation file is empty')
    if len(lines) > MAX_READERS:
        raise AnnotationError(
            f'{path}: {len(lines)} lines of points, more than the '
            f'{MAX_READERS} readers one film may have'
        )
    readers = []
    for line_no, line in enumerate(lines, start=1):
        where = f'{path}: line {line_no}' if len(lines) > 1 else f'{path}'
        fields = []
        for groups in _FIELD.finditer(line):  # no further than the count it must have
            field = ''.join(g or '' for g in groups.groups()).strip()
            if field:
                fields.append(field)
            if num_keypoints is not None and len(fields) > num_keypoints:
                raise AnnotationError(f'{where}: has more than {num_keypoints} points')
        points = []
        for number, field in enumerate(fields, start=1):
            match = _POINT.match(field)
            if not match:
                raise AnnotationError(
                    f'{where}: point {number} is {field!r}, expected "(x, y)" with numbers'
                )
            points.append((float(match.group(1)), float(match.group(2))))
        if num_keypoints is not None and len(points) != num_keypoints:
            raise AnnotationError(f'{where}: has {len(points)} points, expected {num_keypoints}')
        num_keypoints = len(points)  # the first line fixes the count for the rest
        arr = np.asarray(points, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise AnnotationError(f'{where}: contains a non-finite coordinate')
        readers.append(arr)
    return np.stack(readers)


def read_film_size_and_spacing(path: Path, pixel_spacing=None) -> tuple[int, int, tuple | None]:
    """Read a film's size in pixels and its pixel spacing, decoding it fully.

    The whole film is decoded by :func:`~hip_mmpose.utils.film_io.read_film` (so a
    truncated or otherwise unreadable file is caught here, not in training).

    Args:
        path (Path): the film (JPEG, PNG or DICOM).
        pixel_spacing (float | tuple[float, float], optional): ``(x, y)`` mm per
            pixel (or one number) from ``spacing.csv``; it overrides a DICOM
            header's. Defaults to None.

    Returns:
        tuple[int, int, tuple[float, float] | None]: ``(width, height, spacing)``:
        the size in pixels and ``(x, y)`` mm per pixel, or None when unknown.

    Raises:
        AnnotationError: the film cannot be read (the message names it).
    """
    try:
        film = read_film(path, pixel_spacing=pixel_spacing)
    except FilmReadError as err:
        raise AnnotationError(str(err)) from err
    return (*film.size, film.pixel_spacing)


def _by_stem(paths) -> dict:
    """``{stem: path}``; two files with one stem (a.jpg, a.png) are refused, both named."""
    found: dict = {}
    for path in sorted(paths):
        if path.stem in found:
            raise AnnotationError(
                f'{found[path.stem]} and {path.name}: two files with the stem '
                f'{path.stem!r}; an annotation pairs with one image by stem, so keep one'
            )
        found[path.stem] = path
    return found


def pair_split_files(split_dir: Path) -> list[tuple[Path, Path]]:
    """(image, annotation) pairs of one split, sorted; refuses orphans either way.

    Args:
        split_dir (Path): the split folder holding ``images/`` and ``annotations/``.

    Returns:
        list[tuple[Path, Path]]: ``(film, annotation CSV)`` pairs matched by file
        stem, sorted by stem.

    Raises:
        AnnotationError: a folder missing, both empty, two files with one stem, or
            a film without annotation (or the reverse).
    """
    img_dir, ann_dir = split_dir / 'images', split_dir / 'annotations'
    for folder in (img_dir, ann_dir):
        if not folder.is_dir():
            raise AnnotationError(f'{folder}: folder missing (expected images/ and annotations/)')
    images = _by_stem(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    annotations = _by_stem(p for p in ann_dir.iterdir() if p.suffix.lower() == '.csv')
    if not images and not annotations:
        raise AnnotationError(f'{split_dir}: no images and no annotations found')
    for stem in sorted(images.keys() - annotations.keys()):
        raise AnnotationError(
            f'{images[stem]}: image has no annotation (expected {ann_dir / (stem + ".csv")})'
        )
    for stem in sorted(annotations.keys() - images.keys()):
        raise AnnotationError(f'{annotations[stem]}: annotation has no image in {img_dir}')
    return [(images[s], annotations[s]) for s in sorted(images)]


def find_splits(data_root: Path) -> list[str]:
    """Names of the split folders (those holding images/ or annotations/).

    Args:
        data_root (Path): the folder of the split folders.

    Returns:
        list[str]: the split folder names, sorted.

    Raises:
        AnnotationError: ``data_root`` is not a folder or holds no split folder.
    """
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise AnnotationError(f'{data_root}: not a folder')
    splits = sorted(
        p.name
        for p in data_root.iterdir()
        if p.is_dir() and ((p / 'images').is_dir() or (p / 'annotations').is_dir())
    )
    if not splits:
        raise AnnotationError(f'{data_root}: no split folders with images/ and annotations/')
    return splits


def coco_category(
    num_keypoints: int,
    keypoint_names: Sequence[str] | None,
    skeleton_names: Iterable[tuple[str, str]] = (),
) -> dict:
    """The single COCO category; skeleton as 1-based index pairs (COCO convention).

    Args:
        num_keypoints (int): the number of keypoints (used when no names are given).
        keypoint_names (Sequence[str], optional): the keypoint names, in order;
            None or empty names them ``kp1``, ``kp2``, ...
        skeleton_names (Iterable[tuple[str, str]]): links as pairs of keypoint
            names; pairs naming an unknown keypoint are dropped. Defaults to ().

    Returns:
        dict: the COCO category ``pelvis`` (id 1) with ``keypoints`` and ``skeleton``.
    """
    names = list(keypoint_names) if keypoint_names else [f'kp{i + 1}' for i in range(num_keypoints)]
    index = {name: i + 1 for i, name in enumerate(names)}
    skeleton = [[index[a], index[b]] for a, b in skeleton_names if a in index and b in index]
    return dict(id=1, name='pelvis', supercategory='pelvis', keypoints=names, skeleton=skeleton)


def convert_split(
    split_dir: Path, num_keypoints: int | None, progress: bool = True, readers: str | None = None
) -> dict:
    """Build the COCO dict of one split, checking every file.

    Every film is decoded (:func:`read_film_size_and_spacing`), its spacing taken
    from ``images/spacing.csv`` or its DICOM header; every point must lie inside
    its film. Each annotation's box is the points' bounding box (film pixels),
    every point is marked visible (2).

    Args:
        split_dir (Path): the split folder holding ``images/`` and ``annotations/``.
        num_keypoints (int, optional): the number of points every file must have;
            None lets the first file fix it for the rest.
        progress (bool): show a progress bar. Defaults to True.
        readers (str, optional): ``'mean'``: an annotation file may hold one line
            per reader (:func:`parse_annotation_readers`); the film's points are
            their mean, and a film read more than once keeps every reading as
            ``reader_keypoints`` (``[x1, y1, x2, y2, ...]`` per reader) with
            ``num_readers``. Defaults to None (one line per file).

    Returns:
        dict: COCO keypoint data: ``info``, ``images`` (with ``pixel_spacing``
        ``[x, y]`` mm where known), ``annotations`` and one category with
        generic keypoint names (:func:`convert_dataset` names them).

    Raises:
        AnnotationError: a split that cannot be paired; :class:`AnnotationErrors`
            naming every bad file once all have been checked.
        ValueError: ``readers`` is not one of :data:`READER_MODES`.
    """
    if readers is not None and readers not in READER_MODES:
        raise ValueError(f'readers must be one of {READER_MODES} or None, got {readers!r}')
    split_dir = Path(split_dir)
    pairs = pair_split_files(split_dir)
    try:
        spacings = folder_spacings(split_dir / 'images')
    except FilmReadError as err:
        raise AnnotationError(str(err)) from err
    unknown = sorted(spacings.keys() - {img.name for img, _ in pairs})
    if unknown:
        raise AnnotationError(
            f'{split_dir / "images" / "spacing.csv"}: names {unknown[0]!r}, '
            'which is not a film of this split'
        )
    images, annotations, errors = [], [], []
    for image_id, (img_path, ann_path) in enumerate(
        tqdm(pairs, desc=f'{split_dir.name}', unit='film', disable=not progress), start=1
    ):
        try:
            image, annotation = _convert_film(
                image_id, img_path, ann_path, num_keypoints, readers, spacings.get(img_path.name)
            )
        except AnnotationError as err:  # every file is checked; all bad ones are named
            errors.append(str(err))
            continue
        num_keypoints = annotation['num_keypoints']  # first file fixes the count for the rest
        images.append(image)
        annotations.append(annotation)
    if errors:
        raise AnnotationErrors(errors)
    return dict(
        info=dict(description=f'hip_mmpose conversion of {split_dir}'),
        images=images,
        annotations=annotations,
        categories=[coco_category(num_keypoints, None)],
    )


def _convert_film(image_id, img_path, ann_path, num_keypoints, readers, spacing) -> tuple:
    """The COCO image and annotation of one film (:func:`convert_split`).

    Raises:
        AnnotationError: a bad annotation or film, named.
    """
    reads = (
        parse_annotation_readers(ann_path, num_keypoints)
        if readers
        else parse_annotation_csv(ann_path, num_keypoints)[None]
    )
    points = reads.mean(0)  # one reader: their points as they are
    num_keypoints = len(points)
    width, height, spacing = read_film_size_and_spacing(img_path, spacing)
    every = reads.reshape(-1, 2)
    outside = np.flatnonzero(
        (every[:, 0] < 0) | (every[:, 0] > width) | (every[:, 1] < 0) | (every[:, 1] > height)
    )
    if outside.size:
        reader, k = divmod(int(outside[0]), num_keypoints)
        line = f' line {reader + 1},' if len(reads) > 1 else ''
        raise AnnotationError(
            f'{ann_path}:{line} point {k + 1} ({every[outside[0], 0]:g}, '
            f'{every[outside[0], 1]:g}) lies outside the {width}x{height} image '
            f'{img_path.name}'
        )
    x0, y0 = points.min(0)
    x1, y1 = points.max(0)
    keypoints = np.concatenate([points, np.full((len(points), 1), 2.0)], 1)
    image = dict(id=image_id, file_name=img_path.name, width=width, height=height)
    if spacing is not None:
        image['pixel_spacing'] = [round(float(v), 6) for v in spacing]
    annotation = dict(
        id=image_id,
        image_id=image_id,
        category_id=1,
        iscrowd=0,
        keypoints=[round(float(v), 3) for v in keypoints.ravel()],
        num_keypoints=int(len(points)),
        bbox=[round(float(v), 3) for v in (x0, y0, x1 - x0, y1 - y0)],
        area=round(float((x1 - x0) * (y1 - y0)), 3),
    )
    if len(reads) > 1:
        annotation.update(
            num_readers=len(reads),
            reader_keypoints=[[round(float(v), 3) for v in read.ravel()] for read in reads],
        )
    return image, annotation


def reader_agreement(cocos: Iterable[dict]) -> dict | None:
    """How the readers of the films read more than once agree (``readers='mean'``).

    Every pair of readings of one film is compared: the acetabular index of each hip
    and its IHDI grade (:mod:`hip_mmpose.geometry`).

    Args:
        cocos (Iterable[dict]): COCO dicts as :func:`convert_split` makes them.

    Returns:
        dict | None: ``films`` (read more than once), ``pairs`` (of readings),
        ``readers`` (the most readings of one film), ``AI_MAD`` (mean absolute
        difference of two readings' AI, deg), ``AI_reader_sd`` (sd of one
        reading's error, ``sqrt(mean(d^2) / 2)``), ``AI_MAE_error_free`` and
        ``AI_MAE_error_free_mean`` (the AI MAE an error-free model would measure
        against one reading and against the mean of ``readers`` readings, for normal
        errors), ``grade_agreement`` (share of hips both readings grade alike) and
        ``grade_kappa`` (Cohen's); None where no film has two readings or the films
        do not have the 12 hip points.
    """
    from itertools import combinations

    from hip_mmpose import geometry
    from hip_mmpose.evaluation import stats

    first, second, films, most = [], [], 0, 0
    for coco in cocos:
        for ann in coco['annotations']:
            reads = np.asarray(ann.get('reader_keypoints') or [], float)
            if len(reads) < 2:
                continue
            reads = reads.reshape(len(reads), -1, 2)
            if reads.shape[1] != geometry.NUM_KEYPOINTS:
                return None
            films, most = films + 1, max(most, len(reads))
            for i, j in combinations(range(len(reads)), 2):
                first.append(reads[i])
                second.append(reads[j])
    if not films:
        return None
    a, b = np.stack(first), np.stack(second)
    diff = (geometry.acetabular_indices(a) - geometry.acetabular_indices(b)).ravel()
    diff = diff[np.isfinite(diff)]
    grade_a, grade_b = geometry.ihdi_grades(a).ravel(), geometry.ihdi_grades(b).ravel()
    labels = (geometry.GRADE_UNDEFINED,) + geometry.GRADES
    reader_sd = float(np.sqrt((diff**2).mean() / 2)) if len(diff) else float('nan')
    return dict(
        films=films,
        pairs=len(a),
        readers=most,
        AI_MAD=float(np.abs(diff).mean()) if len(diff) else float('nan'),
        AI_reader_sd=reader_sd,
        AI_MAE_error_free=float(stats.normal_mae(reader_sd)),
        AI_MAE_error_free_mean=float(stats.normal_mae(reader_sd / np.sqrt(most))),
        grade_agreement=float((grade_a == grade_b).mean()),
        grade_kappa=float(stats.cohen_kappa(stats.confusion_matrix(grade_a, grade_b, labels))),
    )


def load_metainfo_names(metainfo_file: str | os.PathLike) -> tuple[list[str], list]:
    """Keypoint names and skeleton name pairs from an MMPose metainfo file.

    Args:
        metainfo_file (str | os.PathLike): an MMPose dataset-info config (Python,
            read with ``Config.fromfile``).

    Returns:
        tuple[list[str], list[tuple[str, str]]]: the keypoint names in id order,
        and the skeleton links as name pairs.
    """
    from mmengine.config import Config

    info = Config.fromfile(str(metainfo_file)).dataset_info
    names = [info.keypoint_info[i]['name'] for i in sorted(info.keypoint_info)]
    links = [tuple(info.skeleton_info[i]['link']) for i in sorted(info.skeleton_info)]
    return names, links


MANIFEST = '.hip_mmpose_conversion.json'
_OUTPUT_HEAD = '{"info": {"description": "hip_mmpose conversion of '


def _previous_outputs(out_dir: Path) -> None:
    """Refuse an existing ``out_dir`` holding anything this converter did not write."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise AnnotationError(f'{out_dir}: exists and is not a folder')
    listed: set = set()
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        try:
            listed = set(json.loads(manifest.read_text()).get('files', []))
        except (OSError, ValueError, AttributeError, TypeError, RecursionError):
            listed = set()
    for entry in sorted(out_dir.iterdir()):
        if entry.name == MANIFEST or entry.name in listed:
            continue
        if entry.is_file() and entry.suffix == '.json':
            with open(entry, encoding='utf-8', errors='replace') as fh:
                if fh.read(len(_OUTPUT_HEAD)) == _OUTPUT_HEAD:
                    continue  # an earlier conversion's split file
        raise AnnotationError(
            f'{entry}: not written by this converter; --out-dir is replaced as a whole, '
            'so give it a folder of its own (nothing was changed)'
        )


def _write_set(results: dict, out_dir: Path) -> dict[str, Path]:
    """Write every split into a temporary folder, then swap it in for ``out_dir``."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f'.{out_dir.name}.new-'))
    old = None
    try:
        for split, coco in results.items():
            with open(tmp / f'{split}.json', 'w') as fh:
                json.dump(coco, fh)
                fh.flush()
                os.fsync(fh.fileno())
        (tmp / MANIFEST).write_text(
            json.dumps(dict(files=sorted(f'{split}.json' for split in results)))
        )
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f'.{out_dir.name}.old-'))
            os.replace(out_dir, old / 'previous')
            try:
                os.replace(tmp, out_dir)
            except BaseException:
                os.replace(old / 'previous', out_dir)  # put the good output back
                raise
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not (old / 'previous').exists():
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return {split: out_dir / f'{split}.json' for split in results}


def convert_dataset(
    data_root,
    out_dir,
    num_keypoints: int | None = None,
    metainfo_file=None,
    progress: bool = True,
    readers: str | None = None,
) -> dict[str, Path]:
    """Convert every split under ``data_root``; returns ``{split: json path}``.

    All splits are converted in memory first and written only if all succeed, as
    one set (temporary folder swapped into place).

    Args:
        data_root (str | Path): folder of ``<split>/images`` and
            ``<split>/annotations``.
        out_dir (str | Path): where ``<split>.json`` go; replaced as a whole (see
            module doc).
        num_keypoints (int, optional): points every file must have. Defaults to
            None: the metainfo's keypoint count, or without names the first file's.
        metainfo_file (str | Path, optional): MMPose metainfo naming the keypoints.
            Defaults to None: the hip data set's
            (:data:`hip_mmpose.datasets.METAINFO_FILE`).
        progress (bool): show a progress bar. Defaults to True.
        readers (str, optional): ``'mean'`` accepts one line per reader and takes
            their mean (:func:`convert_split`). Defaults to None.

    Returns:
        dict[str, Path]: ``{split name: written <split>.json}``.

    Raises:
        AnnotationError: bad input or a file that cannot be read or written,
            naming the path; nothing is changed then.
    """
    data_root, out_dir = Path(data_root), Path(out_dir)
    if metainfo_file is None:
        from hip_mmpose.datasets.hip_xray_dataset import METAINFO_FILE as metainfo_file
    names, links = load_metainfo_names(metainfo_file)
    if num_keypoints is None and names:
        num_keypoints = len(names)  # the data set's count: the odd file is the one named
    try:
        _previous_outputs(out_dir)
        results, errors = {}, []
        for split in find_splits(data_root):
            try:
                coco = convert_split(data_root / split, num_keypoints, progress, readers)
            except AnnotationErrors as err:  # the other splits are checked too
                errors += err.errors
                continue
            except AnnotationError as err:
                errors.append(str(err))
                continue
            count = coco['annotations'][0]['num_keypoints']
            if num_keypoints is None:
                num_keypoints = count  # every split must agree with the first
            use_names = names if names and len(names) == count else None
            coco['categories'] = [coco_category(count, use_names, links if use_names else ())]
            results[split] = coco
        if errors:
            raise AnnotationErrors(errors)
        return _write_set(results, out_dir)
    except OSError as err:
        where = err.filename or out_dir
        raise AnnotationError(f'{where}: {err.strerror or err}') from None
