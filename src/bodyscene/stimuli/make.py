"""The `prepare` stage: sample frames of every clip, segment the person, write original / body-only /
background-only images and the manifest.

Resumable: each clip's images are written atomically, then a small record of its manifest rows
(`STIM/.progress/<clip_id>.json`); a rerun skips clips that have a record, and the manifest is assembled from the
records at the end. A run killed at any point therefore loses at most the clip in flight, and never leaves a
half-written image or manifest.

At scale: `workers` processes each build their own segmenter and take clips from a shared queue; `shard="i/n"`
takes every n-th clip (from the i-th), so n machines or array jobs can share one output folder; the manifest is
assembled once every clip has its record (the last shard to finish, or any rerun, writes it). A video that cannot be
decoded is listed in errors.csv with the reason and the run goes on. A clip's frames are decoded in one pass and
given to the segmenter together, in order (tracking, batches: docs/scale.md); images are PNG, JPEG or WebP
(`image_format`, stimuli/images.py), masks always PNG.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bodyscene.config import PrepareConfig, with_new_defaults
from bodyscene.data.readers import Clip, read_clips
from bodyscene.data.video import count_frames, sample_indices
from bodyscene.errors import BodySceneError
from bodyscene.files import (
    atomic_write_text,
    read_json,
    remove_stale_temps,
    write_csv,
    write_json,
)
from bodyscene.progress import track
from bodyscene.segment import FrameRef, Segmentation, Segmenter, get_segmenter
from bodyscene.stimuli.background import ClipPlan, plan_clip
from bodyscene.stimuli.flow import flow_image, partner_index, read_with_partners
from bodyscene.stimuli.images import extension, write_image
from bodyscene.stimuli.manifest import (
    SKIPPED_COLUMNS,
    manifest_columns,
    stimulus_id,
)
from bodyscene.stimuli.masks import inpaint, make_body_only, removal_region
from bodyscene.stimuli.noise import applies_to, corrupt_mask
from bodyscene.stimuli.quality import contact_sheet, format_summary, quality_summary
from bodyscene.stimuli.sound import check_mel, clip_spectrogram, spectrogram_shape, write_spectrogram

PROGRESS_DIR = ".progress"
ERROR_COLUMNS = ("clip_id", "path", "reason")
MIN_FRAME_PX = 32  # below this a person is a few pixels and a network input would be mostly upsampling blur


@dataclass
class ClipResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # videos that could not be decoded
    fallbacks: list[dict[str, Any]] = field(default_factory=list)  # clips made otherwise than asked, and why


def write_png(path: Path, rgb: np.ndarray) -> None:
    write_image(path, rgb, "png")


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


def make_stimuli(
    frame: np.ndarray,
    mask: np.ndarray,
    cfg: PrepareConfig,
    region: np.ndarray | None = None,
    background: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The three conditions of one frame (frame: uint8 RGB, RGBA or grayscale; mask: bool, the union of every person).

    `region`: what the background-only frame hides (default: this frame's mask, inflated as `cfg` says; with
    `mask_scope: clip` the clip's). `background`: an already filled background-only frame (the temporal fill).
    Cost follows the person, not the frame: the inflation and the inpainting work on bounding boxes, so an 8K frame
    needs little more than its own three output images in memory.
    """
    frame = as_rgb(frame)
    if mask.shape != frame.shape[:2]:
        raise BodySceneError(f"mask is {mask.shape[::-1]} but the frame is {frame.shape[1::-1]}; segment this frame")
    mask = mask.astype(bool, copy=False)
    if background is None:
        if region is None:
            region = removal_region(mask, cfg.inflate, cfg.dilation, cfg.margin_px, cfg.blur_radius)
        method = cfg.inpaint if cfg.inpaint != "temporal" else "telea"  # (a flow image has no scene to borrow)
        background = inpaint(frame, region, method, cfg.inpaint_radius)
    return {"original": frame, "body": make_body_only(frame, mask, cfg.body_fill), "background": background}


# Image encoding and the fsync of atomic writes release the GIL: a few writer threads let the next frame's
# segmentation run while the last frame's images go to disk (benchmarks/prepare.py). One pool per process, sized
# by `prepare.writer_threads` on first use.
_WRITERS: dict[int, ThreadPoolExecutor] = {}


def writer_pool(threads: int) -> ThreadPoolExecutor:
    if threads not in _WRITERS:
        _WRITERS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="writer")
    return _WRITERS[threads]


