"""segregation: can the body/scene split emerge end to end, without a segmenter?

Trained on one stimulus set of the embedded benchmark: the baseline (original frames), DomainNet with a segmenter
(its body-only / background-only training inputs made from the true masks, as in the demo), `domainnet-learned`
(models/learned.py: original frames only, its own soft mask, no segmenter at training or test time) and, with
`motion: true`, DomainNet trained on stimuli from the weight-free motion segmenter (segment/motion.py), and with
`motion_cue: W > 0`, `domainnet-learned-motion`: domainnet-learned with the motion ("Spelke") cue of weight W
(models/learned.py motion_cue), trained on the same frames from a set whose only masks are the motion segmenter's
(`min_mask_fraction: 0` keeps every frame, moving or not). All are tested on the same three conditions (the test
stimuli made with the true masks, which is what the conditions are). The learned models' masks are scored
afterwards against the true masks of the validation frames, epoch by epoch, from the snapshots training wrote
(train/mask_snapshots.py): no training run reads a true mask.

Writes, besides the runner's table.csv / records.csv / segregation.png:
    OUT/mask_iou.csv                 model, seed, epoch, mask_iou, soft_iou, mask_area, true_area (validation frames)
    OUT/seed<k>/mask_examples.npz    image, true, learned[, learned_motion] (last epoch's soft masks), label
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal

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
LEARNED_MOTION = "domainnet-learned-motion"
CUE_MASKS = "motion-cue-masks"  # table rows on the cue itself: the motion segmenter's masks against the truth
IOU_COLUMNS = ("model", "seed", "epoch", "mask_iou", "soft_iou", "mask_area", "true_area")


class Params(StrictModel):
    motion: bool = Field(False, description="also DomainNet on stimuli from the motion segmenter")
    motion_options: dict[str, Any] = Field(default_factory=dict, description="options of the motion segmenter")
    motion_cue: float = Field(
        0.0, ge=0.0, description="> 0: also domainnet-learned with the motion cue of this weight (mask.motion_weight)"
    )
    motion_mode: Literal["inside", "agree"] = Field("inside", description="the cue's form (mask.motion_mode)")
    examples: int = Field(6, ge=1, le=32, description="validation frames shown in the figure")


def true_masks(stimuli: Path, split: str, size: int, resize: str = "squash") -> np.ndarray:
    """The split's true masks (the manifest's `mask` column of a ground-truth stimulus set) at the model's size."""
    s = read_stimulus_set(stimuli)
    out = []
    for row in s.split(split):
        mask = cv2.imread(str(s.path(row, "mask")), cv2.IMREAD_GRAYSCALE)
        out.append(fit_square(mask, size, resize) >= 128)
    return np.stack(out) if out else np.zeros((0, size, size), bool)


def _truth_rows(stimuli: Path, trained_on: Path | None) -> np.ndarray:
    """For each validation row of the set a model trained on, its row in the truth set's validation split (-1 if
    absent): the two sets are made from the same data, and a stimulus keeps its id."""
    if trained_on is None:
        return np.arange(len(read_stimulus_set(stimuli).split("val")))
    where = {r["stimulus_id"]: i for i, r in enumerate(read_stimulus_set(stimuli).split("val"))}
    return np.array([where.get(r["stimulus_id"], -1) for r in read_stimulus_set(trained_on).split("val")], int)


def mask_iou_over_epochs(
    model_dir: Path, stimuli: Path, size: int, trained_on: Path | None = None
) -> list[dict[str, Any]]:
    """IoU (mask > 0.5 vs the truth, per frame, averaged) of every epoch's snapshot in MODEL/masks/, and the soft
    IoU (sum of min(m, t) / sum of max(m, t), the Ruzicka similarity), which credits a mask that is not yet crisp.
    `stimuli` holds the true masks; `trained_on` is the set the model trained on if another (matched by id)."""
    truth, rows_of = true_masks(stimuli, "val", size), _truth_rows(stimuli, trained_on)
    rows = []
    for snap in sorted((model_dir / "masks").glob("epoch*.npz")):
        with np.load(snap) as z:
            soft, index = z["mask"].astype(np.float32) / 255, rows_of[z["index"]]
        soft, index = soft[index >= 0], index[index >= 0]
        learned, t = soft >= 0.5, truth[index]
        ruzicka = np.minimum(soft, t).sum((1, 2)) / np.maximum(np.maximum(soft, t).sum((1, 2)), 1e-9)
        inter, union = (learned & t).sum((1, 2)), (learned | t).sum((1, 2))
        iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        rows.append({
            "epoch": int(snap.stem.removeprefix("epoch")), "mask_iou": round(float(iou.mean()), 4),
            "soft_iou": round(float(ruzicka.mean()), 4), "mask_area": round(float(soft.mean()), 4), "true_area": round(float(t.mean()), 4),
        })  # fmt: skip
    return rows


def _last_masks(model_dir: Path, stimuli: Path, trained_on: Path | None) -> tuple[dict[int, np.ndarray], int] | None:
    """The last epoch's soft masks by row of the truth set's validation split, and that epoch (None: no snapshot)."""
    snaps = sorted((model_dir / "masks").glob("epoch*.npz"))
    if not snaps:
        return None
    rows_of = _truth_rows(stimuli, trained_on)
    with np.load(snaps[-1]) as z:
        soft = {int(rows_of[i]): m for i, m in zip(z["index"].tolist(), z["mask"], strict=True) if rows_of[i] >= 0}
    return soft, int(snaps[-1].stem.removeprefix("epoch"))


