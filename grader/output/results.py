"""The result model (plain data) and its text writers: JSON and Markdown.

``to_dict`` produces exactly the JSON schema of DESIGN.md; the terminal
rendering lives in ``output/terminal.py``. Hidden checks keep their score and
status but their message is withheld unless ``show_hidden``: ``withheld`` is the
one rule, used by every writer (JSON, Markdown, HTML, terminal, exports).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from grader.checking.table import FailureTable

HIDDEN_MESSAGE = "hidden check: details are withheld until grades are released"
STATUSES = ("passed", "failed", "error", "timeout", "skipped")
# The words for what happened to a whole exercise, the same in the student report, the class
# summary and the gradebook: a file that is not there is "missing"; code that cannot be
# imported has a "syntax error" or an "import error" (it did not crash: it never ran).
CAUSE_WORDS = ("missing", "syntax error", "import error", "import timeout")


@dataclass
class CheckResult:
    """The outcome of one check. ``message`` is plain text written for the student."""

    id: str
    name: str
    score: float
    max_score: float
    status: str
    hidden: bool = False
    message: str = ""
    duration_s: float = 0.0
    # Structured failure, for the rich renderer (the message holds the same text).
    summary: str = ""
    evidence: list[tuple[str, str]] = field(default_factory=list)
    rule: str | None = None
    hint: str | None = None
    details: str | None = None
    smallest_input: str | None = None
    output: str = ""
    # Carried whole, never parsed back out of the message:
    table: FailureTable | None = None  # laid out by the renderer for its width
    examples_tried: int | None = None  # how many generated inputs the search tried
    not_implemented: str | None = None  # the stub function that made this check skip
    skipped_because: str | None = None  # the one cause this check depends on (a syntax error, ...)
    rerun: list[str] = field(default_factory=list)  # argv that re-runs exactly this check

    @property
    def rerun_command(self) -> str:
        """``rerun`` as one shell line that works pasted (quoted where needed); '' if none."""
        return shlex.join(self.rerun) if self.rerun else ""

    def to_dict(self, *, show_hidden: bool = False) -> dict:
        hide = withheld(self, show_hidden)
        return {
            "name": self.name,
            "score": round(self.score, 6),
            "max_score": self.max_score,
            "status": self.status,
            "hidden": self.hidden,
            "message": HIDDEN_MESSAGE if hide and self.message else self.message,
        }


def status_word(check: CheckResult) -> str:
    """The status a report shows: a check skipped for one cause (a syntax error) reads "skipped"
    (its JSON status stays DESIGN.md's); otherwise the check's status."""
    return "skipped" if check.skipped_because else check.status


def _cause_note(result: ExerciseResult) -> list[str]:
    """The one cause that stopped every check, as a report line (a missing file's is a note already)."""
    return [f"{result.cause}: {result.cause_message}"] if result.cause and not result.missing else []


def withheld(check: CheckResult, show_hidden: bool) -> bool:
    """Whether ``check``'s details are withheld: a hidden check, unless ``show_hidden``.

    A skipped check ("not implemented yet", or skipped for a syntax error) gives nothing
    away, so its reason is always shown. The one rule for every writer.
    """
    return check.hidden and not show_hidden and check.status != "skipped"


@dataclass
class ExerciseResult:
    """All checks of one exercise for one submission."""

    exercise: str
    title: str
    checks: list[CheckResult]
    submission: str
    duration_s: float
    grader_version: str
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)  # (title, base64 PNG), reports only
    missing: bool = False  # the exercise's file is not in the submission (a graded zero)
    message: str = ""  # for a missing file: which file, where it was looked for, how to fix it
    # One cause that stops every check (a syntax error, an import failure, a missing file):
    # its word (CAUSE_WORDS) and its one message, shown once; the checks say they were skipped.
    cause: str = ""
    cause_message: str = ""

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    def to_dict(self, *, show_hidden: bool = False) -> dict:
        return {
            "exercise": self.exercise,
            "score": round(self.score, 6),
            "max_score": self.max_score,
            "checks": [c.to_dict(show_hidden=show_hidden) for c in self.checks],
            "submission": self.submission,
            "duration_s": round(self.duration_s, 3),
            "grader_version": self.grader_version,
            **({"missing": True, "message": self.message} if self.missing else {}),
            # one cause that stopped every check (a syntax error, ...): its word and its message
            **({"cause": self.cause, "message": self.cause_message} if self.cause and not self.missing else {}),
        }


@dataclass
class RunResult:
    """One or more exercises graded in one command (``grade all``)."""

    exercises: list[ExerciseResult]
    # Who and what was graded, when (``grade batch``'s reports; JSON keys only when set).
    student: str = ""
    submission_hash: str = ""  # sha256 of the submission's files
    graded_at: str = ""  # UTC, ISO 8601, from the batch journal

    @property
    def identity(self) -> list[tuple[str, str]]:
        """(JSON key, value) of the identity fields that are set, in header order."""
        return [(k, v) for k, v in (("student", self.student),
                                    ("submission_hash", self.submission_hash),
                                    ("graded_at", self.graded_at)) if v]

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def to_dict(self, *, show_hidden: bool = False) -> dict:
        return {
            "score": round(self.score, 6),
            "max_score": self.max_score,
            "exercises": [e.to_dict(show_hidden=show_hidden) for e in self.exercises],
            **dict(self.identity),
        }


_IDENTITY_LABELS = {"student": "Student", "submission_hash": "Submission SHA-256",
                    "graded_at": "Graded at (UTC)"}


def to_json(result: ExerciseResult | RunResult, *, show_hidden: bool = False) -> str:
    return json.dumps(result.to_dict(show_hidden=show_hidden), indent=2, ensure_ascii=False)


# Student code controls much of a report's text (exception names and messages, printed output,
# notes about its import): in Markdown it is only ever shown inside code (spans or fenced
# blocks), where no heading, link, image or HTML can start; other text is backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~&:$])")
_BACKTICKS = re.compile(r"`+")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _md_escape(text: str) -> str:
    """One line of plain Markdown text: every special character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))


def _md_fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text`` (at least three)."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def _md_block(text: str) -> list[str]:
    """``text`` verbatim in a fenced code block that nothing in it can close."""
    fence = _md_fence(text)
    return [f"{fence}text", *_LINE_BREAKS.sub("\n", text).split("\n"), fence]


def _md_code(text: str) -> str:
    """One line of text as an inline code span that nothing in it can close."""
    text = _LINE_BREAKS.sub(" ", text)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_note(note: str) -> list[str]:
    if _LINE_BREAKS.search(note.strip()):
        return ["-", *["  " + line for line in _md_block(note.strip())]]
    return [f"- {_md_code(note)}"]


def _safe_png(png: str) -> bool:
    return bool(png) and _BASE64.fullmatch(png) is not None


def _exercise_markdown(result: ExerciseResult, show_hidden: bool) -> list[str]:
    lines = [
        f"## {_md_escape(result.exercise)}: {_md_escape(result.title)} — "
        f"{result.score:g} / {result.max_score:g}",
        "",
        "| check | status | points |",
        "|---|---|---|",
    ]
    for check in result.checks:
        lines.append(f"| {_md_escape(check.name)} | {_md_escape(status_word(check))} | "
                     f"{check.score:g} / {check.max_score:g} |")
    lines.append("")
    for note in [*result.notes, *_cause_note(result)]:
        lines += _md_note(note)
    if result.notes:
        lines.append("")
    for title, png in result.figures:
        if _safe_png(png):
            lines += [f"![{_md_escape(title)}](data:image/png;base64,{png})", ""]
    for check in result.checks:
        if status_word(check) in ("passed", "skipped") or not check.message:
            continue
        lines.append(f"### ✗ {_md_escape(check.name)} ({check.score:g} / {check.max_score:g})")
        lines.append("")
        body = HIDDEN_MESSAGE if withheld(check, show_hidden) else check.message
        lines += [*_md_block(body), ""]
        if check.rerun:
            lines += [f"Re-run: {_md_code(check.rerun_command)}", ""]
    return lines


def to_markdown(result: ExerciseResult | RunResult, *, show_hidden: bool = False) -> str:
    exercises = result.exercises if isinstance(result, RunResult) else [result]
    lines = [f"# Grade report — {result.score:g} / {result.max_score:g}", ""]
    if isinstance(result, RunResult) and result.identity:
        lines += [f"{_IDENTITY_LABELS[k]}: {_md_code(v)}  " for k, v in result.identity]
    if exercises:
        lines += [f"Submission: {_md_code(exercises[0].submission)}  ",
                  f"Grader {_md_escape(exercises[0].grader_version)}", ""]
    for exercise in exercises:
        lines += _exercise_markdown(exercise, show_hidden)
    return "\n".join(lines).rstrip() + "\n"


def to_html(result: ExerciseResult | RunResult, *, show_hidden: bool = False) -> str:
    """A self-contained HTML page with the same content as the Markdown report."""
    import html

    exercises = result.exercises if isinstance(result, RunResult) else [result]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Grade report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
        ".passed{color:#176f2c}.failed,.error,.timeout{color:#b00020}.skipped{color:#777}"
        "pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}</style></head><body>",
        f"<h1>Grade report — {result.score:g} / {result.max_score:g}</h1>",
    ]
    if isinstance(result, RunResult) and result.identity:
        parts.append("<p class='identity'>" + "<br>".join(
            f"{_IDENTITY_LABELS[k]}: <code>{html.escape(v)}</code>" for k, v in result.identity)
            + "</p>")
    for exercise in exercises:
        parts.append(f"<h2>{html.escape(exercise.exercise)}: {html.escape(exercise.title)} — "
                     f"{exercise.score:g} / {exercise.max_score:g}</h2><table>"
                     "<tr><th>check</th><th>status</th><th>points</th></tr>")
        for check in exercise.checks:
            status = html.escape(status_word(check))
            parts.append(f"<tr><td>{html.escape(check.name)}</td><td class='{status}'>{status}"
                         f"</td><td>{check.score:g} / {check.max_score:g}</td></tr>")
        parts.append("</table>")
        parts += [f"<p>{html.escape(note)}</p>" for note in [*exercise.notes, *_cause_note(exercise)]]
        parts += [f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{png}'>"
                  f"<figcaption>{html.escape(title)}</figcaption></figure>"
                  for title, png in exercise.figures if _safe_png(png)]
        for check in exercise.checks:
            if status_word(check) in ("passed", "skipped") or not check.message:
                continue
            body = HIDDEN_MESSAGE if withheld(check, show_hidden) else check.message
            parts.append(f"<h3>✗ {html.escape(check.name)}</h3><pre>{html.escape(body)}</pre>")
            if check.rerun:
                parts.append(f"<p>Re-run: <code>{html.escape(check.rerun_command)}</code></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