def process_clip(clip: Clip, data_root: Path, out: Path, segmenter: Segmenter, cfg: PrepareConfig) -> ClipResult:
    pending: list[Future] = []
    try:
        return _process_clip(clip, data_root, out, segmenter, cfg, pending)
    finally:
        for future in pending:  # every image is on disk before the clip's record can be written
            future.result()


def _skip(result: ClipResult, clip: Clip, index: int | str, reason: str) -> None:
    result.skipped.append({"clip_id": clip.clip_id, "path": clip.rel, "frame_index": index, "reason": reason})


def _process_clip(
    clip: Clip, data_root: Path, out: Path, segmenter: Segmenter, cfg: PrepareConfig, pending: list[Future]
) -> ClipResult:
    """Sample, segment and write one clip; bad input becomes a `skipped` entry, never an exception.
    read the wanted frames (and those the clip mask or temporal fill need) -> segment them as video -> plan the
    clip's background -> write each kept frame's stimuli (writer threads; `pending` collects the writes)."""
    result = ClipResult()
    read = _read_clip(clip, cfg, result)
    if read is None:
        return result
    indices, frames, partners, n_frames = read
    sound = _clip_audio(clip, out, cfg, result) if cfg.audio else {}
    segs, masks, plan = _segment_clip(clip, data_root, frames, indices, segmenter, cfg, result)
    write = _StimulusWriter(clip, out, segmenter, cfg, pending, plan, sound)
    for index in indices:
        if index in segs:
            write(index, frames[index], segs[index], masks[index], partners, n_frames, result)
    return result


def _read_clip(
    clip: Clip, cfg: PrepareConfig, result: ClipResult
) -> tuple[list[int], dict[int, np.ndarray], dict[int, np.ndarray], int] | None:
    """(wanted indices, decoded RGB frames by index, flow partners, frame count), or None with the clip skipped."""
    n_wanted = cfg.frames_per_clip if clip.split == "train" else cfg.eval_frames_per_clip
    try:
        n_frames = count_frames(clip.path)
        if n_frames == 0:
            raise BodySceneError(f"{clip.path}: the clip has no frames; remove it from the lists")
        if n_wanted == "all":
            indices = sample_indices(n_frames, every=cfg.every_k or 1)
        else:
            indices = sample_indices(n_frames, n_wanted, every=cfg.every_k)
        read = set(indices)
        if cfg.mask_scope == "clip" or cfg.inpaint == "temporal":  # the clip's other frames are needed too
            read |= set(sample_indices(n_frames, every=cfg.clip_every))
        frames, partners = read_with_partners(clip.path, sorted(read), n_frames, cfg.flow)
    except BodySceneError as e:
        _skip(result, clip, "", str(e))
        result.errors.append({"clip_id": clip.clip_id, "path": clip.rel, "reason": str(e)})
        return None
    usable: dict[int, np.ndarray] = {}
    for index in sorted(frames):
        try:
            usable[index] = as_rgb(frames[index], f"{clip.path} frame {index}")
        except BodySceneError as e:
            if index in indices:
                _skip(result, clip, index, str(e))
    # (a clip whose frame size varies is made per frame: background.plan_clip says so)
    return indices, usable, partners, n_frames


def _segment_clip(
    clip: Clip,
    data_root: Path,
    frames: dict[int, np.ndarray],
    indices: list[int],
    segmenter: Segmenter,
    cfg: PrepareConfig,
    result: ClipResult,
) -> tuple[dict[int, Segmentation], dict[int, np.ndarray], ClipPlan]:
    """The clip's frames in order, as video (a tracking or batching segmenter sees them together): their
    segmentations, the (noisy) masks, and the clip's background plan (clip-scope union, temporal fill)."""
    refs = {i: FrameRef(data_root, clip.rel, i) for i in frames}
    segs: dict[int, Segmentation] = {}
    for index, seg in segmenter.segment_frames(frames, refs).items():
        if isinstance(seg, BodySceneError):
            if index in indices:
                _skip(result, clip, index, str(seg))
        else:
            segs[index] = seg
    masks = {i: _noisy_mask(seg.mask, clip, i, cfg) for i, seg in segs.items()}
    plan = plan_clip(frames, masks, cfg)
    for note in plan.notes:
        result.fallbacks.append({"clip_id": clip.clip_id, "path": clip.rel, "reason": f"{clip.path}: {note}"})
    return segs, masks, plan


