"""``grade release --out DIR``: the student kit, built from the course repository.

What students receive, and nothing else:

- ``exercises/``: the stubs and the lab folders with their ``train.py`` templates
  (never a ``.keras`` model, never ``solutions/``);
- ``grader/``: this package with the *public* checks only. Each check module is
  rewritten with the hidden checks' registrations removed from its syntax tree
  (and the private helpers only they used), so no hidden check's name, code or
  message is in the kit. The instructor-only modules (``batch``, ``export``,
  ``verify``, ``stubgen``, this one) are left out;
- ``grader/assignments.toml``: the catalogue, each exercise with ``hidden_checks``
  and ``hidden_points`` (what was left out: the report says so, and totals the
  public points only); ``grader/kit.toml`` marks the package as a kit
  (``grader.is_student_kit``: no ``--show-hidden``, no instructor commands);
- ``pyproject.toml`` (``pip install ./KIT`` puts ``grade`` on PATH) and ``README.md``.

The build checks its own work before it returns: every rewritten module is
imported in a fresh interpreter from the kit and must hold no hidden check, and
every exercise's public points plus its withheld points must equal the catalogue's.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader import KIT_MARKER, __version__
from grader.errors import GraderError

PACKAGE = Path(__file__).resolve().parent
# Instructor-only parts of the package: they grade batches, export autograders, verify against
# the solutions and mutants, or build this kit.
INSTRUCTOR_ONLY = {"batch", "export", "verify.py", "stubgen.py", "release.py"}
# The instructor's dependencies a student does not need: the test runner, Otter, the kernel
# Otter runs notebooks in (a student with Jupyter has one: the kit's [jupyter] extra).
NOT_FOR_STUDENTS = {"pytest", "otter-grader", "ipykernel"}
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class KitSummary:
    """What one build wrote: the folder, and per exercise (public checks, hidden checks, hidden points)."""

    out: Path
    exercises: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    files: int = 0

    def describe(self) -> str:
        hidden = sum(n for _, n, _ in self.exercises.values())
        return (f"wrote the student kit to {self.out} ({self.files} files, {len(self.exercises)} exercises, "
                f"{hidden} hidden checks left out). Students install it with: pip install {self.out}")


# -- hidden checks out of a check module's source ---------------------------------------------------

def _is_hidden_registration(call: ast.expr) -> bool:
    """``X.check(..., hidden=True)`` (the Checklist's registration), possibly called on a function."""
    while isinstance(call, ast.Call):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "check" and any(
                k.arg == "hidden" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords):
            return True
        call = call.func
    return False


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _used_names(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def strip_hidden_checks(source: str) -> tuple[str, list[str]]:
    """``source`` without its hidden checks: (new source, the names of the top-level things removed).

    Removed: each function decorated with a hidden registration, each statement
    that registers one, then (repeatedly) each private top-level helper (a name
    starting with ``_``) that only removed code used. Lines are cut from the
    text, so what stays keeps its formatting and comments.
    """
    tree = ast.parse(source)
    body = list(tree.body)
    removed: list[ast.stmt] = []
    for node in body:
        decorators = getattr(node, "decorator_list", [])
        if any(_is_hidden_registration(d) for d in decorators) or (
                isinstance(node, ast.Expr) and _is_hidden_registration(node.value)):
            removed.append(node)
    kept = [n for n in body if n not in removed]
    while True:
        wanted = _used_names(removed)
        still_used = _used_names(kept)
        orphans = [n for n in kept if (names := _defined_names(n)) and all(
            name.startswith("_") and name in wanted and name not in still_used
            and not _referenced_in_strings(name, kept) for name in names)]
        if not orphans:
            break
        removed += orphans
        kept = [n for n in kept if n not in orphans]
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for node in removed:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        drop.update(range(first - 1, node.end_lineno))
    text = "".join(line for index, line in enumerate(lines) if index not in drop)
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    names = sorted(name for node in removed for name in _defined_names(node))
    return text, names


def _referenced_in_strings(name: str, nodes: list[ast.stmt]) -> bool:
    """A helper named in a string (``getattr(module, "_x")``) is kept: removing it could break the rest."""
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value == name
               for node in nodes for n in ast.walk(node))


# -- the catalogue and the project file -------------------------------------------------------------

def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise GraderError(f"grade release: cannot write {value!r} in the kit's catalogue")


def _toml_tables(tables: dict[str, dict]) -> str:
    parts = []
    for name, table in tables.items():
        parts.append(f"[{name}]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in table.items()))
    return "\n".join(parts)


def _package_data(kit_package: Path) -> list[str]:
    """Patterns for every file of the kit's package that is not Python source (a wheel must carry them)."""
    patterns = set()
    for path in kit_package.rglob("*"):
        if path.is_file() and path.suffix != ".py":
            folder = path.parent.relative_to(kit_package).as_posix()
            name = f"*{path.suffix}" if path.suffix else path.name
            patterns.add(name if folder == "." else f"{folder}/{name}")
    return sorted(patterns)


def _kit_pyproject(repo: Path, package_data: list[str]) -> str:
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dependencies = [d for d in project.get("dependencies", [])
                    if (m := _REQUIREMENT_NAME.match(d)) and m.group(1).lower() not in NOT_FOR_STUDENTS]
    jupyter = [d for d in project.get("dependencies", []) if d.lower().startswith("ipykernel")] or ["ipykernel>=6"]
    return (
        "# The student kit of the course's grader, built by `grade release`. Install: pip install .\n"
        "[build-system]\nrequires = [\"setuptools>=68\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
        "[project]\nname = \"grader\"\n"
        f"version = {_toml_value(project.get('version', __version__))}\n"
        "description = \"grade: check your course exercises (public checks; hidden checks run when graded)\"\n"
        "readme = \"README.md\"\n"
        f"requires-python = {_toml_value(project.get('requires-python', '>=3.11'))}\n"
        f"dependencies = {_toml_value(dependencies)}\n\n"
        f"[project.optional-dependencies]\njupyter = {_toml_value(jupyter)}\n\n"
        "[project.scripts]\ngrade = \"grader.cli:main\"\n\n"
        "[tool.setuptools.packages.find]\ninclude = [\"grader*\"]\n\n"
        "[tool.setuptools.package-data]\n"
        f"grader = {_toml_value(package_data)}\n"
    )


# -- the build ----------------------------------------------------------------------------------------

def course_repository() -> Path:
    """The checkout this grader runs from; GraderError where there is none (a kit, an installed wheel)."""
    repo = PACKAGE.parent
    if not ((repo / "assignments.toml").is_file() and (repo / "exercises").is_dir()
            and (repo / "pyproject.toml").is_file()):
        raise GraderError("grade release builds the kit from the course repository (assignments.toml, "
                          f"exercises/, pyproject.toml beside grader/); none was found at {repo}")
    return repo


def _copy_package(kit_package: Path) -> list[Path]:
    """The package's source without the instructor-only parts: the copied check modules' paths."""
    checks = []
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE)
        if (relative.parts[0] in INSTRUCTOR_ONLY or "__pycache__" in relative.parts or path.is_symlink()
                or not path.is_file() or path.suffix in (".pyc", ".pyo", ".keras") or path.name == KIT_MARKER):
            continue
        target = kit_package / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        if relative.parts[0] == "checks" and path.suffix == ".py":
            checks.append(target)
    return checks


def _copy_exercises(source: Path, target: Path) -> int:
    count = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if ("__pycache__" in relative.parts or path.is_symlink() or not path.is_file()
                or path.suffix in (".keras", ".pyc", ".h5")):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
        count += 1
    return count


_VERIFY = """
import json, sys
import grader
from grader.catalogue import load_catalogue
assert grader.__file__.startswith(sys.argv[1]), grader.__file__
out = {}
for exercise in load_catalogue():
    if exercise.implemented:
        checks = list(exercise.checklist())
        out[exercise.id] = [len(checks), sum(c.hidden for c in checks)]
print(json.dumps(out))
"""


def _verify_kit(out: Path) -> dict[str, list[int]]:
    """Import every check module of the kit, from the kit, in a fresh interpreter."""
    import os

    env = {**os.environ, "PYTHONPATH": str(out), "GRADER_CATALOGUE": str(out / "grader" / "assignments.toml"),
           "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", _VERIFY, str(out / "grader")], cwd=out, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise GraderError(f"grade release: the kit in {out} does not import: {last}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    leaked = [name for name, (_, hidden) in counts.items() if hidden]
    if leaked:
        raise GraderError(f"grade release: hidden checks are still registered in the kit for {', '.join(leaked)} "
                          "(registered in a way the release cannot remove: use @CHECKS.check(..., hidden=True))")
    return counts


def build_kit(*, out: Path) -> KitSummary:
    """Write the student kit to ``out`` (a new or empty folder); GraderError if it cannot."""
    from grader.catalogue import load_catalogue

    repo = course_repository()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GraderError(f"--out {out}: the folder exists and is not empty; give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    catalogue = load_catalogue(repo / "assignments.toml")
    summary = KitSummary(out=out)
    kit_package = out / "grader"
    check_modules = _copy_package(kit_package)
    for module in check_modules:
        text, _ = strip_hidden_checks(module.read_text(encoding="utf-8"))
        module.write_text(text, encoding="utf-8")
    raw = tomllib.loads((repo / "assignments.toml").read_text(encoding="utf-8"))
    for exercise in catalogue:
        if not exercise.implemented:
            continue
        checks = list(exercise.checklist())
        hidden = [c for c in checks if c.hidden]
        summary.exercises[exercise.id] = (len(checks) - len(hidden), len(hidden), sum(c.points for c in hidden))
        if hidden:
            raw[exercise.id]["hidden_checks"] = len(hidden)
            raw[exercise.id]["hidden_points"] = sum(c.points for c in hidden)
    (kit_package / "assignments.toml").write_text(
        "# The course catalogue of this student kit (built by `grade release`). hidden_checks and\n"
        "# hidden_points: the checks not in the kit; they run when your work is graded.\n\n"
        + _toml_tables(raw), encoding="utf-8")
    (kit_package / KIT_MARKER).write_text(
        f"# This grader is a student kit: public checks only.\nversion = {_toml_value(__version__)}\n",
        encoding="utf-8")
    exercises = _copy_exercises(repo / "exercises", out / "exercises")
    (out / "pyproject.toml").write_text(_kit_pyproject(repo, _package_data(kit_package)), encoding="utf-8")
    (out / "README.md").write_text(student_readme(catalogue, summary.exercises), encoding="utf-8")
    guide = repo / "docs" / "student-guide.md"
    if guide.is_file():
        shutil.copyfile(guide, out / "student-guide.md")
    counts = _verify_kit(out)
    for exercise_id, (public, _, _) in summary.exercises.items():
        if counts.get(exercise_id, [None])[0] != public:
            raise GraderError(f"grade release: the kit's {exercise_id} has {counts.get(exercise_id)} checks, "
                              f"expected {public} public ones")
    summary.files = sum(1 for p in out.rglob("*") if p.is_file()) or exercises
    return summary


def student_readme(catalogue, exercises: dict[str, tuple[int, int, float]]) -> str:
    """The kit's README.md: set-up, checking an exercise (terminal and Jupyter), what hidden checks are."""
    rows = []
    for exercise in catalogue:
        if exercise.id not in exercises:
            continue
        public, hidden, hidden_points = exercises[exercise.id]
        where = exercise.file or f"{exercise.folder}/"
        withheld = f"{hidden} ({hidden_points:g} points)" if hidden else "none"
        rows.append(f"| `{exercise.id}` | {exercise.title} | `exercises/{where}` | {exercise.points - hidden_points:g} "
                    f"| {withheld} |")
    table = "\n".join(["| id | title | your file | points you can check here | hidden checks |",
                       "|---|---|---|---|---|", *rows])
    return f"""# The course grader: student kit

This folder holds your exercises (`exercises/`) and the grader that checks them (`grade`).

## Set up (once)

With Python 3.11 or newer, from the folder that holds this README:

    python -m venv .venv && .venv/bin/pip install .

(Windows: `python -m venv .venv` then `.venv\\Scripts\\pip install .`; for Jupyter: `pip install ".[jupyter]"`.)
Activate the environment (`source .venv/bin/activate`, Windows `.venv\\Scripts\\activate`) and `grade` is on
your PATH.

## Check your work

    grade list                 # the exercises
    grade exercise1            # checks exercises/exercise1.py (run from this folder)
    grade exercise1 --check lecture   # only the checks whose name contains "lecture"

In a Jupyter notebook:

    %load_ext grader
    %grade exercise1

(or `import grader; grader.check("exercise1")`). The notebook's cells, as this kernel ran them, are graded
in a separate process, never the objects living in your notebook: restart the kernel and run all cells
before you check, so that what is graded is what you will hand in.

## What the points mean

The kit holds the *public* checks. Each exercise also has hidden checks (other inputs, larger cases) that
run when your work is graded; the report names how many, and its total counts only the public points.
A full score here is a good sign, not a guarantee.

{table}

See `grade EXERCISE --help` for the options, and `student-guide.md` for more.
"""
