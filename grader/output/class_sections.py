"""The instructor's sections of summary.html: students x exercises, time, mistakes, similarity.

Each function returns HTML text (escaped; nothing from a submission is trusted) for
``class_summary.render_summary``. ``rows`` are ``batch.gradebook.StudentRow`` (sorted
by id), ``exercises`` catalogue order. The page stays self-contained: the table sorts
with a tiny inline script (no library), and reads without it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

esc = html.escape

# Sorting the students table: click a header; numbers sort as numbers (data-v), text as text.
SORT_SCRIPT = """<script>
document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var up = th.dataset.order !== "up";
    th.closest("tr").querySelectorAll("th").forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = up ? "up" : "down";
    var rows = Array.prototype.slice.call(body.rows);
    function key(row) {
      var cell = row.cells[column], v = cell.dataset.v;
      return v !== undefined ? parseFloat(v) : cell.textContent.trim().toLowerCase();
    }
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
</script>"""

STYLE = (
    ".scroll{max-height:75vh;overflow:auto;border:1px solid #ccc;margin:.5em 0 1.5em}"
    ".scroll table{margin:0;font-size:.85em}"
    ".scroll th{position:sticky;top:0;background:#f2f2f2;cursor:pointer;white-space:nowrap}"
    "th[data-order=up]::after{content:' ▲'}th[data-order=down]::after{content:' ▼'}"
    "td small{color:#444}"
)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def colour(fraction: float) -> str:
    """A pale background from red (0) through yellow to green (1), as a CSS colour."""
    hue = round(120 * min(max(fraction, 0.0), 1.0))
    return f"hsl({hue},70%,85%)"


def anchor(exercise: str, check_id: str) -> str:
    """The HTML id of a check's row in the pass-rate table."""
    return "check-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{exercise}-{check_id}").strip("-")


def students_table(rows, exercises) -> str:
    """One row per student: points and % per exercise (coloured), total, %, status, time."""
    head = ["<th>student</th>"]
    for exercise in exercises:
        head.append(f"<th title='{esc(exercise.title)}'>{esc(exercise.id)} "
                    f"<small>/ {_num(exercise.points)}</small></th>")
    head += ["<th>total</th>", "<th>%</th>", "<th>status</th>", "<th>time (s)</th>"]
    body = []
    for row in rows:
        cells = [f"<td>{esc(row.id)}</td>"]
        for index, (exercise, result) in enumerate(zip(exercises, row.exercises, strict=True)):
            fraction = result.score / exercise.points if exercise.points else 0.0
            status = row.exercise_status(index)
            note = "" if status == "graded" else f" <small>{esc(status)}</small>"
            cells.append(f"<td class='n' data-v='{result.score:.4f}' "
                         f"style='background:{colour(fraction)}'>{_num(result.score)} "
                         f"<small>{100 * fraction:.0f}%</small>{note}</td>")
        cells += [f"<td class='n' data-v='{row.total:.4f}'>{_num(row.total)}</td>",
                  f"<td class='n' data-v='{row.percent:.4f}' "
                  f"style='background:{colour(row.percent / 100)}'>{row.percent:.1f}%</td>",
                  f"<td class='{esc(row.status)}'>{esc(row.status)}</td>",
                  f"<td class='n' data-v='{row.duration_s:.3f}'>{row.duration_s:.1f}</td>"]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ("<div class='scroll'><table class='sortable' id='students'><thead><tr>"
            + "".join(head) + "</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table></div>")


def histogram_bins(rows, bins: int = 10) -> list[tuple[float, float, int]]:
    """(low, high, students) of ``bins`` equal bins of total points over [0, max];
    the last bin includes the maximum."""
    maximum = rows[0].max_total if rows else 0.0
    if maximum <= 0:
        return []
    width = maximum / bins
    counts = [0] * bins
    for row in rows:
        counts[min(int(row.total / width), bins - 1) if row.total > 0 else 0] += 1
    return [(i * width, (i + 1) * width, counts[i]) for i in range(bins)]


def histogram_table(rows) -> str:
    """The histogram's counts as a table (points), under its plot."""
    bins = histogram_bins(rows)
    if not bins:
        return ""
    cells = "".join(f"<th>{_num(low)}–{_num(high)}</th>" for low, high, _ in bins)
    counts = "".join(f"<td class='n'>{count}</td>" for _, _, count in bins)
    return (f"<table id='histogram'><tr><th>points</th>{cells}</tr>"
            f"<tr><th>students</th>{counts}</tr></table>")