@dataclass
class _StimulusWriter:
    """Writes one frame's stimuli (three conditions, the mask, optionally flow) and adds its manifest row."""

    clip: Clip
    out: Path
    segmenter: Segmenter
    cfg: PrepareConfig
    pending: list[Future]
    plan: ClipPlan
    sound: dict[str, str]

    def __call__(self, index, frame, seg, mask, partners, n_frames, result: ClipResult) -> None:
        clip, cfg, out = self.clip, self.cfg, self.out
        writer = writer_pool(cfg.writer_threads)
        ext, fmt, quality = extension(cfg.image_format), cfg.image_format, cfg.image_quality
        sid = stimulus_id(clip.clip_id, index)
        area = float(seg.mask.mean())
        status = "ok" if area >= cfg.min_mask_fraction else "no_person"
        if status == "no_person":
            _skip(result, clip, index, "no person found")
            if not cfg.keep_empty:
                return
        if cfg.max_persons is not None and seg.persons > cfg.max_persons:
            _skip(result, clip, index, f"more than max_persons={cfg.max_persons} persons")
            return
        rel = {c: f"{c}/{clip.split}/{clip.class_name}/{sid}{ext}" for c in ("original", "body", "background")}
        rel["mask"] = f"masks/{clip.split}/{clip.class_name}/{sid}.png"  # lossless whatever the image format
        region, background, share = self.plan.background(index, mask)
        images = make_stimuli(frame, mask, cfg, region=region, background=background)
        for condition, image in images.items():
            self.pending.append(writer.submit(write_image, out / rel[condition], image, fmt, quality))
        residual = ""
        if cfg.residual and status == "ok" and self.segmenter.single_frame:
            # the person should be gone: the share of the background-only frame still called person
            residual = round(float(self.segmenter.segment(images["background"]).mask.mean()), 6)
        self.pending.append(writer.submit(write_png, out / rel["mask"], mask.astype(np.uint8) * 255))
        if cfg.flow:  # the flow image's three conditions, made like the frame's (stimuli/flow.py)
            flow = flow_image(frame, partners[index], forward=partner_index(index, n_frames) > index)
            for condition, image in make_stimuli(flow, mask, cfg, region=region).items():
                rel[f"flow_{condition}"] = f"flow/{condition}/{clip.split}/{clip.class_name}/{sid}{ext}"
                self.pending.append(writer.submit(write_image, out / rel[f"flow_{condition}"], image, fmt, quality))
        image_info = {"image_format": fmt, "image_quality": "" if fmt == "png" else quality}
        result.rows.append(
            {
                "stimulus_id": sid, "clip_id": clip.clip_id, "class": clip.class_name, "label": clip.label,
                "split": clip.split, "frame_index": index, **rel, "mask_area": round(area, 6),
                "persons": seg.persons, "residual_person": residual, "status": status,
                "mask_scope": self.plan.scope, "region_area": round(float(region.mean()), 6),
                "temporal_share": "" if share is None else round(share, 4), **image_info, **self.sound,
            }
        )  # fmt: skip


def _clip_audio(clip: Clip, out: Path, cfg: PrepareConfig, result: ClipResult) -> dict[str, str]:
    """`prepare.audio`: the clip's log-mel spectrogram (stimuli/sound.py) as AUDIO/<split>/<class>/<clip>.npy, or an
    empty `audio` column and a skipped.csv line saying why (no audio stream, a silent or undecodable track): the
    clip's stimuli stay, and an audio stream hears silence on them."""
    rel = f"audio/{clip.split}/{clip.class_name}/{clip.clip_id}.npy"
    try:
        write_spectrogram(out / rel, clip_spectrogram(clip.path, cfg.mel))
    except BodySceneError as e:
        _skip(result, clip, "", str(e))
        return {"audio": ""}
    return {"audio": rel}


def _noisy_mask(mask: np.ndarray, clip: Clip, index: int, cfg: PrepareConfig) -> np.ndarray:
    return (
        corrupt_mask(mask, cfg.mask_noise, stimulus_id(clip.clip_id, index))
        if applies_to(cfg.mask_noise, clip.split)
        else mask
    )


def _check_settings(out: Path, settings: dict[str, Any]) -> None:
    """A rerun may resume only a stimulus set made with the same settings."""
    meta = out / "stimuli.json"
    if meta.is_file():
        before = read_json(meta).get("settings")
        if before is not None and "prepare" in before:  # options added since it was made are at their defaults
            before = {**before, "prepare": with_new_defaults(PrepareConfig, before["prepare"])}
        if before is not None and before != settings:
            raise BodySceneError(
                f"{out}: made with other settings ({meta}); use a new --out, or delete the folder to start again"
            )


