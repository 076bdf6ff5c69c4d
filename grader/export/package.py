"""What both exports share: the grader's files, pinned requirements, reproducible zips.

Both archives are deterministic: sorted entries, fixed timestamps and modes.
"""

from __future__ import annotations

import contextlib
import json
import tomllib
import zipfile
from pathlib import Path

from grader.errors import GraderError

PACKAGE = Path(__file__).resolve().parents[1]


CATALOGUE_NAME = "assignments.toml"


EXPORT_CONFIG = "grade_export.json"


ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# Not needed to grade: the toolkit's own test runner, Otter itself, linters.
NOT_FOR_GRADING = {"pytest", "otter-grader", "ruff"}


# Where Gradescope runs: its images are Linux on x86-64.
GRADESCOPE_MARKERS = {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux",
                      "os_name": "posix", "extra": ""}


def load(catalogue):
    from grader.catalogue import load_catalogue

    return catalogue if catalogue is not None else load_catalogue()


def function_exercise(catalogue, exercise_id: str, what: str):
    exercise = catalogue.get(exercise_id)
    if exercise.is_lab:
        raise GraderError(
            f"{exercise_id} is a lab (a folder with a trained model): {what} supports only exercises "
            f"graded from one Python file or notebook."
        )
    exercise.checklist()  # the checks exist and add up to the catalogue's points
    return exercise


def grader_files() -> dict[str, bytes]:
    """The ``grader`` package as source, without caches."""
    files = {}
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE)
        if (path.is_symlink() or not path.is_file() or "__pycache__" in relative.parts
                or path.suffix in (".pyc", ".pyo")):
            continue
        files[f"grader/{relative.as_posix()}"] = path.read_bytes()
    return files


def pinned_requirements() -> list[str]:
    """The grader's runtime dependencies for Linux x86-64, pinned to the installed versions.

    Read from ``pyproject.toml`` beside the package (or the installed metadata);
    a dependency that is not installed here keeps its declared range.
    """
    from importlib import metadata

    from packaging.requirements import Requirement

    pyproject = PACKAGE.parent / "pyproject.toml"
    if pyproject.is_file():
        declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    else:
        declared = [r for r in metadata.requires("grader") or [] if "extra ==" not in r]
    pins = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.name in NOT_FOR_GRADING:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(GRADESCOPE_MARKERS):
            continue
        try:
            pins.append(f"{requirement.name}=={metadata.version(requirement.name)}")
        except metadata.PackageNotFoundError:
            pins.append(f"{requirement.name}{requirement.specifier}")
    return sorted(pins, key=str.lower)


@contextlib.contextmanager
def writing(out: Path):
    """An unwritable destination is the user's to fix (exit 2), not a traceback."""
    try:
        yield
    except OSError as error:
        raise GraderError(f"cannot write {out}: {error.strerror or error}") from None


def write_zip(out: Path, files: dict[str, bytes], executable: tuple[str, ...] = ()) -> Path:
    """A reproducible zip: sorted names, fixed timestamps, fixed modes."""
    with writing(out):
        if out.is_dir():
            raise GraderError(f"{out} is a folder: give the path of the zip file to write.")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so that the modes below are honoured
                info.external_attr = (0o100755 if name in executable else 0o100644) << 16
                archive.writestr(info, files[name])
        partial.replace(out)
    return out


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
