"""Stubs are generated from the solutions and must not drift (Keras's api-gen hook)."""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT, SOLUTIONS

from grader.stubgen import generate, make_stub


def test_committed_stubs_match_the_solutions():
    changed = generate(ROOT, check_only=True)
    assert not changed, f"run `make stubs`: {[str(p) for p in changed]} would change"


@pytest.mark.parametrize("solution", sorted(SOLUTIONS.glob("exercise*.py")), ids=lambda p: p.stem)
def test_stub_keeps_every_signature_and_docstring(solution):
    source = solution.read_text(encoding="utf-8")
    stub = make_stub(source, solution.stem)
    assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub
    original = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)
                and not n.name.startswith("_")}
    generated = {n.name: n for n in ast.parse(stub).body if isinstance(n, ast.FunctionDef)}
    assert set(generated) >= set(original)
    for name, node in original.items():
        assert ast.dump(node.args) == ast.dump(generated[name].args)
        assert ast.get_docstring(node) == ast.get_docstring(generated[name])
        assert "NotImplementedError" in ast.unparse(generated[name])


def test_unbalanced_markers_are_refused():
    with pytest.raises(ValueError, match="without"):
        make_stub("def f():\n    # BEGIN SOLUTION\n    return 1\n", "x")
    with pytest.raises(ValueError, match="without"):
        make_stub("def f():\n    # END SOLUTION\n", "x")


@pytest.mark.parametrize("stub", sorted((ROOT / "exercises").glob("exercise*.py")), ids=lambda p: p.stem)
def test_a_stub_imports_only_what_the_course_names(stub):
    """A solution-only import (``sliding_window_view``) stays inside its BEGIN SOLUTION block."""
    imported = set()
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    assert imported <= {"numpy", "keras", "keras.layers"}, imported


def test_lab_templates_come_from_the_one_template(catalogue):
    from grader.lab_templates import LAB_TEXT, render

    labs = [lab for lab in catalogue if lab.is_lab]
    assert sorted(LAB_TEXT) == sorted(lab.id for lab in labs)
    for lab in labs:
        text = render(lab)
        assert (ROOT / "exercises" / lab.folder / "train.py").read_text(encoding="utf-8") == text
        compile(text, f"{lab.id}/train.py", "exec")
        assert f'datasets.load("{lab.dataset}")' in text and f"least {lab.target_accuracy:.2f}" in text
        assert "from grader.data import datasets" in text
