"""summary.html in a real browser (issue 5, issue 14: headless Chromium).

The small class of ``small_class.py`` (5 submissions, exercises 1-2) writes
OUT/summary.html. Headless Chromium takes a screenshot of it, and of the same
page with its images removed: the plots must add a clear amount of colour (the
histogram's and the means' blue bars, the pass rates' orange bars) that the page
without images lacks. Chromium's DOM (``--dump-dom``) is parsed to check the
instructor's sections as rendered: the student x exercise table, the histogram's
counts, the common mistakes and their links, the time outliers, the similar
submissions, and that clicking a heading sorts the table (the inline script).
Skipped, with the reason, where Chromium is not installed (Debian: ``apt-get
install chromium``; CI installs it). Set ``GRADER_KEEP_SCREENSHOT=/some/file.png``
to keep a copy of the screenshot.
"""

from __future__ import annotations

import csv
import html.parser
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from small_class import STUDENTS, graded_class

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1200, 1600
BLUE, ORANGE = (0x3B, 0x7D, 0xD8), (0xD8, 0x70, 0x3B)  # grader/class_report.py's bar colours


def _browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


pytestmark = pytest.mark.xdist_group("small_class")


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> Path:
    """OUT/summary.html of the small class."""
    out, result = graded_class(tmp_path_factory)
    assert (result.submissions, result.graded, result.refused) == (5, 4, 1)
    return out / "summary.html"


def test_summary_html_is_self_contained(summary):
    text = summary.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 2
    sources = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", text, re.IGNORECASE)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources), \
        [s[:60] for s in sources if not s.startswith("data:")]
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE)
    assert "http://" not in text and "https://" not in text and "url(" not in text.lower()
    # One tiny inline script (the table's sorting), nothing loaded from a file or a library.
    assert len(re.findall(r"<script\b", text, re.IGNORECASE)) == 1
    assert re.search(r"<script>\n", text) and not re.search(r"<script[^>]*\bsrc", text, re.I)


def _screenshot(browser: str, page: Path, png: Path, profile: Path) -> None:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=180,
                               env={**os.environ, "HOME": str(profile)})
    assert png.is_file(), (completed.returncode, completed.stderr[-2000:])


def _pixels(png: Path) -> np.ndarray:
    """The screenshot as an (height, width, 3) array of 0-255 ints."""
    from PIL import Image  # matplotlib depends on Pillow

    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _colour_counts(pixels: np.ndarray, tolerance: int = 40) -> dict[str, int]:
    def near(colour: tuple[int, int, int]) -> int:
        return int((np.abs(pixels - np.array(colour)) <= tolerance).all(axis=2).sum())

    return {"non-white": int((pixels.min(axis=2) < 235).sum()), "blue": near(BLUE),
            "orange": near(ORANGE)}


