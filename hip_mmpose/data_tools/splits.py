"""Patient-grouped train/val/test splits and k folds of a template-layout folder."""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from hip_mmpose.data_tools.csv_to_coco import AnnotationError, pair_split_files

DEFAULT_PATIENT_PATTERN = r'^([^_]+)_'


def patient_ids(stems, pattern: str = DEFAULT_PATIENT_PATTERN, mapping_csv=None) -> dict:
    """``{stem: patient}`` from a regular expression (group 1) or a CSV ``file,patient``.

    Args:
        stems (Iterable[str]): the film file stems.
        pattern (str): a regular expression searched in each stem; its group 1
            (the whole match if it has no group) is the patient. Defaults to
            ``DEFAULT_PATIENT_PATTERN`` (the text before the first ``_``).
        mapping_csv (str | Path, optional): a CSV with columns ``file,patient``
            (``file`` matched by stem); used instead of ``pattern`` when given.
            Defaults to None.

    Returns:
        dict[str, str]: ``{stem: patient id}``.

    Raises:
        AnnotationError: a stem the pattern does not match, or missing from the CSV.
    """
    if mapping_csv:
        with open(mapping_csv, newline='') as fh:
            rows = {Path(r['file']).stem: r['patient'] for r in csv.DictReader(fh)}
        missing = [s for s in stems if s not in rows]
        if missing:
            raise AnnotationError(
                f'{mapping_csv}: no patient for {missing[0]} (and {len(missing) - 1} more)'
            )
        return {s: rows[s] for s in stems}
    regex = re.compile(pattern)
    out = {}
    for stem in stems:
        match = regex.search(stem)
        if not match:
            raise AnnotationError(
                f'{stem}: file name does not match the patient pattern {pattern!r}'
            )
        out[stem] = match.group(1) if regex.groups else match.group(0)
    return out


def assign_groups(groups: dict, fractions, seed: int = 0) -> list[list]:
    """Split patients into parts whose film counts follow ``fractions``.

    A patient is never divided. Largest patients first, each to the part furthest
    below its target *relative to that target*, so patients with many films spread
    over the parts in proportion too (ties: the seeded shuffle).

    Args:
        groups (dict): ``{patient: number of films}``.
        fractions (Sequence[float]): the parts' relative sizes (normalised to sum 1).
        seed (int): seed of the shuffle that orders patients of equal size.
            Defaults to 0.

    Returns:
        list[list]: one list of patients per fraction, in the order of ``fractions``.
    """
    rng = np.random.default_rng(seed)
    patients = list(groups)
    rng.shuffle(patients)
    patients.sort(key=lambda p: -groups[p])  # stable: shuffled order within equal sizes
    total = sum(groups.values())
    targets = np.asarray(fractions, float) / sum(fractions) * total
    filled = np.zeros(len(fractions))
    parts = [[] for _ in fractions]
    for patient in patients:
        i = int(np.argmax((targets - filled) / targets))
        parts[i].append(patient)
        filled[i] += groups[patient]
    return parts


def check_disjoint(named_parts: dict) -> None:
    """Refuse any patient present in two parts.

    Args:
        named_parts (dict): ``{part name: iterable of patients}``.

    Raises:
        AnnotationError: naming the patient and the two parts.
    """
    seen = {}
    for name, patients in named_parts.items():
        for p in patients:
            if p in seen and seen[p] != name:
                raise AnnotationError(f'patient {p} is in both {seen[p]} and {name}')
            seen[p] = name


def write_part(pairs, out_dir: Path, symlink: bool = False) -> None:
    """Copy (or link) films and annotations into a template-layout split folder.

    Args:
        pairs (Iterable[tuple[Path, Path]]): ``(film, annotation CSV)`` pairs.
        out_dir (Path): the split folder; ``images/`` and ``annotations/`` are
            created in it, the files keep their names.
        symlink (bool): link to the (resolved) source files instead of copying
            them. Defaults to False.
    """
    for sub in ('images', 'annotations'):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    for img, ann in pairs:
        for src, sub in ((img, 'images'), (ann, 'annotations')):
            dst = out_dir / sub / src.name
            if symlink:
                dst.symlink_to(src.resolve())
            else:
                shutil.copy2(src, dst)


