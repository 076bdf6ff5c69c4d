"""grader.output.plots: checks attach figures as data; only the output side draws them (issue 11)."""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT

from grader.output.plots import LearningCurves, draw


def test_learning_curves_are_drawn_from_their_data_as_png():
    history = {"accuracy": [0.8, 0.9], "val_accuracy": [0.78, 0.88], "loss": [0.5, 0.3], "val_loss": [0.55, 0.35]}
    png = draw(LearningCurves("lab_mnist: learning curves", history))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert draw(LearningCurves("lab_mnist: learning curves", history)) == png  # no timestamp: reproducible


def test_an_unknown_figure_kind_is_refused():
    with pytest.raises(TypeError, match="no drawing for dict"):
        draw({"title": "x"})


def test_no_check_module_draws():
    """The checks attach data: none imports matplotlib or a drawing function of grader.output.plots."""
    for path in sorted((ROOT / "grader" / "checks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                names = [alias.name for alias in node.names]
                assert not any(n.startswith("matplotlib") for n in [module or "", *names]), path.name
                if module == "grader.output.plots":
                    assert set(names) <= {"LearningCurves", "Figure"}, (path.name, names)