def test_chromium_renders_the_plots(summary, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the summary's rendering is not checked")
    shot = tmp_path / "summary.png"
    _screenshot(browser, summary, shot, tmp_path / "profile")
    assert shot.stat().st_size > 20_000  # a blank 1200x1600 page compresses to a few KB
    keep = os.environ.get("GRADER_KEEP_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)

    # The same page without its images: what the text and tables alone paint.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img\b[^>]*>", "", summary.read_text(encoding="utf-8")),
                    encoding="utf-8")
    bare_shot = tmp_path / "bare.png"
    _screenshot(browser, bare, bare_shot, tmp_path / "profile-bare")

    pixels = _pixels(shot)
    assert pixels.shape == (HEIGHT, WIDTH, 3)
    with_plots = _colour_counts(pixels)
    without = _colour_counts(_pixels(bare_shot))
    total = WIDTH * HEIGHT
    assert with_plots["non-white"] > 0.05 * total, with_plots
    # The histogram and the means' bars (blue), the pass rates' bars (orange): big areas of
    # colour that the page without its images does not have.
    assert with_plots["blue"] - without["blue"] > 0.01 * total, (with_plots, without)
    # (Without the images, a few anti-aliased pixels of coloured text may come near orange.)
    assert with_plots["orange"] - without["orange"] > 0.005 * total \
        and without["orange"] < 0.0002 * total, (with_plots, without)


# -- the instructor's sections, as Chromium renders them (issue 14) ----------------------------

_COMMON = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _dump_dom(page: Path, profile: Path) -> str:
    """The DOM after loading ``page`` (scripts run) in headless Chromium."""
    browser = _browser()
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the summary's rendering is not checked")
    completed = subprocess.run([browser, *_COMMON, f"--user-data-dir={profile}", "--dump-dom",
                                page.as_uri()], capture_output=True, text=True, timeout=180,
                               env={**os.environ, "HOME": str(profile)})
    assert completed.returncode == 0 and "</html>" in completed.stdout, completed.stderr[-2000:]
    return completed.stdout


class _Tables(html.parser.HTMLParser):
    """Every table with an id: its rows' cell texts; every element id; every link target."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._link: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "a":
            self._link = [attrs.get("href", ""), []]

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link[0], "".join(self._link[1]).strip()))
            self._link = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link[1].append(data)


def _parse(dom: str) -> _Tables:
    parser = _Tables()
    parser.feed(dom)
    return parser


@pytest.fixture(scope="module")
def rendered(summary, tmp_path_factory) -> _Tables:
    return _parse(_dump_dom(summary, tmp_path_factory.mktemp("profile-dom")))


def _gradebook(summary: Path) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO((summary.parent / "gradebook.csv").read_text())))
    return {row["id"]: row for row in rows[1:]}


def test_rendered_students_table_matches_the_gradebook(summary, rendered):
    table = rendered.tables["students"]
    header, rows = table[0], table[1:]
    assert header[0] == "student" and header[1].startswith("exercise1") \
        and header[-4:] == ["total", "%", "status", "time (s)"]
    book = _gradebook(summary)
    assert [r[0] for r in rows] == sorted(STUDENTS)
    for row in rows:
        who = row[0]
        assert row[1].split()[0] == book[who]["exercise1"] and row[3] == book[who]["total"]
        assert row[4] == f"{float(book[who]['percent']):.1f}%" and row[5] == book[who]["status"]
        assert float(row[6]) >= 0
    cells = dict((r[0], r) for r in rows)
    assert cells["ann"][1] == "20 100%" and cells["cat"][2] == "0 0% missing"
    assert cells["eve"][1].endswith("refused")


def test_rendered_histogram_counts_points_as_the_statistics_do(summary, rendered):
    bins, counts = rendered.tables["histogram"]
    assert bins[0] == "points" and bins[1] == "0–4" and bins[-1] == "36–40"
    totals = [float(row["total"]) for row in _gradebook(summary).values()]
    expected = [0] * 10
    for total in totals:
        expected[min(int(total // 4), 9)] += 1
    assert [int(c) for c in counts[1:]] == expected
    text = summary.read_text(encoding="utf-8")
    mean = sum(totals) / len(totals)
    assert f"Mean {mean:.2f}".rstrip("0").rstrip(".") in text and "of 40." in text


def test_rendered_common_mistakes_link_to_their_checks(rendered):
    mistakes = rendered.tables["mistakes"][1:]
    rounding = [row for row in mistakes if row[1].startswith("Round down")]
    assert rounding and all(row[0] == "2" and row[3] == "cat, dan" for row in rounding)
    targets = [href for href, text in rendered.links if "conv_output_size with integer" in text]
    assert targets and all(href.startswith("#") and href[1:] in rendered.ids for href in targets)


def test_rendered_time_outliers_and_similar_submissions(rendered):
    slowest = rendered.tables["slowest"][1:]
    assert len(slowest) == 5
    times = [float(row[1]) for row in slowest]
    assert times == sorted(times, reverse=True) and times[0] > 0
    assert "timeouts" not in rendered.tables  # nobody timed out: "None." instead of a table
    similar = {(row[0], row[1]): row[2] for row in rendered.tables["similar"][1:]}
    # cat's code and dan's renamed notebook copy of it; ann's solution shares these too.
    assert similar[("exercise1", "conv_output_size")] == "cat, dan"
    assert similar[("exercise1", "receptive_field")] == "ann, cat, dan"
    assert not any("ben" in students for students in similar.values())  # the stub: left out


def test_clicking_a_heading_sorts_the_table(summary, tmp_path):
    # The page plus a script that clicks "total" once (ascending), then "student" twice.
    page = tmp_path / "clicked.html"
    clicks = ("<script>var h = document.querySelectorAll('#students th');"
              "h[3].click(); var byTotal = Array.from(document.querySelectorAll("
              "'#students tbody tr')).map(function (r) { return r.cells[0].textContent; });"
              "h[0].click(); h[0].click();"
              "document.body.setAttribute('data-by-total', byTotal.join(','));</script>")
    page.write_text(summary.read_text(encoding="utf-8").replace("</body>", clicks + "</body>"),
                    encoding="utf-8")
    dom = _dump_dom(page, tmp_path / "profile")
    by_total = re.search(r'data-by-total="([^"]*)"', dom).group(1).split(",")
    assert by_total == ["ben", "eve", "cat", "dan", "ann"]  # 0, 0, 13, 33, 40
    rows = _parse(dom).tables["students"][1:]
    assert [r[0] for r in rows] == sorted(STUDENTS, reverse=True)


def test_time_outliers_and_mistakes_from_synthetic_rows():
    """Timeouts, the slowest, and hints counted per check id (numbers in a hint ignored)."""
    from grader.batch.gradebook import StudentRow
    from grader.output.class_sections import common_mistakes, time_section
    from grader.output.results import CheckResult, ExerciseResult

    def row(who: str, seconds: float, status: str, hint: str | None) -> StudentRow:
        checks = [CheckResult(id="size", name="the size", score=0.0, max_score=1.0,
                              status=status, hint=hint)]
        result = ExerciseResult("exercise1", "t", checks, "x", seconds, "v")
        return StudentRow(who, "graded", "", 0.0, 1.0, [result], {"exercise1": "graded"}, {},
                          duration_s=seconds)

    rows = [row("a", 1.0, "failed", "Round down: got 3.5"), row("b", 9.0, "timeout", None),
            row("c", 2.0, "failed", "Round down: got 7.25"), row("d", 1.5, "passed", None)]
    tables = _parse(time_section(rows, slowest=2)).tables
    assert tables["timeouts"][1:] == [["b", "exercise1", "the size"]]
    assert [r[0] for r in tables["slowest"][1:]] == ["b", "c"]
    mistakes = common_mistakes(rows)
    assert [(m.check_id, m.students) for m in mistakes] == [("size", ("a", "c"))]
