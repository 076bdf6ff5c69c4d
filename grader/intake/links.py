"""Symbolic links in a single-folder submission are refused, as ``grade batch`` does.

``grade EXERCISE --submission PATH`` reads what PATH names. A link there (PATH
itself, the lab folder inside it, a lab file, the exercise's file or notebook)
would make the grader read, and echo into the report, a file outside the
submission: as root, any file of the machine. ``refuse_links`` raises a
one-line ``SubmissionError`` instead; nothing is followed. Only PATH and what
the grader reads inside it are checked: links among the folders *above* PATH
are the instructor's own (a home folder on another disk) and stay allowed.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.errors import SubmissionError

LAB_FILES = ("model.keras", "history.json", "answers.toml", "train.py")


def _is_link(path: Path) -> bool:
    try:
        return os.path.islink(path)
    except (OSError, ValueError):
        return False


def _refuse(path: Path, what: str) -> SubmissionError:
    return SubmissionError(f"{what} {path} is a symbolic link; links are not followed "
                           f"(submit the {'folder' if 'folder' in what else 'file'} itself).")


def refuse_links(exercise, submission: Path) -> None:
    """Raise ``SubmissionError`` when ``submission`` or what is graded in it is a link."""
    if _is_link(submission):
        kind = "folder" if submission.is_dir() else "file"
        raise _refuse(submission, f"the submission {kind}")
    if exercise.is_lab:
        folder = submission
        if exercise.folder and _is_link(submission / exercise.folder):
            raise _refuse(submission / exercise.folder, "the lab folder")
        if exercise.folder and (submission / exercise.folder).is_dir() \
                and not (submission / "model.keras").exists():
            folder = submission / exercise.folder
        for name in LAB_FILES:
            if _is_link(folder / name):
                raise _refuse(folder / name, "the lab file")
        return
    if not submission.is_dir():
        return
    candidates = [exercise.file, f"{exercise.module}.ipynb"]
    for name in candidates:
        if name and _is_link(submission / name):
            raise _refuse(submission / name, "the submission file")
