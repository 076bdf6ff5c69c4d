"""Shared fixtures: the repository paths, the catalogue, and grading helpers."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
STUBS = ROOT / "exercises"
sys.path.insert(0, str(ROOT / "tests"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def catalogue():
    from grader.catalogue import load_catalogue

    return load_catalogue(ROOT / "assignments.toml")


@pytest.fixture
def make_submission(tmp_path):
    """Write ``{file name: source}`` into a fresh folder and return the folder."""

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / "submission"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    return write
