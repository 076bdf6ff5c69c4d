"""The course's datasets: MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100, found, checked, loaded.

Where a dataset is looked for, in this order (the first place holding it wins):

1. the ``data_dir`` argument (``--data-dir`` on the command line);
2. ``$GRADER_DATA_DIR``;
3. the Keras cache, ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``: what
   ``keras.datasets.*.load_data()`` leaves there;
4. Debian's ``/usr/share/datasets`` (``apt-get install dataset-fashion-mnist``);
5. only with ``download=True`` (``grade data prepare``): Keras's own downloader, into the
   Keras cache, after which 3. finds it.

What is recognised in each of those folders, in this order (``NAME`` is ``mnist``,
``fashion_mnist`` (or ``fashion-mnist``), ``cifar10`` (or ``cifar-10``), ``cifar100``):

- ``NAME.npz`` with ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz`` is one);
- ``NAME-train.npz`` (``x_train, y_train``) with ``NAME-test.npz`` (``x_test, y_test``),
  as in ``../shared/data``; only the test file is read for ``split="test"``;
- a real but *partial* copy, ``NAME-train-partial.npz`` with ``NAME-test-partial.npz``
  (``../shared/data`` has CIFAR-100's first 1,117 training and 916 test images): each
  also holds the complete official label list (``y_train_all``, ``y_test_all``), which its
  labels must begin; it loads with ``Dataset.partial`` set, and is used only where no full
  copy is in any of the places (a full copy anywhere wins: the official figure);
- MNIST / Fashion-MNIST: the four IDX ``.gz`` files in ``mnist/``, ``fashion-mnist/`` or
  ``fashion_mnist/``;
- CIFAR: the extracted ``cifar-10-batches-py/`` / ``cifar-100-python/`` pickles (also in the
  folders newer Keras versions extract to), else the ``.tar.gz`` (read in memory).

Every file whose name is in ``KNOWN_FILES`` is hashed (streamed, cached per path, size and
mtime in this process) and must match a published digest, else ``DatasetCorrupt``; a file
not in the table loads with ``Dataset.verified = False``. Digests are SHA-256, except the
extracted CIFAR pickles, for which only MD5 sums are published. Images come back ``uint8``
((N, 28, 28) or (N, 32, 32, 3)), labels ``int64`` (N,). Nothing is ever unpickled but the
CIFAR batches, through the restricted unpickler of ``grader.data.formats``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from grader.data.formats import (
    KNOWN_FILES,
    DatasetCorrupt,
    KnownDigest,
    load_cifar_batch,
    read_cifar_tar,
    read_idx_gz,
    read_npz,
    verify_file,
)
from grader.data.places import (
    CIFAR,
    DEBIAN_DIR,
    ENV_VAR,
    Found,
    Split,
    candidates,
    describe_place,
    keras_cache_dir,
    partial_candidates,
    search_places,
    wanted,
)
from grader.errors import DatasetMissing, GraderError

__all__ = [
    "INFO", "KNOWN_FILES", "NAMES", "Dataset", "DatasetCorrupt", "DatasetInfo", "DatasetMissing",
    "KnownDigest", "StatusRow", "load", "locate", "prepare", "search_places", "status",
    "verify_file",
]

NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100")
OFFICIAL_SIZES = {"mnist": (60_000, 10_000), "fashion_mnist": (60_000, 10_000),
                  "cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000)}  # (train, test) images


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    image_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...]

    @property
    def known_files(self) -> dict[str, tuple[KnownDigest, ...]]:
        """Standard file names of this dataset and the digests published for them."""
        return KNOWN_FILES[self.name]


_CIFAR100_CLASSES = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy
bridge bus butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach
couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo
keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse
mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy
porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail
snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger
tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split()

INFO: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", "MNIST", (28, 28), 10, tuple("0123456789")),
    "fashion_mnist": DatasetInfo("fashion_mnist", "Fashion-MNIST", (28, 28), 10, (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")),
    "cifar10": DatasetInfo("cifar10", "CIFAR-10", (32, 32, 3), 10, (
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")),
    "cifar100": DatasetInfo("cifar100", "CIFAR-100", (32, 32, 3), 100, tuple(_CIFAR100_CLASSES)),
}


def locate(name: str, *, data_dir: str | os.PathLike[str] | None = None
           ) -> tuple[Found | None, list[str]]:
    """The first place holding ``name`` (or None) and a description of every place looked.

    A full copy in any place wins over a partial one (``NAME-*-partial.npz``) in an earlier place.
    """
    _info(name)
    looked: list[str] = []
    places = search_places(data_dir)
    for forms in (candidates, partial_candidates):  # every place for a full copy, then for a partial one
        for label, folder in places:
            if forms is candidates:
                looked.append(describe_place(label, folder))
            if folder is None or not folder.is_dir():
                continue
            for candidate in forms(folder, name):
                if all(path.is_file() for path in candidate.files()):
                    return candidate, looked
    return None, looked


# ----------------------------------------------------------------------------- loading
@dataclass
class Dataset:
    name: str
    x_train: np.ndarray | None  # None when only the test split was asked for
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where it was found
    verified: bool  # every file read matched a published checksum
    format: str = ""
    partial: bool = False  # a real but partial copy: not the official test set's figure
    info: DatasetInfo = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.info = INFO[self.name]

    @property
    def official_test_size(self) -> int:
        return OFFICIAL_SIZES[self.name][1]

    @property
    def coverage(self) -> str:
        """"partial: 916 of 10,000 test images" for a partial copy; "" for a full one."""
        return _coverage(self.name, len(self.y_test), None if self.y_train is None else len(self.y_train)) \
            if self.partial else ""


def _coverage(name: str, n_test: int, n_train: int | None) -> str:
    train, test = OFFICIAL_SIZES[name]
    text = f"partial: {n_test:,} of {test:,} test images"
    return text + (f", {n_train:,} of {train:,} training images" if n_train is not None else "")


def _info(name: str) -> DatasetInfo:
    if name not in INFO:
        raise GraderError(f"unknown dataset {name!r}: choose one of {', '.join(NAMES)}")
    return INFO[name]


def _clean(info: DatasetInfo, x: np.ndarray, y: np.ndarray, source: str
           ) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim == len(info.image_shape) + 2 and x.shape[-1] == 1 and len(info.image_shape) == 2:
        x = x.reshape(x.shape[:-1])  # (N, 28, 28, 1) -> (N, 28, 28)
    if x.dtype != np.uint8 or x.shape[1:] != info.image_shape:
        raise DatasetCorrupt(f"{source}: images are {x.dtype} {x.shape}, expected uint8"
                             f" (N, {', '.join(map(str, info.image_shape))})")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
        raise DatasetCorrupt(f"{source}: labels are {y.dtype} {y.shape}, expected"
                             f" {len(x)} integers")
    if y.size and (y.min() < 0 or y.max() >= info.num_classes):
        raise DatasetCorrupt(f"{source}: labels outside 0..{info.num_classes - 1}")
    return x, y.astype(np.int64)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise DatasetCorrupt(f"{path}: cannot be read ({error.strerror or error})") from None


def _read(found: Found, split: Split) -> dict[str, np.ndarray]:
    info, out = INFO[found.name], {}
    parts = ("test",) if split == "test" else ("train", "test")
    for part in parts:
        files = found.test if part == "test" else found.train
        if found.kind in ("npz", "npz-split"):
            arrays = read_npz(files[0], (f"x_{part}", f"y_{part}"))
            x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        elif found.kind == "npz-partial":
            x, y = _read_partial(found.name, files[0], part)
        elif found.kind == "idx":
            x = read_idx_gz(files[0], item_shape=info.image_shape)
            y = read_idx_gz(files[1], item_shape=())
        else:
            spec = CIFAR[found.name]
            names = (spec.test,) if part == "test" else spec.train
            if found.kind == "cifar-dir":
                raw = {n: _read_bytes(found.where / n) for n in names}
            else:
                members = read_cifar_tar(found.where, [f"{spec.top}/{n}" for n in names])
                raw = {n: members[f"{spec.top}/{n}"] for n in names}
            batches = [load_cifar_batch(raw[n], label_key=spec.label_key,
                                        num_classes=info.num_classes, source=f"{found.where}:{n}")
                       for n in names]
            x = np.concatenate([b[0] for b in batches])
            y = np.concatenate([b[1] for b in batches])
        out[f"x_{part}"], out[f"y_{part}"] = _clean(info, x, y, str(files[0]))
    return out


def _read_partial(name: str, path: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    """A partial copy's images and labels; its labels must begin the complete official list it holds."""
    arrays = read_npz(path, (f"x_{part}", f"y_{part}", f"y_{part}_all"))
    x, y, every = arrays[f"x_{part}"], arrays[f"y_{part}"], arrays[f"y_{part}_all"]
    official = OFFICIAL_SIZES[name][0 if part == "train" else 1]
    if every.shape != (official,) or y.ndim != 1 or len(y) > official or not np.array_equal(y, every[:len(y)]):
        raise DatasetCorrupt(f"{path}: its {len(y)} labels are not the first of the {official:,} official "
                             f"{part} labels it holds (y_{part}_all)")
    return x, y


