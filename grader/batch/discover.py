"""Finding a class's submissions and preparing each one to grade.

One submission per sub-folder or ``.zip`` of DIR (a Gradescope export, one folder
per submission beside ``submission_metadata.yml``, is the same layout). Each
submission is copied (folders: regular files only, links never followed) or
safely extracted (``intake/archive.py``) into a private work folder, normalized (a
single wrapping folder and an ``exercises/`` sub-folder are looked through) and
hashed. Names that sanitize to the same id get distinct ids that depend on the
set of names only (``assign_ids``).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError, SubmissionError
from grader.intake.archive import JUNK_NAMES, copy_folder, extract_zip
from grader.intake.locate import EXERCISES_FOLDER

GRADESCOPE_METADATA = "submission_metadata.yml"




@dataclass
class Entry:
    """One student's submission as found in DIR."""

    id: str
    source: Path
    kind: str  # "folder" or "zip"
    root: Path | None = None  # the prepared, normalized copy
    content_hash: str = ""
    refused: str | None = None


def sanitize_id(name: str) -> str:
    """A safe file name for a submission id: letters, digits, ``.``, ``_``, ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:100]
    return cleaned or "submission"


def _name_hash(name: str, length: int = 8) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:length]


def assign_ids(names: list[str], stems: dict[str, str] | None = None) -> dict[str, str]:
    """A distinct, stable id for each entry name of DIR (``alice``, ``a b.zip``, ...).

    An id depends on the set of names only, never on their order: a name whose sanitized
    stem (``stems[name]``, default the name itself) is shared with no other entry (case
    folded, for case-insensitive disks) is that stem; in a group of entries sharing one,
    the one entry whose name *is* the stem keeps it (``alice`` beside ``Alice!``), and every
    other gets ``<stem>-<8 hex digits of sha256(its name)>``.
    """
    stems = stems or {}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(sanitize_id(stems.get(name, name)).lower(), []).append(name)
    ids: dict[str, str] = {}
    for members in groups.values():
        bases = {m: sanitize_id(stems.get(m, m)) for m in members}
        if len(members) == 1:
            ids[members[0]] = bases[members[0]]
            continue
        keepers = [m for m in members if m == bases[m]]
        for member in members:
            if len(keepers) == 1 and member == keepers[0]:
                ids[member] = bases[member]
            else:
                ids[member] = f"{bases[member]}-{_name_hash(member)}"
    # A hashed id equal to another entry's plain name (vanishingly unlikely): a longer hash.
    seen: dict[str, str] = {}
    for name in sorted(ids, key=lambda n: (ids[n] != sanitize_id(stems.get(n, n)), n)):
        candidate, length = ids[name], 8
        while candidate.lower() in seen:
            length += 8
            candidate = f"{sanitize_id(stems.get(name, name))}-{_name_hash(name, length)}"
        seen[candidate.lower()] = name
        ids[name] = candidate
    return ids


def discover(directory: Path, *, exclude: Path | None = None) -> tuple[list[Entry], list[str]]:
    """The submissions in ``directory`` (sorted by name) and warnings about what was skipped."""
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a folder of submissions.")
    warnings: list[str] = []
    items = sorted((p for p in directory.iterdir() if not p.name.startswith(".")),
                   key=lambda p: p.name)
    folders = [p for p in items if p.is_dir() and not p.is_symlink()]
    # A Gradescope export unpacked one level too high: look into its single folder.
    if (len(items) == 1 and folders and (folders[0] / GRADESCOPE_METADATA).is_file()):
        return discover(folders[0], exclude=exclude)
    excluded = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, str, str]] = []
    for path in items:
        if path.name in JUNK_NAMES or path.name == GRADESCOPE_METADATA:
            continue
        if excluded is not None and path.resolve() == excluded:
            continue
        if path.is_symlink():
            warnings.append(f"skipped {path.name}: a symbolic link (links are not followed)")
            continue
        if path.is_dir():
            kind, stem = "folder", path.name
        elif path.is_file() and path.suffix.lower() == ".zip":
            kind, stem = "zip", path.name[: -len(".zip")]
        else:
            continue
        found.append((path, kind, stem))
    ids = assign_ids([p.name for p, _, _ in found], {p.name: stem for p, _, stem in found})
    entries: list[Entry] = []
    for path, kind, stem in found:
        if ids[path.name] != stem:
            warnings.append(f"{path.name} is graded as {ids[path.name]!r}")
        entries.append(Entry(id=ids[path.name], source=path, kind=kind))
    return sorted(entries, key=lambda e: e.id), warnings


def content_hash(root: Path) -> str:
    """sha256 over the sorted (relative path, bytes) of every regular file under ``root``."""
    digest = hashlib.sha256()
    files = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders.sort()
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                files.append((path.relative_to(root).as_posix(), path))
    for relative, path in sorted(files):
        encoded = relative.encode("utf-8", "surrogateescape")
        digest.update(b"%d:" % len(encoded) + encoded)
        digest.update(b"%d:" % path.stat().st_size)
        with path.open("rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 16), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def handed_in(exercise) -> str:
    """What a student hands in for ``exercise``: its file, or its folder for a lab."""
    return exercise.file or exercise.folder


def handed_in_names(exercise) -> list[str]:
    if exercise.is_lab:
        return [exercise.folder]
    return [exercise.file, str(Path(exercise.file).with_suffix(".ipynb"))]


def normalize(root: Path, names: list[str]) -> Path:
    """Look through an ``exercises/`` folder when the exercise files are not at the top."""
    if not any((root / name).exists() for name in names):
        inner = root / EXERCISES_FOLDER
        if inner.is_dir() and not inner.is_symlink():
            return inner
    return root


def prepare(entry: Entry, destination: Path, names: list[str]) -> None:
    """Copy or extract ``entry`` into ``destination`` (new), normalize it and hash it."""
    try:
        if entry.kind == "zip":  # files 0600: every file written in OUT is private
            root = extract_zip(entry.source, destination, file_mode=0o600)
        else:
            root = copy_folder(entry.source, destination, file_mode=0o600)
    except SubmissionError as error:
        entry.refused = str(error)
        try:
            raw = _file_hash(entry.source) if entry.kind == "zip" else ""
        except OSError:
            raw = ""
        entry.content_hash = "refused:" + hashlib.sha256(
            f"{raw}\x00{entry.id}\x00{entry.refused}".encode()).hexdigest()
        return
    entry.root = normalize(root, names)
    entry.content_hash = content_hash(entry.root)
