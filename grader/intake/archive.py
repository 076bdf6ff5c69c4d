"""Safe extraction of a submission ``.zip`` (and safe copies of submission folders).

A submission archive is untrusted input. ``extract_zip`` refuses, with a
one-line ``SubmissionError``, anything that could write outside the fresh
destination folder or exhaust the disk: absolute paths, ``..`` components,
symbolic links and other non-regular members (checked in the Unix mode bits of
``external_attr``), names with NUL or control characters, duplicate names, too
many members, a total uncompressed size over the cap and a member whose
compression ratio betrays a zip bomb. Members are stream-copied with a running
byte count, so a header that lies about a member's size cannot inflate past the
caps. Files are created with ``O_EXCL | O_NOFOLLOW`` and mode 0644 (or the
caller's ``file_mode``: 0600 in a batch) whatever the archive says (no executable
or set-uid bits). A member whose path is too long (a component over 255 bytes, the
whole path over ``MAX_PATH_BYTES``), or that the disk refuses to create, refuses
that archive alone; only errors of the grader's own disk (full, read-only) escape.

``copy_folder`` applies the same caps to a submission folder and copies only
its regular files (symbolic links are skipped, never followed), so the grader
never reads a file outside the submission through a link.
"""

from __future__ import annotations

import errno
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.limits import ARCHIVE_RATIO_MIN_BYTES as RATIO_MIN_BYTES
from grader.limits import MAX_ARCHIVE_DEPTH as MAX_DEPTH
from grader.limits import MAX_ARCHIVE_MEMBERS as MAX_MEMBERS
from grader.limits import MAX_ARCHIVE_PATH_BYTES as MAX_PATH_BYTES
from grader.limits import MAX_ARCHIVE_RATIO as MAX_RATIO
from grader.limits import MAX_ARCHIVE_TOTAL_BYTES as MAX_TOTAL_BYTES
from grader.limits import MAX_PATH_COMPONENT_BYTES as MAX_COMPONENT_BYTES

# Errors of the grader's own disk, never the submission's fault: these stop the batch.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM})
CHUNK = 64 * 1024
# Operating-system clutter: never extracted, never counted as a top-level folder.
JUNK_NAMES = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", "__pycache__",
                        ".ipynb_checkpoints", ".git"})


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):.3g} MB"


def _refuse(archive_name: str, reason: str) -> SubmissionError:
    return SubmissionError(f"{archive_name}: {reason}")


def _shown(raw: str, limit: int = 200) -> str:
    """A member name for a one-line message: ascii(), at most ``limit`` characters."""
    text = ascii(raw)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _disk_error(error: OSError) -> bool:
    return error.errno in _DISK_ERRNOS


