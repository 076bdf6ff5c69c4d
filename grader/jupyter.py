"""Grading from a Jupyter notebook: ``%load_ext grader``, then ``%grade exercise3`` or ``grader.check("exercise3")``.

Which code is graded: the cells this kernel has run, in the order it ran them
(IPython's raw input history), as a notebook submission. They are written as
``exercise3.ipynb`` in a temporary folder and graded exactly as a handed-in
notebook is (``grader.intake.notebook``: magics and shell lines left out with a
note); the grader's own lines (``%load_ext grader``, ``%grade``, ``import grader``,
``grader.check(...)``) are removed first. ``--notebook PATH`` grades a saved
notebook file instead. The objects living in the kernel are never graded, and
the kernel never imports the checks or their expected values: the grading runs
in a separate process (``python -m grader.jupyter``, the same grader as ``grade``,
with its sandbox), which writes the HTML report and the score as files. The
report shows inline with the content of the terminal report (checks, points,
notes, failures; hidden checks' details withheld).

This module imports only the standard library at the top: ``import grader`` and
``%load_ext grader`` stay cheap in the kernel.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The grader's own lines in a notebook: not the student's code, never sent to the sandbox.
_GRADER_LINE = re.compile(
    r"^\s*(%+\s*(load_ext|reload_ext|unload_ext)\s+grader\b|%+\s*grade\b|import\s+grader\b|from\s+grader\b"
    r"|grader\s*\.\s*check\s*\(|get_ipython\(\)\.run_line_magic\(\s*['\"](grade|load_ext)['\"])")
GRADING_TIMEOUT_S = 3600  # the grader enforces each exercise's own limits; this only ends a hung grader


@dataclass
class NotebookReport:
    """One grading from a notebook: its score and the report as an HTML fragment (shown inline)."""

    exercise: str
    score: float | None
    max_score: float | None
    html: str
    error: str | None = None

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        if self.error:
            return f"{self.exercise}: not graded: {self.error}"
        return f"{self.exercise}: {self.score:g} / {self.max_score:g}"


def history_cells(ipython) -> list[str]:
    """The raw source of every cell this kernel has run, in order, without the grader's own lines."""
    cells = []
    for source in list(ipython.history_manager.input_hist_raw)[1:]:
        kept = [line for line in source.splitlines() if not _GRADER_LINE.match(line)]
        if any(line.strip() for line in kept):
            cells.append("\n".join(kept))
    return cells


def write_notebook(cells: list[str], path: Path) -> None:
    """``cells`` as a notebook (nbformat 4) of code cells, without outputs."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, str(path))


def _fragment(page: str) -> str:
    """The report page's body and style, scoped to the report (the page styles ``body``)."""
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    body = re.search(r"<body>(.*)</body>", page, re.S)
    css = (style.group(1) if style else "").replace("body{", ".grade-report{")
    return f"<div class='grade-report'><style>{css}</style>{body.group(1) if body else page}</div>"


def check(exercise: str, *, notebook: str | Path | None = None, seed: int | None = None,
          timeout: float | None = None, only_check: str | None = None, ipython=None) -> NotebookReport:
    """Grade this notebook's code for ``exercise`` in a separate process; the report (shown inline).

    ``notebook``: grade that saved ``.ipynb`` instead of the cells this kernel ran.
    ``seed``, ``timeout`` (seconds per call) and ``only_check`` are ``grade``'s
    ``--seed``, ``--timeout`` and ``--check``.
    """
    import html

    with tempfile.TemporaryDirectory(prefix="grade-jupyter-") as folder:
        out = Path(folder)
        if notebook is not None:
            submission = Path(notebook).resolve()
        else:
            if ipython is None:
                try:
                    from IPython import get_ipython
                except ImportError:
                    get_ipython = None
                ipython = get_ipython() if get_ipython is not None else None
            if ipython is None:
                raise RuntimeError("grader.check needs a running IPython kernel (or notebook=PATH)")
            submission = out / f"{exercise}.ipynb"
            write_notebook(history_cells(ipython), submission)
        command = [sys.executable, "-m", "grader.jupyter", exercise, str(submission), str(out / "report")]
        for flag, value in (("--seed", seed), ("--timeout", timeout), ("--check", only_check)):
            if value is not None:
                command += [flag, str(value)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=GRADING_TIMEOUT_S, check=False)
            problem = None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["no output"])[-1]
        except subprocess.TimeoutExpired:
            problem = f"the grader did not finish in {GRADING_TIMEOUT_S} s"
        report = out / "report"
        if problem is None:
            summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
            page = (report / "report.html").read_text(encoding="utf-8")
            return NotebookReport(exercise, summary["score"], summary["max_score"], _fragment(page))
        error = problem
        if (report / "error.txt").is_file():
            error = (report / "error.txt").read_text(encoding="utf-8").strip()
        shown = f"<div class='grade-report'><p><b>grade {html.escape(exercise)}</b>: {html.escape(error)}</p></div>"
        return NotebookReport(exercise, None, None, shown, error=error)


def _magic_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%grade", add_help=False,
                                     description="Grade this notebook's code for EXERCISE.")
    parser.add_argument("exercise")
    parser.add_argument("--notebook", help="grade this saved .ipynb instead of the cells this kernel ran")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--check", dest="only_check")
    return parser


def register(ipython) -> None:
    """Register ``%grade`` in ``ipython`` (what ``%load_ext grader`` calls)."""
    from IPython.display import display

    def grade_magic(line: str) -> None:
        try:
            options = _magic_parser().parse_args(shlex.split(line))
        except (SystemExit, ValueError):
            print("usage: %grade EXERCISE [--notebook PATH] [--seed N] [--timeout S] [--check ID]")
            return
        display(check(options.exercise, notebook=options.notebook, seed=options.seed, timeout=options.timeout,
                      only_check=options.only_check, ipython=ipython))

    ipython.register_magic_function(grade_magic, magic_kind="line", magic_name="grade")


# -- the grading process (never the kernel) ------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m grader.jupyter EXERCISE NOTEBOOK OUT``: grade, write OUT/report.html and OUT/summary.json.

    A problem of invocation (unknown exercise, unreadable notebook) goes to
    OUT/error.txt with exit code 2, as ``grade`` reports it.
    """
    import os

    from grader.catalogue import load_catalogue
    from grader.errors import GraderError
    from grader.options import GradingOptions
    from grader.output.results import to_html
    from grader.runner import grade_exercise

    parser = argparse.ArgumentParser(prog="python -m grader.jupyter")
    parser.add_argument("exercise")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--check")
    options = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    options.out.mkdir(parents=True, exist_ok=True)
    try:
        exercise = load_catalogue().get(options.exercise)
        result = grade_exercise(exercise=exercise, submission=options.notebook,
                                options=GradingOptions(seed=options.seed, timeout_s=options.timeout,
                                                       only_check=options.check))
    except GraderError as error:
        (options.out / "error.txt").write_text(str(error), encoding="utf-8")
        sys.stderr.write(f"grade: error: {error}\n")
        return 2
    (options.out / "report.html").write_text(to_html(result), encoding="utf-8")
    (options.out / "summary.json").write_text(json.dumps({"exercise": result.exercise, "score": result.score,
                                                          "max_score": result.max_score}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
