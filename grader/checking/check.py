"""The check model: what a check is, how it talks to a submission, how it fails.

A check is a plain function registered on an exercise's ``Checklist``::

    CHECKS = Checklist("exercise1")

    @CHECKS.check("lecture: W=7, F=3, P=0, S=1 gives 5", points=1, needs=("conv_output_size",))
    def lecture_example(sub: Submission) -> None:
        expect_exact(sub.call("conv_output_size", 7, 3), 5, call=...)

It receives a ``Submission`` handle, calls the student's functions through the
sandbox, compares in this (trusted) process and raises ``CheckFailure``
(``outcomes.py``) with a message written for the student. Returning ``None`` means full marks; a check
may return a fraction in [0, 1] for partial credit. Checks never print.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from grader.checking.calls import Call, Shown, format_argument, format_call, format_value  # noqa: F401 (the check author API)
from grader.checking.outcomes import (
    DISABLING_KINDS,
    CheckFailure,
    CheckTimedOut,
    ChildDied,
    FunctionDisabled,
    GraderStopped,
    NotImplementedYet,
    StopCheck,
    StudentRaised,
)
from grader.errors import ConfigError, SandboxUnavailable
from grader.output.plots import Figure
from grader.sandbox import CallResult, ChildFailure, Sandbox


@dataclass
class CallLedger:
    """What one run (one exercise, one submission) has learned about each function.

    ``returned``: functions that returned a value at least once, so a later
    NotImplementedError is a failure on that input, not a stub. ``disabled``:
    functions that timed out or killed the child, with the failure; they are not
    called again.
    """

    returned: set[str] = field(default_factory=set)
    disabled: dict[str, ChildFailure] = field(default_factory=dict)


@dataclass
class RunState:
    """What the checks of one run share, kept off the ``Sandbox`` (which only runs code).

    ``ledger``: what the run learned about each function. ``cache``: values a check
    computes once for the others (a model built once, a lab's probes). ``figures``:
    figures as data (``grader.output.plots``), drawn by the runner for the Markdown/HTML reports.
    """

    ledger: CallLedger = field(default_factory=CallLedger)
    cache: dict = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)


class Submission:
    """What a check sees of a submission: its functions, callable through the sandbox."""

    def __init__(self, sandbox: Sandbox, *, deadline: float, call_timeout_s: float, seed: int | None,
                 exercise=None, folder=None, run: RunState | None = None) -> None:
        self._sandbox = sandbox
        self.run = run if run is not None else RunState()
        self._deadline = deadline
        self._call_timeout_s = call_timeout_s
        self.seed = seed
        self.calls = 0
        self.ledger = self.run.ledger
        self.last_stub_call: str | None = None  # set by the runner when the check ended on a stub
        self.last_stub_function: str | None = None  # ... and the stub function it ended on
        self.skipped_for: str | None = None  # set by the runner when the check ended on DependencyFailed
        self.exercise = exercise  # the catalogue entry (labs read their thresholds from it)
        self.folder = folder  # a lab's submission folder (read as plain data, never imported)

    @property
    def functions(self) -> list[str]:
        return self._sandbox.functions

    def attach_figure(self, figure: Figure) -> None:
        """Add a figure, as data, to the report (Markdown/HTML; not the JSON result): the check never draws."""
        self.run.figures.append(figure)

    @property
    def cache(self) -> dict:
        """Per-run storage shared by the checks of one exercise (e.g. a model built once)."""
        return self.run.cache

    def _timeout(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise CheckTimedOut()
        return min(self._call_timeout_s, remaining)

    def _start(self, function: str) -> float:
        """The timeout for a call of ``function``; refuse a function that ended earlier in the run."""
        failure = self.ledger.disabled.get(function)
        if failure is not None:
            raise FunctionDisabled(function, failure)
        return self._timeout()

    def _child_failed(self, failure: ChildFailure, function: str, timeout: float, call: str) -> StopCheck:
        """The outcome of a call the child could not answer (the function may be disabled for the run)."""
        if failure.kind == "timeout" and timeout < self._call_timeout_s:
            return CheckTimedOut()  # the check's own budget ran out: not the function's fault alone
        if failure.kind in DISABLING_KINDS:
            self.ledger.disabled[function] = failure
        return ChildDied(failure, call)

    def _stub_or_failure(self, function: str, results: Sequence[CallResult], call: str) -> None:
        """Raise NotImplementedYet when ``function`` behaves as a stub: it raised NotImplementedError
        before ever returning in this run. A function that has returned is partial: its
        NotImplementedError is an ordinary exception, failed on that input."""
        if any(r.raised is None for r in results):
            self.ledger.returned.add(function)
        if function not in self.ledger.returned and any(r.raised_subclass_of("NotImplementedError")
                                                        for r in results):
            raise NotImplementedYet(function, call)

    def call_raw(self, function: str, *args: object, return_args: bool = False, **kwargs: object) -> CallResult:
        """Call and return what happened, exceptions included (for checks that expect one)."""
        timeout = self._start(function)
        self.calls += 1
        try:
            result = self._sandbox.call(function, *args, timeout=timeout, return_args=return_args, **kwargs)
        except ChildFailure as failure:
            raise self._child_failed(failure, function, timeout, str(Call(function, args, kwargs))) from None
        except SandboxUnavailable as unavailable:  # a restart failed: the grader's problem, not this check's
            raise GraderStopped(unavailable) from None
        self._stub_or_failure(function, [result], str(Call(function, args, kwargs)))
        return result

    def call_many(self, function: str, cases: list[dict]) -> list[CallResult]:
        """Call ``function(**case)`` for every case in one round trip (exceptions included)."""
        timeout = self._start(function)
        self.calls += len(cases)
        try:
            results = self._sandbox.call_many(function, [((), case) for case in cases], timeout=timeout)
        except ChildFailure as failure:
            raise self._child_failed(failure, function, timeout,
                                     f"{function} on {len(cases)} generated inputs") from None
        except SandboxUnavailable as unavailable:  # a restart failed: the grader's problem, not this check's
            raise GraderStopped(unavailable) from None
        stub_call = None
        for case, result in zip(cases, results, strict=False):
            if result.raised_subclass_of("NotImplementedError"):
                stub_call = str(Call(function, (), case))
                break
        self._stub_or_failure(function, results, stub_call or f"{function} on {len(cases)} generated inputs")
        return results

    def build_model_file(self, function: str) -> bytes:
        """Call a model builder in the sandbox; return the bytes of the .keras file it saved."""
        return self._one_sandbox_request(function, lambda timeout: self._sandbox.build_and_save(
            function, timeout=timeout))

    def probe(self, function: str, probe: str, *args: object, **kwargs: object) -> object:
        """The plain data a trusted probe in the child reports on ``function`` (exercise 7).

        The probe calls ``function`` (``args`` go to the probe); what the student's
        code raised becomes a failure of this check, as for ``call``.
        """
        return self._one_sandbox_request(function, lambda timeout: self._sandbox.probe(
            function, probe, *args, timeout=timeout, **kwargs))

    def _one_sandbox_request(self, function: str, request: Callable[[float], CallResult]) -> object:
        """Run ``request(timeout)`` about ``function()``; its value, or the check's failure."""
        timeout = self._start(function)
        self.calls += 1
        try:
            result = request(timeout)
        except ChildFailure as failure:
            raise self._child_failed(failure, function, timeout, f"{function}()") from None
        except SandboxUnavailable as unavailable:  # a restart failed: the grader's problem, not this check's
            raise GraderStopped(unavailable) from None
        self._stub_or_failure(function, [result], f"{function}()")
        if result.raised is not None:
            raise StudentRaised(Call(function), result.raised)
        return result.value

    def call(self, function: str, *args: object, **kwargs: object) -> object:
        """Call and return the value; an exception becomes a failure of this check."""
        result = self.call_raw(function, *args, **kwargs)
        if result.raised is not None:
            raise StudentRaised(Call(function, args, kwargs), result.raised)
        return result.value


CheckFunction = Callable[[Submission], "float | None"]


def each_function(sub: Submission, functions: Sequence[str], body: Callable[[str], None],
                  *, file: str | None = None) -> None:
    """Run ``body(function)`` for each function; each passing one earns an equal share.

    A check shared by several functions ("inputs unchanged", "invalid arguments")
    grades each on its own: a function that is missing, still a stub, broken,
    or that ended earlier in the run costs only its share. Returns quietly when
    every function passes; re-raises ``NotImplementedYet`` when every one is a
    stub (the check is then skipped as usual); otherwise raises a
    ``CheckFailure`` whose ``fraction`` is the passing share, led by the first
    failure and followed by one verdict line per function.
    """
    verdicts: list[tuple[str, str | None]] = []  # (function, None if passed else why not)
    first: CheckFailure | None = None
    stubs: list[NotImplementedYet] = []
    for index, function in enumerate(functions):
        if function not in sub.functions:
            verdicts.append((function, f"{file or 'the submission'} defines no function named {function!r}"))
            continue
        try:
            body(function)
        except NotImplementedYet as stub:
            stubs.append(stub)
            verdicts.append((function, "not implemented yet"))
        except FunctionDisabled as disabled:
            verdicts.append((function, disabled.message))
        except ChildDied as died:
            verdicts.append((function, f"{died.call}: {died.failure.reason}"))
        except CheckTimedOut:
            verdicts.append((function, "the check ran out of time"))
            verdicts += [(f, "not run: the check ran out of time") for f in functions[index + 1:]]
            break
        except CheckFailure as failure:
            first = first or failure
            verdicts.append((function, failure.summary))
        else:
            verdicts.append((function, None))
    passed = sum(1 for _, why in verdicts if why is None)
    if passed == len(functions):
        return
    if len(stubs) == len(functions):
        raise stubs[0]
    lines = [f"  {'✓' if why is None else '✗'} {function}" + ("" if why is None else f": {why}")
             for function, why in verdicts]
    table = f"Each function earns {1 / len(functions):.0%} of this check ({passed} of {len(functions)} passed):\n"
    table += "\n".join(lines)
    fraction = passed / len(functions)
    if first is not None:
        failure = CheckFailure(first.summary, evidence=first.evidence, rule=first.rule, hint=first.hint,
                               details="\n".join(part for part in (first.details, table) if part),
                               fraction=fraction, call=first.call, table=first.table)
        failure.smallest_input = first.smallest_input
        failure.examples_tried = first.examples_tried
        raise failure
    raise CheckFailure(f"{passed} of the {len(functions)} functions of this check passed.", details=table,
                       fraction=fraction)


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
    # Each function of ``needs`` earns its own share (``each_function``): the check runs while
    # at least one of them is defined, and a missing one costs only its share.
    per_function: bool = False


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
        per_function: bool = False,
    ) -> Callable[[CheckFunction], CheckFunction]:
        def register(function: CheckFunction) -> CheckFunction:
            check_id = id or slugify(name)
            if any(c.id == check_id for c in self.checks):
                raise ConfigError(f"{self.exercise}: two checks share the id {check_id!r}")
            if points <= 0:
                raise ConfigError(f"{self.exercise}: check {name!r} must be worth a positive number of points")
            self.checks.append(Check(check_id, name, float(points), function, tuple(needs), hidden, timeout_s,
                                     per_function))
            return function

        return register

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks)
