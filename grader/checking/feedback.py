"""What a failed check tells the student, built from data (STYLE.md's anatomy).

The runner hands a ``CheckFailure`` (or a plain outcome) and the run's facts here;
this module builds the re-run argv, the plain-text message kept in the JSON, the
one cause that stops every check (a syntax error, an import failure), and the
printed output of the reported call alone. Nothing is parsed back out of text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.checking.check import Call, Submission
from grader.checking.outcomes import CheckFailure, StopCheck


def rerun_argv(exercise_id: str, submission: Path | str, check_id: str, seed: int | None) -> list[str]:
    """The command that re-runs exactly ``check_id`` on ``submission``: ``grade ex PATH --check ID``.

    ``--check`` prefers an exact id over a substring match, so only that check runs.
    """
    argv = ["grade", exercise_id, str(submission), "--check", check_id]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv


def text_of_failure(failure: CheckFailure) -> str:
    """The plain-text message of a failure: summary, evidence aligned, rule, table, hint,
    smallest input (the JSON ``message``; the terminal lays out the fields)."""
    lines = [failure.summary]
    width = max((len(label) for label, _ in failure.evidence), default=0)
    lines += [f"  {label.ljust(width)}  {text}" for label, text in failure.evidence]
    if failure.rule:
        lines.append(f"  {failure.rule}")
    if failure.table is not None:
        lines.append(failure.table.to_text())
    if failure.details:
        lines.append(failure.details)
    if failure.hint:
        lines.append(failure.hint)
    if failure.smallest_input:
        tried = f" (after {failure.examples_tried} examples)" if failure.examples_tried else ""
        lines.append(f"Smallest failing input{tried}: {failure.smallest_input}")
    return "\n".join(lines)


RERUN_STATUSES = ("failed", "error", "timeout")


def add_reruns(results: list, exercise_id: str, submission: Path | str, seed: int | None) -> None:
    """Give every failed, erroring or timed-out check its re-run argv (``CheckResult.rerun``).

    The reports print it (terminal, Markdown, HTML); the JSON message stays free of this
    machine's paths, so a batch's reports do not depend on where it staged a submission.
    Checks skipped for one cause (a syntax error) get none: the cause's panel has its own.
    ``results``: ``grader.output.results.CheckResult`` objects, changed in place.
    """
    for result in results:
        if result.status in RERUN_STATUSES and not result.skipped_because:
            result.rerun = rerun_argv(exercise_id, submission, result.id, seed)


@dataclass(frozen=True)
class ImportCause:
    """Why the student's file could not be imported: the one cause every check depends on.

    ``word``: one of ``grader.output.results.CAUSE_WORDS``; ``message``: one sentence
    with the student's file and line; ``timed_out``: the import ran out of time.
    """

    word: str
    message: str
    timed_out: bool = False

    def skipped(self) -> str:
        """A dependent check's message: skipped, with the reason."""
        return f"skipped: {self.message}"


def import_cause(description: dict, file_name: str) -> ImportCause:
    """The cause of an import failure reported by the child (``description``: its plain dict)."""
    kind = description.get("type", "error")
    message = description.get("message", "")
    timed_out = description.get("kind") == "timeout"
    if kind == "ChildFailure":
        word = "import timeout" if timed_out else "import error"
        return ImportCause(word, f"the submission could not be started: {message}", timed_out)
    if "SyntaxError" in description.get("mro", []) or kind in ("SyntaxError", "IndentationError", "TabError"):
        line = description.get("lineno")
        text = description.get("text")
        where = f" at line {line}" if line else ""
        shown = f": {text}" if text else ""
        return ImportCause("syntax error", f"{file_name} has a {kind}{where}{shown} "
                                           f"({message.split(' (')[0]}). Fix it and grade again.")
    where = description.get("where") or []
    location = f" ({where[-1]})" if where else ""
    return ImportCause("import error", f"importing {file_name} raised {kind}: {message}{location}", timed_out)


def prints_of_call(sub: Submission, call: Call, drain) -> str | None:
    """What the student's code prints during ``call`` alone (the reported, smallest failing call).

    ``drain()`` returns and clears the output collected so far (``Sandbox.output``). The
    call is made once more after draining; None when it cannot be (the check's time is
    up, the function was disabled, or the child failed): the caller keeps what it has.
    """
    drain()
    disabled = dict(sub.ledger.disabled)
    try:
        sub.call_raw(call.function, *call.args, **(call.kwargs or {}))
    except (StopCheck, CheckFailure, Exception):
        return None
    finally:  # a call made only to show its prints never disables the function for later checks
        sub.ledger.disabled.clear()
        sub.ledger.disabled.update(disabled)
    stdout, stderr = drain()
    return (stdout + stderr).strip()
