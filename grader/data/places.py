"""Where a course dataset is looked for, and in what forms it is recognised (before it is read).

The places and forms are listed in ``grader.data.datasets``' docstring; this module
turns them into candidates (``Found``: a form and its files) for ``datasets.locate``
to try in order. Nothing here opens a file: only ``is_file``/``is_dir`` are asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.data.formats import IDX_FILES

Split = Literal["both", "test"]
ENV_VAR = "GRADER_DATA_DIR"
DEBIAN_DIR = Path("/usr/share/datasets")

_STEMS = {"mnist": ("mnist",), "fashion_mnist": ("fashion_mnist", "fashion-mnist"),
          "cifar10": ("cifar10", "cifar-10"), "cifar100": ("cifar100", "cifar-100")}
_IDX_DIRS = {"mnist": ("mnist",), "fashion_mnist": ("fashion-mnist", "fashion_mnist")}
IDX_TRAIN, IDX_TEST = IDX_FILES[:2], IDX_FILES[2:]


@dataclass(frozen=True)
class CifarLayout:
    top: str  # the folder inside the tarball
    train: tuple[str, ...]
    test: str
    label_key: str
    tarballs: tuple[str, ...]


CIFAR = {  # tarball names: the original one, then those Keras versions have saved it as
    "cifar10": CifarLayout(
        "cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch",
        "labels", ("cifar-10-python.tar.gz", "cifar-10-batches-py.tar.gz",
                   "cifar-10-batches-py_archive", "cifar-10-batches-py-target_archive")),
    "cifar100": CifarLayout(
        "cifar-100-python", ("train",), "test", "fine_labels",
        ("cifar-100-python.tar.gz", "cifar-100-python_archive",
         "cifar-100-python-target_archive")),
}


@dataclass(frozen=True)
class Found:
    """Where a dataset is and in what form (before it is verified or read)."""

    name: str
    kind: Literal["npz", "npz-split", "npz-partial", "idx", "cifar-dir", "cifar-tar"]
    where: Path  # the file or folder that holds it
    train: tuple[Path, ...]
    test: tuple[Path, ...]

    @property
    def format(self) -> str:
        return {"npz": "npz", "npz-split": "npz (train + test files)",
                "npz-partial": "npz (a partial copy)", "idx": "IDX .gz",
                "cifar-dir": "CIFAR python pickles", "cifar-tar": "CIFAR python tarball"}[self.kind]

    def files(self, split: Split = "both") -> tuple[Path, ...]:
        chosen = self.test if split == "test" else self.train + self.test
        return tuple(dict.fromkeys(chosen))

    def describe(self, split: Split = "both") -> str:
        if self.kind == "npz-split" and split == "test":
            return str(self.test[0])
        if self.kind == "npz-split":  # .../cifar10-{train,test}.npz
            return str(self.test[0]).replace("-test.npz", "-{train,test}.npz")
        if self.kind == "npz-partial":
            if split == "test":
                return str(self.test[0])
            return str(self.test[0]).replace("-test-partial.npz", "-{train,test}-partial.npz")
        return str(self.where)


def partial_candidates(root: Path, name: str) -> list[Found]:
    return [Found(name, "npz-partial", root, (root / f"{stem}-train-partial.npz",),
                  (root / f"{stem}-test-partial.npz",)) for stem in _STEMS[name]]


def candidates(root: Path, name: str) -> list[Found]:
    found: list[Found] = []
    for stem in _STEMS[name]:
        found.append(Found(name, "npz", root / f"{stem}.npz", (root / f"{stem}.npz",),
                           (root / f"{stem}.npz",)))
        found.append(Found(name, "npz-split", root, (root / f"{stem}-train.npz",),
                           (root / f"{stem}-test.npz",)))
    for folder in _IDX_DIRS.get(name, ()):
        base = root / folder
        found.append(Found(name, "idx", base, tuple(base / f for f in IDX_TRAIN),
                           tuple(base / f for f in IDX_TEST)))
    if name in CIFAR:
        spec = CIFAR[name]
        for folder in (spec.top, f"{spec.top}-target/{spec.top}", f"{spec.top}/{spec.top}"):
            base = root / folder
            found.append(Found(name, "cifar-dir", base, tuple(base / f for f in spec.train),
                               (base / spec.test,)))
        for tarball in spec.tarballs:
            found.append(Found(name, "cifar-tar", root / tarball, (root / tarball,),
                               (root / tarball,)))
    return found


def wanted(name: str) -> str:
    seen = dict.fromkeys(
        f"{c.where.name}/*-ubyte.gz" if c.kind == "idx" else f"{c.where.name}/"
        if c.kind == "cifar-dir" else " + ".join(p.name for p in c.files())
        for c in candidates(Path("."), name))
    return ", ".join(seen)


def keras_cache_dir() -> Path:
    home = os.environ.get("KERAS_HOME")
    return (Path(home) if home else Path.home() / ".keras").expanduser() / "datasets"


def search_places(data_dir: str | os.PathLike[str] | None = None) -> list[tuple[str, Path | None]]:
    """The places looked, in order, as (label, folder or None when unset)."""
    env = os.environ.get(ENV_VAR)
    places: list[tuple[str, Path | None]] = []
    if data_dir is not None:
        places.append(("--data-dir", Path(data_dir).expanduser()))
    places.append((f"${ENV_VAR}", Path(env).expanduser() if env else None))
    places.append(("Keras cache", keras_cache_dir()))
    places.append(("Debian", DEBIAN_DIR))
    return places


def describe_place(label: str, folder: Path | None) -> str:
    if folder is None:
        return f"{label} (not set)"
    return f"{label} {folder}" + ("" if folder.is_dir() else " (no such folder)")