def _missing_message(name: str, looked: list[str], reason: str | None = None) -> str:
    info = INFO[name]
    lines = [f"dataset {info.title} ({name}) not found. Looked in, in order:"]
    lines += [f"  {place}" for place in looked]
    lines.append(f"  for any of: {wanted(name)}")
    if reason:
        lines.append(f"Downloading it through Keras failed: {reason}")
    lines.append("To get it:")
    lines.append(f"  online: grade data prepare {name}  (downloads through Keras into"
                 f" {keras_cache_dir()})")
    if name == "fashion_mnist":
        lines.append("  Debian/Ubuntu: apt-get install dataset-fashion-mnist  (installs"
                     f" {DEBIAN_DIR / 'fashion-mnist'})")
    lines.append(f"  or: {ENV_VAR}=/folder/holding/the/files (or --data-dir), e.g."
                 f" {ENV_VAR}=../shared/data")
    return "\n".join(lines)


def _download_with_keras(name: str) -> str | None:
    """Fetch ``name`` into the Keras cache with Keras's loader; the reason it failed, or None."""
    try:
        from keras import datasets as keras_datasets

        getattr(keras_datasets, name).load_data()
    except Exception as error:  # offline, proxy, disk full...: all reported, none fatal here
        return (f"{type(error).__name__}: {error}".splitlines() or ["unknown error"])[0]
    return None