def _clean_name(raw: str, archive_name: str) -> PurePosixPath | None:
    """The member's relative path, or None for a member to skip (junk); refuses unsafe names."""
    shown = _shown(raw)
    if "\x00" in raw:
        raise _refuse(archive_name, f"member {shown} has a NUL byte in its name")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise _refuse(archive_name, f"member {shown} has a control character in its name")
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
        raise _refuse(archive_name, f"member {shown} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(archive_name, f"member {shown} has a '..' component (zip slip)")
    if not parts:
        return None
    if len(parts) > MAX_DEPTH:
        raise _refuse(archive_name, f"member {shown} is nested more than {MAX_DEPTH} folders deep")
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES for p in parts):
        raise _refuse(archive_name, f"member {shown} has a name component over "
                                    f"{MAX_COMPONENT_BYTES} bytes")
    if len("/".join(parts).encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise _refuse(archive_name, f"member {shown} has a path over {MAX_PATH_BYTES} "
                                    "bytes")
    if any(p in JUNK_NAMES or p.startswith("._") for p in parts):
        return None
    return PurePosixPath(*parts)


def _member_kind(info: zipfile.ZipInfo) -> str:
    """'file', 'dir', or the name of a refused kind, from the Unix mode bits."""
    mode = info.external_attr >> 16
    if mode:
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            return "symbolic link"
        if kind == stat.S_IFDIR:
            return "dir"
        if kind and kind != stat.S_IFREG:
            names = {stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
                     stat.S_IFIFO: "named pipe", stat.S_IFSOCK: "socket"}
            return names.get(kind, "special file")
    return "dir" if info.is_dir() else "file"


def extract_zip(archive: Path, destination: Path, *, max_members: int = MAX_MEMBERS,
                max_total_bytes: int = MAX_TOTAL_BYTES, max_ratio: float = MAX_RATIO,
                file_mode: int = 0o644) -> Path:
    """Extract ``archive`` into the new folder ``destination``; return the submission's root.

    The root is ``destination`` itself, or the single folder the archive holds at its
    top level (an archive of ``alice/`` is "unwrapped" to ``alice/``). Raises
    ``SubmissionError`` with a one-line reason for anything unsafe or malformed.
    """
    name = archive.name
    try:
        handle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise _refuse(name, f"not a valid zip archive ({error})") from None
    except OSError as error:
        raise _refuse(name, f"cannot be read ({error.strerror or error})") from None
    with handle:
        try:
            infos = handle.infolist()
        except (zipfile.BadZipFile, ValueError) as error:
            raise _refuse(name, f"not a valid zip archive ({error})") from None
        if len(infos) > max_members:
            raise _refuse(name, f"has {len(infos)} members; at most {max_members} are accepted")
        plan = _plan(infos, name, max_total_bytes, max_ratio)
        destination.mkdir(parents=False, exist_ok=False)
        written = 0
        for info, path, kind in plan:
            target = destination.joinpath(*path.parts)
            try:
                if kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # a name the disk refuses (too long, bad encoding ...)
                if _disk_error(error):
                    raise
                raise _refuse(name, f"member {_shown(info.filename)} cannot be written "
                                    f"({error.strerror or error})") from None
            written = _copy_member(handle, info, target, name, written, max_total_bytes,
                                   file_mode)
    return unwrap(destination)


def _plan(infos: list[zipfile.ZipInfo], name: str, max_total_bytes: int,
          max_ratio: float) -> list[tuple[zipfile.ZipInfo, PurePosixPath, str]]:
    """Validate every member before anything is written; return what to extract."""
    plan = []
    files: set[PurePosixPath] = set()
    dirs: set[PurePosixPath] = set()
    declared = 0
    seen_raw: set[str] = set()
    for info in infos:
        raw = info.orig_filename  # zipfile cuts ``filename`` at a NUL byte: check the original
        if raw in seen_raw:
            raise _refuse(name, f"member {_shown(raw)} appears twice")
        seen_raw.add(raw)
        path = _clean_name(raw, name)
        kind = _member_kind(info)
        if kind not in ("file", "dir"):
            raise _refuse(name, f"member {_shown(info.filename)} is a {kind}; only regular files "
                                "and folders are accepted")
        if path is None:
            continue
        if info.flag_bits & 0x1:
            raise _refuse(name, f"member {_shown(info.filename)} is encrypted")
        if kind == "dir":
            if path in files:
                raise _refuse(name, f"member {_shown(info.filename)} is both a file and a folder")
            dirs.add(path)
            plan.append((info, path, kind))
            continue
        if path in files:
            raise _refuse(name, f"member {_shown(info.filename)} appears twice")
        if path in dirs or any(parent in files for parent in path.parents):
            raise _refuse(name, f"member {_shown(info.filename)} is both a file and a folder")
        files.add(path)
        dirs.update(p for p in path.parents if p != PurePosixPath("."))
        declared += info.file_size
        if declared > max_total_bytes:
            raise _refuse(name, f"unpacks to more than {_size(max_total_bytes)}")
        if info.file_size >= RATIO_MIN_BYTES or info.compress_size == 0:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size and ratio > max_ratio:
                raise _refuse(name, f"member {_shown(info.filename)} has a compression ratio of "
                                    f"{ratio:.0f}:1 (over {max_ratio:g}:1: a zip bomb?)")
        plan.append((info, path, kind))
    return plan


def _copy_member(handle: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, name: str,
                 written: int, max_total_bytes: int, file_mode: int = 0o644) -> int:
    """Stream one member to ``target`` counting bytes; return the running total."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, file_mode)
    except FileExistsError:
        raise _refuse(name, f"member {_shown(info.filename)} appears twice") from None
    except OSError as error:  # a name the disk refuses (too long, bad encoding ...)
        if _disk_error(error):
            raise
        raise _refuse(name, f"member {_shown(info.filename)} cannot be written "
                            f"({error.strerror or error})") from None
    member_bytes = 0
    try:
        with os.fdopen(fd, "wb") as out, handle.open(info) as source:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                member_bytes += len(chunk)
                written += len(chunk)
                if member_bytes > info.file_size:
                    raise _refuse(name, f"member {_shown(info.filename)} is larger than its "
                                        "header says")
                if written > max_total_bytes:
                    raise _refuse(name, f"unpacks to more than {_size(max_total_bytes)}")
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as error:
        raise _refuse(name, f"member {_shown(info.filename)} is corrupt ({error})") from None
    except RuntimeError as error:  # zipfile: encrypted member, password required
        raise _refuse(name, f"member {_shown(info.filename)} cannot be read ({error})") from None
    except OSError as error:
        if _disk_error(error):
            raise
        raise _refuse(name, f"member {_shown(info.filename)} cannot be written "
                            f"({error.strerror or error})") from None
    return written


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name not in JUNK_NAMES and not p.name.startswith(".")]


def unwrap(folder: Path) -> Path:
    """The folder itself, or the single folder it holds (repeatedly, a few levels at most)."""
    for _ in range(4):
        entries = _visible(folder)
        if len(entries) != 1 or entries[0].is_symlink() or not entries[0].is_dir():
            break
        folder = entries[0]
    return folder


def copy_folder(source: Path, destination: Path, *, max_members: int = MAX_MEMBERS,
                max_total_bytes: int = MAX_TOTAL_BYTES, file_mode: int = 0o644) -> Path:
    """Copy the regular files of ``source`` into the new folder ``destination``; return its root.

    Symbolic links (to files or folders) and special files are skipped, never followed;
    operating-system clutter (``__MACOSX``, ``.git``, ``__pycache__`` ...) is left out.
    The same member-count and size caps as for archives apply.
    """
    destination.mkdir(parents=False, exist_ok=False)
    try:
        _copy_tree(source, destination, max_members, max_total_bytes, file_mode)
    except OSError as error:  # a name the disk refuses (too long ...): this submission alone
        if _disk_error(error):
            raise
        where = f" {_shown(os.path.basename(error.filename))}" if error.filename else ""
        raise SubmissionError(f"{source.name}: cannot copy{where} "
                              f"({error.strerror or error})") from None
    return unwrap(destination)


def _copy_tree(source: Path, destination: Path, max_members: int, max_total_bytes: int,
               file_mode: int) -> None:
    count = 0
    total = 0
    for folder, subfolders, names in os.walk(source, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if d not in JUNK_NAMES)
        relative = Path(folder).relative_to(source)
        if len(relative.parts) > MAX_DEPTH:
            raise SubmissionError(f"{source.name}: nested more than {MAX_DEPTH} folders deep")
        for sub in subfolders:
            if not os.path.islink(os.path.join(folder, sub)):
                (destination / relative / sub).mkdir()
        for file_name in sorted(names):
            if file_name in JUNK_NAMES or file_name.startswith("._"):
                continue
            path = Path(folder) / file_name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue
            count += 1
            if count > max_members:
                raise SubmissionError(f"{source.name}: more than {max_members} files; at most "
                                      f"{max_members} are accepted")
            if len((relative / file_name).as_posix().encode("utf-8", "surrogateescape")) \
                    > MAX_PATH_BYTES:
                raise SubmissionError(f"{source.name}: {_shown(file_name)} has a path over "
                                      f"{MAX_PATH_BYTES} bytes")
            total = _copy_file(path, destination / relative / file_name, total,
                               max_total_bytes, source.name, file_mode)


def _copy_file(path: Path, target: Path, total: int, max_total_bytes: int, label: str,
               file_mode: int = 0o644) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        source_fd = os.open(path, flags)
    except OSError as error:
        raise SubmissionError(f"{label}: cannot read {path.name} ({error.strerror})") from None
    out_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(source_fd, "rb") as source, os.fdopen(os.open(target, out_flags, file_mode),
                                                         "wb") as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > max_total_bytes:
                raise SubmissionError(f"{label}: more than {_size(max_total_bytes)}")
            out.write(chunk)
    return total
