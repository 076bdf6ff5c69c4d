"""Figures for the reports (matplotlib, Agg backend, PNG bytes). Imported only when a figure is drawn."""

from __future__ import annotations

import io


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
