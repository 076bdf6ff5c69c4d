"""Notebook submissions: the code cells of an ``.ipynb`` as a Python module's source.

Nothing is executed. The notebook is read as data (size-capped, JSON, then
nbformat's schema), its code cells are joined in order, and what is not
Python is left out with a note for the student: IPython line magics
(``%matplotlib inline``), shell escapes (``!pip install ...``), help queries
(``np.zeros?``) and cell magics whose body is not Python (``%%bash``). The body
of a ``%%time`` / ``%%timeit`` / ``%%capture`` / ``%%prun`` cell is Python and is
kept. A dropped line becomes ``pass`` at the same indentation, so a magic inside
a block leaves valid Python and every line keeps its number within its cell;
each cell starts with a ``# %% [cell N]`` marker so that an error's line can be
traced back to the notebook.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SubmissionError
from grader.limits import MAX_NOTEBOOK_BYTES

# Cell magics whose body is ordinary Python: the magic line goes, the body stays.
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_ASSIGNED_MAGIC = re.compile(r"^[A-Za-z_][\w.,\s]*=\s*[%!]")  # files = !ls   t = %timeit -o f()
# Checking from the notebook (``import grader``, ``grader.check("exercise3")``): the grader is not
# importable in the sandbox, and grading is not the student's code.
_GRADER_CALL = re.compile(r"^(import\s+grader\b|from\s+grader\b|([A-Za-z_][\w.,\s]*=\s*)?grader\s*\.\s*check\s*\()")
_HELP_QUERY = re.compile(r"^(\?\??[\w.*]+|[\w.*]+\?\??)$")  # ?np.zeros  np.zeros??  np.*load*?


@dataclass
class _Dropped:
    """What was left out, for the notes: a count and the first example of each kind."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, line: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.examples.setdefault(kind, _shorten(line.strip()))


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


class _Scanner:
    """Just enough of Python's lexer to know whether a line starts a new statement.

    A ``%`` or ``!`` at the start of a line is a magic only where a statement
    may start: not inside a triple-quoted string, an open bracket or after a
    backslash continuation.
    """

    def __init__(self) -> None:
        self.triple: str | None = None
        self.depth = 0
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.triple is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.continued = False
        while i < n:
            if self.triple is not None:
                end = _find_closing(line, i, self.triple)
                if end < 0:
                    return
                self.triple, i = None, end
                continue
            char = line[i]
            if char == "#":
                return
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char in "\"'":
                if line.startswith(char * 3, i):
                    self.triple, i = char * 3, i + 3
                    continue
                end = _find_closing(line, i + 1, char)
                i = n if end < 0 else end
                continue
            elif char == "\\" and i == n - 1:
                self.continued = True
            i += 1


def _find_closing(line: str, start: int, quote: str) -> int:
    """Index just past the closing ``quote`` at or after ``start``; -1 if the line ends first."""
    i = start
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line.startswith(quote, i):
            return i + len(quote)
        i += 1
    return -1


def _line_kind(stripped: str) -> str | None:
    """'magic', 'shell' or 'help' for a line that starts a statement; None for Python."""
    if stripped.startswith("%"):
        return "magic"
    if stripped.startswith("!"):
        return "shell"
    if _ASSIGNED_MAGIC.match(stripped):
        return "shell" if stripped.split("=", 1)[1].lstrip().startswith("!") else "magic"
    if _HELP_QUERY.match(stripped):
        return "help"
    if _GRADER_CALL.match(stripped):
        return "grader"
    return None


def _cell_code(source: str, dropped: _Dropped) -> tuple[str | None, str | None]:
    """(Python source of one code cell or None if the whole cell is dropped, cell-magic name)."""
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", None
    head = lines[first].strip()
    magic = None
    if head.startswith("%%"):
        magic = head[2:].split(None, 1)[0] if len(head) > 2 else ""
        if magic not in PYTHON_BODY_CELL_MAGICS:
            return None, magic
        lines[first] = "pass  # dropped by grade: " + _shorten(head)
        dropped.add("cell magic line", head)
    scanner = _Scanner()
    kept = []
    for number, line in enumerate(lines):
        if magic is not None and number == first:
            kept.append(line)
            continue
        stripped = line.strip()
        kind = _line_kind(stripped) if stripped and scanner.at_statement_start else None
        if kind is None:
            kept.append(line)
            scanner.feed(line)
            continue
        dropped.add(kind, stripped)
        indent = line[: len(line) - len(line.lstrip())]
        kept.append(f"{indent}pass  # dropped by grade: {_shorten(stripped)}")
    return "\n".join(kept), magic