def _find(name: str, data_dir: str | os.PathLike[str] | None, *, download: bool) -> Found:
    found, looked = locate(name, data_dir=data_dir)
    reason = None
    if download and (found is None or found.kind == "npz-partial"):  # the full set, where it can be had
        reason = _download_with_keras(name) or (
            f"Keras reported success, but the files are not in {keras_cache_dir()}")
        found, looked = locate(name, data_dir=data_dir)
        if found is not None and found.kind == "npz-partial":
            partial = load(name, data_dir=data_dir)
            raise DatasetMissing(f"only a partial copy of {INFO[name].title} is here ({partial.coverage}, "
                                 f"{partial.source}); downloading the full set through Keras failed: {reason}")
    if found is None:
        raise DatasetMissing(_missing_message(name, looked, reason))
    return found


def load(name: str, *, data_dir: str | os.PathLike[str] | None = None, split: Split = "both",
         download: bool = False) -> Dataset:
    """Find, verify and read dataset ``name`` (see the module docstring for where and how)."""
    info = _info(name)
    if split not in ("both", "test"):
        raise GraderError(f"split must be 'both' or 'test', not {split!r}")
    found = _find(name, data_dir, download=download)
    verified = [verify_file(name, path) for path in found.files(split)]
    arrays = _read(found, split)
    return Dataset(info.name, arrays.get("x_train"), arrays.get("y_train"), arrays["x_test"],
                   arrays["y_test"], source=found.describe(split), verified=all(verified),
                   format=found.format, partial=found.kind == "npz-partial")


# ------------------------------------------------------------------ status and prepare
@dataclass(frozen=True)
class StatusRow:
    dataset: str
    found: str | None  # where, or None
    format: str | None
    verified: Literal["yes", "no", "unknown"]
    looked: tuple[str, ...]
    problem: str | None = None


def status(*, data_dir: str | os.PathLike[str] | None = None) -> list[StatusRow]:
    """One row per dataset: where it was found, in what form, whether its checksums hold."""
    rows = []
    for name in NAMES:
        found, looked = locate(name, data_dir=data_dir)
        if found is None:
            rows.append(StatusRow(name, None, None, "unknown", tuple(looked)))
            continue
        try:
            ok = all([verify_file(name, path) for path in found.files()])
            verdict: Literal["yes", "no", "unknown"] = "yes" if ok else "unknown"
            problem = None
        except DatasetCorrupt as error:
            verdict, problem = "no", str(error)
        shown = found.format
        if found.kind == "npz-partial" and problem is None:
            try:
                data = load(name, data_dir=data_dir)
                shown = f"npz ({data.coverage})"
            except GraderError as error:
                verdict, problem = "no", str(error)
        rows.append(StatusRow(name, found.describe(), shown, verdict, tuple(looked), problem))
    return rows


def prepare(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Make sure ``name`` is available and intact (downloading it through Keras if it is
    nowhere); the file or folder holding it."""
    found = _find(name, data_dir, download=True)
    for path in found.files():
        verify_file(name, path)
    return found.where
