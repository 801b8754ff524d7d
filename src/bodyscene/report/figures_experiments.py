"""The experiments' figures (matplotlib, Agg): grouped bars per condition, or accuracy against noise level.

Drawn from the table.csv the experiment runner wrote (`draw_experiment`), so a figure is redrawn without training."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from bodyscene.config import CONDITIONS
from bodyscene.report.figures import CONDITION_LABELS, plt, save_figure


def _float(v: Any) -> float:
    return float(v) if v not in ("", None) else float("nan")


def _errors(rows: list[dict[str, Any]]) -> np.ndarray | None:
    """Asymmetric error bars from the CI columns, or None when there is one seed (no CI)."""
    means = np.array([_float(r["mean"]) for r in rows])
    lows = np.array([_float(r["ci95_low"]) for r in rows])
    highs = np.array([_float(r["ci95_high"]) for r in rows])
    if np.isnan(lows).all():
        return None
    return np.nan_to_num(np.stack([means - lows, highs - means]))


def plot_bars(title: str, rows: list[dict[str, Any]], keys: tuple[str, ...], path: Path) -> Path:
    """One panel per metric; conditions on x; one bar per variant (keys + model), with the 95% CI over seeds."""
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    series = list(dict.fromkeys(tuple(r[k] for k in (*keys, "model")) for r in rows))
    width = 0.8 / max(1, len(series))
    x = np.arange(len(CONDITIONS))
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.2 + 2.2 * len(CONDITIONS) * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, s in enumerate(series):
            sel = [r for r in rows if r["metric"] == metric and tuple(r[k] for k in (*keys, "model")) == s]
            sel = sorted(sel, key=lambda r: CONDITIONS.index(r["condition"]))
            pos = x[[CONDITIONS.index(r["condition"]) for r in sel]] + (i - (len(series) - 1) / 2) * width
            means = [_float(r["mean"]) for r in sel]
            ax.bar(pos, means, width, yerr=_errors(sel), capsize=2, label=" / ".join(str(v) for v in s))
        ax.set_xticks(x, [CONDITION_LABELS[c] for c in CONDITIONS])
        ax.set_ylabel(metric)
        if metric == "accuracy":
            ax.set_ylim(0, 1)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].legend(frameon=False, fontsize=7, ncols=2)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_noise(rows: list[dict[str, Any]], path: Path) -> Path:
    """seg-noise: one panel per (noise kind, where applied); accuracy against level, a line per model x condition."""
    panels = list(dict.fromkeys((r["kind"], r["where"]) for r in rows))
    fig, axes = plt.subplots(1, len(panels), figsize=(0.5 + 3.2 * len(panels), 3.4), squeeze=False, sharey=True)
    lines = list(dict.fromkeys((r["model"], r["condition"]) for r in rows))
    styles = {"original": "-", "body": "--", "background": ":"}
    for ax, (kind, where) in zip(axes[0], panels, strict=True):
        for model, condition in lines:
            sel = [
                r
                for r in rows
                if (r["kind"], r["where"], r["model"], r["condition"]) == (kind, where, model, condition)
            ]
            sel = sorted(sel, key=lambda r: float(r["level"]))
            levels = [100 * float(r["level"]) for r in sel]
            ax.errorbar(
                levels, [_float(r["mean"]) for r in sel], yerr=_errors(sel), ls=styles[condition], marker="o",
                ms=3, capsize=2, label=f"{model}, {CONDITION_LABELS[condition]}",
            )  # fmt: skip
        ax.set_title(f"{kind}, noise at {where}", fontsize=9)
        ax.set_xlabel("noise level (%)")
        ax.set_ylim(0, 1)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(frameon=False, fontsize=6, loc="lower left")
    return save_figure(fig, path)


def plot_experiment(name: str, rows: list[dict[str, Any]], keys: tuple[str, ...], path: Path) -> Path:
    if name == "seg-noise":
        return plot_noise(rows, path)
    if name == "segregation":  # accuracy, mask IoU over epochs and example masks, from the files it wrote
        from bodyscene.report.segregation import plot_segregation

        return plot_segregation(path.parent, path)

    if name == "audio":  # the fused answers and the audio stream alone, with and without sound
        rows = [r for r in rows if "/" not in r["model"] or r["model"].endswith("/audio")]
    if name == "cue-conflict":
        from bodyscene.report.figures_bias import plot_body_bias

        return plot_body_bias(rows, path)
    return plot_bars(name, rows, keys, path)


def draw_experiment(out: str | Path, name: str) -> Path:
    """OUT/NAME.png from OUT/table.csv: the grouping keys are the columns before `model` (the runner's layout)."""
    table = Path(out) / "table.csv"
    with table.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    keys = tuple(columns[: columns.index("model")]) if "model" in columns else ()
    return plot_experiment(name, rows, keys, Path(out) / f"{name}.png")
