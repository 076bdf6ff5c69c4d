"""The reference cache (grader/reference/cache.py): exact hits, and every damaged store is a miss.

Most tests use NumPy computations as the "reference" (no TensorFlow needed): what
is under test is the store, its keys and its refusals. The TensorFlow-marked
tests check that the cached values are TensorFlow's, byte for byte, and that the
shipped store holds what a fresh TensorFlow computes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.reference import cache

ROOT = Path(__file__).resolve().parents[1]


class Counted:
    """A reference computation that counts its calls: x -> (2x, sum x)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.calls = 0

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        return 2 * self.x, np.float64(self.x.sum())


def _lookup(store: cache.ReferenceCache, x: np.ndarray, **params) -> tuple[tuple, Counted]:
    compute = Counted(x)
    return store.lookup("double", (x,), params or {"k": 1}, compute), compute


def _store_file(folder: Path) -> Path:
    (path,) = folder.glob("reference-*.bin")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "grade-cache"


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((2, 5, 5, 3))


def _fresh(folder: Path) -> cache.ReferenceCache:
    store = cache.ReferenceCache(folder, shipped=None)
    if store._namespace is None:
        store.load()
    return store


def _fill(folder: Path, x: np.ndarray) -> tuple:
    store = _fresh(folder)
    value, compute = _lookup(store, x)
    assert compute.calls == 1
    store.flush()
    return value


def test_a_regrade_hits_the_store_and_returns_the_same_bytes(folder: Path, x: np.ndarray) -> None:
    first = _fill(folder, x)
    again, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 0
    assert [a.tobytes() for a in again] == [a.tobytes() for a in first]
    assert [a.shape for a in again] == [(2, 5, 5, 3), ()]
    again[0][...] = 0  # a caller may scribble on what it got: the store keeps its own copy
    third, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 0 and np.array_equal(third[0], 2 * x)


def test_the_store_is_private(folder: Path, x: np.ndarray) -> None:
    _fill(folder, x)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(_store_file(folder)).st_mode) == 0o600


