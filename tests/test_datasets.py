"""grader.data.datasets, grader.data.formats and ``grade data``: real data where it is here.

Real data: MNIST and CIFAR-10 from ../shared/data (beside the repository, in CI too), and
Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist).
CIFAR-100 has only a real *partial* copy offline (916 test and 1,117 training images, in
../shared/data): it is loaded as partial; the pickle and tarball pipeline is tested on
small synthetic CIFAR-shaped files, which can test the reading code, never a threshold.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from grader.cli import main as grade_main
from grader.data import datasets, places
from grader.data import formats as dataset_formats
from grader.data.datasets import DatasetMissing
from grader.data.formats import DatasetCorrupt, load_cifar_batch, read_idx_gz
from grader.errors import GraderError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"no real MNIST/CIFAR-10 copy: {SHARED_DATA} is absent (the repository is expected"
    " to sit next to shared/)")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No dataset anywhere by default: empty HOME, no $GRADER_DATA_DIR / $KERAS_HOME, no Debian
    folder, and any download attempt fails the test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GRADER_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(places, "DEBIAN_DIR", tmp_path / "no-debian")

    def no_download(name):
        pytest.fail(f"tried to download {name}")

    monkeypatch.setattr(datasets, "_download_with_keras", no_download)
    return tmp_path


# ------------------------------------------------------------------------ synthetic files
def write_idx_gz(path: Path, array: np.ndarray, *, extra: bytes = b"", cut: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += array.astype(np.uint8).tobytes() + extra
    path.write_bytes(gzip.compress(raw[: len(raw) - cut] if cut else raw))
    return path


class Py2StylePickler(pickle._Pickler):
    """Protocol 2 with every str and bytes written as a Python 2 ``str`` (BINSTRING), as in
    the real CIFAR files, which were pickled by Python 2 (and NumPy 1.x)."""

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode())

    dispatch = {**pickle._Pickler.dispatch, bytes: save_bytes, str: save_str}


def cifar_batch(n: int, *, label_key: str = "labels", num_classes: int = 10, seed: int = 0
                ) -> tuple[bytes, np.ndarray, list[int]]:
    """A CIFAR-shaped batch pickle written the way the real ones are."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, num_classes, n)]
    batch = {b"batch_label": b"synthetic", label_key.encode(): labels, b"data": data,
             b"filenames": [b"img.png"] * n}
    if label_key == "fine_labels":
        batch[b"coarse_labels"] = [v // 5 for v in labels]
    buffer = io.BytesIO()
    Py2StylePickler(buffer, protocol=2).dump(batch)
    # NumPy 1.x named the module numpy.core.multiarray (NumPy 2 writes numpy._core.multiarray)
    raw = buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    return raw, data, labels


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def synthetic_cifar(name: str, n: int = 6) -> tuple[dict[str, bytes], dict[str, tuple]]:
    """Member name -> pickle for a whole synthetic CIFAR-10/100 set, and the arrays inside."""
    if name == "cifar10":
        parts = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        key, classes = "labels", 10
    else:
        parts, key, classes = ["train", "test"], "fine_labels", 100
    files, arrays = {}, {}
    for seed, part in enumerate(parts):
        raw, data, labels = cifar_batch(n, label_key=key, num_classes=classes, seed=seed)
        files[part], arrays[part] = raw, (data, labels)
    return files, arrays


# ------------------------------------------------------------------------------ real data
@needs_shared
def test_mnist_from_shared_data_loads_verified(isolated):
    ds = datasets.load("mnist", data_dir=SHARED_DATA)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert ds.x_train.dtype == np.uint8 and ds.y_test.dtype == np.int64
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.verified and ds.source == str(SHARED_DATA / "mnist.npz")
    assert ds.info.class_names == tuple("0123456789")


@needs_shared
def test_cifar10_test_split_from_grader_data_dir_reads_only_the_test_file(isolated, monkeypatch):
    monkeypatch.setenv("GRADER_DATA_DIR", str(SHARED_DATA))
    read = []
    real_read_npz = datasets.read_npz
    monkeypatch.setattr(datasets, "read_npz", lambda path, keys: read.append(path.name)
                        or real_read_npz(path, keys))
    ds = datasets.load("cifar10", split="test")
    assert read == ["cifar10-test.npz"]
    assert ds.x_train is None and ds.y_train is None
    assert ds.x_test.shape == (10000, 32, 32, 3) and ds.x_test.dtype == np.uint8
    assert ds.y_test.dtype == np.int64 and ds.y_test[:5].tolist() == [3, 8, 8, 0, 6]
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.verified and ds.source == str(SHARED_DATA / "cifar10-test.npz")
    assert ds.info.class_names[3] == "cat" and ds.info.class_names[8] == "ship"


@needs_shared
def test_a_corrupted_copy_is_refused_with_a_clear_message(isolated):
    copy = isolated / "data" / "mnist.npz"
    copy.parent.mkdir()
    shutil.copyfile(SHARED_DATA / "mnist.npz", copy)
    with copy.open("r+b") as f:
        f.seek(5_000_000)
        byte = f.read(1)
        f.seek(5_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(DatasetCorrupt) as caught:
        datasets.load("mnist", data_dir=copy.parent)
    message = str(caught.value)
    assert isinstance(caught.value, GraderError)
    assert str(copy) in message and "checksum mismatch" in message
    assert "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64" in message
    assert "grade data prepare mnist" in message
    row = datasets.status(data_dir=copy.parent)[0]
    assert (row.dataset, row.verified) == ("mnist", "no") and "checksum mismatch" in row.problem


@needs_fashion
def test_fashion_mnist_from_debian_package(isolated, monkeypatch):
    monkeypatch.setattr(places, "DEBIAN_DIR", Path("/usr/share/datasets"))
    ds = datasets.load("fashion_mnist")
    assert ds.source == str(FASHION_DIR) and ds.format == "IDX .gz" and ds.verified
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.x_test.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.info.class_names[9] == "Ankle boot"


# -------------------------------------------------------------------------- missing data
def test_missing_dataset_names_every_place_looked_and_how_to_get_it(isolated, monkeypatch):
    empty = isolated / "empty"
    empty.mkdir()
    monkeypatch.setenv("GRADER_DATA_DIR", str(empty))
    given = isolated / "given"
    with pytest.raises(DatasetMissing) as caught:
        datasets.load("fashion_mnist", data_dir=given)
    message = str(caught.value)
    assert isinstance(caught.value, GraderError)
    for place in (f"--data-dir {given} (no such folder)", f"$GRADER_DATA_DIR {empty}",
                  str(isolated / "home" / ".keras" / "datasets"), str(isolated / "no-debian")):
        assert place in message
    assert "grade data prepare fashion_mnist" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "GRADER_DATA_DIR=" in message and "fashion-mnist/" in message

    monkeypatch.delenv("GRADER_DATA_DIR")
    with pytest.raises(DatasetMissing, match=r"\$GRADER_DATA_DIR \(not set\)"):
        datasets.load("mnist", split="test")


def test_prepare_offline_reports_the_download_failure_and_the_places(isolated, monkeypatch, capsys):
    monkeypatch.setattr(datasets, "_download_with_keras",
                        lambda name: "Exception: URL fetch failure (no network)")
    with pytest.raises(DatasetMissing) as caught:
        datasets.prepare("cifar100")
    message = str(caught.value)
    assert "URL fetch failure" in message and str(isolated / "no-debian") in message
    assert "grade data prepare cifar100" in message
    assert grade_main(["data", "prepare", "cifar100"]) == 2
    assert "URL fetch failure" in capsys.readouterr().err


def test_prepare_finds_what_the_download_left_in_the_keras_cache(isolated, monkeypatch):
    def fake_download(name):  # stands in for keras.datasets.cifar100.load_data()
        cache = isolated / "home" / ".keras" / "datasets"
        cache.mkdir(parents=True)
        np.savez(cache / "cifar100.npz", x_train=np.zeros((2, 32, 32, 3), np.uint8),
                 y_train=np.array([0, 99]), x_test=np.zeros((1, 32, 32, 3), np.uint8),
                 y_test=np.array([5]))
        return None

    monkeypatch.setattr(datasets, "_download_with_keras", fake_download)
    place = datasets.prepare("cifar100")
    assert place == isolated / "home" / ".keras" / "datasets" / "cifar100.npz"
    ds = datasets.load("cifar100")
    assert not ds.verified and ds.y_train.tolist() == [0, 99] and ds.y_test.dtype == np.int64


# ----------------------------------------------------------------------------------- IDX
def test_idx_reader_parses_header_and_payload(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    labels = np.array([7, 0, 9])
    x = read_idx_gz(write_idx_gz(tmp_path / "i.gz", images), item_shape=(28, 28))
    y = read_idx_gz(write_idx_gz(tmp_path / "l.gz", labels), item_shape=())
    assert x.dtype == np.uint8 and x.shape == (3, 28, 28) and (x == images).all()
    assert y.tolist() == [7, 0, 9]


@pytest.mark.parametrize(("kwargs", "item_shape", "expected"), [
    ({"cut": 100}, (28, 28), "truncated"),
    ({"extra": b"\0"}, (28, 28), "after the 2 IDX items"),
    ({}, (), "magic number 2051"),
])
def test_idx_reader_refuses_damaged_files(tmp_path, kwargs, item_shape, expected):
    path = write_idx_gz(tmp_path / "x.gz", np.zeros((2, 28, 28), np.uint8), **kwargs)
    with pytest.raises(DatasetCorrupt, match=expected):
        read_idx_gz(path, item_shape=item_shape)


def test_idx_reader_refuses_a_non_gzip_and_a_cut_gzip(tmp_path):
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetCorrupt, match="not a readable gzip file"):
        read_idx_gz(tmp_path / "plain.gz", item_shape=())
    whole = write_idx_gz(tmp_path / "whole.gz", np.zeros(1000, np.uint8)).read_bytes()
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetCorrupt, match="cut.gz"):
        read_idx_gz(tmp_path / "cut.gz", item_shape=())


def test_synthetic_idx_folder_loads_unverified_and_a_truncated_one_is_corrupt(isolated,
                                                                              monkeypatch):
    # Synthetic files under the standard names would fail the published checksums.
    monkeypatch.setitem(datasets.KNOWN_FILES, "fashion_mnist", {})
    folder = isolated / "data" / "fashion-mnist"
    rng = np.random.default_rng(1)
    for part, n in (("train", 5), ("t10k", 3)):
        write_idx_gz(folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx_gz(folder / f"{part}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    ds = datasets.load("fashion_mnist", data_dir=folder.parent)
    assert ds.x_train.shape == (5, 28, 28) and ds.y_test.shape == (3,) and not ds.verified
    write_idx_gz(folder / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)), cut=10)
    with pytest.raises(DatasetCorrupt, match="truncated"):
        datasets.load("fashion_mnist", data_dir=folder.parent, split="test")


# --------------------------------------------------------------------------------- CIFAR
def test_cifar_batch_is_decoded_channels_last(tmp_path):
    raw, data, labels = cifar_batch(4)
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw and raw[:2] == b"\x80\x02"
    x, y = load_cifar_batch(raw, label_key="labels", num_classes=10, source="batch")
    assert x.shape == (4, 32, 32, 3) and x.dtype == np.uint8 and x.flags.c_contiguous
    assert y.dtype == np.int64 and y.tolist() == labels
    # row layout: 1024 red, 1024 green, 1024 blue values, each plane row-major
    assert x[2, 5, 7, 0] == data[2, 5 * 32 + 7] and x[2, 5, 7, 2] == data[2, 2048 + 5 * 32 + 7]


@pytest.mark.parametrize("layout", ["folder", "keras3-folder", "tarball", "keras3-archive"])
def test_synthetic_cifar100_pipeline(isolated, monkeypatch, layout):
    # CIFAR-100 has no offline copy: synthetic CIFAR-shaped files test the reading only.
    monkeypatch.setitem(datasets.KNOWN_FILES, "cifar100", {})
    root = isolated / "data"
    root.mkdir()
    files, arrays = synthetic_cifar("cifar100")
    if layout.endswith("folder"):
        folder = root / ("cifar-100-python-target/cifar-100-python" if layout.startswith("keras3")
                         else "cifar-100-python")
        folder.mkdir(parents=True)
        for name, raw in files.items():
            (folder / name).write_bytes(raw)
    else:
        tar_name = "cifar-100-python.tar.gz" if layout == "tarball" else \
            "cifar-100-python-target_archive"
        write_tar(root / tar_name, {f"cifar-100-python/{k}": v for k, v in files.items()}
                  | {"cifar-100-python/meta": b"not read"})
    before = sorted(root.rglob("*"))
    test_only = datasets.load("cifar100", data_dir=root, split="test")
    both = datasets.load("cifar100", data_dir=root)
    assert sorted(root.rglob("*")) == before  # nothing extracted
    assert test_only.x_train is None and test_only.y_test.tolist() == arrays["test"][1]
    assert both.x_train.shape == (6, 32, 32, 3) and both.y_train.tolist() == arrays["train"][1]
    assert not both.verified and both.info.num_classes == 100
    assert both.info.class_names[:3] == ("apple", "aquarium_fish", "baby")


def test_synthetic_cifar10_tarball_concatenates_the_five_batches(isolated, monkeypatch):
    monkeypatch.setitem(datasets.KNOWN_FILES, "cifar10", {})
    files, arrays = synthetic_cifar("cifar10", n=3)
    write_tar(isolated / "cifar-10-python.tar.gz",
              {f"cifar-10-batches-py/{k}": v for k, v in files.items()})
    ds = datasets.load("cifar10", data_dir=isolated)
    assert ds.x_train.shape == (15, 32, 32, 3) and ds.format == "CIFAR python tarball"
    assert ds.y_train.tolist() == sum((arrays[f"data_batch_{i}"][1] for i in range(1, 6)), [])


def test_a_known_cifar_file_name_with_other_contents_fails_its_md5(isolated):
    folder = isolated / "cifar-10-batches-py"
    folder.mkdir()
    files, _ = synthetic_cifar("cifar10")
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    with pytest.raises(DatasetCorrupt, match="checksum mismatch.*md5"):
        datasets.load("cifar10", data_dir=isolated, split="test")


@pytest.mark.parametrize(("module", "name"), [
    ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("subprocess", "Popen"),
    ("numpy", "load"), ("numpy.core.multiarray", "scalar")])
def test_hostile_pickle_is_refused_without_running_anything(tmp_path, module, name):
    marker = tmp_path / "pwned"
    hostile = f"c{module}\n{name}\n(S'touch {marker}'\ntR.".encode()
    with pytest.raises(DatasetCorrupt, match=f"refused to load {module}.{name}"):
        load_cifar_batch(hostile, label_key="labels", num_classes=10, source="evil")
    assert not marker.exists()


def test_hostile_pickle_built_by_reduce_is_refused_in_a_cifar_folder(isolated, monkeypatch):
    marker = isolated / "pwned"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    monkeypatch.setitem(datasets.KNOWN_FILES, "cifar100", {})
    folder = isolated / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"")
    (folder / "test").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(DatasetCorrupt, match="refused to load"):
        datasets.load("cifar100", data_dir=isolated, split="test")
    assert not marker.exists()


