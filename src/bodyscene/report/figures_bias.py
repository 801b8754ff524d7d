"""The cue-conflict figure: body bias in the style of model-vs-human's shape-bias plot (Geirhos et al. 2019/2021,
bethgelab/model-vs-human `plotting_helper`: one row per class, a marker per observer at its fraction of shape
decisions, a vertical line at its mean), with body in place of shape and scene in place of texture.

Drawn from an experiment's table.csv rows (experiments/cue_conflict.py): the left panel is each model's body bias
against the training scene correlation (mean and 95% CI over seeds); then one panel per scene correlation, classes
down the side. `humans` (optional) adds observers drawn the same way (from `compare`'s swap section).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bodyscene.report.figures import plt, save_figure

MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
HUMAN_COLOUR = "#d62728"


def _float(v: Any) -> float:
    return float(v) if v not in ("", None, "nan") else float("nan")


def plot_body_bias(
    rows: list[dict[str, Any]], path: str | Path, humans: dict[str, dict[str, Any]] | None = None
) -> Path:
    """rows: table.csv rows with scene_correlation, body_class, model, metric, mean, ci95_low, ci95_high.
    humans: {label: {"body_bias": float, "per_class": {class: float}}} drawn in every per-class panel."""
    rows = [r for r in rows if r.get("metric") == "body_bias" and r.get("condition", "swap") == "swap"]
    overall = [r for r in rows if r["body_class"] == "all"]
    dial = sorted({_float(r["scene_correlation"]) for r in rows})
    models = list(dict.fromkeys(r["model"] for r in overall))
    classes = list(dict.fromkeys(r["body_class"] for r in rows if r["body_class"] != "all"))
    colours = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(models)}
    marker = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)}
    height = 1.2 + 0.28 * max(4, len(classes))
    fig, axes = plt.subplots(
        1, 1 + len(dial), figsize=(3.4 + 2.6 * len(dial), height), squeeze=False, layout="constrained"
    )
    ax = axes[0][0]
    for m in models:
        sel = sorted((r for r in overall if r["model"] == m), key=lambda r: _float(r["scene_correlation"]))
        x = [_float(r["scene_correlation"]) for r in sel]
        y = np.array([_float(r["mean"]) for r in sel])
        lo, hi = (np.array([_float(r[k]) for r in sel]) for k in ("ci95_low", "ci95_high"))
        err = None if np.isnan(lo).all() else np.nan_to_num(np.stack([y - lo, hi - y]))
        ax.errorbar(x, y, yerr=err, marker=marker[m], color=colours[m], capsize=2, ms=4, label=m)
    for label, h in (humans or {}).items():
        ax.axhline(h["body_bias"], color=HUMAN_COLOUR, ls="--", lw=1, label=label)
    ax.set_xlabel("training scene correlation")
    ax.set_ylabel("body bias = body / (body + scene)")
    ax.set_ylim(-0.02, 1.02)
    ax.axhline(0.5, color="0.8", lw=0.8, zorder=0)
    ax.legend(
        frameon=False, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2
    )  # below: the lines fill the panel
    ax.spines[["top", "right"]].set_visible(False)
    ys = np.arange(len(classes))
    for ax, corr in zip(axes[0][1:], dial, strict=True):
        for m in models:
            by = {r["body_class"]: _float(r["mean"]) for r in rows if r["model"] == m
                  and _float(r["scene_correlation"]) == corr}  # fmt: skip
            ax.scatter([by.get(c, np.nan) for c in classes], ys, marker=marker[m], color=colours[m], s=18, zorder=3)
            ax.axvline(by.get("all", np.nan), color=colours[m], lw=1, alpha=0.8)
        for h in (humans or {}).values():
            pc = h.get("per_class", {})
            ax.scatter([_float(pc.get(c)) for c in classes], ys, marker="o", color=HUMAN_COLOUR, s=18, zorder=4)
            ax.axvline(h["body_bias"], color=HUMAN_COLOUR, lw=1, ls="--")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.6, len(classes) - 0.4)
        ax.set_yticks(ys, classes if ax is axes[0][1] else [""] * len(classes), fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("fraction of body decisions", fontsize=8)
        top = ax.secondary_xaxis("top", functions=(lambda v: 1 - v, lambda v: 1 - v))
        top.set_xlabel("fraction of scene decisions", fontsize=8)
        ax.set_title(f"scene correlation {corr:g}", fontsize=9, pad=24)
        ax.grid(axis="x", color="0.9")
    return save_figure(fig, path)
