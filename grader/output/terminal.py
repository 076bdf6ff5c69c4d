"""Terminal rendering with rich: the only module that imports rich.

A table per exercise, then a panel per failed check following STYLE.md's
anatomy. All student-controlled text goes into ``Text`` objects, never into
markup, so a submission cannot inject rich markup or escape codes.
"""

from __future__ import annotations

import io
import re
import shlex

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.output.results import HIDDEN_MESSAGE, CheckResult, ExerciseResult, RunResult, withheld

_ICONS = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "⏱", "skipped": "–"}
_STYLES = {"passed": "green", "failed": "red", "error": "red", "timeout": "yellow", "skipped": "dim"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def _clean(text: str) -> str:
    """Drop terminal control characters (escape sequences) from student-controlled text."""
    return _CONTROL.sub("", text)


def _points(score: float, max_score: float) -> str:
    return f"{score:g} / {max_score:g}"


def _check_table(result: ExerciseResult) -> Table:
    table = Table(title=f"{result.exercise} — {result.title}", title_justify="left", expand=False)
    table.add_column("", width=1)
    table.add_column("check")
    table.add_column("pts", justify="right")
    for check in result.checks:
        status = "skipped" if check.skipped_because else check.status  # skipped for the one cause
        style = _STYLES.get(status, "")
        table.add_row(Text(_ICONS.get(status, "?"), style=style), Text(check.name),
                      Text(_points(check.score, check.max_score), style=style))
    table.add_section()
    table.add_row("", Text("total", style="bold"),
                  Text(_points(result.score, result.max_score), style="bold"))
    return table


def _panel(body, title: str, subtitle: str, style: str) -> Panel:
    return Panel(body, title=Text(title), title_align="left", subtitle=Text(subtitle), subtitle_align="right",
                 border_style=style)


def _failure_panel(exercise: str, check: CheckResult, show_hidden: bool, width: int) -> Panel:
    title = f"{_ICONS.get(check.status, '✗')} {exercise} › {check.name}"
    subtitle = f"{_points(check.score, check.max_score)} pts"
    style = _STYLES.get(check.status, "red")
    if withheld(check, show_hidden):
        return _panel(Text(HIDDEN_MESSAGE), title, subtitle, style)
    if not check.summary:  # errors and timeouts without structure: the message is the body
        return _panel(Text(_clean(check.message)), title, subtitle, style)
    parts: list = [Text(_clean(check.summary))]
    if check.evidence:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for label, value in check.evidence:
            grid.add_row(Text("  " + label), Text(_clean(value)))
        parts.append(grid)
    if check.rule:
        parts.append(Text("  " + _clean(check.rule), style="cyan"))
    if check.table is not None:  # side by side when it fits the panel, stacked when not
        parts.append(Text(_clean(check.table.to_text(width - 4)), no_wrap=True, overflow="fold"))
    if check.details:
        parts.append(Text(_clean(check.details)))
    if check.hint:
        parts.append(Text(_clean(check.hint), style="italic"))
    if check.smallest_input:
        tried = f" (after {check.examples_tried} examples)" if check.examples_tried else ""
        parts.append(Text(_clean(f"Smallest failing input{tried}: {check.smallest_input}"), style="dim"))
    if check.output:
        parts.append(Text("Your code printed:\n" + _clean(check.output), style="dim"))
    return _panel(Group(*parts), title, subtitle, style)


def _cause_panel(exercise: ExerciseResult) -> Panel:
    """One panel for the one cause every check depends on (a syntax error, an import failure)."""
    skipped = [c for c in exercise.checks if c.skipped_because]
    count = len(skipped)
    body = Text(_clean(exercise.cause_message))
    body.append(f"\nSkipped: {count} check{'s' if count != 1 else ''} (each needs the file to import).",
                style="dim")
    return _panel(body, f"✗ {exercise.exercise} › {exercise.cause}", _points(exercise.score, exercise.max_score)
                  + " pts", "red")


def _skipped_for_a_cause(console: Console, exercise: ExerciseResult) -> None:
    """One line per cause that made checks skip (a lab's missing model): which checks, and why."""
    causes: dict[str, list[str]] = {}
    for check in exercise.checks:
        if check.status == "skipped" and check.skipped_because:
            causes.setdefault(check.skipped_because, []).append(check.id)
    for cause, ids in causes.items():
        console.print(Text(_clean(f"Skipped ({len(ids)}): {', '.join(ids)}: {cause}"), style="dim"))


def _rerun_line(console: Console, command: str) -> None:
    """The re-run command on one line, never wrapped, so that it works pasted."""
    console.print(Text(f"Re-run: {command}", style="dim"), soft_wrap=True)


def _failing(check: CheckResult) -> bool:
    return check.status in ("failed", "error", "timeout") and not check.skipped_because


def last_line(result: ExerciseResult | RunResult) -> str:
    """The report's last line: the score and the first failing check with its re-run command,
    or that every check passed."""
    exercises = result.exercises if isinstance(result, RunResult) else [result]
    checks = [c for e in exercises for c in e.checks]
    score = f"{_points(result.score, result.max_score)} pts"
    if checks and all(c.status == "passed" for c in checks):
        return f"All {len(checks)} checks passed: {score}."
    for exercise in exercises:
        if exercise.cause and exercise.cause != "missing":
            return (f"Score {score}; {exercise.exercise}: {exercise.cause}, fix it first. "
                    f"Re-run: {shlex.join(['grade', exercise.exercise, exercise.submission])}")
        first = next((c for c in exercise.checks if _failing(c)), None)
        if first is not None and not exercise.missing:
            rerun = f" Re-run: {first.rerun_command}" if first.rerun else ""
            return f"Score {score}; first failing: {exercise.exercise} › {first.name}.{rerun}"
    missing = [e.exercise for e in exercises if e.missing]
    if missing:
        return f"Score {score}; missing: {', '.join(missing)}."
    stubs = sum(1 for c in checks if c.status == "skipped")
    return f"Score {score}; {stubs} check{'s' if stubs != 1 else ''} not implemented yet."


def render(result: ExerciseResult | RunResult, console: Console, *, show_hidden: bool = False) -> None:
    """Print the report for one exercise or for a whole run; the last line sums it up."""
    exercises = result.exercises if isinstance(result, RunResult) else [result]
    for exercise in exercises:
        console.print(_check_table(exercise))
        for note in exercise.notes:
            console.print(Text(_clean(note), style="dim" if note.startswith("sandbox:") else "yellow"))
        if exercise.cause and not exercise.missing:  # one cause, one panel
            console.print(_cause_panel(exercise))
            _rerun_line(console, shlex.join(["grade", exercise.exercise, exercise.submission]))
        for check in exercise.checks:
            if _failing(check) and not exercise.missing:  # missing: the note says it
                console.print(_failure_panel(exercise.exercise, check, show_hidden, console.width))
                if check.rerun:
                    _rerun_line(console, check.rerun_command)
        _skipped_for_a_cause(console, exercise)
        console.print()
    if isinstance(result, RunResult) and len(exercises) > 1:
        console.print(Text(f"Total: {_points(result.score, result.max_score)}", style="bold"))
    console.print(Text(_clean(last_line(result)), style="bold"), soft_wrap=True)


def show(result: ExerciseResult | RunResult, *, show_hidden: bool = False) -> None:
    """Render to the terminal."""
    render(result, make_console(), show_hidden=show_hidden)


def render_text(result: ExerciseResult | RunResult, *, show_hidden: bool = False, width: int = 100) -> str:
    """Render to plain text (no colour), for --output FILE and golden tests."""
    buffer = io.StringIO()
    render(result, Console(file=buffer, width=width, color_system=None), show_hidden=show_hidden)
    return buffer.getvalue()


def show_catalogue(catalogue) -> None:
    """`grade list`: every catalogue entry with its points and whether its checks exist."""
    table = Table(title="Exercises", title_justify="left")
    for column in ("id", "title", "points", "student file", "checks"):
        table.add_column(column)
    for exercise in catalogue:
        where = exercise.file or f"{exercise.folder}/"
        state = "ready" if exercise.implemented else "not yet available"
        table.add_row(exercise.id, Text(exercise.title), f"{exercise.points:g}", where, state)
    make_console().print(table)


def show_checks(exercise) -> None:
    """`grade list EXERCISE`: each check's id (what --check takes), points and name."""
    table = Table(title=f"{exercise.id}: {exercise.title}", title_justify="left")
    for column in ("id", "points", "check"):
        table.add_column(column, overflow="fold")
    for check in exercise.checklist():
        name = f"hidden: {check.name}" if check.hidden and not check.name.startswith("hidden") else check.name
        table.add_row(check.id, f"{check.points:g}", Text(name))
    make_console().print(table)
    make_console().print(Text(f"grade {exercise.id} --check ID runs one (a part of an id or name works too)"))


def make_console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def error(message: str) -> None:
    """A one-line error on stderr (exit code 2 paths)."""
    make_console(stderr=True).print(Text("grade: error: ", style="bold red") + Text(message), soft_wrap=True)


class _BatchProgress:
    """A rich progress bar with an ETA for `grade batch` (on stderr); ``advance(n)`` per pair."""

    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=make_console(stderr=True), transient=False,
        )
        self._task = self._progress.add_task("grading", total=total)

    def __enter__(self) -> _BatchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._task, steps)


def batch_progress(total: int) -> _BatchProgress:
    """Context manager: a progress bar over ``total`` (submission, exercise) pairs."""
    return _BatchProgress(total)
