"""How one exercise is graded, as one value: ``GradingOptions``.

Built by the CLI (``grade EXERCISE``, ``grade batch``), the exports and the
tests, and passed whole to ``runner.grade_exercise`` instead of a list of
keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradingOptions:
    """``seed``: seed for generated inputs (None: derandomized, the same every run).
    ``timeout_s``: wall-clock seconds for one call into the student's code (None: the
    catalogue's). ``only_check``: ``--check``'s text (ids or substrings, comma-separated).
    ``require_isolation``: refuse to grade unless the sandbox held fully.
    """

    seed: int | None = None
    timeout_s: float | None = None
    only_check: str | None = None
    require_isolation: bool = False