def resolve_segmenter(data: Path, cfg: PrepareConfig) -> tuple[str, dict[str, Any]]:
    """The segmenter's name and options: "auto" is ground truth for a data folder with masks/, else mediapipe."""
    name = cfg.segmenter
    if name == "auto":
        name = "ground-truth" if (data / "masks").is_dir() else "mediapipe"
    options = dict(cfg.segmenter_options)
    if cfg.weights is not None:
        if name != "yolo":
            raise BodySceneError(f"--weights {cfg.weights}: only the yolo segmenter loads weights; drop it")
        options["weights"] = cfg.weights
    return name, options


def parse_shard(shard: str | None) -> tuple[int, int]:
    if shard is None:
        return 0, 1
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise BodySceneError(f"--shard {shard}: write i/n with 0 <= i < n, e.g. 0/4 for the first of four")
    return i, n


_WORKER: dict[str, Any] = {}


def _init_worker(data: Path, out: Path, cfg: PrepareConfig, name: str, options: dict[str, Any]) -> None:
    cv2.setNumThreads(1)  # one process per core: OpenCV's own threads would only compete
    _WORKER.update(data=data, out=out, cfg=cfg, segmenter=get_segmenter(name, **options))


def _run_clip(clip: Clip) -> str:
    w = _WORKER
    result = process_clip(clip, w["data"], w["out"], w["segmenter"], w["cfg"])
    atomic_write_text(w["out"] / PROGRESS_DIR / f"{clip.clip_id}.json", json.dumps(result.__dict__))
    return clip.clip_id


def prepare(
    data: str | Path, out: str | Path, cfg: PrepareConfig, workers: int = 1, shard: str | None = None
) -> dict[str, Any]:
    data, out = Path(data), Path(out)
    folder_options = {"split_file": cfg.split_file, "seed": cfg.split_seed} if cfg.layout == "folders" else {}
    classes, clips = read_clips(data, cfg.layout, cfg.classes, **folder_options)
    name, options = resolve_segmenter(data, cfg)
    get_segmenter(name, **options)  # bad names, options or weights fail here, once, before any work
    if cfg.audio:
        check_mel(cfg.mel)
    index, count = parse_shard(shard)
    if workers < 1:
        raise BodySceneError(f"--workers {workers}: use 1 or more processes")
    settings = {"data": str(data.resolve()), "prepare": cfg.model_dump(mode="json")}
    _check_settings(out, settings)
    if count == 1 and out.is_dir():  # (shards may share the folder: another shard's writes could be in flight)
        remove_stale_temps(out)  # half-written files of a killed run; their clips have no record, so are redone
    if not (out / "stimuli.json").is_file():
        write_json(out / "stimuli.json", {"settings": settings, "complete": False})
    progress = out / PROGRESS_DIR
    progress.mkdir(parents=True, exist_ok=True)

    mine = clips[index::count]
    todo = [c for c in mine if not (progress / f"{c.clip_id}.json").is_file()]
    label = f"prepare{f' shard {shard}' if shard else ''} ({len(mine) - len(todo)} done)"
    if workers == 1 or len(todo) <= 1:
        _init_worker(data, out, cfg, name, options)
        for _ in track(map(_run_clip, todo), len(todo), label, unit="clips"):
            pass
    else:
        import multiprocessing as mp

        # spawn: mediapipe and torch hold threads that a fork would copy in an undefined state
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(data, out, cfg, name, options)) as pool:
            done = pool.imap_unordered(_run_clip, todo)
            for _ in track(done, len(todo), label, unit="clips"):
                pass
    missing = sum(not (progress / f"{c.clip_id}.json").is_file() for c in clips)
    if missing:  # other shards are still running: the last one to finish writes the manifest
        return {"stimuli": 0, "skipped": 0, "pending_clips": missing, "complete": False}
    return finalize(out, classes, clips, settings)


