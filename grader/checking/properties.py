"""Property-based checks with hypothesis, configured for grading.

A property runs ``body(example)`` for examples drawn from a strategy.
``check_function`` first sweeps a fixed list of cases in one round trip to the
child (hypothesis costs milliseconds per example; a sweep costs microseconds),
then runs a short hypothesis search; when the sweep finds a failure it runs a
longer search so that the student sees a shrunk input. The
settings make a regrade give the same score (STYLE.md "Hypothesis for
grading"): derandomized (or seeded by ``--seed``), no example database, no
deadline, one bug reported, no blob. When the body fails, hypothesis shrinks the
input; the ``CheckFailure`` that reaches the student is the one raised on the
smallest failing input, annotated with it.

hypothesis is imported on first use (``strategies()``, ``for_all``): importing it
takes about 0.1 s, and exercises 1 and 2, whose sweeps are exhaustive or seeded,
need it only to search for and shrink a failure.
"""

from __future__ import annotations

import atexit
import functools
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from grader.checking.check import Call, Submission, format_argument, format_value
from grader.checking.outcomes import CheckFailure, StudentRaised

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def same_draws_in_every_process() -> None:
    """Make hypothesis draw the same examples whatever this process loaded or graded before.

    hypothesis mixes into its draws the constants found in the source of every
    loaded module outside site-packages (the grader's own, in an editable
    install): a process that graded exercise3 before exercise4 would draw other
    exercise4 inputs than a fresh one, and a result would depend on which process
    graded it (``grade``, a batch worker, a Dask worker). With no local constants the
    draws depend on the check and the seed alone. hypothesis offers no setting for
    this, so its provider's hook is replaced; a hypothesis without that hook is left as it is.
    """
    try:
        from hypothesis.internal.conjecture import providers

        empty = providers.Constants()
        providers._get_local_constants = lambda: empty
        providers.CONSTANTS_CACHE.cache.clear()
    except (ImportError, AttributeError, TypeError):
        return


@functools.cache
def _configured_hypothesis():
    """hypothesis, imported and set up for grading (once per process)."""
    import hypothesis
    import hypothesis.configuration

    # hypothesis keeps a cache of constants under .hypothesis/ in the current folder even with
    # database=None: grading must not write into the folder it is started from.
    home = tempfile.mkdtemp(prefix="grade-hypothesis-")
    hypothesis.configuration.set_hypothesis_home_dir(home)
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    same_draws_in_every_process()
    return hypothesis


def strategies():
    """``hypothesis.strategies``, with hypothesis configured for grading (imported on first use)."""
    _configured_hypothesis()
    from hypothesis import strategies as st

    return st


def seeded_random(sub: Submission, salt: str) -> random.Random:
    """A generator for a sweep's drawn cases: fixed per check (``salt``), changed by ``--seed``."""
    return random.Random(f"{salt}:{sub.seed}")


def describe_example(example: object) -> str:
    if isinstance(example, dict):
        return " ".join(format_argument(k, v) for k, v in example.items())
    return format_value(example)


def for_all(sub: Submission, strategy: SearchStrategy, body: Callable[[object], None], *,
            max_examples: int = 100) -> None:
    """Run ``body`` on ``max_examples`` generated examples; on failure, re-raise the shrunk one."""
    tried = 0

    def test(example: object) -> None:
        nonlocal tried
        tried += 1
        try:
            body(example)
        except CheckFailure as failure:
            failure.smallest_input = describe_example(example)
            raise

    hypothesis = _configured_hypothesis()
    from hypothesis.reporting import with_reporter

    configured = hypothesis.settings(max_examples=max_examples, derandomize=sub.seed is None, database=None,
                                     deadline=None, report_multiple_bugs=False, print_blob=False,
                                     suppress_health_check=list(hypothesis.HealthCheck),
                                     phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate,
                                             hypothesis.Phase.shrink))
    runner = configured(hypothesis.given(strategy)(test))
    if sub.seed is not None:
        runner = hypothesis.seed(sub.seed)(runner)
    try:
        with with_reporter(lambda _message: None):
            runner()
    except CheckFailure as failure:
        failure.examples_tried = tried
        raise


def check_function(sub: Submission, function: str, *, strategy: Callable[[], SearchStrategy],
                   sweep: Sequence[dict], verify: Callable[[dict, object], None],
                   max_examples: int = 5, search_examples: int = 200) -> None:
    """Check ``verify(case, function(**case))`` on the sweep, then on hypothesis examples.

    ``strategy()`` builds the hypothesis strategy of cases; it is called only when a
    search runs. ``sweep`` should be ordered small-first: its first failure is
    reported when hypothesis cannot find (and shrink) a failure of its own.
    ``max_examples=0`` (for sweeps that are exhaustive grids, or grids plus seeded
    draws, over cheap integer functions) skips hypothesis when the sweep passes.
    """
    first_failure: CheckFailure | None = None
    for case, result in zip(sweep, sub.call_many(function, list(sweep)), strict=False):
        try:
            if result.raised is not None:
                raise StudentRaised(Call(function, (), case), result.raised)
            verify(case, result.value)
        except CheckFailure as failure:
            failure.smallest_input = describe_example(case)
            first_failure = failure
            break

    def body(case: dict) -> None:
        result = sub.call_raw(function, **case)
        if result.raised is not None:
            raise StudentRaised(Call(function, (), case), result.raised)
        verify(case, result.value)

    if first_failure is None and max_examples == 0:
        return  # an exhaustive sweep passed; hypothesis is kept for finding and shrinking failures
    for_all(sub, strategy(), body, max_examples=search_examples if first_failure else max_examples)
    if first_failure is not None:
        raise first_failure
