"""segregation: can the body/scene split emerge end to end, without a segmenter?

Trained on one stimulus set of the embedded benchmark: the baseline (original frames), DomainNet with a segmenter
(its body-only / background-only training inputs made from the true masks, as in the demo), `domainnet-learned`
(models/learned.py: original frames only, its own soft mask, no segmenter at training or test time) and, with
`motion: true`, DomainNet trained on stimuli from the weight-free motion segmenter (segment/motion.py). All are
tested on the same three conditions (the test stimuli made with the true masks, which is what the conditions
are). The learned model's mask is scored afterwards against the true masks of the validation frames, epoch by
epoch, from the snapshots training wrote (train/mask_snapshots.py): the training run itself never reads a mask.

Writes, besides the runner's table.csv / records.csv / segregation.png:
    OUT/mask_iou.csv                 seed, epoch, mask_iou, mask_area, true_area (validation frames)
    OUT/seed<k>/mask_examples.npz    image, true, learned (the last epoch's soft masks), label, for the figure
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import Field

from bodyscene.config import PrepareConfig, StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, domainnet_template, standard_models
from bodyscene.files import atomic_write_bytes, read_csv, write_csv
from bodyscene.stimuli.manifest import read_stimulus_set
from bodyscene.train.datamodule import fit_square, load_image

KEYS: tuple[str, ...] = ()
LEARNED = "domainnet-learned"
IOU_COLUMNS = ("seed", "epoch", "mask_iou", "soft_iou", "mask_area", "true_area")


class Params(StrictModel):
    motion: bool = Field(False, description="also DomainNet on stimuli from the motion segmenter")
    motion_options: dict[str, Any] = Field(default_factory=dict, description="options of the motion segmenter")
    examples: int = Field(6, ge=1, le=32, description="validation frames shown in the figure")


def true_masks(stimuli: Path, split: str, size: int, resize: str = "squash") -> np.ndarray:
    """The split's true masks (the manifest's `mask` column of a ground-truth stimulus set) at the model's size."""
    s = read_stimulus_set(stimuli)
    out = []
    for row in s.split(split):
        mask = cv2.imread(str(s.path(row, "mask")), cv2.IMREAD_GRAYSCALE)
        out.append(fit_square(mask, size, resize) >= 128)
    return np.stack(out) if out else np.zeros((0, size, size), bool)


def mask_iou_over_epochs(model_dir: Path, stimuli: Path, size: int) -> list[dict[str, Any]]:
    """IoU (mask > 0.5 vs the truth, per frame, averaged) of every epoch's snapshot in MODEL/masks/, and the soft
    IoU (sum of min(m, t) / sum of max(m, t), the Ruzicka similarity), which credits a mask that is not yet crisp."""
    truth = true_masks(stimuli, "val", size)
    rows = []
    for snap in sorted((model_dir / "masks").glob("epoch*.npz")):
        with np.load(snap) as z:
            soft, index = z["mask"].astype(np.float32) / 255, z["index"]
        learned, t = soft >= 0.5, truth[index]
        ruzicka = np.minimum(soft, t).sum((1, 2)) / np.maximum(np.maximum(soft, t).sum((1, 2)), 1e-9)
        inter, union = (learned & t).sum((1, 2)), (learned | t).sum((1, 2))
        iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        rows.append({
            "epoch": int(snap.stem.removeprefix("epoch")), "mask_iou": round(float(iou.mean()), 4),
            "soft_iou": round(float(ruzicka.mean()), 4), "mask_area": round(float(soft.mean()), 4), "true_area": round(float(t.mean()), 4),
        })  # fmt: skip
    return rows


def write_examples(model_dir: Path, stimuli: Path, size: int, n: int, path: Path) -> None:
    """The first n validation frames (one per class first), their true masks and the last epoch's learned masks."""
    snaps = sorted((model_dir / "masks").glob("epoch*.npz"))
    if not snaps:
        return
    s = read_stimulus_set(stimuli)
    rows = s.split("val")
    with np.load(snaps[-1]) as z:
        soft = dict(zip(z["index"].tolist(), z["mask"], strict=True))
    by_class: dict[str, int] = {}
    for i, r in enumerate(rows):
        by_class.setdefault(r["label"], i)
    picks = (list(by_class.values()) + [i for i in range(len(rows)) if i not in by_class.values()])[:n]
    truth = true_masks(stimuli, "val", size)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        image=np.stack([load_image(s.path(rows[i], "original"), size) for i in picks]),
        true=truth[picks],
        learned=np.stack([soft[i] for i in picks]),
        label=np.array([rows[i]["class"] for i in picks]),
        epoch=int(snaps[-1].stem.removeprefix("epoch")),
    )
    atomic_write_bytes(path, buf.getvalue())


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    clean = ws.stimuli()
    models = standard_models(ws.cfg)
    models[LEARNED] = domainnet_template(ws.cfg).model_copy(update={"kind": LEARNED})
    run = ws.train(clean, "segregation", models)
    records = accuracy_records(ws.evaluate(run), streams=False)
    if params.motion:
        cfg: PrepareConfig = ws.cfg.prepare.model_copy(
            update={"segmenter": "motion", "segmenter_options": params.motion_options}
        )
        motion = ws.stimuli("motion", cfg)
        motion_run = ws.train(motion, "segregation-motion", {"domainnet-motion": domainnet_template(ws.cfg)})
        results = ws.evaluate(motion_run, clean, out=ws.root / "segregation-motion-on-clean")
        records += accuracy_records(results)
    size = ws.cfg.train.image_size
    curve = mask_iou_over_epochs(run / LEARNED, clean, size)
    write_csv(ws.root / "mask_iou.csv", [{"seed": ws.seed, **r} for r in curve], IOU_COLUMNS)
    write_examples(run / LEARNED, clean, size, params.examples, ws.root / "mask_examples.npz")
    if curve:
        for metric in ("mask_iou", "soft_iou", "mask_area"):
            records.append({"model": LEARNED, "condition": "original", "metric": metric, "value": curve[-1][metric]})
    return records


def collect(out: Path) -> None:
    """OUT/mask_iou.csv from every seed's curve (called by the runner after the seeds)."""
    rows = []
    for path in sorted(Path(out).glob("seed*/mask_iou.csv")):
        rows += read_csv(path)
    write_csv(Path(out) / "mask_iou.csv", rows, IOU_COLUMNS)