def time_section(rows, slowest: int = 5) -> str:
    """Grading time per student (in the table above) and its outliers: timeouts, slowest."""
    if not rows:
        return "<p>No submissions.</p>"
    times = sorted(r.duration_s for r in rows)
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    parts = [f"<p>Grading time per student: median {median:.1f} s, total {sum(times):.1f} s, "
             f"slowest {times[-1]:.1f} s (each student's time is in the table above).</p>"]
    timeouts = []
    for row in rows:
        for result in row.exercises:
            for check in result.checks:
                if check.status == "timeout":
                    timeouts.append((row.id, result.exercise, check.name))
    parts.append(f"<h3>Timeouts ({len(timeouts)})</h3>")
    if timeouts:
        parts.append("<table id='timeouts'><tr><th>student</th><th>exercise</th><th>check</th>"
                     "</tr>" + "".join(f"<tr><td>{esc(s)}</td><td>{esc(e)}</td><td>{esc(c)}</td>"
                                       "</tr>" for s, e, c in timeouts) + "</table>")
    else:
        parts.append("<p>None.</p>")
    ranked = sorted(rows, key=lambda r: (-r.duration_s, r.id))[:slowest]
    parts.append(f"<h3>Slowest {len(ranked)}</h3><table id='slowest'><tr><th>student</th>"
                 "<th>time (s)</th><th>× median</th></tr>")
    for row in ranked:
        ratio = f"{row.duration_s / median:.1f}" if median > 0 else "–"
        parts.append(f"<tr><td>{esc(row.id)}</td><td class='n'>{row.duration_s:.1f}</td>"
                     f"<td class='n'>{ratio}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


@dataclass(frozen=True)
class Mistake:
    """A known-mistake hint of one check and the students whose submission triggered it."""

    exercise: str
    check_id: str
    check_name: str
    hint: str  # the first student's wording (the numbers in it may differ between students)
    students: tuple[str, ...]


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def common_mistakes(rows) -> list[Mistake]:
    """Each known-mistake hint (checks' ``hint``, numbers ignored) and who triggered it,
    most students first. Only graded exercises count."""
    table: dict[tuple[str, str, str], list] = {}
    for row in rows:
        for result in row.exercises:
            if row.statuses.get(result.exercise) != "graded":
                continue
            for check in result.checks:
                if not check.hint or check.status == "passed":
                    continue
                key = (result.exercise, check.id, _NUMBER.sub("#", check.hint.strip()))
                entry = table.setdefault(key, [check.name, check.hint.strip(), []])
                if row.id not in entry[2]:
                    entry[2].append(row.id)
    mistakes = [Mistake(e, c, name, hint, tuple(sorted(students)))
                for (e, c, _), (name, hint, students) in table.items()]
    return sorted(mistakes, key=lambda m: (-len(m.students), m.exercise, m.check_id, m.hint))


def mistakes_section(rows, shown: int = 12) -> str:
    mistakes = common_mistakes(rows)
    if not mistakes:
        return "<p>No known mistake was recognised.</p>"
    parts = ["<table id='mistakes'><tr><th>students</th><th>mistake (the hint shown)</th>"
             "<th>check</th><th>who</th></tr>"]
    for mistake in mistakes:
        who = ", ".join(mistake.students[:shown]) + (
            f" and {len(mistake.students) - shown} more" if len(mistake.students) > shown else "")
        link = anchor(mistake.exercise, mistake.check_id)
        parts.append(f"<tr><td class='n'>{len(mistake.students)}</td><td>{esc(mistake.hint)}</td>"
                     f"<td><a href='#{link}'>{esc(mistake.exercise)}: {esc(mistake.check_name)}"
                     f"</a></td><td>{esc(who)}</td></tr>")
    parts.append("</table>")
    return "\n".join(parts)


def similarity_section(groups) -> str:
    """``groups``: batch.similarity.SimilarGroup, sorted."""
    intro = ("<p>Students whose function is the same code once names, comments, docstrings and "
             "formatting are set aside. For review only: the same code can be honest (a short "
             "function, the lecture's formula, a shared hint); it changes no grade.</p>")
    if not groups:
        return intro + "<p>None.</p>"
    parts = [intro, "<table id='similar'><tr><th>exercise</th><th>function</th><th>students</th>"
                    "<th>count</th><th>fingerprint</th></tr>"]
    for group in groups:
        parts.append(f"<tr><td>{esc(group.exercise)}</td><td>{esc(group.function)}</td>"
                     f"<td>{esc(', '.join(group.students))}</td>"
                     f"<td class='n'>{len(group.students)}</td>"
                     f"<td><code>{esc(group.fingerprint)}</code></td></tr>")
    parts.append("</table>")
    return "\n".join(parts)
