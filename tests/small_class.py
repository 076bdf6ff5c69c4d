"""A small class for the batch-output tests (issue 14): 5 submissions of exercises 1-2.

- ``ann``: the reference solutions;
- ``ben``: the stubs (every check not implemented);
- ``cat``: exercise 1 rounds instead of flooring (a known mistake, hinted), no exercise 2;
- ``dan``: cat's exercise 1 with its variables renamed and comments added, as a notebook
  in an ``exercises/`` folder, and the reference exercise 2;
- ``eve``: a zip cut in half (refused).
"""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

from mutants import EXERCISE1

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ("exercise1", "exercise2")
STUDENTS = ("ann", "ben", "cat", "dan", "eve")


def _renamed(text: str) -> str:
    """The same code with other local names, other formatting and comments (a copier's
    disguise): ``width``, ``kernel`` and ``step`` renamed (ast), re-printed, commented."""
    names = {"width": "w_in", "kernel": "k", "step": "s"}
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            node.id = names[node.id]
    text = ast.unparse(tree)
    return "\n".join(f"{line}  # mine" if line.strip().startswith("return") else line
                     for line in text.splitlines()) + "\n"


def _notebook(code: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {},
            "outputs": [], "source": code.splitlines(keepends=True)}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def write_class(directory: Path) -> Path:
    """Write the class into ``directory`` (created); return it."""
    solution = {e: (ROOT / "solutions" / f"{e}.py").read_text(encoding="utf-8") for e in EXERCISES}
    stub = {e: (ROOT / "exercises" / f"{e}.py").read_text(encoding="utf-8") for e in EXERCISES}
    rounding = EXERCISE1[0].source()
    files = {
        "ann": {"exercise1.py": solution["exercise1"], "exercise2.py": solution["exercise2"]},
        "ben": {"exercise1.py": stub["exercise1"], "exercise2.py": stub["exercise2"]},
        "cat": {"exercise1.py": rounding},
        "dan": {"exercises/exercise1.ipynb": _notebook(_renamed(rounding)),
                "exercises/exercise2.py": solution["exercise2"]},
    }
    for who, members in files.items():
        for name, text in members.items():
            path = directory / who / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    archive = directory / "eve.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("exercise1.py", solution["exercise1"])
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    return directory


def grade_class(base: Path):
    """(OUT, BatchSummary) of ``grade batch`` on the small class, in process."""
    from grader.batch.run import grade_batch
    from grader.catalogue import load_catalogue

    directory, out = write_class(base / "class"), base / "out"
    summary = grade_batch(directory=directory, out=out, jobs=2, exercises=list(EXERCISES),
                          catalogue=load_catalogue(ROOT / "assignments.toml"), progress=False,
                          timeout_s=5)
    return out, summary


_GRADED: dict[str, tuple] = {}


def graded_class(tmp_path_factory):
    """``grade_class`` once per test process (the test files share it); (OUT, summary)."""
    if "out" not in _GRADED:
        _GRADED["out"] = grade_class(tmp_path_factory.mktemp("small-class"))
    return _GRADED["out"]
