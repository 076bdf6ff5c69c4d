"""A cache of the TensorFlow/Keras reference values, so that TensorFlow loads only on a miss.

Importing TensorFlow costs seconds; the computations the checks ask of it cost
milliseconds, and a regrade asks the same ones again (hypothesis is
derandomized, the fixed cases use fixed seeds). ``tf_ops`` therefore asks this
module first. A value is keyed by the SHA-256 of the operation's name, its
parameters and, for every input array, its dtype, shape and exact bytes; the
namespace of every key adds the versions of TensorFlow and Keras (read from
their installed metadata, without importing them), oneDNN's switch and this
format's version. A value is stored as the raw bytes TensorFlow returned, so a
hit returns exactly what the computation would have.

Two stores, both read at the first lookup:

- the shipped one, ``grader/reference/precomputed.bin``: the values a passing
  submission needs (``python -m grader.reference.cache --regenerate`` writes it;
  ``tests/test_reference_cache.py`` recomputes it with TensorFlow and compares);
- the user's one, ``$XDG_CACHE_HOME/grade`` or ``~/.cache/grade`` (mode 0700,
  files 0600; ``GRADER_REFERENCE_CACHE`` names another folder, ``off`` disables
  it): the misses of earlier runs, written at exit or by ``flush()``.
  ``GRADER_REFERENCE_SHIPPED=off`` ignores the shipped store.

Neither is in the sandbox child's view (bubblewrap binds neither the grader's
package nor the home folder; without bubblewrap the child runs as a private uid
that cannot enter a 0700 folder). A store is trusted only whole: a wrong magic,
a checksum that does not match (a truncated or edited file), another namespace,
an entry whose dtype, shape or offsets do not add up, a folder or file owned by
someone else or open to others: all read as an empty store, so that the value
is computed again. Never a wrong value, at worst a slower run.

File format: ``MAGIC``, an 8-byte little-endian header length, a JSON header
``{"namespace": {...}, "entries": {key: [[dtype, shape, offset], ...]}}``, the
concatenated array bytes, and the SHA-256 of everything before it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

MAGIC = b"grade-reference-cache 1\n"
FORMAT_VERSION = 1
SHIPPED = Path(__file__).with_name("precomputed.bin")
MAX_STORE_BYTES = 64 * 1024 * 1024  # past this, the user's store starts afresh
_ALLOWED_DTYPES = {"<f8", "<f4", "<i8", "<i4", "|b1", "<f2"}
_TF_DISTRIBUTIONS = ("tensorflow-cpu", "tensorflow", "tensorflow-intel", "tensorflow-macos", "tf-nightly")

Value = tuple[np.ndarray, ...]


def _version_of(names: Sequence[str]) -> str | None:
    from importlib import metadata

    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(name)
    return None


def _reference_code_hash() -> str:
    """SHA-256 (16 hex) of ``tf_ops.py``: a value computed by other reference code is a miss."""
    source = Path(__file__).with_name("tf_ops.py")
    try:
        return hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    except OSError:
        return "unreadable"


def namespace() -> dict:
    """What every cached value depends on besides its inputs (no TensorFlow import)."""
    return {"format": FORMAT_VERSION, "reference": _reference_code_hash(),
            "tensorflow": _version_of(_TF_DISTRIBUTIONS),
            "keras": _version_of(("keras",)), "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0"),
            "numpy": np.__version__.split(".")[0]}


def _canonical(value: object) -> object:
    """Parameters as JSON-able data that tells apart what changes a result (1 and 1.0, "same")."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return ["i", int(value)]
    if isinstance(value, float | np.floating):
        return ["f", float(value).hex()]
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    raise TypeError(f"cannot key a parameter of type {type(value).__name__}")


def make_key(op: str, arrays: Sequence[object], params: dict) -> str | None:
    """SHA-256 (hex) of ``op``, ``params`` and each array's dtype, shape and bytes; None: not cacheable."""
    digest = hashlib.sha256()
    try:
        head = json.dumps([op, {k: _canonical(v) for k, v in sorted(params.items())}])
    except TypeError:
        return None
    digest.update(head.encode())
    for array in arrays:
        data = np.asarray(array)
        if data.dtype.str not in _ALLOWED_DTYPES and data.dtype.kind not in "iub":
            return None
        digest.update(f"|{data.dtype.str}|{data.shape}|".encode())
        digest.update(data.tobytes(order="C"))
    return digest.hexdigest()


