"""grade: auto-graded exercises for a course on convolutional neural networks.

In Jupyter: ``%load_ext grader`` then ``%grade exercise3``, or ``grader.check("exercise3")``
(``grader.jupyter``; imported only when used, so ``import grader`` stays cheap).
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

KIT_MARKER = "kit.toml"  # present in a student kit's copy of the package (``grade release``)


def is_student_kit() -> bool:
    """True in a student kit: the public checks only, no instructor commands, no --show-hidden."""
    return (_Path(__file__).parent / KIT_MARKER).is_file()


def load_ipython_extension(ipython) -> None:
    """``%load_ext grader``: registers the ``%grade`` magic."""
    from grader.jupyter import register

    register(ipython)


def check(exercise: str, **options):
    """Grade the running notebook's code for ``exercise``; the report shows inline (see grader.jupyter)."""
    from grader.jupyter import check as grade_notebook

    return grade_notebook(exercise, **options)
