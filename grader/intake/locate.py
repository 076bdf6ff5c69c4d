"""Which file of a hand-in is graded, and its staging into a folder the sandbox grades.

One rule for every way in: ``grade EXERCISE PATH``, ``grade batch``, the Gradescope
and Otter run-time entries.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader.errors import SubmissionError

# Folders never searched for a submission: the grader's own copies and course material.
NOT_SUBMISSION_FOLDERS = {"grader", "tests", "solutions", "__MACOSX", "__pycache__", "node_modules",
                          "venv", ".venv", "site-packages"}


def _regular(path: Path) -> bool:
    """A plain file: a symbolic link in a submission is never followed."""
    return path.is_file() and not path.is_symlink()


EXERCISES_FOLDER = "exercises"  # the kit's folder of stubs, handed back whole


def _named(folder: Path, wanted: tuple[str, ...]) -> Path | None:
    """``folder/<name>`` for the first wanted name, exactly, else ignoring case (one match only)."""
    for name in wanted:
        if _regular(folder / name):
            return folder / name
    if not folder.is_dir():
        return None
    top = [p for p in sorted(folder.iterdir()) if _regular(p)]
    for name in wanted:  # Exercise1.py, EXERCISE1.IPYNB
        same = [p for p in top if p.name.lower() == name.lower()]
        if len(same) == 1:
            return same[0]
    return None


def find_exercise_file(exercise, folder: Path, *, whole_upload: bool = False) -> Path | None:
    """The file graded for ``exercise`` in ``folder``, or None when the student handed none in.

    The one rule, for ``grade EXERCISE PATH``, ``grade batch``, Gradescope and Otter. In order:
    ``<file>`` (``exercise1.py``), then ``<module>.ipynb``, each exactly and then ignoring
    case; the same inside an ``exercises/`` sub-folder (the kit's folder, handed back whole).

    ``whole_upload`` (Gradescope's and Otter's folder, which holds one exercise's upload): also
    the only ``.py``/``.ipynb`` at the top (``__init__.py`` aside), then the only
    ``<file>``/``<module>.ipynb`` further down (an uploaded repository), never inside the
    grader's own folders. Raises ``SubmissionError`` when that leaves several candidates.
    A symbolic link is never a candidate.
    """
    wanted = (exercise.file, f"{Path(exercise.file).stem}.ipynb")
    found = _named(folder, wanted) or _named(folder / EXERCISES_FOLDER, wanted)
    if found is not None or not whole_upload or not folder.is_dir():
        return found
    top = sorted(p for p in folder.iterdir()
                 if p.suffix.lower() in (".py", ".ipynb") and _regular(p) and p.name != "__init__.py")
    if len(top) == 1:
        return top[0]
    below = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if f not in NOT_SUBMISSION_FOLDERS and not f.startswith("."))
        below += [Path(root) / n for n in sorted(names) if n in wanted and _regular(Path(root) / n)]
    if len(below) == 1:
        return below[0]
    candidates = [p.relative_to(folder).as_posix() for p in (below or top)]
    if candidates:
        listing = ", ".join(candidates[:10]) + (" …" if len(candidates) > 10 else "")
        raise SubmissionError(f"cannot tell which file to grade among {listing}: submit {exercise.file} "
                              f"(or {wanted[1]}).")
    return None


def find_submission_file(exercise, folder: Path) -> Path:
    """The student's file in an upload folder (Gradescope's submission folder, Otter's).

    ``find_exercise_file(..., whole_upload=True)``; nothing found is a ``SubmissionError``.
    """
    if not folder.is_dir():
        raise SubmissionError(f"the submission folder {folder} does not exist.")
    found = find_exercise_file(exercise, folder, whole_upload=True)
    if found is None:
        raise SubmissionError(f"no {exercise.file} (or {Path(exercise.file).stem}.ipynb) in the submission: "
                              f"submit that file.")
    return found


def stage_submission(exercise, source: Path, scratch: Path) -> tuple[Path, list[str]]:
    """Copy the student's file into ``scratch`` as ``<exercise.file>``: (folder to grade, notes).

    A notebook becomes its extracted code. The ``.py`` files beside it come along
    (helper modules the student's code imports), as with ``grade --submission FOLDER``.
    """
    notes = []
    scratch.mkdir(parents=True, exist_ok=True)
    for sibling in sorted(source.parent.glob("*.py")):
        if _regular(sibling) and sibling.name != "__init__.py":
            shutil.copyfile(sibling, scratch / sibling.name)
    target = scratch / exercise.file
    if source.suffix.lower() == ".ipynb":
        from grader.intake.notebook import extract_code

        code, notebook_notes = extract_code(source, exercise.functions)
        target.write_text(code, encoding="utf-8")
        notes += notebook_notes
    else:
        shutil.copyfile(source, target)
    if source.name != exercise.file:
        notes.append(f"graded {source.name} as {exercise.file}")
    return scratch, notes
