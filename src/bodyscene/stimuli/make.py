"""The `prepare` stage: sample frames of every clip, segment the person, write original / body-only /
background-only images and the manifest.

Resumable: each clip's images are written atomically, then a small record of its manifest rows
(`STIM/.progress/<clip_id>.json`); a rerun skips clips that have a record, and the manifest is assembled from the
records at the end. A run killed at any point therefore loses at most the clip in flight, and never leaves a
half-written image or manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.progress import track

from bodyscene.config import PrepareConfig
from bodyscene.data.readers import Clip, read_list_layout
from bodyscene.data.video import count_frames, sample_indices
from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes, atomic_write_text, read_json, write_csv, write_json
from bodyscene.segment import FrameRef, Segmenter, get_segmenter
from bodyscene.stimuli.flow import flow_image, partner_index, read_with_partners
from bodyscene.stimuli.manifest import FLOW_COLUMNS, MANIFEST_COLUMNS, SKIPPED_COLUMNS, stimulus_id
from bodyscene.stimuli.masks import make_background_only, make_body_only
from bodyscene.stimuli.noise import applies_to, corrupt_mask

PROGRESS_DIR = ".progress"


@dataclass
class ClipResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def write_png(path: Path, rgb: np.ndarray) -> None:
    image = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise BodySceneError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, buf.tobytes())


def make_stimuli(frame: np.ndarray, mask: np.ndarray, cfg: PrepareConfig) -> dict[str, np.ndarray]:
    """The three conditions of one frame (frame: RGB uint8; mask: bool, the union of every person)."""
    return {
        "original": frame,
        "body": make_body_only(frame, mask),
        "background": make_background_only(frame, mask, cfg.dilation, cfg.inpaint, cfg.inpaint_radius, cfg.margin_px),
    }


def process_clip(clip: Clip, data_root: Path, out: Path, segmenter: Segmenter, cfg: PrepareConfig) -> ClipResult:
    """Sample, segment and write one clip; bad input becomes a `skipped` entry, never an exception."""
    result = ClipResult()
    n_wanted = cfg.frames_per_clip if clip.split == "train" else cfg.eval_frames_per_clip
    try:
        n_frames = count_frames(clip.path)
        if n_frames == 0:
            raise BodySceneError(f"{clip.path}: the clip has no frames; remove it from the lists")
        frames, partners = read_with_partners(clip.path, sample_indices(n_frames, n_wanted), n_frames, cfg.flow)
    except BodySceneError as e:
        result.skipped.append({"clip_id": clip.clip_id, "path": clip.rel, "frame_index": "", "reason": str(e)})
        return result
    for index, frame in frames.items():
        sid = stimulus_id(clip.clip_id, index)
        try:
            seg = segmenter.segment(frame, FrameRef(data_root, clip.rel, index))
        except BodySceneError as e:
            result.skipped.append({"clip_id": clip.clip_id, "path": clip.rel, "frame_index": index, "reason": str(e)})
            continue
        area = float(seg.mask.mean())
        status = "ok" if area >= cfg.min_mask_fraction else "no_person"
        if status == "no_person":
            result.skipped.append(
                {"clip_id": clip.clip_id, "path": clip.rel, "frame_index": index, "reason": "no person found"}
            )
            if not cfg.keep_empty:
                continue
        mask = corrupt_mask(seg.mask, cfg.mask_noise, sid) if applies_to(cfg.mask_noise, clip.split) else seg.mask
        rel = {c: f"{c}/{clip.split}/{clip.class_name}/{sid}.png" for c in ("original", "body", "background")}
        rel["mask"] = f"masks/{clip.split}/{clip.class_name}/{sid}.png"
        for condition, image in make_stimuli(frame, mask, cfg).items():
            write_png(out / rel[condition], image)
        write_png(out / rel["mask"], mask.astype(np.uint8) * 255)
        if cfg.flow:  # the flow image's three conditions, made like the frame's (stimuli/flow.py)
            flow = flow_image(frame, partners[index], forward=partner_index(index, n_frames) > index)
            for condition, image in make_stimuli(flow, mask, cfg).items():
                rel[f"flow_{condition}"] = f"flow/{condition}/{clip.split}/{clip.class_name}/{sid}.png"
                write_png(out / rel[f"flow_{condition}"], image)
        result.rows.append(
            {
                "stimulus_id": sid, "clip_id": clip.clip_id, "class": clip.class_name, "label": clip.label,
                "split": clip.split, "frame_index": index, **rel, "mask_area": round(area, 6),
                "persons": seg.persons, "residual_person": "", "status": status,
            }
        )  # fmt: skip
    return result


def _check_settings(out: Path, settings: dict[str, Any]) -> None:
    """A rerun may resume only a stimulus set made with the same settings."""
    meta = out / "stimuli.json"
    if meta.is_file():
        before = read_json(meta).get("settings")
        if before is not None and before != settings:
            raise BodySceneError(
                f"{out}: made with other settings ({meta}); use a new --out, or delete the folder to start again"
            )


def prepare(data: str | Path, out: str | Path, cfg: PrepareConfig) -> dict[str, Any]:
    data, out = Path(data), Path(out)
    classes, clips = read_list_layout(data)
    segmenter = get_segmenter(cfg.segmenter)
    settings = {"data": str(data.resolve()), "prepare": cfg.model_dump(mode="json")}
    _check_settings(out, settings)
    write_json(out / "stimuli.json", {"settings": settings, "complete": False})
    progress = out / PROGRESS_DIR
    progress.mkdir(parents=True, exist_ok=True)

    todo = [c for c in clips if not (progress / f"{c.clip_id}.json").is_file()]
    for clip in track(todo, description=f"prepare ({len(clips) - len(todo)} done)", transient=True):
        result = process_clip(clip, data, out, segmenter, cfg)
        atomic_write_text(progress / f"{clip.clip_id}.json", json.dumps(result.__dict__))
    return finalize(out, classes, clips, settings)


def finalize(out: Path, classes: list[str], clips: list[Clip], settings: dict[str, Any]) -> dict[str, Any]:
    """Assemble manifest.csv and skipped.csv from the per-clip records, in clip-list order."""
    rows, skipped = [], []
    for clip in clips:
        record = json.loads((out / PROGRESS_DIR / f"{clip.clip_id}.json").read_text())
        rows += record["rows"]
        skipped += record["skipped"]
    atomic_write_text(out / "classes.txt", "".join(f"{c}\n" for c in classes))
    flow = settings["prepare"].get("flow")
    write_csv(out / "manifest.csv", rows, MANIFEST_COLUMNS + (FLOW_COLUMNS if flow else ()))
    write_csv(out / "skipped.csv", skipped, SKIPPED_COLUMNS)
    counts = {s: sum(r["split"] == s and r["status"] == "ok" for r in rows) for s in ("train", "val", "test")}
    summary = {"stimuli": len(rows), "skipped": len(skipped), "counts": counts, "classes": classes}
    write_json(out / "stimuli.json", {"settings": settings, "complete": True, **summary})
    return summary
