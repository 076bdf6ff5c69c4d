"""``%load_ext grader`` / ``%grade`` / ``grader.check`` in a real notebook run by nbclient and ipykernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.jupyter import _GRADER_LINE, history_cells

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow]


def _outputs(cell, kind: str) -> str:
    texts = []
    for output in cell.outputs:
        if kind == "html" and output.get("output_type") in ("display_data", "execute_result"):
            texts.append(output["data"].get("text/html", ""))
        if kind == "stream" and output.get("output_type") == "stream":
            texts.append(output["text"])
    return "\n".join(texts)


def test_a_notebook_grades_its_own_cells_in_a_separate_process(tmp_path):
    solution = (REPO / "solutions" / "exercise1.py").read_text(encoding="utf-8")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(solution),
        nbformat.v4.new_code_cell("%load_ext grader"),
        nbformat.v4.new_code_cell("%grade exercise1"),
        # A later cell breaks a function: the kernel ran it, so it is graded.
        nbformat.v4.new_code_cell("def receptive_field(layers):\n    return 0"),
        nbformat.v4.new_code_cell("import grader\ngrader.check('exercise1')"),
        nbformat.v4.new_code_cell("import sys\n"
                                  "print('in kernel:', sorted(m for m in sys.modules if m.startswith('grader.')))"),
    ]
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    shown = _outputs(notebook.cells[2], "html")
    assert "Grade report — 20 / 20" in shown  # the instructor's install: hidden checks included
    assert "lecture: W=7, F=3, P=0, S=1 gives 5" in shown and "sandbox:" in shown
    regraded = _outputs(notebook.cells[4], "html")
    assert "Grade report — 18 / 20" in regraded and "receptive_field" in regraded
    kernel_modules = _outputs(notebook.cells[5], "stream").split("in kernel:", 1)[1]
    assert "grader.checks" not in kernel_modules and "grader.reference" not in kernel_modules
    assert "grader.runner" not in kernel_modules and "grader.sandbox" not in kernel_modules


def test_an_unknown_exercise_is_shown_as_a_one_line_error(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("%load_ext grader\n%grade exercise99")]
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = _outputs(notebook.cells[0], "html")
    assert "unknown exercise &#x27;exercise99&#x27;" in shown and "Traceback" not in shown


def test_the_grader_lines_are_not_part_of_the_submission():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    for cell in ("import numpy as np\ndef f():\n    return 1", "%load_ext grader",
                 "import grader\nx = 2\ngrader.check"):
        shell.run_cell(cell, store_history=True)
    assert history_cells(shell) == ["import numpy as np\ndef f():\n    return 1", "x = 2\ngrader.check"]
    assert _GRADER_LINE.match("%grade exercise1") and _GRADER_LINE.match("grader.check('exercise1')")
    assert _GRADER_LINE.match("get_ipython().run_line_magic('grade', 'exercise1')")
    assert not _GRADER_LINE.match("grade = 3")


def test_a_handed_in_notebook_may_keep_its_grader_lines(tmp_path):
    """The batch grader leaves ``import grader`` / ``grader.check(...)`` out, as it does magics."""
    from grader.intake.notebook import extract_code

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("%load_ext grader\nimport grader"),
                      nbformat.v4.new_code_cell("def f():\n    return 1"),
                      nbformat.v4.new_code_cell("grader.check('exercise1')\nresult = grader.check('exercise1')")]
    path = tmp_path / "exercise1.ipynb"
    nbformat.write(notebook, str(path))
    code, notes = extract_code(path, ("f",))
    namespace: dict = {}
    exec(compile(code, "exercise1.py", "exec"), namespace)  # runs without the grader: nothing left of it
    assert namespace["f"]() == 1 and "grader" not in namespace
    assert any("3 lines that run the grader" in note for note in notes), notes
