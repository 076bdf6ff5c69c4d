"""Notebook submissions: code cells extracted with nbformat, magics dropped, bad notebooks refused."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest

from grader.errors import SubmissionError
from grader.intake.notebook import MAX_NOTEBOOK_BYTES, extract_code

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("conv_output_size", "receptive_field")


def write_notebook(path: Path, cells: list) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def cells_from_module(source: str) -> list:
    """One code cell for the module's header (imports, constants) and one per top-level function."""
    tree = ast.parse(source)
    lines = source.splitlines()
    cells, header_end = [], None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            header_end = start if header_end is None else header_end
            cells.append("\n".join(lines[start:node.end_lineno]))
        elif header_end is not None:  # a statement between functions: its own cell
            cells.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
    header = "\n".join(lines[:header_end])
    return [nbformat.v4.new_code_cell(text) for text in [header, *cells]]


def test_code_cells_joined_magics_and_shell_escapes_dropped_with_notes(tmp_path):
    path = write_notebook(tmp_path / "exercise1.ipynb", [
        nbformat.v4.new_markdown_cell("# Exercise 1\nWrite `conv_output_size`."),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport math\n!pip install numpy"),
        nbformat.v4.new_code_cell("def conv_output_size(w, f, stride=1, padding=0):\n"
                                  "    return (w + 2 * padding - f) // stride + 1"),
        nbformat.v4.new_code_cell("%load_ext autoreload\nprint(conv_output_size(7, 3))"),
    ])
    source, notes = extract_code(path, FUNCTIONS)
    namespace: dict = {}
    exec(compile(source, "exercise1.py", "exec"), namespace)  # the module is valid Python
    assert namespace["conv_output_size"](7, 3) == 5
    assert "import math" in source
    assert not [line for line in source.splitlines() if line.lstrip().startswith(("%", "!"))]
    assert source.index("# %% [cell 2]") < source.index("# %% [cell 3]") < source.index("# %% [cell 4]")
    assert len(notes) == 1
    assert "dropped 2 IPython magic lines" in notes[0] and "1 shell escape" in notes[0]
    assert "%matplotlib inline" in notes[0] and "!pip install numpy" in notes[0]


def test_line_numbers_kept_and_magic_inside_a_block_leaves_valid_python(tmp_path):
    body = ("def f(x):\n"
            "    for i in range(2):\n"
            "        %time g()\n"
            "    return x\n")
    path = write_notebook(tmp_path / "nb.ipynb", [nbformat.v4.new_code_cell(body)])
    source, _ = extract_code(path)
    cell = source.split("# %% [cell 1]\n", 1)[1]
    assert len(cell.rstrip("\n").splitlines()) == 4
    assert cell.splitlines()[2] == "        pass  # dropped by grade: %time g()"
    compile(source, "nb.py", "exec")


def test_percent_and_bang_inside_strings_and_brackets_are_python(tmp_path):
    body = ('TEMPLATE = """\n%d items\n!important\n"""\n'
            "VALUES = [\n    1,\n]\n"
            "ratio = 7 % 3\n"
            "different = 1 != 2\n")
    path = write_notebook(tmp_path / "nb.ipynb", [nbformat.v4.new_code_cell(body)])
    source, notes = extract_code(path)
    assert "%d items\n!important" in source and "ratio = 7 % 3" in source
    assert "different = 1 != 2" in source and notes == []


def test_cell_magics_python_body_kept_other_languages_dropped(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        nbformat.v4.new_code_cell("%%time\ny = 1"),
        nbformat.v4.new_code_cell("%%bash\necho hello"),
        nbformat.v4.new_code_cell("files = !ls\nmath.floor?"),
    ])
    source, notes = extract_code(path)
    namespace: dict = {}
    exec(source, namespace)
    assert namespace["y"] == 1 and "echo hello" not in source
    assert any("cell 2 (%%bash)" in note for note in notes)
    assert any("1 shell escape" in note and "1 help query" in note and "1 cell magic line" in note
               for note in notes)


def test_markdown_cell_with_a_required_function_gets_a_note(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        nbformat.v4.new_code_cell("import math"),
        nbformat.v4.new_markdown_cell("```python\ndef receptive_field(layers):\n    return 1\n```"),
        nbformat.v4.new_markdown_cell("We call receptive_field below."),
    ])
    source, notes = extract_code(path, FUNCTIONS)
    assert "receptive_field" not in source
    assert notes == ["cell 2 is a Markdown cell that defines receptive_field(): it is not code and was "
                     "not graded. Change it to a Code cell if it holds your answer."]


