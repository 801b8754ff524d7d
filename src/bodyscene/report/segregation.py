"""The segregation experiment's figure, drawn from the files it wrote (OUT/table.csv, OUT/mask_iou.csv,
OUT/seed<k>/mask_examples.npz): accuracy per model and condition, the learned mask's IoU over epochs, and
example frames with their true and learned masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bodyscene.config import CONDITIONS
from bodyscene.files import read_csv
from bodyscene.report.figures import CONDITION_LABELS, plt, save_figure


def _f(v: str) -> float:
    return float(v) if v not in ("", None) else float("nan")


def plot_segregation(out: str | Path, path: str | Path) -> Path:
    out = Path(out)
    rows = [r for r in read_csv(out / "table.csv") if r["metric"] == "accuracy"]
    curves = read_csv(out / "mask_iou.csv") if (out / "mask_iou.csv").is_file() else []
    examples = sorted(out.glob("seed*/mask_examples.npz"))
    n_ex = 0
    if examples:
        with np.load(examples[0]) as z:
            ex = {k: z[k] for k in z.files}
        n_ex = len(ex["image"])
    cols = max(2, n_ex)
    fig = plt.figure(figsize=(max(8.0, 1.4 * cols), 3.4 + (4.2 if n_ex else 0)))
    grid = fig.add_gridspec(4 if n_ex else 1, cols, height_ratios=[2.6, 1, 1, 1] if n_ex else [1], hspace=0.45,
                            wspace=0.35)  # fmt: skip
    half = cols // 2
    ax = fig.add_subplot(grid[0, : half + cols % 2])
    models = list(dict.fromkeys(r["model"] for r in rows))
    width, x = 0.8 / max(1, len(models)), np.arange(len(CONDITIONS))
    for i, model in enumerate(models):
        sel = sorted((r for r in rows if r["model"] == model), key=lambda r: CONDITIONS.index(r["condition"]))
        mean = np.array([_f(r["mean"]) for r in sel])
        low, high = np.array([_f(r["ci95_low"]) for r in sel]), np.array([_f(r["ci95_high"]) for r in sel])
        err = None if np.isnan(low).all() else np.nan_to_num(np.stack([mean - low, high - mean]))
        pos = x[[CONDITIONS.index(r["condition"]) for r in sel]] + (i - (len(models) - 1) / 2) * width
        ax.bar(pos, mean, width, yerr=err, capsize=2, label=model)
    ax.set_xticks(x, [CONDITION_LABELS[c] for c in CONDITIONS])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.legend(frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax = fig.add_subplot(grid[0, half + cols % 2 :])
    for seed in dict.fromkeys(r["seed"] for r in curves):
        sel = [r for r in curves if r["seed"] == seed]
        epochs = [int(r["epoch"]) + 1 for r in sel]
        line = ax.plot(epochs, [_f(r["mask_iou"]) for r in sel], marker="o", ms=3, label=f"seed {seed} (mask > 0.5)")
        ax.plot(epochs, [_f(r.get("soft_iou", "")) for r in sel], ls="--", color=line[0].get_color(), label="soft")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learned mask IoU (val)")
    ax.set_ylim(0, 1)
    if curves:
        ax.legend(frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    for j in range(n_ex):
        for k, (key, title) in enumerate((("image", ""), ("true", "true"), ("learned", "learned"))):
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
        fig.text(0.01, 0.02, f"learned masks after epoch {int(ex['epoch']) + 1} (seed of {examples[0].parent.name})",
                 fontsize=7)  # fmt: skip
    fig.suptitle("segregation: a segmenter vs a learned mask")
    return save_figure(fig, path)
