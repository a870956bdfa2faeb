"""Reviewed films as training data: the template's layout, which the converter reads.

:func:`export_reviews` writes::

    DIR/<split>/images/<film>                 the film file, copied as it is
    DIR/<split>/images/spacing.csv            where the films' folder had one
    DIR/<split>/annotations/<stem>.csv        one line "(x1, y1)",...,"(x12, y12)" per reader
    DIR/<split>/review_manifest.json          who read what, when, in which state

for ``tools/convert_csv_to_coco.py DIR --out-dir COCO`` (``--readers mean`` where a
film has several readers' lines). Coordinates are the original film's pixels, as the
review holds them (0.01 px). ``DIR/<split>`` is written whole: filled beside its
place, then swapped in; an earlier export there (one with this manifest) is replaced,
anything else is refused and left as it is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

from hip_mmpose.review import measure as measuring
from hip_mmpose.review.films import FilmSet, ReviewSetupError, inside
from hip_mmpose.review.store import SIGNED, ReviewFile, now, review_paths

EXPORT_FORMAT = 'hip_mmpose review export 1'
MANIFEST = 'review_manifest.json'
SPLIT_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}')


def coordinate(value: float) -> str:
    """A coordinate as the annotation files write it (up to 3 decimals, no trailing 0).

    Args:
        value (float): a coordinate in film pixels.

    Returns:
        str: e.g. ``'12.5'``, ``'300'``.
    """
    text = f'{value:.3f}'.rstrip('0').rstrip('.')
    return '0' if text in ('', '-0') else text


def annotation_line(points) -> str:
    """One reader's points as a line of the template's annotation CSV.

    Args:
        points (Sequence): ``[[x, y], ...]`` in film pixels.

    Returns:
        str: ``"(x1, y1)","(x2, y2)",...``.
    """
    return ','.join(f'"({coordinate(x)}, {coordinate(y)})"' for x, y in points)


def _inside_film(points, size) -> bool:
    width, height = size
    return all(0 <= x <= width and 0 <= y <= height for x, y in points)


def export_reviews(
    films: FilmSet,
    out_dir,
    export_dir,
    split: str = 'train',
    include_unchecked: bool = False,
    model_records: dict | None = None,
) -> dict:
    """Write every reader's signed-off films of the review in ``out_dir`` to ``export_dir``.

    Each review file of ``out_dir`` (one per reader) gives one annotation line per
    film it signed off (``accepted`` or ``corrected``). With ``include_unchecked``, a
    reader's unchecked film with all 12 points counts too, and a film no reader has
    touched is written with the model's points (reader ``model``) where those lie
    inside the film.

    Args:
        films (FilmSet): the review's films.
        out_dir (str | Path): the review's output folder (its ``review-*.json``).
        export_dir (str | Path): the export's root (``DIR``).
        split (str): the split folder to write. Defaults to ``'train'``.
        include_unchecked (bool): write unchecked films too. Defaults to False.
        model_records (dict, optional): ``{film: the model's record}`` for
            ``include_unchecked``. Defaults to None.

    Returns:
        dict: ``dir`` (the split folder), ``films`` (written), ``lines`` (annotation
        lines), ``readers`` (names), ``most_readers`` (lines of one film),
        ``skipped`` (``[{file, reason}]``), ``manifest`` (its path) and ``convert``
        (the converter's command line).

    Raises:
        ReviewSetupError: a bad split name, an export folder inside the films'
            folder, an unreadable review file, two exported films with one stem, or
            a split folder not written by an earlier export.
    """
    if not isinstance(split, str) or not SPLIT_PATTERN.fullmatch(split):
        raise ReviewSetupError(f'--export-split {split!r}: use letters, digits, ".", "_", "-"')
    export_dir = Path(export_dir)
    if inside(export_dir, films.folder):
        raise ReviewSetupError(
            f'{export_dir}: inside the films folder {films.folder}; export elsewhere'
        )
    readers = [ReviewFile.load(path) for path in review_paths(out_dir)]
    model_records = model_records or {}
    written, skipped = [], []
    for name in films.names:
        lines = [
            (reader, entry)
            for reader in readers
            if (entry := reader.films.get(name))
            and measuring.complete(entry['keypoints'])
            and (entry['state'] in SIGNED or include_unchecked)
        ]
        if not lines and include_unchecked and not any(name in r.films for r in readers):
            record = model_records.get(name)
            if record and 'error' not in record:
                points = [k[:2] for k in record['keypoints']]
                if not measuring.complete(points):
                    skipped.append(dict(file=name, reason="the model's points are incomplete"))
                elif not _inside_film(points, record.get('image_size') or films.info(name)[0]):
                    skipped.append(dict(file=name, reason="a model's point lies outside the film"))
                else:
                    model = SimpleNamespace(reviewer='model', blind=False)
                    entry = dict(state='unchecked', version=0, time=None, keypoints=points)
                    lines = [(model, entry)]
            elif record:
                skipped.append(dict(file=name, reason=record['error']))
            else:
                skipped.append(dict(file=name, reason='unchecked, and no model result'))
        if lines:
            written.append((name, lines))
    stems: dict = {}
    for name, _ in written:
        stem = Path(name).stem
        if stem in stems:
            raise ReviewSetupError(
                f'{stems[stem]} and {name}: two films with the stem {stem!r}; the '
                'converter pairs a film with its annotation by stem, so export one'
            )
        stems[stem] = name
    for reader in readers:
        for name in reader.films:
            if name not in films.paths:
                skipped.append(
                    dict(file=name, reason=f'read by {reader.reviewer}, not a film here')
                )
    split_dir = export_dir / split
    _check_previous(split_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=export_dir, prefix=f'.{split}.new-'))
    manifest_films, spacings = [], {}
    try:
        (tmp / 'images').mkdir()
        (tmp / 'annotations').mkdir()
        for name, lines in written:
            shutil.copyfile(films.path(name), tmp / 'images' / name)
            if name in films.spacings:
                spacings[name] = films.spacings[name][0]
            annotation = f'annotations/{Path(name).stem}.csv'
            text = '\n'.join(annotation_line(entry['keypoints']) for _, entry in lines) + '\n'
            (tmp / annotation).write_text(text, encoding='utf-8')
            manifest_films.append(
                dict(
                    file=name,
                    annotation=annotation,
                    lines=[
                        dict(
                            line=i,
                            reviewer=reader.reviewer,
                            blind=reader.blind,
                            state=entry['state'],
                            version=entry['version'],
                            time=entry['time'],
                        )
                        for i, (reader, entry) in enumerate(lines, start=1)
                    ],
                )
            )
        if spacings:
            rows = ''.join(f'{name},{value!r}\n' for name, value in sorted(spacings.items()))
            (tmp / 'images' / 'spacing.csv').write_text('file,spacing_mm\n' + rows)
        most = max((len(lines) for _, lines in written), default=0)
        convert = f'hip-convert {export_dir} --out-dir {export_dir / "coco"}' + (
            ' --readers mean' if most > 1 else ''
        )
        manifest = dict(
            format=EXPORT_FORMAT,
            exported=now(),
            split=split,
            films_folder=str(films.folder),
            review_folder=str(Path(out_dir).resolve()),
            include_unchecked=bool(include_unchecked),
            readers=sorted({r.reviewer for _, lines in written for r, _ in lines}),
            most_readers=most,
            convert=convert,
            films=manifest_films,
            skipped=skipped,
        )
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        for path in tmp.rglob('*'):
            if path.is_file():
                with open(path, 'rb') as fh:
                    os.fsync(fh.fileno())
        _swap(tmp, split_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dict(
        dir=str(split_dir),
        films=len(written),
        lines=sum(len(lines) for _, lines in written),
        readers=manifest['readers'],
        most_readers=most,
        skipped=skipped,
        manifest=str(split_dir / MANIFEST),
        convert=convert,
    )


def _check_previous(split_dir: Path) -> None:
    """Refuse a split folder that is not an earlier export (never deleted)."""
    if not split_dir.exists() and not split_dir.is_symlink():
        return
    manifest = split_dir / MANIFEST
    try:
        ours = (
            split_dir.is_dir()
            and not split_dir.is_symlink()
            and json.loads(manifest.read_text()).get('format') == EXPORT_FORMAT
        )
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise ReviewSetupError(
            f'{split_dir}: exists and was not written by a review export; choose another '
            'export folder or split (nothing was changed)'
        )


def _swap(tmp: Path, split_dir: Path) -> None:
    """Put the filled ``tmp`` in place of ``split_dir`` (an earlier export, or none)."""
    if not split_dir.exists():
        os.replace(tmp, split_dir)
        return
    old = Path(tempfile.mkdtemp(dir=split_dir.parent, prefix=f'.{split_dir.name}.old-'))
    os.replace(split_dir, old / 'previous')
    try:
        os.replace(tmp, split_dir)
    except BaseException:
        os.replace(old / 'previous', split_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