def test_not_json_is_refused(tmp_path):
    path = tmp_path / "exercise1.ipynb"
    path.write_text("def conv_output_size(): pass\n", encoding="utf-8")
    with pytest.raises(SubmissionError, match=r"exercise1.ipynb is not a valid Jupyter notebook: it is not JSON"):
        extract_code(path)


def test_not_utf8_and_not_an_object_are_refused(tmp_path):
    path = tmp_path / "a.ipynb"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        extract_code(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SubmissionError, match="its JSON is not an object"):
        extract_code(path)


def test_no_cells_is_refused(tmp_path):
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}), encoding="utf-8")
    with pytest.raises(SubmissionError, match="it has no 'cells'"):
        extract_code(path)
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}),
                    encoding="utf-8")
    with pytest.raises(SubmissionError, match="nbformat 3"):
        extract_code(path)


def test_no_code_cells_is_refused(tmp_path):
    path = write_notebook(tmp_path / "a.ipynb", [nbformat.v4.new_markdown_cell("only words")])
    with pytest.raises(SubmissionError, match="has no code cells"):
        extract_code(path)


def test_duplicated_cell_ids_are_refused(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                               nbformat.v4.new_code_cell("y = 2")])
    data = json.loads(nbformat.writes(notebook))
    data["cells"][1]["id"] = data["cells"][0]["id"]
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SubmissionError, match=r"cells 1 and 2 have the same id"):
        extract_code(path)


def test_schema_errors_are_refused(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    data = json.loads(nbformat.writes(notebook))
    data["cells"][0]["cell_type"] = "kode"
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SubmissionError, match=r"is not a valid Jupyter notebook at cells/0"):
        extract_code(path)
    del data["metadata"]
    data["cells"][0]["cell_type"] = "code"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SubmissionError, match=r"metadata"):
        extract_code(path)


def test_larger_than_5_mb_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.ipynb"
    with path.open("wb") as handle:
        handle.truncate(MAX_NOTEBOOK_BYTES + 1)
    with pytest.raises(SubmissionError, match=r"larger than the 5 MB a notebook may be.*Clear its outputs"):
        extract_code(path)


def test_list_sources_and_a_byte_order_mark_are_read(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\ny = x + 1")])
    data = json.loads(nbformat.writes(notebook))
    data["cells"][0]["source"] = ["x = 1\n", "y = x + 1"]
    path = tmp_path / "a.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    source, _ = extract_code(path)
    namespace: dict = {}
    exec(source, namespace)
    assert namespace["y"] == 2


def test_solution_notebook_graded_after_extraction_gets_full_marks(tmp_path, catalogue):
    from grader.runner import grade_exercise

    exercise = catalogue.get("exercise1")
    cells = cells_from_module((ROOT / "solutions" / "exercise1.py").read_text(encoding="utf-8"))
    cells.insert(1, nbformat.v4.new_code_cell("%load_ext autoreload\n%autoreload 2"))
    assert len(cells) > len(exercise.functions) + 1
    path = write_notebook(tmp_path / "exercise1.ipynb", cells)
    source, notes = extract_code(path, exercise.functions)
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "exercise1.py").write_text(source, encoding="utf-8")
    result = grade_exercise(exercise=exercise, submission=folder)
    assert result.score == result.max_score == exercise.points, [
        (c.name, c.status, c.message) for c in result.checks if c.status != "passed"]
    assert notes == ["notebook: dropped 2 IPython magic lines (e.g. %load_ext autoreload): "
                     "only Python is graded"]


def test_a_correct_notebook_that_plots_with_matplotlib_scores_full_marks(tmp_path, catalogue):
    """As a student writes it: imports at the top, a plot of the output sizes at the end."""
    from grader.runner import grade_exercise

    solution = (Path(__file__).resolve().parents[1] / "solutions" / "exercise1.py").read_text(encoding="utf-8")
    cells = [
        nbformat.v4.new_markdown_cell("# Exercise 1: output sizes"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np"),
        *cells_from_module(solution),
        nbformat.v4.new_code_cell("sizes = [conv_output_size(28, f) for f in range(1, 8)]\n"
                                  "fig, ax = plt.subplots()\nax.plot(range(1, 8), sizes)\nplt.show()"),
    ]
    folder = tmp_path / "submission"
    folder.mkdir()
    write_notebook(folder / "exercise1.ipynb", cells)
    result = grade_exercise(exercise=catalogue.get("exercise1"), submission=folder)
    assert result.score == result.max_score == 20, [c.message for c in result.checks if c.status != "passed"]
