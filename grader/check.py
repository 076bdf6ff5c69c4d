"""The check model: what a check is, how it talks to a submission, how it fails.

A check is a plain function registered on an exercise's ``Checklist``::

    CHECKS = Checklist("exercise1")

    @CHECKS.check("lecture: W=7, F=3, P=0, S=1 gives 5", points=1, needs=("conv_output_size",))
    def lecture_example(sub: Submission) -> None:
        expect_exact(sub.call("conv_output_size", 7, 3), 5, call=...)

It receives a ``Submission`` handle, calls the student's functions through the
sandbox, compares in this (trusted) process and raises ``CheckFailure`` with a
message written for the student. Returning ``None`` means full marks; a check
may return a fraction in [0, 1] for partial credit. Checks never print.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from grader.errors import ConfigError
from grader.sandbox import CallResult, ChildFailure, Sandbox


class CheckFailure(Exception):
    """The submission did not pass a check. Fields follow STYLE.md's anatomy.

    ``summary`` is one sentence in the course's words; ``evidence`` is a list of
    ``(label, text)`` rows (inputs, expected, received); ``rule`` is the formula
    with the numbers filled in; ``hint`` names a known mistake only when it
    matches exactly; ``fraction`` is the share of the points still earned.
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
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.evidence = list(evidence or [])
        self.rule = rule
        self.hint = hint
        self.details = details
        self.fraction = fraction
        self.smallest_input: str | None = None
        self.examples_tried: int | None = None


# Outcomes that end a check at once. They derive from BaseException so that a
# hypothesis search stops on them instead of shrinking (a stub or a dead child
# has nothing to shrink).
class StopCheck(BaseException):
    """Base of the outcomes below."""


class NotImplementedYet(StopCheck):
    """The student's function still raises NotImplementedError."""

    def __init__(self, function: str) -> None:
        super().__init__(function)
        self.function = function


class ChildDied(StopCheck):
    """The child process failed (timeout, limit, crash, exit, protocol)."""

    def __init__(self, failure: ChildFailure, call: str) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.call = call


class CheckTimedOut(StopCheck):
    """The check used up its own time limit."""


class StudentRaised(CheckFailure):
    """The student's function raised an exception the check did not ask for."""

    def __init__(self, call: str, raised: dict) -> None:
        where = raised.get("where") or []
        evidence = [("call", call), ("raised", f"{raised.get('type')}: {raised.get('message', '')}".strip())]
        if where:
            evidence.append(("at", where[-1]))
        super().__init__(f"{call.split('(')[0]} raised an exception instead of returning a result.",
                         evidence=evidence)
        self.raised = raised


