"""The dataset files themselves, for ``grader.data.datasets``: their published checksums, their readers.

``KNOWN_FILES`` maps each dataset's standard file names to the digests published for them
(and where each was published); ``verify_file`` streams a file through the hash and caches
the verdict per (path, size, mtime) in this process.

Every reader returns plain ``uint8`` images and labels, and raises ``DatasetCorrupt`` (a
``GraderError``) with the file's path and what is wrong, never a bare traceback:

- ``read_idx_gz``: MNIST-style IDX files compressed with gzip. The header is parsed here
  (magic ``0x0000 08 NDIM``, NDIM big-endian uint32 sizes) and the payload must have
  exactly the declared size: a truncated file or trailing bytes are errors.
- ``read_npz``: ``.npz`` archives, always with ``allow_pickle=False``.
- ``load_cifar_batch``: one CIFAR "python version" pickle, read by ``CifarUnpickler``, which
  resolves only the three globals that the real CIFAR pickles use to rebuild their NumPy
  array (``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``).
  Any other global (``os.system``, ``builtins.eval``, ...) is refused before it is called.
- ``read_cifar_tar``: the CIFAR ``.tar.gz``, whose members are read into memory, never
  extracted to disk.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from grader.errors import DatasetCorrupt
from grader.limits import MAX_DATASET_MEMBER_BYTES as MAX_MEMBER_BYTES

try:  # NumPy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

CIFAR_PIXELS = 32 * 32 * 3



# ----------------------------------------------------------------------------------- IDX
_IDX_UBYTE = 0x08


def read_idx_gz(path: Path, *, item_shape: tuple[int, ...]) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes with items of ``item_shape``.

    Labels files have ``item_shape=()`` (magic 2049), image files ``(28, 28)`` (magic 2051).
    """
    ndim = 1 + len(item_shape)
    magic = (_IDX_UBYTE << 8) | ndim
    try:
        with gzip.open(path, "rb") as stream:
            head = stream.read(4)
            if len(head) < 4 or head[:2] != b"\0\0":
                raise DatasetCorrupt(f"{path}: not an IDX file (bad magic number)")
            found = int.from_bytes(head, "big")
            if found != magic:
                raise DatasetCorrupt(
                    f"{path}: IDX magic number {found} (0x{found:08x}), expected {magic}"
                    f" (unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})"
                )
            raw_dims = stream.read(4 * ndim)
            if len(raw_dims) != 4 * ndim:
                raise DatasetCorrupt(f"{path}: IDX header is truncated")
            dims = struct.unpack(f">{ndim}I", raw_dims)
            if dims[1:] != item_shape:
                raise DatasetCorrupt(
                    f"{path}: IDX items have shape {dims[1:]}, expected {item_shape}"
                )
            size = int(np.prod(dims, dtype=np.int64))
            payload = stream.read(size)
            if len(payload) != size:
                raise DatasetCorrupt(
                    f"{path}: truncated: the IDX header declares {dims[0]} items ({size} bytes)"
                    f" but the file holds {len(payload)} bytes"
                )
            if stream.read(1):
                raise DatasetCorrupt(f"{path}: unexpected bytes after the {dims[0]} IDX items")
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DatasetCorrupt(f"{path}: not a readable gzip file ({error})") from None
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


