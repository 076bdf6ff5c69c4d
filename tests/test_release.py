"""``grade release``: the student kit builds, installs into a fresh venv, grades, and leaks nothing.

The kit is installed the way the student guide says (``pip install ./kit``), into a
venv of its own made with ``python -m venv``; only its dependencies (TensorFlow,
NumPy, ...) are not downloaded again: the venv reads them from this environment's
site-packages through a ``.pth`` file, and the kit is installed with ``--no-deps``.
The venv's ``grader`` is the kit's copy (asserted), run from a folder outside the repository.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.catalogue import load_catalogue
from grader.release import INSTRUCTOR_ONLY, strip_hidden_checks

REPO = Path(__file__).resolve().parents[1]
FUNCTION_EXERCISES = [f"exercise{n}" for n in range(1, 7)]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("release")]


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "kit"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "release", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "wrote the student kit" in done.stdout
    return out


@pytest.fixture(scope="module")
def venv(kit, tmp_path_factory) -> dict:
    """A fresh venv with the kit installed by pip; returns the environment to run its ``grade`` in."""
    root = tmp_path_factory.mktemp("kit-venv") / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    purelib = subprocess.run([str(root / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "instructor-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install",
                           "--no-deps", "--no-build-isolation", "--no-index", "--quiet", str(kit)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_CATALOGUE", "PYTHONPATH"))}
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    work = tmp_path_factory.mktemp("student")
    shutil.copytree(kit / "exercises", work / "exercises")
    where = subprocess.run(["python", "-c", "import grader; print(grader.__file__, grader.is_student_kit())"],
                           capture_output=True, text=True, env=env, cwd=work, check=True).stdout.split()
    assert Path(where[0]).is_relative_to(root) and where[1] == "True", where
    return {"env": env, "cwd": work}


def _grade(venv: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["grade", *args], capture_output=True, text=True, env=venv["env"], cwd=venv["cwd"],
                          timeout=600, check=False)


def _public_points(exercise_id: str) -> float:
    return sum(c.points for c in load_catalogue(REPO / "assignments.toml").get(exercise_id).checklist()
               if not c.hidden)


def _kit_text_files(kit: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in kit.rglob("*")
            if p.is_file() and p.suffix in (".py", ".toml", ".md", ".txt", ".json", ".cfg", "")}


# -- what is in the kit --------------------------------------------------------------------------------

def _solution_blocks(text: str) -> list[list[str]]:
    """The distinctive lines of each ``# BEGIN SOLUTION`` block (stripped, code only)."""
    blocks, current = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "# BEGIN SOLUTION":
            current = []
        elif stripped == "# END SOLUTION":
            blocks.append(current)
            current = None
        elif current is not None and len(stripped) >= 20 and not stripped.startswith(("#", '"""', "raise ")):
            current.append(stripped)
    return [b for b in blocks if len(b) >= 3]


def _holds_block(text: str, block: list[str]) -> bool:
    lines = {line.strip() for line in text.splitlines()}
    return sum(line in lines for line in block) >= 0.6 * len(block)


def test_kit_has_no_solution_body(kit):
    # A line the stubs themselves show (a docstring quoting the book's listing) is given on purpose.
    given = {line.strip() for path in (REPO / "exercises").rglob("*.py") for line in path.read_text().splitlines()}
    blocks = [kept for path in sorted((REPO / "solutions").glob("*.py"))
              for block in _solution_blocks(path.read_text(encoding="utf-8"))
              if len(kept := [line for line in block if line not in given]) >= 3]
    assert len(blocks) >= 20
    assert any(_holds_block((REPO / "solutions" / "exercise1.py").read_text(), b) for b in blocks)  # the scan works
    for path, text in _kit_text_files(kit).items():
        leaked = [b[0] for b in blocks if _holds_block(text, b)]
        assert not leaked, f"{path.relative_to(kit)} holds a solution body starting {leaked[0]!r}"


