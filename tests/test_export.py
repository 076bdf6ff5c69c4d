"""Exports: the Gradescope autograder run against a fake /autograder, Otter's with the real `otter run`."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.errors import GraderError, SubmissionError
from grader.export import export_gradescope, export_otter
from grader.intake.locate import find_submission_file
from grader.output.results import HIDDEN_MESSAGE

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "exercise1.py"
STUB = ROOT / "exercises" / "exercise1.py"
BIN = Path(sys.executable).parent
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def solution_notebook(path: Path) -> Path:
    """exercise1's solution as a notebook: a header cell, a magic, one cell per function."""
    source = SOLUTION.read_text(encoding="utf-8")
    lines = source.splitlines()
    functions = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    first = min([functions[0].lineno] + [d.lineno for d in functions[0].decorator_list]) - 1
    cells = ["\n".join(lines[:first]), "%matplotlib inline"]
    cells += ["\n".join(lines[min([f.lineno] + [d.lineno for d in f.decorator_list]) - 1:f.end_lineno])
              for f in functions]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


# -- Gradescope -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradescope_zip(tmp_path_factory, catalogue) -> Path:
    return export_gradescope(exercise_id="exercise1", out=tmp_path_factory.mktemp("gs") / "autograder.zip",
                             catalogue=catalogue)