@pytest.mark.parametrize(("batch", "expected"), [
    ([1, 2], "expected a dict"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "expected uint8"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "not a list of 2 labels"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"labels outside 0\.\.9"),
    ({b"data": np.zeros((1, 3072), np.uint8), b"labels": ["0"]}, "other than integers"),
])
def test_cifar_batch_contents_are_checked(batch, expected):
    with pytest.raises(DatasetCorrupt, match=expected):
        load_cifar_batch(pickle.dumps(batch, protocol=3), label_key="labels", num_classes=10,
                         source="b")


# ----------------------------------------------------------------------------------- npz
def test_npz_is_read_without_pickle_and_checked(isolated, monkeypatch):
    good = {"x_train": np.zeros((2, 28, 28, 1), np.uint8), "y_train": np.array([[1], [2]]),
            "x_test": np.zeros((1, 28, 28), np.uint8), "y_test": np.array([3], np.uint8)}
    np.savez(isolated / "mnist-train.npz", x_train=good["x_train"], y_train=good["y_train"])
    np.savez(isolated / "mnist-test.npz", x_test=good["x_test"], y_test=good["y_test"])
    ds = datasets.load("mnist", data_dir=isolated)
    assert ds.x_train.shape == (2, 28, 28) and ds.y_train.tolist() == [1, 2]
    assert ds.y_test.dtype == np.int64 and not ds.verified
    assert ds.source == str(isolated / "mnist-test.npz").replace("-test", "-{train,test}")

    np.savez(isolated / "mnist-test.npz", x_test=np.array([object()], dtype=object),
             y_test=good["y_test"])
    with pytest.raises(DatasetCorrupt, match="not a readable .npz"):
        datasets.load("mnist", data_dir=isolated, split="test")
    np.savez(isolated / "mnist-test.npz", x_test=good["x_test"])
    with pytest.raises(DatasetCorrupt, match="no array named y_test"):
        datasets.load("mnist", data_dir=isolated, split="test")
    np.savez(isolated / "mnist-test.npz", x_test=np.zeros((1, 32, 32), np.uint8), y_test=[1])
    with pytest.raises(DatasetCorrupt, match=r"expected uint8 \(N, 28, 28\)"):
        datasets.load("mnist", data_dir=isolated, split="test")


