"""Figures (matplotlib, Agg): the grouped accuracy bar chart of a run, drawn from the results.json `evaluate` wrote.

Every module that draws lives in report/ and draws from files a stage wrote, so any figure is redrawn without
recomputing: `draw_results` (RUN/accuracy.png), `figures_humans.draw_comparison`, `figures_experiments.draw_experiment`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bodyscene.config import CONDITIONS  # noqa: E402
from bodyscene.files import atomic_write_bytes, read_json  # noqa: E402

CONDITION_LABELS = {"original": "original", "body": "body-only", "background": "background-only"}


def save_figure(fig, path: str | Path) -> Path:

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_accuracy(results: dict[str, Any], path: str | Path) -> Path:
    """Models x conditions grouped bars with 95% CIs and a chance line."""
    models = list(results["models"])
    width = 0.8 / max(1, len(models))
    x = np.arange(len(CONDITIONS))
    fig, ax = plt.subplots(figsize=(1.6 + 1.8 * len(CONDITIONS), 3.6))
    for i, model in enumerate(models):
        acc = np.array([results["models"][model][c]["accuracy"] for c in CONDITIONS])
        ci = np.array([results["models"][model][c]["ci95"] for c in CONDITIONS])
        err = np.abs(ci.T - acc)
        ax.bar(x + (i - (len(models) - 1) / 2) * width, acc, width, yerr=err, capsize=3, label=model)
    ax.axhline(results["chance"], color="k", ls="--", lw=1, label="chance")
    ax.set_xticks(x, [CONDITION_LABELS[c] for c in CONDITIONS])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.legend(frameon=False, fontsize=8, ncols=2)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)


def draw_results(out: str | Path) -> Path:
    """OUT/accuracy.png from OUT/results.json."""
    out = Path(out)
    return plot_accuracy(read_json(out / "results.json"), out / "accuracy.png")