def test_kit_has_no_hidden_check_solutions_tests_or_models(kit):
    catalogue = load_catalogue(REPO / "assignments.toml")
    hidden = [c for e in catalogue if e.implemented for c in e.checklist() if c.hidden]
    assert len(hidden) >= 5
    secrets = {c.name for c in hidden} | {c.id for c in hidden} | {c.run.__name__ for c in hidden}
    texts = _kit_text_files(kit)
    for path, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{path.relative_to(kit)} names the hidden check {secret!r}"
    files = [p.relative_to(kit) for p in kit.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in (".keras", ".h5")]
    assert not [p for p in files if p.parts[0] in ("solutions", "tests", "benchmarks")]
    assert not [p for p in files if p.parts[0] == "grader" and p.parts[1] in INSTRUCTOR_ONLY]
    assert not [p for p in files if p.name in ("mutants.py", "history.json", "answers.toml")]
    assert (kit / "exercises" / "exercise1.py").is_file() and (kit / "exercises" / "lab_mnist" / "train.py").is_file()
    assert "pip install" in (kit / "README.md").read_text()


def test_strip_hidden_checks_removes_the_registration_and_its_private_helpers():
    source = (
        "CHECKS = object()\n\n"
        "@CHECKS.check('public', points=1, needs=())\ndef public(sub):\n    _shared()\n\n"
        "@CHECKS.check('secret one', points=1, hidden=True, needs=())\ndef secret(sub):\n    _only_secret()\n\n"
        "def _only_secret():\n    return 'the secret message'\n\n"
        "def _shared():\n    return 1\n"
    )
    text, removed = strip_hidden_checks(source)
    ast.parse(text)
    assert removed == ["_only_secret", "secret"]
    assert "secret" not in text and "def public" in text and "def _shared" in text


# -- the installed kit grades -----------------------------------------------------------------------

def test_kit_grades_stubs_zero_and_hides_show_hidden(venv):
    for exercise_id in ("exercise1", "exercise2"):
        done = _grade(venv, exercise_id, "--format", "json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["score"] == 0
        assert result["max_score"] == _public_points(exercise_id)
        assert not any(c["hidden"] for c in result["checks"])
    done = _grade(venv, "all", "--format", "json")
    assert done.returncode == 0, done.stderr
    scores = {e["exercise"]: (e["score"], e["max_score"]) for e in json.loads(done.stdout)["exercises"]}
    for exercise_id in FUNCTION_EXERCISES:
        assert scores[exercise_id] == (0, _public_points(exercise_id)), exercise_id
    refused = _grade(venv, "exercise1", "--show-hidden")
    assert refused.returncode == 2 and "--show-hidden" in refused.stderr
    assert "--show-hidden" not in _grade(venv, "exercise1", "--help").stdout
    verify = _grade(venv, "verify")
    assert verify.returncode == 2 and "not part of the student kit" in verify.stderr
    usage = _grade(venv, "--help").stdout
    assert "grade EXERCISE" in usage and "verify" not in usage and "release" not in usage


def test_kit_gives_the_solutions_every_public_point(venv, tmp_path):
    for exercise_id in FUNCTION_EXERCISES:
        shutil.copyfile(REPO / "solutions" / f"{exercise_id}.py", tmp_path / f"{exercise_id}.py")
    text = _grade(venv, "exercise1", str(tmp_path))
    assert text.returncode == 0, text.stderr
    assert "1 hidden check (1 point) run when your work is graded" in " ".join(text.stdout.split())
    assert "19 / 19" in text.stdout
    done = _grade(venv, "all", str(tmp_path), "--format", "json")
    assert done.returncode == 0, done.stderr
    scores = {e["exercise"]: (e["score"], e["max_score"]) for e in json.loads(done.stdout)["exercises"]}
    for exercise_id in FUNCTION_EXERCISES:
        public = _public_points(exercise_id)
        assert scores[exercise_id] == (public, public), exercise_id


def test_the_kit_grades_a_notebook_for_jupyter(venv, tmp_path):
    """What ``%grade exercise1`` runs in a kit's kernel: ``python -m grader.jupyter`` on the cells."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell((REPO / "solutions" / "exercise1.py").read_text()),
                      nbformat.v4.new_code_cell("import grader\ngrader.check('exercise1')")]
    nbformat.write(notebook, str(tmp_path / "exercise1.ipynb"))
    done = subprocess.run(["python", "-m", "grader.jupyter", "exercise1", str(tmp_path / "exercise1.ipynb"),
                           str(tmp_path / "out")], capture_output=True, text=True, env=venv["env"],
                          cwd=venv["cwd"], timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["score"], summary["max_score"]) == (19, 19)
    assert "1 hidden check (1 point) run when your work is graded" in (tmp_path / "out" / "report.html").read_text()


def test_release_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "something").write_text("x")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "release", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "not empty" in done.stderr
