"""Read and validate ``assignments.toml``, the course catalogue.

Found, in order, at ``$GRADER_CATALOGUE``, in the current folder or one of its
parents, or beside the installed ``grader`` package (the course repository).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError, GraderError

CATALOGUE_NAME = "assignments.toml"
_DEFAULT_KEYS = {"time_limit_s", "call_timeout_s", "memory_mb", "file_size_mb", "output_kb"}
_EXERCISE_KEYS = _DEFAULT_KEYS | {
    "title", "file", "folder", "points", "functions", "uses_tensorflow", "dataset",
    "target_accuracy", "floor_accuracy", "hidden_checks", "hidden_points",
}


@dataclass(frozen=True)
class Exercise:
    """One catalogue entry. ``file`` for function exercises, ``folder`` for labs."""

    id: str
    title: str
    points: float
    time_limit_s: float
    call_timeout_s: float
    memory_mb: int
    file_size_mb: int
    output_kb: int
    file: str | None = None
    folder: str | None = None
    functions: tuple[str, ...] = ()
    uses_tensorflow: bool = False
    dataset: str | None = None
    target_accuracy: float | None = None
    floor_accuracy: float | None = None
    # A student kit (``grade release``) ships the public checks only: how many checks, worth how
    # many points, were left out (they run when the work is graded). 0 in the instructor's copy.
    hidden_checks: int = 0
    hidden_points: float = 0.0

    @property
    def withheld_note(self) -> str | None:
        """The report's line about the checks a student kit does not hold; None where it holds all."""
        if not self.hidden_checks:
            return None
        plural = "s" if self.hidden_checks != 1 else ""
        points = "point" if self.hidden_points == 1 else "points"
        return (f"{self.hidden_checks} hidden check{plural} ({self.hidden_points:g} {points}) "
                "run when your work is graded")

    @property
    def is_lab(self) -> bool:
        return self.folder is not None

    @property
    def module(self) -> str:
        return self.id

    def checklist(self):
        """The exercise's checks (``grader.checks.<id>``); ConfigError if none exist yet."""
        try:
            module = importlib.import_module(f"grader.checks.{self.id}")
        except ModuleNotFoundError as error:
            if error.name == f"grader.checks.{self.id}":
                raise GraderError(
                    f"{self.id} is in the catalogue but this version of the grader has no checks for it yet."
                ) from None
            raise
        checklist = module.CHECKS
        if self.is_lab and getattr(checklist, "dataset", None) != self.dataset:
            raise ConfigError(f"{CATALOGUE_NAME}: {self.id} declares dataset = {self.dataset!r} but its checks "
                              f"grade on {getattr(checklist, 'dataset', None)!r}.")
        if abs(checklist.total_points + self.hidden_points - self.points) > 1e-9:
            withheld = f" (and {self.hidden_points:g} withheld)" if self.hidden_points else ""
            raise ConfigError(
                f"{CATALOGUE_NAME}: {self.id} is worth {self.points:g} points but its checks add up to "
                f"{checklist.total_points:g}{withheld}."
            )
        return checklist

    @property
    def implemented(self) -> bool:
        return importlib.util.find_spec(f"grader.checks.{self.id}") is not None


@dataclass(frozen=True)
class Catalogue:
    path: Path
    exercises: dict[str, Exercise]

    def get(self, exercise_id: str) -> Exercise:
        if exercise_id in self.exercises:
            return self.exercises[exercise_id]
        close = difflib.get_close_matches(exercise_id, list(self.exercises), n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise GraderError(
            f"unknown exercise {exercise_id!r}.{suggestion} `grade list` shows them all."
        )

    def __iter__(self):
        return iter(self.exercises.values())


def find_catalogue() -> Path:
    explicit = os.environ.get("GRADER_CATALOGUE")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"GRADER_CATALOGUE points at {path}, which is not a file.")
        return path
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CATALOGUE_NAME).is_file():
            return folder / CATALOGUE_NAME
    beside_package = Path(__file__).resolve().parents[1] / CATALOGUE_NAME
    if beside_package.is_file():
        return beside_package
    inside_package = Path(__file__).resolve().parent / CATALOGUE_NAME  # an installed student kit
    if inside_package.is_file():
        return inside_package
    raise ConfigError(
        f"no {CATALOGUE_NAME} found in {here} or its parents; set GRADER_CATALOGUE to its path."
    )


def _number(table: dict, key: str, where: str, *, positive: bool = True) -> float:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (positive and value <= 0):
        raise ConfigError(f"{CATALOGUE_NAME}: [{where}] {key} must be a positive number, got {value!r}")
    return value


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Parse and validate the catalogue; ConfigError names the table and key at fault."""
    path = path or find_catalogue()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    defaults = data.pop("defaults", {})
    unknown = set(defaults) - _DEFAULT_KEYS
    if unknown:
        raise ConfigError(f"{CATALOGUE_NAME}: [defaults] has unknown keys {sorted(unknown)}")
    exercises = {}
    for exercise_id, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{CATALOGUE_NAME}: {exercise_id} must be a table")
        unknown = set(table) - _EXERCISE_KEYS
        if unknown:
            raise ConfigError(f"{CATALOGUE_NAME}: [{exercise_id}] has unknown keys {sorted(unknown)}")
        merged = {**defaults, **table}
        for key in ("title", "points", *_DEFAULT_KEYS):
            if key not in merged:
                raise ConfigError(f"{CATALOGUE_NAME}: [{exercise_id}] needs {key}")
        if ("file" in table) == ("folder" in table):
            raise ConfigError(f"{CATALOGUE_NAME}: [{exercise_id}] needs exactly one of file or folder")
        for key in _DEFAULT_KEYS | {"points"}:
            _number(merged, key, exercise_id)
        for key in ("hidden_checks", "hidden_points"):
            if key in table:
                _number(table, key, exercise_id, positive=False)
                if table[key] < 0 or (key == "hidden_checks" and not isinstance(table[key], int)):
                    raise ConfigError(f"{CATALOGUE_NAME}: [{exercise_id}] {key} must be a count >= 0")
        if "folder" in table:
            for key in ("target_accuracy", "floor_accuracy"):
                if key not in table:
                    raise ConfigError(f"{CATALOGUE_NAME}: lab [{exercise_id}] needs {key}")
            if not 0 < table["floor_accuracy"] <= table["target_accuracy"] <= 1:
                raise ConfigError(
                    f"{CATALOGUE_NAME}: [{exercise_id}] needs 0 < floor_accuracy <= target_accuracy <= 1"
                )
        exercises[exercise_id] = Exercise(
            id=exercise_id,
            title=str(merged["title"]),
            points=float(merged["points"]),
            time_limit_s=float(merged["time_limit_s"]),
            call_timeout_s=float(merged["call_timeout_s"]),
            memory_mb=int(merged["memory_mb"]),
            file_size_mb=int(merged["file_size_mb"]),
            output_kb=int(merged["output_kb"]),
            file=table.get("file"),
            folder=table.get("folder"),
            functions=tuple(table.get("functions", ())),
            uses_tensorflow=bool(table.get("uses_tensorflow", False)),
            dataset=table.get("dataset"),
            target_accuracy=table.get("target_accuracy"),
            floor_accuracy=table.get("floor_accuracy"),
            hidden_checks=int(table.get("hidden_checks", 0)),
            hidden_points=float(table.get("hidden_points", 0.0)),
        )
    return Catalogue(path=path, exercises=exercises)