def _read_notebook(path: Path) -> dict:
    if path.is_symlink():  # never followed: it could name any file of the machine
        raise SubmissionError(f"the notebook {path} is a symbolic link; links are not followed "
                              "(submit the file itself).")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise SubmissionError(f"cannot read the notebook {path}: {error.strerror}") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(
            f"{path.name} is {size / 2**20:.1f} MB, larger than the {MAX_NOTEBOOK_BYTES // 2**20} MB "
            f"a notebook may be. Clear its outputs (Edit > Clear All Outputs) and submit it again."
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise SubmissionError(f"cannot read the notebook {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a Jupyter notebook: it is not UTF-8 text.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{path.name} is not a valid Jupyter notebook: it is not JSON ({error.msg} at line "
            f"{error.lineno}, column {error.colno}). Was it saved from Jupyter, or renamed from "
            f"another kind of file?"
        ) from None
    if not isinstance(data, dict):
        raise SubmissionError(f"{path.name} is not a Jupyter notebook: its JSON is not an object.")
    return data


def _check_structure(data: dict, name: str) -> None:
    if "cells" not in data:
        extra = " (an old nbformat 3 notebook: open and save it in Jupyter)" if "worksheets" in data else ""
        raise SubmissionError(f"{name} is not a valid Jupyter notebook: it has no 'cells'{extra}.")
    cells = data["cells"]
    if not isinstance(cells, list):
        raise SubmissionError(f"{name} is not a valid Jupyter notebook: its 'cells' is not a list.")
    if data.get("nbformat") != 4:
        raise SubmissionError(
            f"{name} is not a notebook this grader reads: nbformat {data.get('nbformat')!r} "
            f"(expected 4). Open and save it in a current Jupyter."
        )
    seen: dict[str, int] = {}
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise SubmissionError(f"{name} is not a valid Jupyter notebook: cell {number} is not an object.")
        cell_id = cell.get("id")
        if isinstance(cell_id, str):
            if cell_id in seen:
                raise SubmissionError(
                    f"{name} is not a valid Jupyter notebook: cells {seen[cell_id]} and {number} have "
                    f"the same id {cell_id!r} (cell ids must be unique; was the file edited by hand "
                    f"or merged?)."
                )
            seen[cell_id] = number


def _validate(data: dict, name: str):
    import nbformat

    try:
        notebook = nbformat.from_dict(data)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path)
        location = f" at {where}" if where else ""
        raise SubmissionError(
            f"{name} is not a valid Jupyter notebook{location}: {_shorten(error.message, 200)}"
        ) from None
    return notebook


def _source_text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def extract_code(path: Path, functions: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """The Python source of the notebook at ``path`` and the notes for the student.

    Raises ``SubmissionError`` for a file that is not a valid notebook: larger
    than 5 MB, not JSON, no ``cells``, duplicated cell ids, nbformat schema
    errors, or no code cell at all. ``functions`` are the names the exercise
    asks for: a Markdown or raw cell that defines one gets a note (an answer
    cell turned to Markdown is not code and is not graded).
    """
    path = Path(path)
    data = _read_notebook(path)
    _check_structure(data, path.name)
    notebook = _validate(data, path.name)
    dropped = _Dropped()
    parts: list[str] = []
    notes: list[str] = []
    dropped_cells: list[str] = []
    code_cells = 0
    for number, cell in enumerate(notebook.cells, start=1):
        source = _source_text(cell)
        if cell.cell_type != "code":
            for function in functions:
                if re.search(rf"\bdef\s+{re.escape(function)}\s*\(", source):
                    kind = "a Markdown" if cell.cell_type == "markdown" else f"a {cell.cell_type}"
                    notes.append(
                        f"cell {number} is {kind} cell that defines {function}(): it is not code and "
                        f"was not graded. Change it to a Code cell if it holds your answer."
                    )
            continue
        code_cells += 1
        code, magic = _cell_code(source, dropped)
        if code is None:
            dropped_cells.append(f"cell {number} (%%{magic})")
            continue
        parts.append(f"# %% [cell {number}]\n{code}".rstrip() + "\n")
    if code_cells == 0:
        raise SubmissionError(f"{path.name} has no code cells: there is nothing to grade.")
    summary = []
    labels = {"magic": ("IPython magic line", None), "shell": ("shell escape", None),
              "help": ("help query", "help queries"), "cell magic line": ("cell magic line", None),
              "grader": ("line that runs the grader", "lines that run the grader")}
    for kind, (singular, plural) in labels.items():
        count = dropped.counts.get(kind, 0)
        if count:
            summary.append(f"{_plural(count, singular, plural)} (e.g. {dropped.examples[kind]})")
    if summary:
        joined = ", ".join(summary[:-1]) + (" and " if len(summary) > 1 else "") + summary[-1]
        notes.insert(0, f"notebook: dropped {joined}: only Python is graded")
    if dropped_cells:
        notes.insert(0, f"notebook: left out {_plural(len(dropped_cells), 'cell')} in another "
                        f"language than Python: " + ", ".join(dropped_cells))
    if "get_ipython(" in "".join(parts):
        notes.append("notebook: your code calls get_ipython(), which exists only inside Jupyter; "
                     "it will fail when graded")
    return "\n".join(parts), notes