def write_examples(learned: dict[str, tuple[Path, Path | None]], stimuli: Path, size: int, n: int, path: Path) -> None:
    """The first n validation frames (one per class first) with a last-epoch mask from every learned model
    (key -> (model folder, the set it trained on if not `stimuli`)), and their true masks."""
    masks = {key: _last_masks(folder, stimuli, trained_on) for key, (folder, trained_on) in learned.items()}
    masks = {key: m for key, m in masks.items() if m is not None}
    if not masks:
        return
    s = read_stimulus_set(stimuli)
    rows = s.split("val")
    shown = set.intersection(*(set(soft) for soft, _ in masks.values()))
    by_class: dict[str, int] = {}
    for i, r in enumerate(rows):
        if i in shown:
            by_class.setdefault(r["label"], i)
    picks = (list(by_class.values()) + [i for i in sorted(shown) if i not in by_class.values()])[:n]
    truth = true_masks(stimuli, "val", size)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        image=np.stack([load_image(s.path(rows[i], "original"), size) for i in picks]),
        true=truth[picks],
        label=np.array([rows[i]["class"] for i in picks]),
        epoch=min(epoch for _, epoch in masks.values()),
        **{key: np.stack([soft[i] for i in picks]) for key, (soft, _) in masks.items()},
    )
    atomic_write_bytes(path, buf.getvalue())


def _motion_set(ws: Workspace, params: Params, tag: str, **changes: Any) -> Path:
    cfg: PrepareConfig = ws.cfg.prepare.model_copy(
        update={"segmenter": "motion", "segmenter_options": params.motion_options, **changes}
    )
    return ws.stimuli(tag, cfg)


def cue_quality(cue_set: Path, stimuli: Path, size: int) -> dict[str, float]:
    """How good a cue the motion masks are, on the validation frames: their IoU with the true masks (frames where
    something moved), their area, and the share of frames where anything moved at all."""
    truth, rows_of = true_masks(stimuli, "val", size), _truth_rows(stimuli, cue_set)
    motion = true_masks(cue_set, "val", size)[rows_of >= 0]
    t = truth[rows_of[rows_of >= 0]]
    moved = motion.any((1, 2))
    quality = {"mask_area": round(float(motion.mean()), 4), "moving_share": round(float(moved.mean()), 4)}
    if not moved.any():
        return {"mask_iou": 0.0, "precision": 0.0, **quality}
    motion, t = motion[moved], t[moved]
    inter = (motion & t).sum((1, 2))
    iou, precision = inter / np.maximum((motion | t).sum((1, 2)), 1), inter / np.maximum(motion.sum((1, 2)), 1)
    return {"mask_iou": round(float(iou.mean()), 4), "precision": round(float(precision.mean()), 4), **quality}


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    clean = ws.stimuli()
    models = standard_models(ws.cfg)
    template = domainnet_template(ws.cfg)
    models[LEARNED] = template.model_copy(update={"kind": LEARNED})
    run = ws.train(clean, "segregation", models)
    records = accuracy_records(ws.evaluate(run), streams=True)  # each stream alone: what does it read?
    learned: dict[str, tuple[str, Path, Path | None]] = {"learned": (LEARNED, run / LEARNED, None)}
    if params.motion:
        motion = _motion_set(ws, params, "motion")
        motion_run = ws.train(motion, "segregation-motion", {"domainnet-motion": template})
        results = ws.evaluate(motion_run, clean, out=ws.root / "segregation-motion-on-clean")
        records += accuracy_records(results)
    if params.motion_cue > 0:  # every frame kept, moving or not: the same training frames as the clean set
        cue_set = _motion_set(ws, params, "motion-cue", min_mask_fraction=0.0)
        mask = template.mask.model_copy(update={"motion_weight": params.motion_cue, "motion_mode": params.motion_mode})
        cue_run = ws.train(cue_set, "segregation-cue", {LEARNED_MOTION: template.model_copy(
            update={"kind": LEARNED, "mask": mask})})  # fmt: skip
        records += accuracy_records(ws.evaluate(cue_run, clean, out=ws.root / "segregation-cue-on-clean"), True)
        learned["learned_motion"] = (LEARNED_MOTION, cue_run / LEARNED_MOTION, cue_set)
        for metric, value in cue_quality(cue_set, clean, ws.cfg.train.image_size).items():
            records.append({"model": CUE_MASKS, "condition": "original", "metric": metric, "value": value})
    size, curves = ws.cfg.train.image_size, []
    for name, folder, trained_on in learned.values():
        curve = mask_iou_over_epochs(folder, clean, size, trained_on)
        curves += [{"model": name, "seed": ws.seed, **r} for r in curve]
        if curve:
            for metric in ("mask_iou", "soft_iou", "mask_area"):
                records.append({"model": name, "condition": "original", "metric": metric, "value": curve[-1][metric]})
    write_csv(ws.root / "mask_iou.csv", curves, IOU_COLUMNS)
    examples = {key: (folder, trained_on) for key, (_, folder, trained_on) in learned.items()}
    write_examples(examples, clean, size, params.examples, ws.root / "mask_examples.npz")
    return records


def collect(out: Path) -> None:
    """OUT/mask_iou.csv from every seed's curves (called by the runner after the seeds)."""
    rows = []
    for path in sorted(Path(out).glob("seed*/mask_iou.csv")):
        rows += [{"model": LEARNED, **r} for r in read_csv(path)]  # (curves written before the model column)
    write_csv(Path(out) / "mask_iou.csv", rows, IOU_COLUMNS)
