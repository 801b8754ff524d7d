"""Figures of the human comparison (matplotlib, Agg): accuracy by condition, error consistency per model.

Drawn from the comparison.json `compare` wrote (`draw_comparison`), so they are redrawn without recomputing."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bodyscene.config import CONDITIONS  # noqa: E402
from bodyscene.files import read_json  # noqa: E402
from bodyscene.report.figures import CONDITION_LABELS, save_figure  # noqa: E402

HUMAN_COLOR = "#444444"
MODEL_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _err(value: float | None, ci: list | None) -> tuple[float, float]:
    """Error-bar lengths below/above; zero where the CI is undefined."""
    if value is None or not ci or ci[0] is None or ci[1] is None:
        return (0.0, 0.0)
    return (max(0.0, value - ci[0]), max(0.0, ci[1] - value))


def _nan(v: float | None) -> float:
    return math.nan if v is None else v


def plot_accuracy_by_condition(comparison: dict, path: str | Path, chance: float | None = None) -> Path:
    """The paper's main figure: accuracy on original / body / background, humans beside models, 95% CIs."""
    groups = [("humans", comparison["humans"], HUMAN_COLOR)]
    for i, (name, sec) in enumerate(comparison["models"].items()):
        groups.append((name, sec, MODEL_COLORS[i % len(MODEL_COLORS)]))
    n = len(groups)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(CONDITIONS) * max(1, n) / 2, 3.6))
    for g, (name, sec, color) in enumerate(groups):
        xs = [c + (g - (n - 1) / 2) * width for c in range(len(CONDITIONS))]
        ys = [_nan(sec[c]["accuracy"]) for c in CONDITIONS]
        errs = [_err(sec[c]["accuracy"], sec[c].get("ci95")) for c in CONDITIONS]
        ax.bar(xs, ys, width, color=color, label=name, alpha=0.9 if name == "humans" else 0.8)
        ax.errorbar(xs, ys, yerr=list(zip(*errs, strict=True)), fmt="none", ecolor="black", capsize=3, lw=1)
    if chance is not None:
        ax.axhline(chance, color="gray", ls="--", lw=1, label="chance")
    ax.set_xticks(range(len(CONDITIONS)), [CONDITION_LABELS[c] for c in CONDITIONS])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (95% CI)")
    n_p = max((comparison["humans"][c].get("n_participants", 0) for c in CONDITIONS), default=0)
    title = f"Accuracy by condition (humans: N={n_p}"
    title += ", simulated)" if comparison.get("provenance", {}).get("simulated") else ")"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)


def plot_error_consistency(comparison: dict, path: str | Path) -> Path:
    """Mean error consistency (Cohen's kappa) of each model with the participants, 95% CI over participants,
    single participants as dots, and the human-human mean as a reference line (not an upper bound: a model's
    errors can agree with humans more than two humans' do)."""
    names = list(comparison["models"])
    fig, ax = plt.subplots(figsize=(1.8 + 1.0 * max(1, len(names)), 3.4))
    for i, name in enumerate(names):
        ec = comparison["models"][name]["error_consistency"]
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        dots = [v for v in ec.get("per_participant", {}).values() if v is not None]
        ax.scatter([i + (j % 7 - 3) * 0.03 for j in range(len(dots))], dots, s=8, color=color, alpha=0.4)
        mean = ec.get("mean")
        if mean is not None:
            lo, hi = _err(mean, ec.get("ci95"))
            ax.errorbar([i], [mean], yerr=[[lo], [hi]], fmt="o", color="black", capsize=4)
    ceiling = comparison.get("human_consistency", {}).get("error_consistency")
    if ceiling is not None:
        ax.axhline(ceiling, color=HUMAN_COLOR, ls="-", lw=2, alpha=0.6, label=f"human-human ({ceiling:.2f})")
        ax.legend(fontsize=8, frameon=False)
    ax.axhline(0, color="gray", ls="--", lw=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("error consistency (Cohen's kappa)")
    ax.set_title("Error consistency with humans", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, path)


# The two figures written next to a comparison.json (recorded in it under `figures`).
COMPARISON_FIGURES = {"accuracy": "comparison_accuracy.png", "error_consistency": "comparison_error_consistency.png"}


def draw_comparison(comparison_path: str | Path) -> dict[str, Path]:
    """The two figures of a comparison.json, written next to it; chance is the mean of the humans' per-condition
    chance."""
    path = Path(comparison_path)
    comparison = read_json(path)
    names = COMPARISON_FIGURES
    chances = [comparison["humans"][c].get("chance") for c in CONDITIONS]
    chance = float(np.nanmean([math.nan if v is None else v for v in chances]))
    return {
        "accuracy": plot_accuracy_by_condition(comparison, path.with_name(names["accuracy"]), chance),
        "error_consistency": plot_error_consistency(comparison, path.with_name(names["error_consistency"])),
    }
