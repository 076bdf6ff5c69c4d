"""Figures for the reports: what a check records as data, and its drawing (matplotlib, Agg, PNG).

A check never draws: it attaches a figure's data (``LearningCurves``) to the run,
and the runner has ``draw`` turn it into PNG bytes for the Markdown/HTML reports.
matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass


@dataclass(frozen=True)
class LearningCurves:
    """Per-epoch ``accuracy``, ``val_accuracy``, ``loss``, ``val_loss`` (lists of floats), titled."""

    title: str
    history: dict[str, list[float]]


Figure = LearningCurves  # the kinds of figure a check may attach


def draw(figure: Figure) -> bytes:
    """The PNG bytes of a figure's data."""
    if isinstance(figure, LearningCurves):
        return learning_curves_png(figure.history, figure.title)
    raise TypeError(f"no drawing for {type(figure).__name__}")


def learning_curves_png(history: dict, title: str) -> bytes:
    """Training and validation accuracy and loss per epoch, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3), dpi=100)
    for axis, metric in ((left, "accuracy"), (right, "loss")):
        for key, style in ((metric, "-o"), (f"val_{metric}", "--s")):
            values = history.get(key) or []
            axis.plot(range(1, len(values) + 1), values, style, markersize=3, label=key)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
