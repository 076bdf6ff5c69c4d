"""``grade data status|prepare``: where the course's datasets are, and getting them.

``grade data status [--data-dir D]`` prints one plain, aligned row per dataset (where it was
found, in what form, whether its checksums hold) and the places looked. ``grade data prepare
NAME [--data-dir D]`` says where NAME already is, or downloads it through Keras when online.
Missing or corrupt data raise ``GraderError`` (the CLI: exit 2, one message). The parser is in ``cli.py``.
"""

from __future__ import annotations

from grader.data import datasets


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain text table, columns left-aligned and separated by two spaces."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, tuple("-" * w for w in widths), *rows]]
    return "\n".join(lines)


def show_status(data_dir: str | None) -> int:
    """Print ``grade data status``: a row per dataset, the places looked, how to get what is missing."""
    rows = datasets.status(data_dir=data_dir)
    print(format_table(
        ("dataset", "found", "format", "verified"),
        [(r.dataset, r.found or "not found", r.format or "-", r.verified if r.found else "-")
         for r in rows]))
    looked = max((r.looked for r in rows), key=len)
    print("\nlooked in, in order: " + "; ".join(looked))
    for row in rows:
        if row.problem:
            print(f"\n{row.dataset}: {row.problem}")
    missing = [r.dataset for r in rows if r.found is None]
    if missing:
        print(f"\nmissing: {', '.join(missing)}. Online: `grade data prepare NAME`"
              f" (e.g. grade data prepare {missing[0]}); or set {datasets.ENV_VAR}=FOLDER.")
        if "fashion_mnist" in missing:
            print("Fashion-MNIST offline on Debian/Ubuntu: apt-get install dataset-fashion-mnist")
    return 0


def prepare(name: str, data_dir: str | None) -> int:
    """``grade data prepare NAME``: say where NAME is, downloading it through Keras when online."""
    place = datasets.prepare(name, data_dir=data_dir)
    found, _ = datasets.locate(name, data_dir=data_dir)
    checked = all(datasets.verify_file(name, p) for p in found.files()) if found else False
    note = "checksums verified" if checked else "not a file with a published checksum"
    print(f"{name}: ready at {place} ({note})")
    return 0
