"""How a check ends, other than by returning: a failure for the student, or a stop.

``CheckFailure`` (and ``StudentRaised``) carry a failure's message as data, in
STYLE.md's anatomy. The ``StopCheck`` outcomes end a check at once: a stub, a
dead child, a failed dependency, the check's own time limit, a function disabled
earlier in the run. ``add_note`` attaches a gentle remark to a passing check.
"""

from __future__ import annotations

import contextvars

from grader.checking.calls import Call
from grader.checking.table import FailureTable
from grader.errors import GraderError
from grader.sandbox import ChildFailure


class CheckFailure(Exception):
    """The submission did not pass a check. Fields follow STYLE.md's anatomy.

    ``summary`` is one sentence in the course's words; ``evidence`` is a list of
    ``(label, text)`` rows (inputs, expected, received); ``rule`` is the formula
    with the numbers filled in; ``hint`` names a known mistake only when it
    matches exactly; ``fraction`` is the share of the points still earned;
    ``call`` is the reported call as a ``Call``, when there is one.
    """

    def __init__(
        self,
        summary: str,
        *,
        evidence: list[tuple[str, str]] | None = None,
        rule: str | None = None,
        hint: str | None = None,
        details: str | None = None,
        fraction: float = 0.0,
        call: Call | None = None,
        table: FailureTable | None = None,
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.evidence = [(label, str(text)) for label, text in evidence or []]
        self.rule = rule
        self.hint = hint
        self.details = details
        self.fraction = fraction
        self.smallest_input: str | None = None
        self.examples_tried: int | None = None
        self.call = call  # the reported call, as data (its printed output is the one shown)
        self.table = table  # a table of evidence, laid out by the renderer for its width


# Outcomes that end a check at once. They derive from BaseException so that a
# hypothesis search stops on them instead of shrinking (a stub or a dead child
# has nothing to shrink).
class StopCheck(BaseException):
    """Base of the outcomes below."""


class NotImplementedYet(StopCheck):
    """The student's function still raises NotImplementedError (and has never returned in this run)."""

    def __init__(self, function: str, call: str | None = None) -> None:
        super().__init__(function)
        self.function = function
        self.call = call  # the call that raised it, shown if the function turns out to be partial


class ChildDied(StopCheck):
    """The child process failed (timeout, limit, crash, exit, protocol)."""

    def __init__(self, failure: ChildFailure, call: str) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.call = call


class DependencyFailed(StopCheck):
    """What this check needs failed in an earlier check (a lab's model.keras is missing): the
    check is skipped with ``cause``, which that earlier check reports in full, once."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class CheckTimedOut(StopCheck):
    """The check used up its own time limit."""


class GraderStopped(StopCheck):
    """The sandbox could not start again during a check (``SandboxUnavailable``): the runner re-raises
    ``error``. A stop, so that a hypothesis search does not try to shrink it by starting it over and over."""

    def __init__(self, error: GraderError) -> None:
        super().__init__(str(error))
        self.error = error


# ChildFailure kinds that end a function for the rest of the run: calling it again would
# only cost every later check the same wait or the same dead child.
DISABLING_KINDS = ("timeout", "limit", "crash", "exit")
_DISABLED_VERBS = {"timeout": "timed out", "limit": "exhausted a limit", "crash": "crashed",
                   "exit": "ended the process"}


class FunctionDisabled(StopCheck):
    """The function timed out or killed the child in an earlier check: it is not called again."""

    def __init__(self, function: str, failure: ChildFailure) -> None:
        self.function = function
        self.failure = failure
        self.message = (f"{function} {_DISABLED_VERBS.get(failure.kind, 'failed')} in an earlier check; "
                        f"not called again ({failure.reason})")
        super().__init__(self.message)


_NOTES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("grader_check_notes", default=None)


def add_note(text: str) -> None:
    """A gentle remark on a passing result (e.g. a NumPy scalar accepted where an int is asked).

    The runner shows it with the check; outside a check it is dropped.
    """
    notes = _NOTES.get()
    if notes is not None and text not in notes:
        notes.append(text)


def collect_notes() -> tuple[list[str], contextvars.Token]:
    """Start collecting notes for one check: ``(notes, token)``; end with ``_NOTES.reset(token)``."""
    notes: list[str] = []
    return notes, _NOTES.set(notes)


def stop_collecting_notes(token: contextvars.Token) -> None:
    _NOTES.reset(token)


class StudentRaised(CheckFailure):
    """The student's function raised an exception the check did not ask for."""

    def __init__(self, call: Call, raised: dict) -> None:
        where = raised.get("where") or []
        evidence = [("call", str(call)), ("raised", f"{raised.get('type')}: {raised.get('message', '')}".strip())]
        if where:
            evidence.append(("at", where[-1]))
        super().__init__(f"{call.function} raised an exception instead of returning a result.",
                         evidence=evidence, call=call)
        self.raised = raised
