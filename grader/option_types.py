"""argparse ``type=`` validators for the numeric command-line options.

An out-of-range value (``--timeout -1``, ``--timeout 1e300``, ``--jobs 0``,
``--seed -5``, ``--fail-under nan``) is a usage error: argparse turns the
``ArgumentTypeError`` into exit code 2 with a message naming the option
(``argument --timeout: ...``), instead of grading with a setting that fails
every check and blames the student.
"""

from __future__ import annotations

import argparse
import math

from grader.limits import MAX_CALL_TIMEOUT_S as MAX_TIMEOUT_S
from grader.limits import MAX_FAIL_UNDER, MAX_JOBS, MAX_SEED
from grader.limits import MIN_CALL_TIMEOUT_S as MIN_TIMEOUT_S


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number ({what})") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number ({what})")
    return value


def _integer(text: str, what: str) -> int:
    stripped = text.strip()
    if len(stripped) > 40:
        raise argparse.ArgumentTypeError(f"{stripped[:20]!r}... is out of range ({what})")
    try:
        return int(stripped, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ({what})") from None


def _in_range(value: float, low: float, high: float, text: str, what: str):
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is out of range ({what})")
    return value


def timeout_seconds(text: str) -> float:
    """``--timeout S``: seconds for one call into the student's code, 0.1 to 3600."""
    what = f"seconds from {MIN_TIMEOUT_S:g} to {MAX_TIMEOUT_S:g}"
    return _in_range(_number(text, what), MIN_TIMEOUT_S, MAX_TIMEOUT_S, text, what)


def jobs(text: str) -> int:
    """``--jobs N``: parallel graders, 1 to 1024."""
    what = f"a whole number from 1 to {MAX_JOBS}"
    return _in_range(_integer(text, what), 1, MAX_JOBS, text, what)


def seed(text: str) -> int:
    """``--seed N``: 0 to 2**32 - 1."""
    what = f"a whole number from 0 to {MAX_SEED}"
    return _in_range(_integer(text, what), 0, MAX_SEED, text, what)


def score(text: str) -> float:
    """``--fail-under SCORE``: a finite, non-negative number of points."""
    what = "a number of points, 0 or more"
    return _in_range(_number(text, what), 0, MAX_FAIL_UNDER, text, what)
