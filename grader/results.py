"""The result model (plain data) and its text writers: JSON and Markdown.

``to_dict`` produces exactly the JSON schema of DESIGN.md; the terminal
rendering lives in ``report.py``. Hidden checks keep their score and status but
their message is withheld unless ``show_hidden``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

HIDDEN_MESSAGE = "hidden check: details are withheld until grades are released"
STATUSES = ("passed", "failed", "error", "timeout", "skipped")


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

    def to_dict(self, *, show_hidden: bool = False) -> dict:
        # A hidden check's failure details are withheld; "not implemented yet" gives nothing away.
        withheld = self.hidden and not show_hidden and self.status != "skipped"
        return {
            "name": self.name,
            "score": round(self.score, 6),
            "max_score": self.max_score,
            "status": self.status,
            "hidden": self.hidden,
            "message": HIDDEN_MESSAGE if withheld and self.message else self.message,
        }


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
        }


@dataclass
class RunResult:
    """One or more exercises graded in one command (``grade all``)."""

    exercises: list[ExerciseResult]

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
        }


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
        lines.append(f"| {_md_escape(check.name)} | {_md_escape(check.status)} | "
                     f"{check.score:g} / {check.max_score:g} |")
    lines.append("")
    for note in result.notes:
        lines += _md_note(note)
    if result.notes:
        lines.append("")
    for title, png in result.figures:
        if _safe_png(png):
            lines += [f"![{_md_escape(title)}](data:image/png;base64,{png})", ""]
    for check in result.checks:
        if check.status == "passed" or not check.message or check.status == "skipped":
            continue
        lines.append(f"### ✗ {_md_escape(check.name)} ({check.score:g} / {check.max_score:g})")
        lines.append("")
        body = HIDDEN_MESSAGE if check.hidden and not show_hidden else check.message
        lines += [*_md_block(body), ""]
    return lines


def to_markdown(result: ExerciseResult | RunResult, *, show_hidden: bool = False) -> str:
    exercises = result.exercises if isinstance(result, RunResult) else [result]
    lines = [f"# Grade report — {result.score:g} / {result.max_score:g}", ""]
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
    for exercise in exercises:
        parts.append(f"<h2>{html.escape(exercise.exercise)}: {html.escape(exercise.title)} — "
                     f"{exercise.score:g} / {exercise.max_score:g}</h2><table>"
                     "<tr><th>check</th><th>status</th><th>points</th></tr>")
        for check in exercise.checks:
            status = html.escape(check.status)
            parts.append(f"<tr><td>{html.escape(check.name)}</td><td class='{status}'>{status}"
                         f"</td><td>{check.score:g} / {check.max_score:g}</td></tr>")
        parts.append("</table>")
        parts += [f"<p>{html.escape(note)}</p>" for note in exercise.notes]
        parts += [f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{png}'>"
                  f"<figcaption>{html.escape(title)}</figcaption></figure>"
                  for title, png in exercise.figures if _safe_png(png)]
        for check in exercise.checks:
            if check.status in ("passed", "skipped") or not check.message:
                continue
            body = HIDDEN_MESSAGE if check.hidden and not show_hidden else check.message
            parts.append(f"<h3>✗ {html.escape(check.name)}</h3><pre>{html.escape(body)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
