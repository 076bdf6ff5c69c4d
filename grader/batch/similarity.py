"""Similar submissions: per function, the students whose function bodies are the same code.

For the instructor to review, never a penalty. A function's fingerprint is the
``ast.dump`` of its body after normalising what does not change the code:

- comments and formatting (the AST holds neither);
- docstrings (of the function and of the functions nested in it);
- the names of its arguments and local variables (every name it binds: arguments,
  assignment and loop targets, ``with ... as``, ``except ... as``, comprehension
  variables, nested functions and imports), renamed ``_0, _1, ...`` in order of first
  appearance. Global names (``np``, ``math``, helpers) and attributes keep their names.

Functions that are too small to tell anything (fewer than ``MIN_NODES`` AST nodes)
and functions equal to the handed-out stub are left out. A file that does not parse
(or is too large, ``MAX_SOURCE_BYTES``) contributes nothing.
"""

from __future__ import annotations

import ast
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

MIN_NODES = 25  # AST nodes of a body: below this, equal bodies say nothing
MAX_SOURCE_BYTES = 1 << 20


@dataclass(frozen=True)
class SimilarGroup:
    """Students (sorted ids, two or more) whose ``function`` of ``exercise`` is the same code."""

    exercise: str
    function: str
    students: tuple[str, ...]
    fingerprint: str  # 12 hex digits of the normalised body's sha256


def _bound_names(function: ast.AST) -> list[str]:
    """Every name ``function`` binds in its own scope or nested ones, first appearance order."""
    names: list[str] = []

    def add(name: str) -> None:
        if name not in names:
            names.append(name)

    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node is not function:
            add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            add(node.name)
        elif isinstance(node, ast.alias):
            add((node.asname or node.name).split(".")[0])
    globals_ = {n for node in ast.walk(function) if isinstance(node, (ast.Global, ast.Nonlocal))
                for n in node.names}
    return [n for n in names if n not in globals_]


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.mapping.get(node.arg, node.arg)
        node.annotation = None
        return node

    def _function(self, node):
        node.name = self.mapping.get(node.name, node.name)
        node.returns = None
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        if node.name:
            node.name = self.mapping.get(node.name, node.name)
        self.generic_visit(node)
        return node


def normalise(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, int]:
    """(normalised dump of ``function``'s arguments and body, its number of AST nodes).

    ``function`` is changed in place (parse the source again to reuse it)."""
    mapping = {name: f"_{index}" for index, name in enumerate(_bound_names(function))}
    renamed = _Renamer(mapping).visit(function)
    body = ast.Module(body=renamed.body, type_ignores=[])
    size = sum(1 for _ in ast.walk(body))
    return ast.dump(renamed.args) + ast.dump(body), size


def fingerprints(source: str) -> dict[str, tuple[str, int]]:
    """{top-level function name: (sha256 of its normalised code, AST size)} of ``source``.

    Methods count as ``Class.method``. Source that does not parse gives ``{}``."""
    if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for a student's invalid escape
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found: dict[str, tuple[str, int]] = {}

    def add(name: str, node) -> None:
        try:
            dump, size = normalise(node)
        except RecursionError:
            return
        found[name] = (hashlib.sha256(dump.encode("utf-8", "surrogatepass")).hexdigest(), size)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node.name, node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(f"{node.name}.{item.name}", item)
    return found


def similar_groups(sources: dict[tuple[str, str], str], *,
                   stubs: dict[str, str] | None = None,
                   min_nodes: int = MIN_NODES) -> list[SimilarGroup]:
    """Groups of two or more students with the same code for one function of one exercise.

    ``sources``: (student id, exercise id) -> that student's source of the exercise;
    ``stubs``: exercise id -> the handed-out stub (functions equal to it are left out).
    Sorted by exercise, function, then the group's first student.
    """
    left_out: dict[str, set[str]] = {e: {f for f, _ in fingerprints(text).values()}
                                     for e, text in (stubs or {}).items()}
    table: dict[tuple[str, str, str], list[str]] = {}
    for (student, exercise), text in sources.items():
        for function, (digest, size) in fingerprints(text).items():
            if size < min_nodes or digest in left_out.get(exercise, set()):
                continue
            table.setdefault((exercise, function, digest), []).append(student)
    groups = [SimilarGroup(exercise, function, tuple(sorted(set(students))), digest[:12])
              for (exercise, function, digest), students in table.items()
              if len(set(students)) >= 2]
    return sorted(groups, key=lambda g: (g.exercise, g.function, g.students))


def read_source(path: Path) -> str | None:
    """The Python source of a submission's exercise file (a notebook: its code), or None."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES * 5:
            return None
        if path.suffix.lower() == ".ipynb":
            from grader.intake.notebook import extract_code

            return extract_code(path)[0]
        return path.read_bytes()[:MAX_SOURCE_BYTES].decode("utf-8", "replace")
    except Exception:  # an unreadable or malformed file: nothing to compare
        return None


def submission_sources(entries: list, exercises: list) -> dict[tuple[str, str], str]:
    """(student, exercise) -> source, read from the prepared submissions (``entry.root``)."""
    from grader.intake.locate import find_exercise_file

    sources: dict[tuple[str, str], str] = {}
    for entry in entries:
        if entry.refused is not None or entry.root is None:
            continue
        for exercise in exercises:
            if exercise.is_lab:
                continue
            try:
                path = find_exercise_file(exercise, Path(entry.root))
            except Exception:
                continue
            text = read_source(path) if path is not None else None
            if text is not None:
                sources[(entry.id, exercise.id)] = text
    return sources
