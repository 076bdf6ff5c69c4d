"""The class summary of ``grade batch``: one self-contained HTML page (``summary.html``).

A student x exercise table (points and %, coloured, sortable), the score histogram
in points, per-exercise means, the pass rate of every check (the checks most
students fail first), the common mistakes (known-mistake hints and how many
students triggered each), grading time and its outliers, similar submissions
(``batch/similarity.py``, for review only), and the submissions that were
refused, failed to grade, lacked a file, could not be imported, or whose code raised or timed out
(sections in ``class_sections.py``). Plots are drawn with
matplotlib's Agg canvas (no pyplot, no global backend change) and embedded as
base64 PNG; the page loads nothing from elsewhere. The output is a function of
its input only: sorted, fixed number formatting, no timestamps, PNGs without
the "Software" metadata.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

from grader import __version__
from grader.output import class_sections as sections

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".bar{background:#e8e8e8;width:10em;height:.9em}.bar div{background:#3b7dd8;height:100%}"
    ".refused,.error{color:#b00020}.missing{color:#a05a00}"
    "img{max-width:100%;height:auto}pre{white-space:pre-wrap;margin:0}"
    + sections.STYLE
)


@dataclass(frozen=True)
class CheckRate:
    exercise: str
    check_id: str
    name: str
    points: float
    hidden: bool
    passed: int
    graded: int
    order: int  # position in its exercise

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def check_rates(rows, exercises) -> list[CheckRate]:
    """Pass rate of every check (keyed by its id) over the submissions graded for its
    exercise, hardest first."""
    order = {e.id: i for i, e in enumerate(exercises)}
    table: dict[tuple[str, str], list] = {}
    for row in rows:
        for result in row.exercises:
            if row.statuses.get(result.exercise) != "graded":
                continue
            for position, check in enumerate(result.checks):
                entry = table.setdefault((result.exercise, check.id),
                                         [check.name, check.max_score, check.hidden, 0, 0,
                                          position])
                entry[3] += check.status == "passed"
                entry[4] += 1
    rates = [CheckRate(exercise, check_id, name, points, hidden, passed, graded, position)
             for (exercise, check_id), (name, points, hidden, passed, graded, position)
             in table.items()]
    return sorted(rates, key=lambda r: (r.rate, order.get(r.exercise, 0), r.order, r.name))


def _png(figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='' src='data:image/png;base64,{encoded}'>"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def histogram_png(rows) -> str:
    figure = _figure(7, 3.2)
    axes = figure.add_subplot()
    bins = sections.histogram_bins(rows)  # the same bins as the table under the plot
    maximum = rows[0].max_total if rows else 0.0
    if bins:
        axes.bar([low for low, _, _ in bins], [count for _, _, count in bins],
                 width=bins[0][1] - bins[0][0], align="edge", color="#3b7dd8",
                 edgecolor="white")
        axes.set_xlim(0, maximum)
    axes.set_xlabel(f"total score (points, of {_num(maximum)})")
    axes.set_ylabel("submissions")
    axes.set_title(f"Score distribution ({len(rows)} submissions)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def means_png(exercises, means: list[float]) -> str:
    figure = _figure(7, 0.5 + 0.45 * max(len(exercises), 1))
    axes = figure.add_subplot()
    labels = [e.id for e in exercises][::-1]
    values = [100 * m for m in means][::-1]
    axes.barh(labels, values, color="#3b7dd8")
    axes.set_xlim(0, 100)
    axes.set_xlabel("mean score (% of the exercise's points, all submissions)")
    return _png(figure)


def rates_png(rates: list[CheckRate], limit: int = 20) -> str:
    shown = rates[:limit][::-1]
    figure = _figure(8, 0.6 + 0.32 * max(len(shown), 1))
    axes = figure.add_subplot()
    labels = [f"{r.exercise}: {r.name[:60]}" for r in shown]
    axes.barh(range(len(shown)), [100 * r.rate for r in shown], color="#d8703b")
    axes.set_yticks(range(len(shown)), labels, fontsize=7)
    axes.set_xlim(0, 100)
    axes.set_xlabel("submissions passing the check (%)")
    axes.set_title(f"The {len(shown)} checks passed least often")
    return _png(figure)


def _problems(rows) -> list[tuple[str, str, str, str]]:
    """(id, status, exercise, first line of the reason) for each problem, sorted."""
    problems = []
    for row in rows:
        for result in row.exercises:
            status = row.statuses.get(result.exercise, "graded")
            if status in ("refused", "error", "missing"):
                reason = row.messages.get(result.exercise) or status
                problems.append((row.id, status, result.exercise, reason))
                continue
            if result.cause:  # the student report's word for it: "syntax error", not "crashed"
                problems.append((row.id, result.cause, result.exercise, result.cause_message))
                continue
            broken = next((c for c in result.checks if c.status in ("error", "timeout")), None)
            if broken is not None:
                problems.append((row.id, broken.status, result.exercise, broken.message))
    return [(i, s, e, (m.strip().splitlines() or [""])[0][:300]) for i, s, e, m in problems]


def render_summary(rows, exercises, similar: list | None = None) -> str:
    """The whole page. ``rows``: batch.StudentRow (sorted by id); ``exercises``: catalogue
    order; ``similar``: batch.similarity.SimilarGroup (sorted)."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Class summary</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Class summary — {len(rows)} submissions</h1>",
        f"<p>Grader {esc(__version__)}. Exercises: {esc(', '.join(e.id for e in exercises))}.</p>",
    ]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    parts.append("<p>" + ", ".join(f"{counts[s]} {s}" for s in sorted(counts)) + "</p>")
    if rows:
        parts += ["<h2 id='students-heading'>Students × exercises</h2>",
                  "<p>Points and % of each exercise (red 0% → green 100%); click a heading to "
                  "sort.</p>", sections.students_table(rows, exercises)]
        parts += ["<h2>Scores</h2>", histogram_png(rows), sections.histogram_table(rows)]
        totals = sorted(r.total for r in rows)
        middle = len(totals) // 2
        median = totals[middle] if len(totals) % 2 else (totals[middle - 1] + totals[middle]) / 2
        max_total = rows[0].max_total
        parts.append(f"<p>Mean {_num(sum(totals) / len(totals))}, median {_num(median)}, "
                     f"min {_num(totals[0])}, max {_num(totals[-1])} of {_num(max_total)}.</p>")

    means = []
    table = ["<table><tr><th>exercise</th><th>title</th><th>points</th><th>mean (all)</th>"
             "<th>mean (graded)</th><th>graded</th><th>full marks</th></tr>"]
    for index, exercise in enumerate(exercises):
        scores = [row.exercises[index].score for row in rows]
        graded = [row.exercises[index].score for row in rows
                  if row.statuses.get(exercise.id) == "graded"]
        full = sum(1 for s in graded if s >= exercise.points - 1e-9)
        mean = sum(scores) / len(scores) if scores else 0.0
        graded_mean = sum(graded) / len(graded) if graded else 0.0
        means.append(mean / exercise.points if exercise.points else 0.0)
        table.append(f"<tr><td>{esc(exercise.id)}</td><td>{esc(exercise.title)}</td>"
                     f"<td class='n'>{_num(exercise.points)}</td><td class='n'>{_num(mean)}</td>"
                     f"<td class='n'>{_num(graded_mean)}</td><td class='n'>{len(graded)}</td>"
                     f"<td class='n'>{full}</td></tr>")
    table.append("</table>")
    parts += ["<h2>Per-exercise means</h2>", *table]
    if exercises and rows:
        parts.append(means_png(exercises, means))

    rates = check_rates(rows, exercises)
    parts.append("<h2>Per-check pass rate (the checks most students fail first)</h2>")
    if rates:
        parts.append(rates_png(rates))
        parts.append("<table><tr><th>exercise</th><th>check</th><th>points</th><th>passed</th>"
                     "<th>rate</th><th></th></tr>")
        for rate in rates:
            hidden = " <small>(hidden)</small>" if rate.hidden else ""
            width = f"{100 * rate.rate:.1f}"
            parts.append(f"<tr id='{sections.anchor(rate.exercise, rate.check_id)}'>"
                         f"<td>{esc(rate.exercise)}</td><td>{esc(rate.name)}{hidden}</td>"
                         f"<td class='n'>{_num(rate.points)}</td>"
                         f"<td class='n'>{rate.passed} / {rate.graded}</td>"
                         f"<td class='n'>{_percent(rate.rate)}</td>"
                         f"<td><div class='bar'><div style='width:{width}%'></div></div></td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No graded submissions.</p>")

    parts += ["<h2>Common mistakes</h2>", sections.mistakes_section(rows)]
    parts += ["<h2>Time taken</h2>", sections.time_section(rows)]
    parts += ["<h2>Similar submissions</h2>", sections.similarity_section(similar or [])]

    problems = _problems(rows)
    parts.append("<h2>Refused, missing and erroring submissions</h2>")
    if problems:
        parts.append("<table><tr><th>submission</th><th>status</th><th>exercise</th>"
                     "<th>reason</th></tr>")
        for student, status, exercise, reason in problems:
            parts.append(f"<tr><td>{esc(student)}</td><td class='{esc(status)}'>{esc(status)}</td>"
                         f"<td>{esc(exercise)}</td><td><pre>{esc(reason)}</pre></td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append(sections.SORT_SCRIPT)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
