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
from bodyscene.data.video import count_frames, read_frames, sample_indices
from bodyscene.errors import BodySceneError
from bodyscene.files import (
    atomic_write_bytes,
    atomic_write_text,
    read_json,
    remove_stale_temps,
    write_csv,
    write_json,
)
from bodyscene.segment import FrameRef, Segmenter, get_segmenter
from bodyscene.stimuli.manifest import MANIFEST_COLUMNS, SKIPPED_COLUMNS, stimulus_id
from bodyscene.stimuli.masks import make_background_only, make_body_only

PROGRESS_DIR = ".progress"
MIN_FRAME_PX = 32  # below this a person is a few pixels and a network input would be mostly upsampling blur


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


def as_rgb(frame: np.ndarray, source: str = "frame") -> np.ndarray:
    """Any decoded frame as H x W x 3 uint8 RGB: grayscale is repeated, alpha dropped; too small is an error."""
    if frame.dtype != np.uint8:
        raise BodySceneError(f"{source}: {frame.dtype} pixels; convert the video or images to 8-bit")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
    elif frame.ndim != 3 or frame.shape[2] != 3:
        raise BodySceneError(f"{source}: array of shape {frame.shape} is not an image; pass H x W (x 1, 3 or 4)")
    h, w = frame.shape[:2]
    if min(h, w) < MIN_FRAME_PX:
        raise BodySceneError(f"{source}: frame is {w}x{h} px, below {MIN_FRAME_PX} px; use a larger video")
    return frame


def make_stimuli(frame: np.ndarray, mask: np.ndarray, cfg: PrepareConfig) -> dict[str, np.ndarray]:
    """The three conditions of one frame (frame: uint8 RGB, RGBA or grayscale; mask: bool, the union of every person).

    Cost follows the person, not the frame: the dilation and the inpainting work on bounding boxes, so an 8K frame
    needs little more than its own three output images in memory.
    """
    frame = as_rgb(frame)
    if mask.shape != frame.shape[:2]:
        raise BodySceneError(f"mask is {mask.shape[::-1]} but the frame is {frame.shape[1::-1]}; segment this frame")
    mask = mask.astype(bool, copy=False)
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
        frames = read_frames(clip.path, sample_indices(n_frames, n_wanted))
    except BodySceneError as e:
        result.skipped.append({"clip_id": clip.clip_id, "path": clip.rel, "frame_index": "", "reason": str(e)})
        return result
    for index, frame in frames.items():
        sid = stimulus_id(clip.clip_id, index)
        try:
            frame = as_rgb(frame, f"{clip.path} frame {index}")
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
        rel = {c: f"{c}/{clip.split}/{clip.class_name}/{sid}.png" for c in ("original", "body", "background")}
        rel["mask"] = f"masks/{clip.split}/{clip.class_name}/{sid}.png"
        for condition, image in make_stimuli(frame, seg.mask, cfg).items():
            write_png(out / rel[condition], image)
        write_png(out / rel["mask"], seg.mask.astype(np.uint8) * 255)
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
    if out.is_dir():
        remove_stale_temps(out)  # half-written files of a killed run; their clips have no record, so are redone
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
    write_csv(out / "manifest.csv", rows, MANIFEST_COLUMNS)
    write_csv(out / "skipped.csv", skipped, SKIPPED_COLUMNS)
    counts = {s: sum(r["split"] == s and r["status"] == "ok" for r in rows) for s in ("train", "val", "test")}
    summary = {"stimuli": len(rows), "skipped": len(skipped), "counts": counts, "classes": classes}
    write_json(out / "stimuli.json", {"settings": settings, "complete": True, **summary})
    return summary