def test_keys_tell_apart_what_changes_a_result(x: np.ndarray) -> None:
    base = cache.make_key("conv2d", (x,), {"stride": (1, 1), "padding": "same"})
    others = [
        cache.make_key("relu", (x,), {"stride": (1, 1), "padding": "same"}),
        cache.make_key("conv2d", (x,), {"stride": (2, 1), "padding": "same"}),
        cache.make_key("conv2d", (x,), {"stride": (1, 1), "padding": "valid"}),
        cache.make_key("conv2d", (x,), {"stride": (1.0, 1), "padding": "same"}),
        cache.make_key("conv2d", (x.reshape(2, 25, 3),), {"stride": (1, 1), "padding": "same"}),
        cache.make_key("conv2d", (x.astype(np.float32),), {"stride": (1, 1), "padding": "same"}),
        cache.make_key("conv2d", (np.nextafter(x, 1),), {"stride": (1, 1), "padding": "same"}),
    ]
    assert base not in others and len(set(others)) == len(others)
    assert base == cache.make_key("conv2d", (x.copy(),), {"padding": "same", "stride": (1, 1)})
    assert cache.make_key("conv2d", (np.array([object()]),), {}) is None  # not cacheable: computed


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "bad magic", "empty", "garbage"])
def test_a_damaged_store_is_a_miss(folder: Path, x: np.ndarray, damage: str) -> None:
    _fill(folder, x)
    path = _store_file(folder)
    data = path.read_bytes()
    damaged = {"truncated": data[: len(data) // 2], "flipped byte": data[:-40] + bytes([data[-40] ^ 1]) + data[-39:],
               "bad magic": b"X" + data[1:], "empty": b"", "garbage": os.urandom(len(data))}[damage]
    path.write_bytes(damaged)
    value, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 1
    assert np.array_equal(value[0], 2 * x)


def test_a_store_with_a_valid_checksum_but_bad_layout_is_a_miss(folder: Path, x: np.ndarray) -> None:
    store = _fresh(folder)
    _lookup(store, x)
    key = next(iter(store._new))
    store.flush()
    path = _store_file(folder)
    for parts in ([["<f8", [2, 5, 5, 3], 10**9]],  # past the end
                  [["|O", [1], 0]],  # objects: never
                  [["<f8", [-1], 0]]):
        header = {"namespace": store._namespace, "entries": {key: parts}}
        encoded = json.dumps(header).encode()
        body = cache.MAGIC + len(encoded).to_bytes(8, "little") + encoded + b"\0" * 64
        path.write_bytes(body + hashlib.sha256(body).digest())
        value, compute = _lookup(_fresh(folder), x)
        assert compute.calls == 1 and np.array_equal(value[0], 2 * x)


def test_another_tensorflow_version_is_a_miss(folder: Path, x: np.ndarray) -> None:
    store = _fresh(folder)
    _lookup(store, x)
    entries = dict(store._new)
    other = {**store._namespace, "tensorflow": "0.0.1"}
    _fill(folder, x)
    _store_file(folder).write_bytes(cache.encode_store(entries, other))
    value, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 1
    assert cache.parse_store(cache.encode_store(entries, other), store._namespace) == {}


def test_values_of_other_reference_code_are_a_miss(folder: Path, x: np.ndarray, monkeypatch) -> None:
    """A store written while tf_ops.py computed something else (a shape since fixed) is not trusted.

    Seen for real: a development version cached softmax_cross_entropy's loss in another
    shape under the same key, and every later grade crashed on the hit.
    """
    wrong = (np.zeros((2, 2)), np.zeros(3))  # the right key, a value of other code
    monkeypatch.setattr(cache, "_reference_code_hash", lambda: "an-older-tf-ops")
    stale = _fresh(folder)
    key = cache.make_key("double", (x,), {"k": 1})
    stale._new[key] = wrong
    stale.flush()
    monkeypatch.undo()
    assert cache.namespace()["reference"] == hashlib.sha256(
        (ROOT / "grader" / "reference" / "tf_ops.py").read_bytes()).hexdigest()[:16]
    value, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 1 and value[0].shape == x.shape


def test_a_store_open_to_others_or_not_ours_is_not_trusted(folder: Path, x: np.ndarray) -> None:
    _fill(folder, x)
    path = _store_file(folder)
    os.chmod(path, 0o666)
    _value, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 1  # world-writable: anybody could have written it
    os.chmod(path, 0o600)
    os.chmod(folder, 0o777)
    _value, compute = _lookup(_fresh(folder), x)
    assert compute.calls == 0 and stat.S_IMODE(os.stat(folder).st_mode) == 0o700  # ours: made private
    if os.geteuid() == 0:
        os.chown(folder, 4242, 4242)
        _value, compute = _lookup(_fresh(folder), x)
        assert compute.calls == 1  # another user's folder
    os.chmod(folder, 0o700)
    shutil.rmtree(folder)
    folder.symlink_to(path.parent.parent)
    store = _fresh(folder)
    _lookup(store, x)
    store.flush()
    assert not list(path.parent.parent.glob("reference-*.bin"))  # a link is not a private folder


def test_off_disables_the_user_store(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRADER_REFERENCE_CACHE", "off")
    assert cache._folder() is None
    monkeypatch.setenv("GRADER_REFERENCE_CACHE", str(tmp_path))
    assert cache._folder() == tmp_path
    monkeypatch.delenv("GRADER_REFERENCE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache._folder() == tmp_path / "xdg" / "grade"


def test_concurrent_flushes_merge(folder: Path) -> None:
    first, second = _fresh(folder), _fresh(folder)
    a, b = np.arange(3.0), np.arange(4.0)
    _lookup(first, a)
    _lookup(second, b)
    first.flush()
    second.flush()
    third = _fresh(folder)
    assert _lookup(third, a)[1].calls == 0 and _lookup(third, b)[1].calls == 0


def test_the_sandbox_child_cannot_see_the_store(tmp_path: Path) -> None:
    """A submission that looks for the store from inside the sandbox finds nothing there."""
    home_cache = Path.home() / ".cache" / f"grade-test-{os.getpid()}"
    store = cache.ReferenceCache(home_cache, shipped=None)
    store.load()
    store.lookup("probe", (np.zeros(1),), {}, lambda: (np.ones(1),))
    store.flush()
    try:
        path = _store_file(home_cache)
        source = (ROOT / "solutions" / "exercise3.py").read_text()
        source = source.replace("def relu(", "def _relu(") + f'''

def relu(x):
    import os
    try:
        open({str(path)!r}, "rb").read(1)
        found = "readable"
    except OSError as error:
        found = f"unreadable errno {{error.errno}}"
    raise RuntimeError(f"probe: {{found}} exists={{os.path.exists({str(path)!r})}}")
'''
        (tmp_path / "exercise3.py").write_text(source)
        env = {**os.environ, "GRADER_REFERENCE_CACHE": str(home_cache)}
        completed = subprocess.run([sys.executable, "-m", "grader.cli", "exercise3", str(tmp_path), "--check", "relu",
                                    "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert "probe: unreadable errno 2 exists=False" in completed.stdout, completed.stdout[-2000:]
    finally:
        for child in home_cache.iterdir():
            child.unlink()
        home_cache.rmdir()


@pytest.mark.tensorflow
def test_cached_tensorflow_values_are_tensorflow_s(folder: Path, monkeypatch) -> None:
    """Through tf_ops: a miss computes with TensorFlow, the hit returns exactly those bytes."""
    pytest.importorskip("tensorflow")
    from grader.reference import tf_ops

    monkeypatch.setattr(cache, "_CACHE", cache.ReferenceCache(folder, shipped=None))
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    calls = [lambda: tf_ops.conv2d(x, w, b, 2, "same"),
             lambda: tf_ops.pool2d("avg", x, 2, None, "same"),
             lambda: tf_ops.batchnorm(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True),
             lambda: tf_ops.softmax_cross_entropy(rng.standard_normal((4, 5)) * 0 + 1.5, np.array([0, 1, 2, 3]))]
    first = [call() for call in calls]
    assert cache.current().misses == len(calls)
    cache.current().flush()
    monkeypatch.setattr(cache, "_CACHE", cache.ReferenceCache(folder, shipped=None))
    again = [call() for call in calls]
    assert cache.current().hits == len(calls) and cache.current().misses == 0

    def flat(value):
        return [np.asarray(v).tobytes() for v in (value if isinstance(value, tuple) else (value,))]

    assert [flat(v) for v in again] == [flat(v) for v in first]
    assert isinstance(again[3][0], float)


_VERIFY = """
import json, sys
import numpy as np
from grader.reference import cache
checked = {"hits": 0, "same": 0, "misses": 0}
original = cache.ReferenceCache.lookup
def lookup(self, op, arrays, params, compute):
    hits = self.hits
    value = original(self, op, arrays, params, compute)
    if self.hits > hits:
        checked["hits"] += 1
        fresh = tuple(np.asarray(v) for v in compute())
        checked["same"] += [a.tobytes() for a in fresh] == [a.tobytes() for a in value] and \\
            [a.shape for a in fresh] == [a.shape for a in value]
    else:
        checked["misses"] += 1
    return value
cache.ReferenceCache.lookup = lookup
cache._CACHE = cache.ReferenceCache(None)
from grader.cli import main
main([sys.argv[1], "solutions", "--format", "json"])
sys.stderr.write("CHECKED " + json.dumps(checked) + "\\n")
"""


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["exercise3", "exercise4", "exercise5"])
def test_the_shipped_values_are_what_tensorflow_computes(exercise: str) -> None:
    """Every value the shipped store gives a solutions run is recomputed by TensorFlow: same bytes."""
    pytest.importorskip("tensorflow")
    shipped = cache.ReferenceCache(None)
    shipped.load()
    if not shipped._entries:
        data = cache.SHIPPED.read_bytes()
        start = len(cache.MAGIC) + 8
        length = int.from_bytes(data[len(cache.MAGIC):start], "little")
        written_for = json.loads(data[start:start + length])["namespace"]
        here = shipped._namespace
        # Only another TensorFlow or Keras excuses it: reference code edited since is a stale store.
        assert written_for["reference"] == here["reference"], \
            "tf_ops.py changed since precomputed.bin was written: run python -m grader.reference.cache --regenerate"
        pytest.skip(f"the shipped store is for TensorFlow {written_for.get('tensorflow')}, this is "
                    f"{here['tensorflow']}: run python -m grader.reference.cache --regenerate")
    completed = subprocess.run([sys.executable, "-c", _VERIFY, exercise], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "GRADER_REFERENCE_CACHE": "off"})
    line = next(x for x in completed.stderr.splitlines() if x.startswith("CHECKED "))
    checked = json.loads(line.removeprefix("CHECKED "))
    assert checked["hits"] > 0, checked
    assert checked["same"] == checked["hits"], checked
