"""The batch journal: append-only JSON lines, one record per graded (submission, exercise).

Each record is written with a single ``os.write`` of the whole line (sorted keys,
ASCII, no spaces), then ``os.fsync``, so a ``kill -9`` at any moment leaves every
earlier record intact and at worst one truncated last line. Reading ignores that
truncated last line, and skips a corrupt line anywhere else, each with a warning
returned to the caller (this module never prints). Opening the journal for
appending cuts such a truncated tail off first, so that the next record starts
on a line of its own.

A record::

    {"key": <sha256 hex>, "student": "alice", "exercise": "exercise1",
     "status": "graded" | "missing" | "refused" | "error",
     "result": <ExerciseResult.to_dict(show_hidden=True)>,   # absent for some errors
     "title": "...", "notes": [...], "message": "..."}

``key`` = sha256 of (submission content hash, grader version, exercise id, and the
grading settings that change a result): the same key means the same grade.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

from grader.errors import GraderError

JOURNAL_NAME = "journal.jsonl"
STATUSES = ("graded", "missing", "refused", "error")
# Outcomes that are final: a resumed run does not grade these again. An "error" is the
# grader's own fault (not the submission's), so a re-run tries that pair again.
FINAL_STATUSES = ("graded", "missing", "refused")


def record_key(content_hash: str, grader_version: str, exercise_id: str,
               settings: dict | None = None) -> str:
    """The journal key of one (submission content, grader version, exercise[, settings])."""
    parts = [content_hash, grader_version, exercise_id]
    if settings:
        parts.append(json.dumps(settings, sort_keys=True, separators=(",", ":")))
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def encode(record: dict) -> bytes:
    """One journal line: deterministic JSON (sorted keys, ASCII) and a newline."""
    return (json.dumps(record, sort_keys=True, ensure_ascii=True, separators=(",", ":"),
                       allow_nan=False) + "\n").encode("ascii")


def _valid(record: object) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("key"), str)
            and isinstance(record.get("exercise"), str) and record.get("status") in STATUSES
            and isinstance(record.get("result", {}), dict))


def _parse(data: bytes, name: str) -> tuple[list[dict], list[str], int]:
    """(records, warnings, length of the well-formed prefix to keep)."""
    records: list[dict] = []
    warnings: list[str] = []
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline; else a line cut short
    keep = len(data) - len(tail)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            record = None
        if _valid(record):
            records.append(record)
        else:
            warnings.append(f"{name}: line {number} is corrupt; skipped it")
    if tail.strip():
        try:
            record = json.loads(tail.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            record = None
        if _valid(record):  # complete but for its newline: keep it
            records.append(record)
            keep = len(data)
        else:
            warnings.append(f"{name}: the last line (line {len(lines) + 1}) is truncated "
                            "(an interrupted run?); ignored it")
    return records, warnings, keep


def read_journal(path: Path) -> tuple[list[dict], list[str]]:
    """All valid records of the journal at ``path`` (none if absent) and warnings."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as error:
        raise GraderError(f"cannot read the journal {path}: {error.strerror}") from None
    records, warnings, _ = _parse(data, path.name)
    return records, warnings


class Journal:
    """An open journal, appending one fsynced line per record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict] = []
        self.warnings: list[str] = []
        created = not path.exists()
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise GraderError(f"cannot open the journal {path}: {error.strerror}") from None
        try:
            self._load_and_repair()
            if created:
                self._fsync_folder()
        except BaseException:
            os.close(self._fd)
            raise

    def _load_and_repair(self) -> None:
        size = os.fstat(self._fd).st_size
        chunks = []
        offset = 0
        while offset < size:
            chunk = os.pread(self._fd, min(size - offset, 1 << 20), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        data = b"".join(chunks)
        self.records, self.warnings, keep = _parse(data, self.path.name)
        if keep < len(data):  # a truncated last line: cut it off so the next record starts clean
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
        elif data and not data.endswith(b"\n"):  # a complete last record missing its newline
            self._write(b"\n")

    def _fsync_folder(self) -> None:
        try:
            folder = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(folder)
        except OSError:
            pass
        finally:
            os.close(folder)

    def _write(self, line: bytes) -> None:
        before = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, line)  # O_APPEND: the whole line, at the end
            while written < len(line):  # a short write (full disk, signal): finish or fail
                written += os.write(self._fd, line[written:])
            os.fsync(self._fd)
        except OSError as error:
            # Leave no partial line behind (a full disk): the file stays a list of whole records.
            try:
                os.ftruncate(self._fd, before)
            except OSError:
                pass
            reason = "the disk is full" if error.errno == errno.ENOSPC else error.strerror
            raise GraderError(f"cannot write the journal {self.path}: {reason}") from None

    def append(self, record: dict) -> None:
        """Write ``record`` as one line, flushed to disk before returning."""
        if not _valid(record):
            raise ValueError(f"not a journal record: {record!r:.200}")
        self._write(encode(record))
        self.records.append(record)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
