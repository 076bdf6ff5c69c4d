"""`otter check FILE -t tests` grades FILE, wherever it is (issue 14), with the real otter.

Before the fix, the exported doctests graded whatever ``exercise1.py`` sat in the
current folder. Here the current folder always holds the *other* file (the stub
when FILE is the solution, the solution when FILE is the stub), so grading the
wrong file gives the wrong verdict. FILE is a script, then a notebook, given by a
relative and by an absolute path.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.export import export_otter
from grader.export.otter import _otter_check_file

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOLUTION, STUB = ROOT / "solutions" / "exercise1.py", ROOT / "exercises" / "exercise1.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ipykernel") is None or not (BIN / "otter").exists(),
    reason="`otter check` runs the file in a Jupyter kernel: install otter-grader and ipykernel",
)


@pytest.fixture(scope="module")
def tests_folder(tmp_path_factory, catalogue) -> Path:
    out = export_otter(exercise_id="exercise1", out=tmp_path_factory.mktemp("otter") / "otter",
                       catalogue=catalogue)
    return out / "tests"


def _check(file: str, cwd: Path, tests: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run([str(BIN / "otter"), "check", file, "-t", str(tests)], cwd=cwd,
                               env=env, capture_output=True, text=True, timeout=300)
    return completed.stdout + completed.stderr


def _notebook(path: Path, source: Path) -> Path:
    cells = [nbformat.v4.new_markdown_cell("# Exercise 1"),
             nbformat.v4.new_code_cell(source.read_text(encoding="utf-8"))]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def _folders(base: Path, here: Path, there: Path) -> tuple[Path, Path]:
    """(cwd holding ``here`` as exercise1.py, a student folder holding ``there``)."""
    cwd, student = base / "cwd", base / "student" / "hw"
    cwd.mkdir(parents=True)
    student.mkdir(parents=True)
    (cwd / "exercise1.py").write_text(here.read_text(encoding="utf-8"), encoding="utf-8")
    (student / "exercise1.py").write_text(there.read_text(encoding="utf-8"), encoding="utf-8")
    return cwd, student


def test_otter_check_grades_the_file_it_was_given(tests_folder, tmp_path):
    # The solution elsewhere (relative path), the stub in the current folder.
    cwd, student = _folders(tmp_path / "a", here=STUB, there=SOLUTION)
    output = _check("../student/hw/exercise1.py", cwd, tests_folder)
    assert "All tests passed!" in output, output[-3000:]

    # The other way round (absolute path): the stub is graded, not the solution beside.
    cwd, student = _folders(tmp_path / "b", here=SOLUTION, there=STUB)
    output = _check(str(student / "exercise1.py"), cwd, tests_folder)
    assert "All tests passed!" not in output
    assert "not implemented yet: conv_output_size" in output, output[-3000:]


def test_otter_check_grades_a_notebook_in_another_folder(tests_folder, tmp_path):
    cwd, _ = _folders(tmp_path, here=STUB, there=STUB)
    notebook = _notebook(tmp_path / "elsewhere" / "my answers.ipynb", SOLUTION)
    output = _check(str(notebook), cwd, tests_folder)
    assert "All tests passed!" in output, output[-3000:]


def test_outside_otter_check_the_upload_folder_is_graded():
    # Under pytest (as under `otter run` / Gradescope) the parent is not `otter check`.
    assert _otter_check_file() is None
    assert _otter_check_file(pid=os.getpid()) is None