def test_verdicts_are_cached_per_path_size_and_mtime(tmp_path, monkeypatch):
    path = tmp_path / "test"
    path.write_bytes(b"synthetic")
    digest = hashlib.sha256(b"synthetic").hexdigest()
    monkeypatch.setitem(datasets.KNOWN_FILES, "cifar100",
                        {"test": (datasets.KnownDigest("sha256", digest, "test"),)})
    assert datasets.verify_file("cifar100", path)

    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed again")

    monkeypatch.setattr(dataset_formats.hashlib, "new", no_hashing)
    assert datasets.verify_file("cifar100", path)  # cached
    monkeypatch.undo()
    monkeypatch.setitem(datasets.KNOWN_FILES, "cifar100",
                        {"test": (datasets.KnownDigest("sha256", digest, "test"),)})
    path.write_bytes(b"synthetic, changed")
    with pytest.raises(DatasetCorrupt, match="checksum mismatch"):
        datasets.verify_file("cifar100", path)


# ----------------------------------------------------------------------- catalogue, CLI
def test_catalogue_of_datasets():
    assert datasets.NAMES == ("mnist", "fashion_mnist", "cifar10", "cifar100")
    assert [len(datasets.INFO[n].class_names) for n in datasets.NAMES] == [10, 10, 10, 100]
    assert len(set(datasets.INFO["cifar100"].class_names)) == 100
    assert datasets.INFO["cifar10"].class_names == (
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    assert datasets.INFO["mnist"].image_shape == (28, 28)
    assert datasets.INFO["cifar100"].image_shape == (32, 32, 3)
    keras_mnist = datasets.INFO["mnist"].known_files["mnist.npz"][0]
    assert keras_mnist.hexdigest.startswith("731c5ac6") and keras_mnist.algorithm == "sha256"
    with pytest.raises(GraderError, match="unknown dataset 'svhn'"):
        datasets.load("svhn")


def test_grade_data_status_lists_all_four_datasets(isolated, monkeypatch, capsys):
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("GRADER_DATA_DIR", str(SHARED_DATA))
    assert grade_main(["data", "status"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["dataset", "found", "format", "verified"]
    for name in datasets.NAMES:
        assert any(line.startswith(name + " ") for line in lines), name
    assert "looked in, in order:" in out and str(isolated / "no-debian") in out
    assert "grade data prepare" in out
    if SHARED_DATA.is_dir():
        mnist = next(line for line in lines if line.startswith("mnist "))
        assert str(SHARED_DATA / "mnist.npz") in mnist and mnist.split()[-1] == "yes"


@needs_shared
def test_grade_data_prepare_reports_where_it_is(isolated, capsys):
    assert grade_main(["data", "prepare", "mnist", "--data-dir", str(SHARED_DATA)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"mnist: ready at {SHARED_DATA / 'mnist.npz'} (checksums verified)")


@pytest.mark.parametrize("argv", [[], ["prepare"], ["prepare", "svhn"], ["status", "--bogus"]])
def test_grade_data_usage_errors_exit_2_naming_the_command(argv, capsys):
    assert grade_main(["data", *argv]) == 2
    assert "grade data" in capsys.readouterr().err


# -- CIFAR-100: the real, partial copy of ../shared/data (issue 15) ------------------------------
needs_partial_cifar100 = pytest.mark.skipif(
    not (SHARED_DATA / "cifar100-test-partial.npz").is_file(),
    reason=f"the partial CIFAR-100 copy is not at {SHARED_DATA}")


@needs_partial_cifar100
def test_the_partial_cifar100_loads_verified_and_says_it_is_partial(isolated):
    data = datasets.load("cifar100", data_dir=SHARED_DATA)
    assert data.partial and data.verified
    assert data.x_test.shape == (916, 32, 32, 3) and data.x_train.shape == (1117, 32, 32, 3)
    assert data.coverage == "partial: 916 of 10,000 test images, 1,117 of 50,000 training images"
    assert list(data.y_test[:5]) == [49, 33, 72, 51, 71] and list(data.y_train[:5]) == [19, 29, 0, 11, 1]
    assert len(np.unique(data.y_test)) == 100  # every class occurs among the 916 (data/README.md)
    test_only = datasets.load("cifar100", data_dir=SHARED_DATA, split="test")
    assert test_only.partial and test_only.x_train is None
    assert test_only.coverage == "partial: 916 of 10,000 test images"


@needs_partial_cifar100
def test_grade_data_status_says_partial_916_of_10000(isolated, capsys):
    assert grade_main(["data", "status", "--data-dir", str(SHARED_DATA)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("cifar100"))
    assert "partial: 916 of 10,000 test images" in row and row.rstrip().endswith("yes")


@needs_partial_cifar100
def test_a_full_copy_anywhere_wins_over_the_partial_one(isolated, monkeypatch):
    full = isolated / "full"
    full.mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", 50), ("test", 20)):
        np.savez(full / f"cifar100-{split}.npz", **{
            f"x_{split}": rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8),
            f"y_{split}": rng.integers(0, 100, count).astype(np.int64)})
    monkeypatch.setenv("GRADER_DATA_DIR", str(full))  # a later place than --data-dir
    data = datasets.load("cifar100", data_dir=SHARED_DATA)
    assert not data.partial and data.source == str(full / "cifar100-{train,test}.npz")


def test_a_partial_copy_whose_labels_do_not_begin_the_official_list_is_corrupt(isolated):
    rng = np.random.default_rng(1)
    for split, count, official in (("train", 30, 60_000), ("test", 12, 10_000)):
        every = rng.integers(0, 10, official).astype(np.int64)
        np.savez(isolated / f"mnist-{split}-partial.npz", **{
            f"x_{split}": rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
            f"y_{split}": every[:count], f"y_{split}_all": every})
    data = datasets.load("mnist", data_dir=isolated)
    assert data.partial and not data.verified and data.coverage.startswith("partial: 12 of 10,000 test")
    arrays = dict(np.load(isolated / "mnist-test-partial.npz"))
    arrays["y_test"] = (arrays["y_test"] + 1) % 10
    np.savez(isolated / "mnist-test-partial.npz", **arrays)
    with pytest.raises(DatasetCorrupt, match="not the first of the 10,000 official test labels"):
        datasets.load("mnist", data_dir=isolated, split="test")


@needs_partial_cifar100
def test_prepare_wants_the_full_set_and_says_when_only_the_partial_one_is_here(isolated, monkeypatch):
    monkeypatch.setattr(datasets, "_download_with_keras", lambda name: "URLError: offline")
    with pytest.raises(DatasetMissing, match=r"only a partial copy of CIFAR-100 is here \(partial: 916 of "
                                             r"10,000 test images.*failed: URLError: offline"):
        datasets.prepare("cifar100", data_dir=SHARED_DATA)
    assert datasets.load("cifar100", data_dir=SHARED_DATA).partial  # grading still uses it, as an estimate