def run_gradescope(archive: Path, tmp_path: Path, files: dict[str, Path | str]) -> tuple[dict, str]:
    """Unpack ``archive`` as /autograder/source in a fake tree, submit ``files``, run run_autograder."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root / "source")
    for name, content in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            target.write_bytes(content.read_bytes())
        else:
            target.write_text(content, encoding="utf-8")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GRADER_CATALOGUE", None)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8")), done.stdout


def assert_gradescope_schema(results: dict) -> None:
    assert isinstance(results["score"], float)
    assert results["stdout_visibility"] == "hidden"
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_gradescope_zip_holds_the_grader_and_no_solutions(gradescope_zip, catalogue, tmp_path):
    with zipfile.ZipFile(gradescope_zip) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        requirements = zf.read("requirements.txt").decode()
        config = json.loads(zf.read("grade_export.json"))
    names = set(infos)
    assert {"setup.sh", "run_autograder", "gradescope_run.py", "assignments.toml", "requirements.txt",
            "grader/runner.py", "grader/checks/exercise1.py", "grader/intake/notebook.py",
            "grader/sandbox/runtime/child.py"} <= names
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "exercises/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert list(infos) == sorted(infos)
    assert {info.date_time for info in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert (infos["run_autograder"].external_attr >> 16) & 0o111
    assert (infos["setup.sh"].external_attr >> 16) & 0o111
    assert config == {"exercise": "exercise1", "hidden_visibility": "after_published",
                      "grader_version": config["grader_version"]}
    pins = requirements.split()
    assert pins and all("==" in pin for pin in pins if pin.split("=")[0] in ("numpy", "hypothesis"))
    assert not [p for p in pins if p.startswith(("pytest", "otter-grader", "ruff"))]
    again = export_gradescope(exercise_id="exercise1", out=tmp_path / "again.zip", catalogue=catalogue)
    assert again.read_bytes() == gradescope_zip.read_bytes()  # deterministic
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(gradescope_zip) as zf:
            (tmp_path / script).write_bytes(zf.read(script))
        subprocess.run(["bash", "-n", str(tmp_path / script)], check=True)


def test_gradescope_solution_scores_full_marks(gradescope_zip, tmp_path):
    results, stdout = run_gradescope(gradescope_zip, tmp_path, {"exercise1.py": SOLUTION})
    assert_gradescope_schema(results)
    assert results["score"] == 20.0 and len(results["tests"]) == 17
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])
    hidden = [t for t in results["tests"] if t["name"].startswith("hidden")]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert {t["visibility"] for t in results["tests"] if t not in hidden} == {"visible"}
    assert "exercise1: 20 points" in stdout


def test_gradescope_stub_scores_zero_under_another_name(gradescope_zip, tmp_path):
    results, _ = run_gradescope(gradescope_zip, tmp_path, {"my exercise1.py": STUB})
    assert_gradescope_schema(results)
    assert results["score"] == 0.0
    assert all(t["status"] == "failed" and t["score"] == 0 for t in results["tests"])
    assert "graded my exercise1.py as exercise1.py" in results["output"]
    assert "not implemented yet" in results["output"]


def test_gradescope_hidden_check_message_is_withheld(gradescope_zip, tmp_path):
    wrong_on_large_inputs = SOLUTION.read_text(encoding="utf-8") + (
        "\n\n_exact = conv_output_size\n\n\n"
        "def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    size = _exact(input_size, kernel_size, stride, padding, dilation)\n"
        "    return size + 1 if isinstance(input_size, int) and input_size > 150 else size\n")
    results, stdout = run_gradescope(gradescope_zip, tmp_path, {"exercise1.py": wrong_on_large_inputs})
    assert_gradescope_schema(results)
    failed = [t for t in results["tests"] if t["status"] != "passed"]
    assert [t["extra_data"]["id"] for t in failed] == ["hidden-large-inputs-strides-and-dilations-together"]
    assert failed[0]["score"] == 0 and results["score"] == 19.0
    assert failed[0]["visibility"] == "after_published" and failed[0]["output"] == HIDDEN_MESSAGE
    dumped = json.dumps(results)
    assert "wrong number" not in dumped and "input_size=" not in dumped and "received" not in dumped
    assert "returned the wrong number" in stdout  # run_autograder's stdout: shown to the staff only


def test_gradescope_notebook_submission(gradescope_zip, tmp_path):
    notebook = solution_notebook(tmp_path / "exercise1.ipynb")
    results, _ = run_gradescope(gradescope_zip, tmp_path / "run", {"exercise1.ipynb": notebook})
    assert results["score"] == 20.0
    assert "dropped 1 IPython magic line (e.g. %matplotlib inline)" in results["output"]


def test_gradescope_missing_or_invalid_submission_scores_zero_with_the_reason(gradescope_zip, tmp_path):
    results, _ = run_gradescope(gradescope_zip, tmp_path / "a", {"README.md": "hello"})
    assert_gradescope_schema(results)
    assert results["score"] == 0.0 and len(results["tests"]) == 17
    assert all("no exercise1.py (or exercise1.ipynb) in the submission" in t["output"]
               for t in results["tests"] if t["visibility"] == "visible")
    results, _ = run_gradescope(gradescope_zip, tmp_path / "b", {"exercise1.ipynb": "not json"})
    assert results["score"] == 0.0
    assert "exercise1.ipynb is not a valid Jupyter notebook: it is not JSON" in results["output"]


def test_find_submission_file(catalogue, tmp_path):
    exercise = catalogue.get("exercise1")
    repository = tmp_path / "repo"
    for name in ("exercises/exercise1.py", "solutions/exercise1.py", "grader/checks/exercise1.py",
                 "tests/exercise1.py", "README.md", "notes.py", "setup.py"):
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text("x = 1\n", encoding="utf-8")
    assert find_submission_file(exercise, repository) == repository / "exercises" / "exercise1.py"
    (repository / "exercise1.ipynb").write_text("{}", encoding="utf-8")
    assert find_submission_file(exercise, repository) == repository / "exercise1.ipynb"
    two = tmp_path / "two"
    two.mkdir()
    (two / "a.py").write_text("", encoding="utf-8")
    (two / "b.ipynb").write_text("", encoding="utf-8")
    with pytest.raises(SubmissionError, match=r"cannot tell which file to grade among a\.py, b\.ipynb"):
        find_submission_file(exercise, two)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "exercise1.py").symlink_to(SOLUTION)
    with pytest.raises(SubmissionError, match=r"no exercise1\.py \(or exercise1\.ipynb\) in the submission"):
        find_submission_file(exercise, linked)
    (linked / "Exercise1.PY").write_text("x = 1\n", encoding="utf-8")
    (linked / "helper.py").write_text("y = 2\n", encoding="utf-8")
    assert find_submission_file(exercise, linked) == linked / "Exercise1.PY"


def test_gradescope_export_refuses_bad_visibility_labs_and_folders(catalogue, tmp_path):
    with pytest.raises(GraderError, match="visibility"):
        export_gradescope(exercise_id="exercise1", out=tmp_path / "x.zip", hidden_visibility="visible")
    lab = next(e.id for e in catalogue if e.is_lab)
    with pytest.raises(GraderError, match="is a lab"):
        export_gradescope(exercise_id=lab, out=tmp_path / "x.zip", catalogue=catalogue)
    with pytest.raises(GraderError, match="is a folder"):
        export_gradescope(exercise_id="exercise1", out=tmp_path, catalogue=catalogue)


# -- Otter ------------------------------------------------------------------------------------

needs_kernel = pytest.mark.skipif(
    importlib.util.find_spec("ipykernel") is None,
    reason="`otter run` executes the submission in a Jupyter kernel: install ipykernel",
)


@pytest.fixture(scope="module")
def otter_export(tmp_path_factory, catalogue) -> Path:
    return export_otter(exercise_id="exercise1", out=tmp_path_factory.mktemp("otter") / "otter",
                        catalogue=catalogue)


def otter_results(out: Path) -> tuple[float, float, dict]:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    scored = [t for t in results["tests"] if "max_score" in t]
    return sum(t["score"] for t in scored), sum(t["max_score"] for t in scored), results


@pytest.fixture(scope="module")
def otter_runs(otter_export, tmp_path_factory) -> dict[str, tuple[float, float, dict]]:
    """The real `otter run` on the solution, the stub and the solution as a notebook, side by side.

    Each run starts a Jupyter kernel, which is mostly waiting: running them at once saves time.
    """
    work = tmp_path_factory.mktemp("otter-runs")
    submissions = {"solution": SOLUTION, "stub": STUB,
                   "notebook": solution_notebook(work / "exercise1.ipynb")}
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    running = {}
    for name, submission in submissions.items():
        (work / name).mkdir()
        command = [str(BIN / "otter"), "run", "-a", str(otter_export / "autograder.zip"),
                   "-o", str(work / name), "--no-logo", str(submission)]
        running[name] = subprocess.Popen(command, cwd=work / name, env=env, text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outputs = {name: process.communicate(timeout=300)[0] for name, process in running.items()}
    for name, process in running.items():
        assert process.returncode == 0, outputs[name][-3000:]
    return {name: otter_results(work / name) for name in running}


def test_otter_test_files_are_ok_format(otter_export, catalogue):
    checks = list(catalogue.get("exercise1").checklist())
    files = sorted((otter_export / "tests").glob("*.py"))
    assert [f.stem for f in files] == sorted(c.id for c in checks)
    total = 0.0
    for check in checks:
        namespace: dict = {}
        exec((otter_export / "tests" / f"{check.id}.py").read_text(encoding="utf-8"), namespace)
        assert namespace["OK_FORMAT"] is True
        test = namespace["test"]
        assert test["name"] == check.id and test["points"] == check.points
        (suite,) = test["suites"]
        (case,) = suite["cases"]
        assert suite["type"] == "doctest" and case["hidden"] is check.hidden and case["locked"] is False
        assert case["code"].startswith(">>> ") and repr(check.id) in case["code"]
        total += test["points"]
    assert total == 20.0
    with zipfile.ZipFile(otter_export / "autograder.zip") as zf:
        names = zf.namelist()
    assert names == sorted(names)
    assert {"run_autograder", "setup.sh", "otter_config.json", "files/assignments.toml",
            "files/grader/runner.py", f"tests/{checks[0].id}.py"} <= set(names)
    assert not [n for n in names if "solutions/" in n or "__pycache__" in n]


def test_otter_export_is_deterministic_and_refuses_labs(otter_export, catalogue, tmp_path):
    archive = export_otter(exercise_id="exercise1", out=tmp_path / "otter.zip", catalogue=catalogue)
    assert archive.read_bytes() == (otter_export / "autograder.zip").read_bytes()
    lab = next(e.id for e in catalogue if e.is_lab)
    with pytest.raises(GraderError, match="is a lab"):
        export_otter(exercise_id=lab, out=tmp_path / "lab", catalogue=catalogue)


@needs_kernel
def test_otter_run_solution_scores_full_marks(otter_runs):
    score, possible, results = otter_runs["solution"]
    assert (score, possible) == (20.0, 20.0), json.dumps(results, indent=1)[:3000]


@needs_kernel
def test_otter_run_stub_scores_zero(otter_runs):
    score, possible, results = otter_runs["stub"]
    assert (score, possible) == (0.0, 20.0)
    outputs = "\n".join(t.get("output", "") for t in results["tests"])
    assert "not implemented yet: conv_output_size" in outputs


@needs_kernel
def test_otter_run_notebook_submission(otter_runs):
    score, possible, results = otter_runs["notebook"]
    assert (score, possible) == (20.0, 20.0), json.dumps(results, indent=1)[:3000]