# ----------------------------------------------------------------------------------- npz
def read_npz(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Read the arrays ``keys`` (only those) from an ``.npz`` archive, without pickle."""
    wanted = list(keys)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DatasetCorrupt(f"{path}: a single .npy array, not an .npz archive")
        with loaded as archive:
            missing = [key for key in wanted if key not in archive.files]
            if missing:
                raise DatasetCorrupt(
                    f"{path}: no array named {', '.join(missing)} (it has:"
                    f" {', '.join(archive.files) or 'nothing'})"
                )
            return {key: archive[key] for key in wanted}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise DatasetCorrupt(f"{path}: not a readable .npz archive ({error})") from None


# --------------------------------------------------------------------------------- CIFAR
_ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    # What the real CIFAR pickles (Python 2, protocol 2, NumPy 1.x) need for their arrays;
    # the NumPy 2 spelling of the same function is accepted for files re-pickled since.
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class CifarUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals needed to rebuild a plain NumPy array."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a CIFAR batch holds only arrays,"
                " lists, bytes and numbers"
            ) from None

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("refused a persistent id: not a CIFAR batch")


def load_cifar_batch(
    raw: bytes, *, label_key: str, num_classes: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Decode one CIFAR batch pickle into ``(images (N,32,32,3) uint8, labels (N,) int64)``."""
    try:
        batch = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except pickle.UnpicklingError as error:
        raise DatasetCorrupt(f"{source}: {error}") from None
    except Exception as error:  # any other failure to decode means a damaged file
        raise DatasetCorrupt(
            f"{source}: not a readable CIFAR batch ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(batch, dict):
        raise DatasetCorrupt(f"{source}: expected a dict, found {type(batch).__name__}")
    data, labels = batch.get(b"data"), batch.get(label_key.encode())
    if type(data) is not np.ndarray:
        raise DatasetCorrupt(f"{source}: no image array under the key 'data'")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != CIFAR_PIXELS:
        raise DatasetCorrupt(
            f"{source}: 'data' is {data.dtype} {data.shape}, expected uint8 (N, {CIFAR_PIXELS})"
        )
    if not isinstance(labels, list | np.ndarray) or len(labels) != len(data):
        raise DatasetCorrupt(f"{source}: '{label_key}' is not a list of {len(data)} labels")
    if isinstance(labels, list) and not all(type(v) is int for v in labels):
        raise DatasetCorrupt(f"{source}: '{label_key}' holds something other than integers")
    y = np.asarray(labels).astype(np.int64, copy=False).reshape(-1)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DatasetCorrupt(f"{source}: labels outside 0..{num_classes - 1}")
    x = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return x, y


def read_cifar_tar(path: Path, members: Iterable[str]) -> dict[str, bytes]:
    """Read the named members of a CIFAR tarball into memory (no extraction to disk)."""
    wanted = set(members)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                if member.name not in wanted or not member.isfile():
                    continue
                if member.size > MAX_MEMBER_BYTES:
                    raise DatasetCorrupt(f"{path}: member {member.name} is implausibly large")
                stream = archive.extractfile(member)
                if stream is None:
                    continue
                found[member.name] = stream.read()
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetCorrupt(f"{path}: not a readable tar archive ({error})") from None
    missing = sorted(wanted - found.keys())
    if missing:
        raise DatasetCorrupt(f"{path}: the archive has no {', '.join(missing)}")
    return found


# ----------------------------------------------------------------------------- checksums
@dataclass(frozen=True)
class KnownDigest:
    algorithm: Literal["sha256", "md5"]
    hexdigest: str
    source: str


def _digests(algorithm: Literal["sha256", "md5"], source: str,
             by_file: dict[str, str]) -> dict[str, tuple[KnownDigest, ...]]:
    return {file: (KnownDigest(algorithm, digest, source),) for file, digest in by_file.items()}


def _merge(*tables: dict[str, tuple[KnownDigest, ...]]) -> dict[str, tuple[KnownDigest, ...]]:
    merged: dict[str, tuple[KnownDigest, ...]] = {}
    for table in tables:
        for file, digests in table.items():
            merged[file] = merged.get(file, ()) + digests
    return merged


_KERAS = "Keras, keras/src/datasets/{}.py file_hash"
_SHARED = "../shared/data/README.md"
_TORCHVISION = "torchvision's CIFAR class (MD5: no SHA-256 is published for the pickles)"
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_CIFAR10_TAR = KnownDigest(
    "sha256", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    _KERAS.format("cifar10"))
_CIFAR100_TAR = KnownDigest(
    "sha256", "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    _KERAS.format("cifar100"))

# dataset -> file name -> the digests that file may have. A file so named must match one.
KNOWN_FILES: dict[str, dict[str, tuple[KnownDigest, ...]]] = {
    "mnist": _merge(
        _digests("sha256", _KERAS.format("mnist"), {
            "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}),
        _digests("sha256", _SHARED, {
            "mnist.npz": "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"}),
        _digests("sha256", "LeCun's IDX files (as TFDS and others publish them)", dict(zip(IDX_FILES, (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"), strict=True))),
    ),
    "fashion_mnist": _merge(
        _digests("sha256", "Zalando's files, which Keras downloads", dict(zip(IDX_FILES, (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"), strict=True))),
        # Debian ships recompressed .gz files (other sizes and digests than Zalando's); these
        # SHA-256 were taken from the installed package and agree with its shipped md5sums.
        _digests("sha256", "Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1",
                 dict(zip(IDX_FILES, (
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"), strict=True))),
    ),
    "cifar10": _merge(
        _digests("sha256", _SHARED, {
            "cifar10-train.npz": "33a76bca67e66d1dfe9f1937a48ba706c9005a82860eb33a53b48fce219bab71",
            "cifar10-test.npz": "19f8938d55b8384460c364b8c4186f3d793e3f5d6779542fb8b7a115d17bdae0"}),
        {tarball: (_CIFAR10_TAR,) for tarball in (
            "cifar-10-python.tar.gz", "cifar-10-batches-py.tar.gz",
            "cifar-10-batches-py_archive", "cifar-10-batches-py-target_archive")},
        _digests("md5", _TORCHVISION, {
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e"}),
    ),
    "cifar100": _merge(
        {tarball: (_CIFAR100_TAR,) for tarball in (
            "cifar-100-python.tar.gz", "cifar-100-python_archive",
            "cifar-100-python-target_archive")},
        _digests("sha256", _SHARED + " (a real, partial copy: the first 916 test and 1,117 training images)", {
            "cifar100-test-partial.npz": "d7d8c7339d28a93a4e699fdcbc6af4ed53a5c04ebb54d7adc5fc754399cb055f",
            "cifar100-train-partial.npz": "18b0d39e5751946ef6e6cfad48e0286198c4e0f4940d208abc0c2b1c2edbe3f8"}),
        _digests("md5", _TORCHVISION, {
            "train": "16019d7e3df5f24257cddd939b257f8d",
            "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}),
    ),
}

_VERDICTS: dict[tuple[str, str, int, int], bool | str] = {}


def verify_file(name: str, path: Path) -> bool:
    """True if ``path`` matches a published digest, False if its name is not in the table.

    Raises ``DatasetCorrupt`` when a known file does not match. Verdicts are cached per
    (dataset, path, size, mtime) for the life of the process.
    """
    known = KNOWN_FILES[name].get(path.name)
    if not known:
        return False
    try:
        stat = path.stat()
        key = (name, str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _VERDICTS:
            hashers = {d.algorithm: hashlib.new(d.algorithm, usedforsecurity=False)
                       for d in known}
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    for hasher in hashers.values():
                        hasher.update(chunk)
            got = {algorithm: h.hexdigest() for algorithm, h in hashers.items()}
            if any(got[d.algorithm] == d.hexdigest for d in known):
                _VERDICTS[key] = True
            else:
                found = ", ".join(f"{a} {v}" for a, v in got.items())
                expected = " or ".join(f"{d.hexdigest} ({d.source})" for d in known)
                _VERDICTS[key] = (
                    f"{path}: checksum mismatch: the file has {found}, the published"
                    f" {'/'.join(got)} is {expected}. It is damaged or not the published file:"
                    f" delete it and copy it again, or run `grade data prepare {name}`.")
    except OSError as error:
        raise DatasetCorrupt(f"{path}: cannot be read ({error.strerror or error})") from None
    verdict = _VERDICTS[key]
    if verdict is not True:
        raise DatasetCorrupt(str(verdict))
    return True