def finalize(out: Path, classes: list[str], clips: list[Clip], settings: dict[str, Any]) -> dict[str, Any]:
    """Assemble manifest.csv and skipped.csv from the per-clip records, in clip-list order."""
    rows, skipped, errors, fallbacks = [], [], [], []
    for clip in clips:
        record = json.loads((out / PROGRESS_DIR / f"{clip.clip_id}.json").read_text())
        rows += record["rows"]
        skipped += record["skipped"]
        errors += record.get("errors", [])
        fallbacks += record.get("fallbacks", [])
    atomic_write_text(out / "classes.txt", "".join(f"{c}\n" for c in classes))
    flow = settings["prepare"].get("flow")
    prepare_cfg = PrepareConfig.model_validate(settings["prepare"])
    swaps = None
    if prepare_cfg.swap is not None:  # needs every clip's images: made here, once all clips are done
        from bodyscene.stimuli.swap import make_swaps

        def write(path: Path, rgb: np.ndarray) -> None:
            write_image(path, rgb, prepare_cfg.image_format, prepare_cfg.image_quality)

        swap_skipped = make_swaps(out, rows, prepare_cfg.swap, prepare_cfg, Path(settings["data"]), write)
        skipped += swap_skipped
        swaps = {"stimuli": sum(bool(r["swap"]) for r in rows), "skipped": len(swap_skipped)}
    columns = manifest_columns(flow=flow, swap=bool(swaps), audio=prepare_cfg.audio)
    write_csv(out / "manifest.csv", rows, columns)
    write_csv(out / "skipped.csv", skipped, SKIPPED_COLUMNS)
    write_csv(out / "errors.csv", errors + fallbacks, ERROR_COLUMNS)
    quality = quality_summary(rows, len(errors))
    contact_sheet(out, rows, out / "contact_sheet.png")
    counts = {s: sum(r["split"] == s and r["status"] == "ok" for r in rows) for s in ("train", "val", "test")}
    summary = {
        "stimuli": len(rows), "skipped": len(skipped), "errors": len(errors), "fallbacks": len(fallbacks),
        "counts": counts, "classes": classes, "quality": quality, "quality_line": format_summary(quality),
    }  # fmt: skip
    if swaps is not None:
        summary["swaps"] = swaps
    if prepare_cfg.audio:  # clips with a spectrogram, and the shape every spectrogram of the set has
        heard = {r["clip_id"] for r in rows if r.get("audio")}
        summary["audio"] = {"clips": len(heard), "silent_clips": len({r["clip_id"] for r in rows} - heard),
                            "shape": list(spectrogram_shape(prepare_cfg.mel))}  # fmt: skip
    write_json(out / "stimuli.json", {"settings": settings, "complete": True, **summary})
    if not sum(counts.values()):
        raise BodySceneError(no_stimuli_message(out, len(clips), skipped, settings["prepare"]))
    if prepare_cfg.audio and not summary["audio"]["clips"]:
        raise BodySceneError(no_audio_message(out, len(clips), skipped))
    if swaps is not None and not swaps["stimuli"]:
        from bodyscene.stimuli.swap import no_swaps_message

        raise BodySceneError(no_swaps_message(out, skipped, prepare_cfg.swap))
    return summary


def _reason_kind(reason: str) -> str:
    """A skip reason without the file it names, so that reasons of many files can be counted together."""
    head, sep, tail = reason.partition(": ")
    return tail if sep and ("/" in head or "\\" in head) else reason


def no_audio_message(out: Path, n_clips: int, skipped: list[dict[str, Any]]) -> str:
    """One line for `prepare --audio` on clips of which none has usable sound."""
    from collections import Counter

    top = Counter(_reason_kind(s["reason"]) for s in skipped if s["frame_index"] == "")
    reasons = "; ".join(f"{n} x {r!r}" for r, n in top.most_common(2)) or "no clip was read"
    return (
        f"{out}: --audio, but none of the {n_clips} clips has a usable soundtrack ({reasons}); see "
        f"{out / 'skipped.csv'}; prepare without --audio, or give the videos sound (`bodyscene synth --audio`)"
    )


def no_stimuli_message(out: Path, n_clips: int, skipped: list[dict[str, Any]], prepare_cfg: dict[str, Any]) -> str:
    """One line for a prepare that made nothing usable: the commonest skip reasons with counts, and a fix."""
    from collections import Counter

    top = Counter(_reason_kind(s["reason"]) for s in skipped).most_common(3)
    reasons = "; ".join(f"{n} x {r!r}" for r, n in top) or "no frames were read"
    return (
        f"{out}: 0 usable stimuli from {n_clips} clips (segmenter {prepare_cfg.get('segmenter')}); top skip "
        f"reasons: {reasons}; see {out / 'skipped.csv'} and pick a segmenter that finds these people "
        "(--segmenter yolo --weights yolov8x-seg.pt, or mediapipe)"
    )