def split_folder(
    source,
    out_root,
    fractions=(0.7, 0.15, 0.15),
    names=('train', 'val', 'test'),
    folds: int | None = None,
    pattern=DEFAULT_PATIENT_PATTERN,
    mapping_csv=None,
    seed: int = 0,
    symlink: bool = False,
) -> dict:
    """Write the split (or ``folds`` folds) of ``source`` under ``out_root``.

    Patients are grouped by :func:`patient_ids` and never divided between parts
    (:func:`assign_groups`). With ``folds=k`` the patients go to k groups; fold i
    tests on group i, selects models on group i+1 and trains on the rest, written
    as ``fold<i>/{train,val,test}``.

    Args:
        source (str | Path): a template-layout folder (``images/``,
            ``annotations/``).
        out_root (str | Path): where the parts are written; must be absent or empty.
        fractions (Sequence[float]): relative film counts of the parts (ignored
            with ``folds``). Defaults to (0.7, 0.15, 0.15).
        names (Sequence[str]): the parts' folder names, one per fraction.
            Defaults to ('train', 'val', 'test').
        folds (int, optional): write k folds (3 <= k <= patients) instead of one
            split. Defaults to None.
        pattern (str): see :func:`patient_ids`. Defaults to
            ``DEFAULT_PATIENT_PATTERN``.
        mapping_csv (str | Path, optional): see :func:`patient_ids`. Defaults to
            None.
        seed (int): seed of :func:`assign_groups`. Defaults to 0.
        symlink (bool): link the files instead of copying them. Defaults to False.

    Returns:
        dict[str, tuple[int, int]]: ``{part folder relative to out_root (e.g.
        'train', 'fold0/val'): (films, patients)}``.

    Raises:
        AnnotationError: ``out_root`` not empty, a bad ``folds``, unpaired files,
            or a patient that cannot be found.
    """
    source, out_root = Path(source), Path(out_root)
    if out_root.exists() and any(out_root.iterdir()):
        raise AnnotationError(f'{out_root}: already exists and is not empty')
    pairs = {img.stem: (img, ann) for img, ann in pair_split_files(source)}
    owner = patient_ids(list(pairs), pattern, mapping_csv)
    films_of = defaultdict(list)
    for stem, patient in owner.items():
        films_of[patient].append(stem)
    sizes = {p: len(s) for p, s in films_of.items()}
    if folds:
        if folds < 3 or folds > len(sizes):
            raise AnnotationError(f'{source}: need 3 <= folds <= patients ({len(sizes)})')
        groups = assign_groups(sizes, [1] * folds, seed)
        layout = {}
        for i in range(folds):
            test, val = groups[i], groups[(i + 1) % folds]
            train = [p for j, g in enumerate(groups) if j not in (i, (i + 1) % folds) for p in g]
            layout.update({f'fold{i}/train': train, f'fold{i}/val': val, f'fold{i}/test': test})
            check_disjoint({'train': train, 'val': val, 'test': test})
    else:
        layout = dict(zip(names, assign_groups(sizes, fractions, seed)))
        check_disjoint(layout)
    counts = {}
    for part, patients in layout.items():
        stems = sorted(s for p in patients for s in films_of[p])
        write_part([pairs[s] for s in stems], out_root / part, symlink)
        counts[part] = (len(stems), len(patients))
    return counts


def check_split(root, pattern=DEFAULT_PATIENT_PATTERN, mapping_csv=None) -> dict:
    """Patients shared between the split folders of an existing data set.

    Args:
        root (str | Path): the folder of the split folders (see
            :func:`~hip_mmpose.data_tools.csv_to_coco.find_splits`).
        pattern (str): see :func:`patient_ids`. Defaults to
            ``DEFAULT_PATIENT_PATTERN``.
        mapping_csv (str | Path, optional): see :func:`patient_ids`. Defaults to
            None.

    Returns:
        dict[tuple[str, str], list[str]]: ``{(split a, split b): sorted shared
        patients}`` for each pair of splits sharing any; empty when disjoint.
    """
    root = Path(root)
    from hip_mmpose.data_tools.csv_to_coco import find_splits

    parts = {}
    for split in find_splits(root):
        stems = [img.stem for img, _ in pair_split_files(root / split)]
        parts[split] = set(patient_ids(stems, pattern, mapping_csv).values())
    shared = {}
    names = sorted(parts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            common = parts[a] & parts[b]
            if common:
                shared[(a, b)] = sorted(common)
    return shared