def _folder() -> Path | None:
    chosen = os.environ.get("GRADER_REFERENCE_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grade"


def _private_folder(folder: Path, create: bool) -> bool:
    """True when ``folder`` is a real folder of ours that nobody else can enter (made so if ours)."""
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return False
    if stat.S_IMODE(info.st_mode) & 0o077:
        try:
            os.chmod(folder, 0o700)
        except OSError:
            return False
    return True


def _read_store(path: Path, wanted_namespace: dict, require_owner: bool) -> dict[str, Value]:
    """Every entry of the store at ``path``, or {} when anything about it is off."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 2 * MAX_STORE_BYTES:
            return {}
        if require_owner and (info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077):
            return {}
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
    except OSError:
        return {}
    finally:
        os.close(fd)
    return parse_store(data, wanted_namespace)


def parse_store(data: bytes, wanted_namespace: dict) -> dict[str, Value]:
    """The entries of a store's bytes; {} for a wrong magic, checksum, namespace or layout."""
    start = len(MAGIC) + 8
    if len(data) < start + 32 or not data.startswith(MAGIC):
        return {}
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        return {}
    header_length = int.from_bytes(data[len(MAGIC):start], "little")
    if start + header_length > len(data) - 32:
        return {}
    try:
        header = json.loads(data[start:start + header_length])
        if header.get("namespace") != wanted_namespace:
            return {}
        blob = memoryview(data)[start + header_length:len(data) - 32]
        entries = {}
        for key, parts in header["entries"].items():
            arrays = []
            for dtype_name, shape, offset in parts:
                if dtype_name not in _ALLOWED_DTYPES:
                    return {}
                dtype = np.dtype(dtype_name)
                shape = tuple(int(s) for s in shape)
                count = int(np.prod(shape, dtype=np.int64))
                if count < 0 or offset < 0 or offset + count * dtype.itemsize > len(blob):
                    return {}
                array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
                arrays.append(array)
            entries[str(key)] = tuple(arrays)
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
    return entries


def encode_store(entries: dict[str, Value], store_namespace: dict) -> bytes:
    """The bytes of a store holding ``entries`` (sorted by key: the same entries, the same bytes)."""
    table: dict[str, list] = {}
    chunks: list[bytes] = []
    offset = 0
    for key in sorted(entries):
        parts = []
        for array in entries[key]:
            array = np.asarray(array)
            raw = array.tobytes(order="C")
            parts.append([array.dtype.str, list(array.shape), offset])
            chunks.append(raw)
            offset += len(raw)
        table[key] = parts
    header = json.dumps({"namespace": store_namespace, "entries": table}, sort_keys=True).encode()
    body = MAGIC + len(header).to_bytes(8, "little") + header + b"".join(chunks)
    return body + hashlib.sha256(body).digest()


class ReferenceCache:
    """The lookups of one process: the shipped and the user's stores, and the values computed since."""

    def __init__(self, folder: Path | None, shipped: Path | None = SHIPPED) -> None:
        if os.environ.get("GRADER_REFERENCE_SHIPPED", "").strip().lower() in ("off", "0", "none"):
            shipped = None
        self.folder = folder
        self.shipped = shipped
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, Value] | None = None
        self._new: dict[str, Value] = {}
        self._namespace: dict | None = None
        self._lock = threading.Lock()
        self.disabled = False

    @property
    def store_path(self) -> Path | None:
        if self.folder is None or self._namespace is None:
            return None
        tag = hashlib.sha256(json.dumps(self._namespace, sort_keys=True).encode()).hexdigest()[:16]
        return self.folder / f"reference-{tag}.bin"

    def load(self) -> None:
        """Read both stores now (cheap; a Checklist's ``prepare``); idempotent."""
        with self._lock:
            if self._entries is not None:
                return
            self._namespace = namespace()
            entries: dict[str, Value] = {}
            if self._namespace["tensorflow"] is None:  # no TensorFlow installed: nothing to trust
                self._entries = entries
                return
            if self.shipped is not None:
                entries.update(_read_store(self.shipped, self._namespace, require_owner=False))
            path = self.store_path
            if path is not None and _private_folder(path.parent, create=False):
                entries.update(_read_store(path, self._namespace, require_owner=True))
            self._entries = entries

    def lookup(self, op: str, arrays: Sequence[object], params: dict, compute: Callable[[], Value]) -> Value:
        """The cached value of ``op`` on these inputs, else ``compute()`` (remembered for next time)."""
        self.load()
        key = None if self.disabled else make_key(op, arrays, params)
        if key is not None:
            found = self._entries.get(key) or self._new.get(key)
            if found is not None:
                self.hits += 1
                return tuple(np.array(a, copy=True) for a in found)
        self.misses += 1
        value = tuple(np.asarray(v) for v in compute())
        if key is not None and not self.disabled and all(v.dtype.str in _ALLOWED_DTYPES for v in value):
            self._new[key] = tuple(np.array(v, copy=True) for v in value)
        return value

    def confirm_version(self, package: str, version: str) -> None:
        """Called once ``package`` ("tensorflow", "keras") is imported: a misread version disables the cache."""
        self.load()
        if self._namespace.get(package) != version:
            self.disabled = True
            self._entries = {}
            self._new = {}

    def flush(self) -> None:
        """Merge the values computed since the last flush into the user's store (atomically)."""
        with self._lock:
            new, self._new = self._new, {}
        path = self.store_path
        if not new or path is None or self.disabled or not _private_folder(path.parent, create=True):
            return
        try:
            with open(path.parent / "lock", "a") as lock:
                os.chmod(lock.fileno(), 0o600)
                _lock_exclusively(lock)
                merged = _read_store(path, self._namespace, require_owner=True)
                if sum(sum(a.nbytes for a in v) for v in merged.values()) > MAX_STORE_BYTES:
                    merged = {}
                merged.update(new)
                data = encode_store(merged, self._namespace)
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".reference-")
                try:
                    with os.fdopen(handle, "wb") as out:
                        out.write(data)
                    os.replace(temporary, path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary)
                    raise
        except OSError:
            return  # a full disk or a read-only home: the next run computes the values again
        with self._lock:
            if self._entries is not None:
                self._entries.update(new)