def format_value(value: object, limit: int = 120) -> str:
    """A short, student-readable rendering of an argument or a returned value."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"array(shape={tuple(value.shape)}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_argument(name: str, value: object) -> str:
    """``stride=2``; an array as ``x.shape=(2, 7, 7, 3)`` (STYLE.md's evidence rows)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"{name}.shape={tuple(value.shape)}"
    return f"{name}={format_value(value)}"


def format_call(function: str, args: tuple = (), kwargs: dict | None = None) -> str:
    """``conv_output_size(7, 3, stride=2)``, arrays shown by shape."""
    parts = [format_value(a) for a in args]
    parts += [format_argument(k, v) for k, v in (kwargs or {}).items()]
    return f"{function}({', '.join(parts)})"


class Submission:
    """What a check sees of a submission: its functions, callable through the sandbox."""

    def __init__(self, sandbox: Sandbox, *, deadline: float, call_timeout_s: float, seed: int | None,
                 exercise=None, folder=None) -> None:
        self._sandbox = sandbox
        self._deadline = deadline
        self._call_timeout_s = call_timeout_s
        self.seed = seed
        self.calls = 0
        self.exercise = exercise  # the catalogue entry (labs read their thresholds from it)
        self.folder = folder  # a lab's submission folder (read as plain data, never imported)

    @property
    def functions(self) -> list[str]:
        return self._sandbox.functions

    def attach_figure(self, title: str, png: bytes) -> None:
        """Add a PNG figure to the report (Markdown/HTML); not part of the JSON result."""
        self._sandbox.cache.setdefault("figures", []).append((title, png))

    @property
    def cache(self) -> dict:
        """Per-run storage shared by the checks of one exercise (e.g. a model built once)."""
        return self._sandbox.cache

    def _timeout(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise CheckTimedOut()
        return min(self._call_timeout_s, remaining)

    def call_raw(self, function: str, *args: object, return_args: bool = False, **kwargs: object) -> CallResult:
        """Call and return what happened, exceptions included (for checks that expect one)."""
        timeout = self._timeout()
        self.calls += 1
        try:
            result = self._sandbox.call(function, *args, timeout=timeout, return_args=return_args, **kwargs)
        except ChildFailure as failure:
            if failure.kind == "timeout" and timeout < self._call_timeout_s:
                raise CheckTimedOut() from None
            raise ChildDied(failure, format_call(function, args, kwargs)) from None
        if result.raised_subclass_of("NotImplementedError"):
            raise NotImplementedYet(function)
        return result

    def call_many(self, function: str, cases: list[dict]) -> list[CallResult]:
        """Call ``function(**case)`` for every case in one round trip (exceptions included)."""
        timeout = self._timeout()
        self.calls += len(cases)
        try:
            results = self._sandbox.call_many(function, [((), case) for case in cases], timeout=timeout)
        except ChildFailure as failure:
            if failure.kind == "timeout" and timeout < self._call_timeout_s:
                raise CheckTimedOut() from None
            raise ChildDied(failure, f"{function} on {len(cases)} generated inputs") from None
        if any(r.raised_subclass_of("NotImplementedError") for r in results):
            raise NotImplementedYet(function)
        return results

    def build_model_file(self, function: str) -> bytes:
        """Call a model builder in the sandbox; return the bytes of the .keras file it saved."""
        timeout = self._timeout()
        self.calls += 1
        try:
            result = self._sandbox.build_and_save(function, timeout=timeout)
        except ChildFailure as failure:
            if failure.kind == "timeout" and timeout < self._call_timeout_s:
                raise CheckTimedOut() from None
            raise ChildDied(failure, f"{function}()") from None
        if result.raised_subclass_of("NotImplementedError"):
            raise NotImplementedYet(function)
        if result.raised is not None:
            raise StudentRaised(f"{function}()", result.raised)
        return result.value

    def call(self, function: str, *args: object, **kwargs: object) -> object:
        """Call and return the value; an exception becomes a failure of this check."""
        result = self.call_raw(function, *args, **kwargs)
        if result.raised is not None:
            raise StudentRaised(format_call(function, args, kwargs), result.raised)
        return result.value


CheckFunction = Callable[[Submission], "float | None"]


@dataclass(frozen=True)
class Check:
    """One graded check. ``id`` is the slug used by ``--check``."""

    id: str
    name: str
    points: float
    run: CheckFunction
    needs: tuple[str, ...]
    hidden: bool = False
    timeout_s: float = 20.0


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class Checklist:
    """The ordered checks of one exercise."""

    exercise: str
    checks: list[Check] = field(default_factory=list)
    # Run once before the checks (e.g. import TensorFlow for the references), outside their time limits.
    prepare: Callable[[], None] | None = None

    def check(
        self,
        name: str,
        *,
        points: float,
        needs: tuple[str, ...],
        hidden: bool = False,
        timeout_s: float = 20.0,
        id: str | None = None,
    ) -> Callable[[CheckFunction], CheckFunction]:
        def register(function: CheckFunction) -> CheckFunction:
            check_id = id or slugify(name)
            if any(c.id == check_id for c in self.checks):
                raise ConfigError(f"{self.exercise}: two checks share the id {check_id!r}")
            if points <= 0:
                raise ConfigError(f"{self.exercise}: check {name!r} must be worth a positive number of points")
            self.checks.append(Check(check_id, name, float(points), function, tuple(needs), hidden, timeout_s))
            return function

        return register

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks)
