"""summary.html renders its plots in a real browser (issue 5: headless Chromium).

A tiny batch (3 submissions of exercise 1) writes OUT/summary.html; headless
Chromium takes a screenshot of it, and of the same page with its images
removed. The plots must add a clear amount of colour (the histogram's and the
means' blue bars, the pass rates' orange bars) that the page without images
lacks. Skipped, with the reason, where Chromium is not installed (Debian:
``apt-get install chromium``). Set ``GRADER_KEEP_SCREENSHOT=/some/file.png`` to
keep a copy of the screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
STUBS = ROOT / "exercises"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1200, 1600
BLUE, ORANGE = (0x3B, 0x7D, 0xD8), (0xD8, 0x70, 0x3B)  # grader/class_report.py's bar colours


def _browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> Path:
    """OUT/summary.html of a batch of 3: the solution, the stub, a partly wrong one."""
    from mutants import EXERCISE1

    from grader.batch import grade_batch
    from grader.catalogue import load_catalogue

    base = tmp_path_factory.mktemp("summary")
    directory, out = base / "class", base / "out"
    sources = {"ann": (SOLUTIONS / "exercise1.py").read_text(encoding="utf-8"),
               "ben": (STUBS / "exercise1.py").read_text(encoding="utf-8"),
               "cat": EXERCISE1[0].source()}
    for who, text in sources.items():
        (directory / who).mkdir(parents=True)
        (directory / who / "exercise1.py").write_text(text, encoding="utf-8")
    result = grade_batch(directory=directory, out=out, jobs=2, exercises=["exercise1"],
                         catalogue=load_catalogue(ROOT / "assignments.toml"), progress=False)
    assert (result.submissions, result.graded) == (3, 3)
    return out / "summary.html"


def test_summary_html_is_self_contained(summary):
    text = summary.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 2
    sources = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", text, re.IGNORECASE)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources), \
        [s[:60] for s in sources if not s.startswith("data:")]
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE)
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "url(" not in text.lower()


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
    assert with_plots["orange"] > 0.005 * total and without["orange"] == 0, (with_plots, without)
