"""``make demo`` (grader/demo.py): a reference that cannot be graded here is one line, never panels."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from grader.data import places
from grader.demo import gap

SHARED_DATA = ROOT.parent / "shared" / "data"


def test_exercises_are_always_graded_and_a_lab_without_its_data_is_one_line(catalogue, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setattr(places, "DEBIAN_DIR", tmp_path / "no-debian")
    assert gap(catalogue.get("exercise7"), ROOT / "solutions") is None
    line = gap(catalogue.get("lab_mnist"), ROOT / "solutions")
    assert line == "lab_mnist: not graded: the MNIST test set is not here (online: `grade data prepare mnist`)"
    fashion = gap(catalogue.get("lab_fashion"), ROOT / "solutions")
    assert "apt-get install dataset-fashion-mnist" in fashion and "\n" not in fashion


@pytest.mark.skipif(not (SHARED_DATA / "cifar100-test-partial.npz").is_file(), reason="no partial CIFAR-100 here")
def test_cifar100_without_a_reference_model_says_why_in_one_line(catalogue, monkeypatch):
    monkeypatch.setenv("GRADER_DATA_DIR", str(SHARED_DATA))
    solutions = ROOT / "solutions"
    if (solutions / "lab_cifar100" / "model.keras").is_file():
        pytest.skip("a CIFAR-100 reference model is committed")
    assert gap(catalogue.get("lab_cifar100"), Path(solutions)) == (
        "lab_cifar100: no reference model (CIFAR-100 training data are not available offline: only 1,117 of "
        "50,000 training images are here). Online: `grade data prepare cifar100`, then "
        "`python solutions/train_labs.py lab_cifar100`")
