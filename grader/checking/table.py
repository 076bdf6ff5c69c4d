"""A failure's table as data: rows of cells, laid out by the renderer for the width it has.

A check builds a ``FailureTable`` (the side-by-side model diff of exercise 6, the
gradient table of exercise 5) instead of pre-formatted columns; the terminal lays
it out side by side when it fits and stacked when it does not (80-column logs), and
``to_text`` gives the plain rendering kept in a result's ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FailureTable:
    """``columns``: the header cells; ``rows``: one list of cells per row (same length).

    ``marked``: the index of the row to point at (``→``), or None. ``notes``: an
    optional text per row index, shown under the row (e.g. "worst at (0, 1): yours
    0.5, reference 0.25"); ``footer``: rows of ``(label, cells)`` shown after the table
    without marking (totals).
    """

    columns: list[str]
    rows: list[list[str]]
    marked: int | None = None
    notes: dict[int, str] = field(default_factory=dict)
    footer: list[list[str]] = field(default_factory=list)

    def widths(self) -> list[int]:
        """The width of each column: its widest cell, header included."""
        cells = [self.columns, *self.rows, *self.footer]
        return [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(self.columns))]

    def side_by_side(self, *, notes_below: bool = False) -> list[str]:
        """One line per row, columns aligned, a row's note after its cells (or under them)."""
        widths = self.widths()

        def line(cells: list[str], marker: str) -> str:
            padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
            return f"  {marker}{'  '.join(padded)}".rstrip()

        lines = [line(self.columns, "  ")]
        for index, row in enumerate(self.rows):
            lines.append(line(row, "→ " if index == self.marked else "  "))
            if index in self.notes:
                if notes_below:
                    lines.append(f"      {self.notes[index]}")
                else:
                    lines[-1] += f"  {self.notes[index]}"
        lines += [line(row, "  ") for row in self.footer]
        return lines

    def stacked(self, width: int | None = None) -> list[str]:
        """Each row as ``header: cell`` pairs on one line, or one pair a line (labels aligned) when
        that is wider than ``width``; a cell the same in every column once; a row's note on the
        line after (narrow widths, 80-column logs)."""
        both = " = ".join(self.columns)
        label_width = max(len(both), *(len(header) for header in self.columns)) + 1
        lines = []
        for index, row in enumerate([*self.rows, *self.footer]):
            marker = "→ " if index == self.marked else "  "
            pairs = [(header, cell) for header, cell in zip(self.columns, row, strict=False) if cell.strip()]
            if len(row) > 1 and all(cell == row[0] for cell in row):  # the same in every column: once
                pairs = [(both, row[0])]
            one_line = f"  {marker}" + "; ".join(f"{header}: {cell}" if header else cell for header, cell in pairs)
            if width is None or len(one_line) <= width:
                lines.append(one_line)
            else:
                lines += [f"  {marker if i == 0 else '  '}{header + ':':<{label_width}} {cell}"
                          for i, (header, cell) in enumerate(pairs)]
            if index in self.notes:
                lines.append(f"      {self.notes[index]}")
        return lines

    def to_text(self, width: int | None = None) -> str:
        """Side by side; with the notes under their rows, or else stacked, when a line would be
        wider than ``width`` (an 80-column log)."""
        for lines in (self.side_by_side(), self.side_by_side(notes_below=True)):
            if width is None or max(len(line) for line in lines) <= width:
                return "\n".join(lines)
        return "\n".join(self.stacked(width))
