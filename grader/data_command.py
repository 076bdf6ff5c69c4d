"""``grade data status|prepare``: where the course's datasets are, and getting them.

``grade data status [--data-dir D]`` prints one plain, aligned row per dataset (where it was
found, in what form, whether its checksums hold) and the places looked. ``grade data prepare
NAME [--data-dir D]`` says where NAME already is, or downloads it through Keras when online.
Usage errors and missing or corrupt data raise ``GraderError`` (the CLI: exit 2, one message).
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from grader import datasets
from grader.errors import GraderError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise GraderError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="grade data", description="Find, check and fetch the course's datasets.")
    commands = parser.add_subparsers(dest="command", metavar="{status,prepare}",
                                     parser_class=_Parser)
    commands.required = True
    status = commands.add_parser("status", help="where each dataset was found, and if verified")
    status.add_argument("--data-dir", help="look here first (before $GRADER_DATA_DIR)")
    prepare = commands.add_parser("prepare", help="make a dataset available (Keras download)")
    prepare.add_argument("name", choices=datasets.NAMES, metavar="NAME",
                         help=f"one of: {', '.join(datasets.NAMES)}")
    prepare.add_argument("--data-dir", help="look here first (before $GRADER_DATA_DIR)")
    return parser


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain text table, columns left-aligned and separated by two spaces."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, tuple("-" * w for w in widths), *rows]]
    return "\n".join(lines)


def _status(data_dir: str | None) -> int:
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


def _prepare(name: str, data_dir: str | None) -> int:
    place = datasets.prepare(name, data_dir=data_dir)
    found, _ = datasets.locate(name, data_dir=data_dir)
    checked = all(datasets.verify_file(name, p) for p in found.files()) if found else False
    note = "checksums verified" if checked else "not a file with a published checksum"
    print(f"{name}: ready at {place} ({note})")
    return 0


def main(argv: list[str]) -> int:
    """Run ``grade data ...`` with ``argv`` (the words after ``data``); 0 or GraderError."""
    try:
        options = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help printed its text
        if exit_.code in (0, None):
            return 0
        raise GraderError("grade data: invalid arguments") from None
    if options.command == "status":
        return _status(options.data_dir)
    return _prepare(options.name, options.data_dir)
