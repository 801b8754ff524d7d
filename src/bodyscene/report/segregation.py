"""The segregation experiment's figure, drawn from the files it wrote (OUT/table.csv, OUT/mask_iou.csv,
OUT/seed<k>/mask_examples.npz): accuracy per model and condition, the learned mask's IoU over epochs, and
example frames with their true and learned masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from bodyscene.config import CONDITIONS
from bodyscene.files import read_csv
from bodyscene.report.figures import CONDITION_LABELS, plt, save_figure


def _f(v: str) -> float:
    return float(v) if v not in ("", None) else float("nan")


def plot_segregation(out: str | Path, path: str | Path) -> Path:
    out = Path(out)
    rows = [r for r in read_csv(out / "table.csv") if r["metric"] == "accuracy" and "/" not in r["model"]]
    curves = read_csv(out / "mask_iou.csv") if (out / "mask_iou.csv").is_file() else []
    examples = sorted(out.glob("seed*/mask_examples.npz"))
    ex: dict[str, np.ndarray] = {}
    if examples:
        with np.load(examples[0]) as z:
            ex = {k: z[k] for k in z.files}
    n_ex = len(ex["image"]) if ex else 0
    panels = [("image", ""), ("true", "true"), ("learned", "learned")]
    if "learned_motion" in ex:
        panels.append(("learned_motion", "learned +\nmotion cue"))
    rows_ex = len(panels) if n_ex else 0
    cols = max(2, n_ex)
    fig = plt.figure(figsize=(max(8.0, 1.4 * cols), 3.4 + 1.4 * rows_ex), layout="constrained")
    grid = fig.add_gridspec(1 + rows_ex, cols, height_ratios=[2.6] + [1] * rows_ex)
    half = cols // 2 + cols % 2
    _accuracy_panel(fig.add_subplot(grid[0, :half]), rows)
    _iou_panel(fig.add_subplot(grid[0, half:]), curves)
    for j in range(n_ex):
        for k, (key, title) in enumerate(panels):
            a = fig.add_subplot(grid[1 + k, j])
            img = ex[key][j]
            a.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1 if key == "true" else 255)
            a.set_xticks([])
            a.set_yticks([])
            if j == 0 and title:
                a.set_ylabel(title, fontsize=8)
            if k == 0:
                a.set_title(str(ex["label"][j]), fontsize=7)
    if n_ex:
        fig.supxlabel(f"learned masks after epoch {int(ex['epoch']) + 1} (seed of {examples[0].parent.name})",
                      fontsize=7, x=0.01, ha="left")  # fmt: skip
    fig.suptitle("segregation: a segmenter vs a learned mask")
    return save_figure(fig, path)


def _accuracy_panel(ax, rows: list[dict[str, str]]) -> None:
    """Accuracy per model and condition, with the t-interval over seeds."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    width, x = 0.8 / max(1, len(models)), np.arange(len(CONDITIONS))
    for i, model in enumerate(models):
        sel = sorted((r for r in rows if r["model"] == model), key=lambda r: CONDITIONS.index(r["condition"]))
        mean = np.array([_f(r["mean"]) for r in sel])
        low, high = np.array([_f(r["ci95_low"]) for r in sel]), np.array([_f(r["ci95_high"]) for r in sel])
        err = None if np.isnan(low).all() else np.nan_to_num(np.stack([mean - low, high - mean]))
        pos = x[[CONDITIONS.index(r["condition"]) for r in sel]] + (i - (len(models) - 1) / 2) * width
        ax.bar(pos, mean, width, yerr=err, capsize=2, label=model)
    ax.set_xticks(x, [CONDITION_LABELS[c] for c in CONDITIONS], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.legend(frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def _iou_panel(ax, curves: list[dict[str, str]]) -> None:
    """Each learned model's mask IoU over epochs: every seed thin, the mean over seeds bold (soft IoU dashed)."""
    for i, model in enumerate(dict.fromkeys(r.get("model") or "domainnet-learned" for r in curves)):
        colour = f"C{i}"
        mine = [r for r in curves if (r.get("model") or "domainnet-learned") == model]
        by_epoch: dict[int, list[dict[str, str]]] = {}
        for r in mine:
            by_epoch.setdefault(int(r["epoch"]) + 1, []).append(r)
        epochs = sorted(by_epoch)
        for seed in dict.fromkeys(r["seed"] for r in mine):
            sel = [r for r in mine if r["seed"] == seed]
            ax.plot([int(r["epoch"]) + 1 for r in sel], [_f(r["mask_iou"]) for r in sel], color=colour, lw=0.6,
                    alpha=0.5)  # fmt: skip
        for key, style, what in (("mask_iou", "-", "mask > 0.5"), ("soft_iou", "--", "soft")):
            mean = [np.nanmean([_f(r.get(key, "")) for r in by_epoch[e]]) for e in epochs]
            ax.plot(epochs, mean, ls=style, color=colour, marker="o" if style == "-" else None, ms=3,
                    label=f"{model} ({what})")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if curves:
        ax.set_xlim(0.5, max(int(r["epoch"]) for r in curves) + 1.5)
        ax.legend(frameon=False, fontsize=7)
    ax.set_ylabel("learned mask IoU (val)")
    ax.set_ylim(0, 1)
    ax.spines[["top", "right"]].set_visible(False)