_CACHE: ReferenceCache | None = None


def current() -> ReferenceCache:
    """This process's cache (created at the first call; flushed at exit)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = ReferenceCache(_folder())
    return _CACHE


def flush() -> None:
    """Write this process's new values to the user's store (a batch worker, after each pair)."""
    if _CACHE is not None:
        _CACHE.flush()


atexit.register(flush)


def reset(folder: Path | None = None, shipped: Path | None = SHIPPED) -> ReferenceCache:
    """Start a new process-wide cache on ``folder`` (tests, ``--regenerate``); the old one is flushed."""
    global _CACHE
    if _CACHE is not None:
        _CACHE.flush()
    _CACHE = ReferenceCache(folder, shipped)
    return _CACHE


_BATCH_PRELUDE = "from grader.checking.properties import same_draws_in_every_process; same_draws_in_every_process(); "


def regenerate(exercises: Sequence[str] = ("exercise3", "exercise4", "exercise5"),
               submission: Path | None = None, target: Path = SHIPPED) -> int:
    """Grade the solutions with TensorFlow (no store read) and write every value they needed to ``target``.

    Each exercise is graded by its own ``grade EXERCISE`` process, as a student
    runs it, then as a batch worker draws (``same_draws_in_every_process``), into
    an empty store. Returns the number of entries written. The
    namespace is this machine's (TensorFlow and Keras versions): elsewhere the
    shipped store is simply not used.
    """
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    submission = submission or root / "solutions"
    with tempfile.TemporaryDirectory(prefix="grade-regenerate-") as folder:
        environment = {**os.environ, "GRADER_REFERENCE_CACHE": folder, "GRADER_REFERENCE_SHIPPED": "off"}
        for exercise_id in exercises:
            for prelude in ("", _BATCH_PRELUDE):  # as `grade EXERCISE` draws, then as a batch worker
                script = f"{prelude}from grader.cli import main; main({[exercise_id, str(submission)]!r})"
                subprocess.run([sys.executable, "-c", script], env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
        fresh = ReferenceCache(Path(folder), shipped=None)
        fresh.load()
        entries, store_namespace = dict(fresh._entries), fresh._namespace
    target.write_bytes(encode_store(entries, store_namespace))
    return len(entries)


def _lock_exclusively(handle) -> None:
    """``flock`` the store's lock file (POSIX); without ``fcntl`` (Windows) the merge runs unlocked."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python -m grader.reference.cache --regenerate")
    print(f"{regenerate()} reference values written to {SHIPPED}")

