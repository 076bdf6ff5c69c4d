"""Which Python the sandbox child runs, so that it still works after dropping to a private uid.

After the child drops from root to an unprivileged uid it must still be able to
import modules lazily (the standard library, NumPy's submodules, TensorFlow's).
That fails when the interpreter or the virtual environment lives in a folder
other users cannot enter (pyenv under ``/root``, a clone in a ``mktemp -d``
folder). In that case this module builds, once, a *mirror* prefix of hard links
(copies across file systems) in a root-owned, world-readable cache folder:

    <cache>/py-<hash>/bin/python3.X              the real interpreter binary
    <cache>/py-<hash>/lib/libpython3.X.so*       its shared library, if any
    <cache>/py-<hash>/lib/python3.X/...          the standard library
    <cache>/py-<hash>/lib/python3.X/site-packages/<the profile's packages>

Started from ``bin/python3.X`` there, Python finds its prefix by the usual
landmark search, so every later import goes through readable paths. Hard links
share the originals' inodes: root-owned, not writable by the sandbox uid.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("GRADER_SANDBOX_CACHE", "/var/cache/grade-sandbox"))
_SKIP_STDLIB = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "dist-packages"}
PROFILES = ("numpy", "tensorflow")  # both see every installed package but the grader's own
# The grader's own distribution (its checks, references, editable-install hooks) is never mirrored.
_GRADER_ENTRIES = ("grader", "__editable__", "_grader")


@dataclass(frozen=True)
class SandboxPython:
    """The interpreter a child runs, the folders it lives in, and the site-packages it may import."""

    executable: str
    roots: list[str]  # its installation prefix (bound read-only under bubblewrap)
    site_packages: list[str]
    note: str | None = None


def _others_can_read(path: Path) -> bool:
    """True when a user that is neither owner nor group can reach and list ``path``."""
    path = path.resolve()
    for folder in (path, *path.parents):
        try:
            mode = folder.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def site_packages() -> list[str]:
    """This environment's site-packages, then any other on ``sys.path`` (a ``--system-site-packages``
    venv's, one a ``.pth`` file adds): the child may import what the grader's interpreter can."""
    paths = []
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths()[key]
        if path not in paths and os.path.isdir(path):
            paths.append(path)
    for path in sys.path:
        if os.path.basename(path) in ("site-packages", "dist-packages") and path not in paths \
                and os.path.isabs(path) and os.path.isdir(path):
            paths.append(path)
    return paths


def _link_tree(source: Path, destination: Path, skip_top: set[str] | None = None,
               drop_top: tuple[str, ...] = ()) -> None:
    for root, dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        if rel == Path("."):
            if skip_top:
                dirs[:] = [d for d in dirs if d not in skip_top and not d.startswith("config-")]
            dirs[:] = [d for d in dirs if not d.lower().startswith(drop_top)] if drop_top else dirs
            files = [f for f in files if not f.endswith(".pth") and not f.startswith("__editable__")
                     and not (drop_top and f.lower().startswith(drop_top))]
        target = destination / rel
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, 0o755)
        for name in files:
            _link(Path(root) / name, target / name)


def _link(source: Path, target: Path) -> None:
    if source.is_symlink():
        source = source.resolve()
        if not source.is_file():
            return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
        os.chmod(target, 0o644 | (0o111 if os.access(source, os.X_OK) else 0))


def _mirror_key() -> str:
    material = json.dumps([sys.version, os.path.realpath(sys.executable), sys.base_prefix, sys.prefix,
                           "all-but-grader", [os.stat(p).st_mtime_ns for p in site_packages()]])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _build_mirror(destination: Path) -> None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    building = Path(tempfile.mkdtemp(prefix="building-", dir=destination.parent))
    os.chmod(building, 0o755)
    (building / "bin").mkdir(mode=0o755)
    _link(Path(os.path.realpath(sys.executable)), building / "bin" / version)
    lib = building / "lib"
    lib.mkdir(mode=0o755)
    libdir = Path(sysconfig.get_config_var("LIBDIR") or "")
    for shared in libdir.glob(f"lib{version}*.so*") if libdir.is_dir() else ():
        _link(shared, lib / shared.name)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    _link_tree(stdlib, lib / version, skip_top=_SKIP_STDLIB)
    for packages in site_packages():
        _link_tree(Path(packages), lib / version / "site-packages", drop_top=_GRADER_ENTRIES)
    os.rename(building, destination)


def sandbox_python(profile: str) -> SandboxPython:
    """The interpreter, prefix and site-packages for a child of ``profile`` ("numpy"/"tensorflow").

    Not root, or everything already readable: this interpreter's real binary and
    prefix, with this environment's site-packages. Otherwise the mirror (built
    on first use, every package but the grader's own). The child is started
    from the real binary, never the virtual environment's, so only the folders
    named here need to exist in its world.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown sandbox profile {profile!r}")
    packages = site_packages()
    executable = os.path.realpath(sys.executable)
    if not hasattr(os, "geteuid") or os.geteuid() != 0:  # Windows has no uids
        return SandboxPython(executable, [sys.base_prefix], packages)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if _others_can_read(stdlib) and all(_others_can_read(Path(p)) for p in packages) \
            and _others_can_read(Path(executable)):
        return SandboxPython(executable, [sys.base_prefix], packages)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    destination = CACHE / f"py-{_mirror_key()}"
    if not destination.is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        os.chmod(CACHE, 0o755)
        try:
            _build_mirror(destination)
        except FileExistsError:
            pass  # another grader built it meanwhile
        except OSError:
            if not destination.is_dir():
                raise
    site = destination / "lib" / version / "site-packages"
    return SandboxPython(str(destination / "bin" / version), [str(destination)], [str(site)],
                         "interpreter mirrored for the sandbox uid")
