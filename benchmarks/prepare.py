"""Speed of `prepare` on real-photo clips: the whole pipeline vs the segmenter alone vs a naive per-frame loop.

All three handle the same sampled frames of the same clips (made from ultralytics' bus.jpg / zidane.jpg, 640x360,
a keyframe every 12 frames as in web video):
  pipeline  = bodyscene.stimuli.make.prepare with --workers (seek-decode, segment, dilate, inpaint a crop, write 3
              PNGs + mask, atomic records); residual re-segmentation off, as it is a second segmenter pass
  segmenter = the segmenter's segment() on the already-decoded frames, one process
  naive     = one process, per clip: decode the whole video, per sampled frame: segment, dilate, inpaint the whole
              frame, cv2.imwrite the three images
  tracked   = the offline segmenter on every frame of each clip as video (`track_every`, segment/mediapipe.py) against
              the same segmenter per frame: frames/s, model calls per frame, and recall against reference masks of
              the pasted people (each cut out by the selfie model on a tight crop of the photo, so read recall as
              agreement with the model at its best framing, as in benchmarks/segmenter_quality.py)
Goal on 2 cores: pipeline >= 2x naive and >= 70% of segmenter-alone; tracked >= 5x per-frame, recall within 0.02. Wall-clock rates are medians of rounds that
alternate the three; CPU seconds per frame are printed too, with the ratios they imply on idle cores, because on a
shared machine the wall clock mostly measures the other users.

    .venv/bin/python benchmarks/prepare.py [--clips 8] [--frames-per-clip 2] [--workers 2] [--rounds 3]
        [--size 640x360] [--track-clips 2] [--track-frames 48] [--track-every 12] [--track-mode crop|tiles] [--parts pipeline,tracked]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from bodyscene.config import PrepareConfig  # noqa: E402
from bodyscene.data.readers import read_folders  # noqa: E402
from bodyscene.data.video import read_frames, sample_indices, write_video  # noqa: E402
from bodyscene.segment import get_segmenter  # noqa: E402
from bodyscene.stimuli.make import prepare  # noqa: E402
from bodyscene.stimuli.masks import dilate_mask, make_body_only  # noqa: E402
from helpers_seg import PEOPLE, photo, street, wide_shot  # noqa: E402

H, W, N_FRAMES = 360, 640, 48


def cutouts(name: str, image: np.ndarray, scale: float, seg) -> np.ndarray:
    """Reference mask of the people in a photo resized by `scale`: the selfie model on a tight crop of each person's
    hand-placed box (its best framing), kept inside the box."""
    out = np.zeros(image.shape[:2], bool)
    for x0, y0, x1, y1 in PEOPLE[name]:
        x0, y0, x1, y1 = (int(v * scale) for v in (x0, y0, x1, y1))
        pad = (y1 - y0) // 8
        ya, xa = max(0, y0 - pad), max(0, x0 - pad)
        crop = image[ya : y1 + pad, xa : x1 + pad]
        cut = np.zeros(out.shape, bool)
        cut[ya : ya + crop.shape[0], xa : xa + crop.shape[1]] = seg.probability(crop) > 0.5
        box = np.zeros(out.shape, bool)
        box[y0:y1, x0:x1] = True
        out |= cut & box
    return out


def make_clips(root: Path, n: int, rng: np.random.Generator, seg=None) -> list[np.ndarray]:
    """n clips in two classes: the bus photo in a street, or the zidane close-up, drifting a few px per frame.
    Returns each clip's reference person mask per frame when `seg` is given (see `cutouts`)."""
    k = W / 640  # the photos' scale follows the frame size
    bus, _ = photo("bus.jpg", 0.3 * k)
    zidane, _ = photo("zidane.jpg", 0.5 * k)
    truths = []
    for i in range(n):
        if i % 2 == 0:
            base = street(H + 40, W + 40)
            bh, bw = bus.shape[:2]
            y, x = H + 40 - bh - int(rng.integers(0, 30)), int(rng.integers(0, W - bw))
            base[y : y + bh, x : x + bw] = bus
            if seg is not None:
                truth = np.zeros(base.shape[:2], bool)
                truth[y : y + bh, x : x + bw] = cutouts("bus.jpg", bus, 0.3 * k, seg)
        else:
            sized = cv2.resize(zidane, (W + 40, H + 40))
            base = sized
            if seg is not None:
                truth = cutouts("zidane.jpg", sized, (W + 40) / 1280, seg)  # zidane.jpg is 1280 px wide
        frames = [np.ascontiguousarray(base[t % 40 : t % 40 + H, t % 40 : t % 40 + W]) for t in range(N_FRAMES)]
        write_video(root / ("street" if i % 2 == 0 else "closeup") / f"clip{i:02d}.mp4", frames, fps=24, gop=12)
        if seg is not None:
            truths.append(np.stack([truth[t % 40 : t % 40 + H, t % 40 : t % 40 + W] for t in range(N_FRAMES)]))
    return truths


def make_wide_clip(path: Path, seg, height: int, n_frames: int, step: int = 4) -> np.ndarray:
    """A wide shot: a bus.jpg person cut out and pasted `height` px tall into the street, walking `step` px a frame
    (helpers_seg.wide_shot); returns the reference mask per frame (the pasted pixels)."""
    frame, truth = wide_shot(seg, height, (H, W))
    background = street(H, W)
    frames, truths = [], []
    for t in range(n_frames):
        moved = np.roll(truth, step * t, axis=1)
        image = background.copy()
        image[moved] = np.roll(frame, step * t, axis=1)[moved]
        frames.append(image)
        truths.append(moved)
    write_video(path, frames, fps=24, gop=12)
    return np.stack(truths)


def tracked_vs_per_frame(
    clips, truths, n_frames: int, track_every: int, track_mode: str
) -> dict[str, dict[str, float]]:
    """Every frame (up to n_frames) of each clip through the per-frame pyramid and through the tracked one."""
    out = {}
    for label, options in (("per-frame", {}), ("tracked", {"track_every": track_every, "track_mode": track_mode})):
        seg = get_segmenter("mediapipe", **options)
        hit = total = marked = 0
        wall = cpu = 0.0
        n = 0
        seg.probability(np.zeros((64, 64, 3), np.uint8))  # warm-up: model load
        seg.calls = 0
        for clip, truth in zip(clips, truths, strict=True):
            frames = read_frames(clip.path, range(n_frames))
            t, c = time.perf_counter(), cpu_seconds()
            masks = seg.segment_frames(frames)
            wall, cpu = wall + time.perf_counter() - t, cpu + cpu_seconds() - c
            n += len(frames)
            for i, s in masks.items():
                hit += int((s.mask & truth[i]).sum())
                total += int(truth[i].sum())
                marked += int(s.mask.sum())
        out[label] = {
            "fps": n / wall, "cpu": cpu / n, "calls": seg.calls / n, "recall": hit / max(1, total),
            "precision": hit / max(1, marked), "full": seg.full_passes / n,
        }  # fmt: skip
    return out


def naive(clips, cfg: PrepareConfig, seg, out: Path) -> int:
    n = 0
    for clip in clips:
        frames = read_frames(clip.path)  # the whole video, decoded in order
        for index in sample_indices(len(frames), cfg.frames_per_clip):
            frame = frames[index]
            mask = seg.segment(frame).mask
            region = dilate_mask(mask, cfg.dilation, cfg.margin_px)
            bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            background = cv2.inpaint(bgr, region.astype(np.uint8) * 255, cfg.inpaint_radius, cv2.INPAINT_TELEA)
            stem = out / f"{clip.clip_id}_{index}"
            cv2.imwrite(f"{stem}_o.png", bgr)
            cv2.imwrite(f"{stem}_b.png", cv2.cvtColor(make_body_only(frame, mask), cv2.COLOR_RGB2BGR))
            cv2.imwrite(f"{stem}_g.png", background)
            n += 1
    return n


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers once joined)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    global H, W
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames-per-clip", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--segmenter", default="mediapipe")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="640x360", help="frame WxH (640x360, 1280x720)")
    ap.add_argument("--track-clips", type=int, default=2, help="clips (of the same set) for tracked vs per-frame")
    ap.add_argument("--track-frames", type=int, default=N_FRAMES, help="frames of each of those clips")
    ap.add_argument("--track-every", type=int, default=12, help="full pyramid every k frames")
    ap.add_argument("--track-mode", default="crop", help="tracked frames: crop (one call per person) or tiles")
    ap.add_argument("--parts", default="pipeline,tracked", help="also: wide (tracking on a wide shot)")
    ap.add_argument("--wide-height", type=int, default=100, help="wide: the walking person's height, px")
    args = ap.parse_args()
    W, H = (int(v) for v in args.size.split("x"))
    parts = set(args.parts.split(","))
    cfg = PrepareConfig(
        segmenter=args.segmenter, layout="folders", frames_per_clip=args.frames_per_clip,
        eval_frames_per_clip=args.frames_per_clip, residual=False, split_seed=0,
    )  # fmt: skip
    rates: dict[str, list[float]] = {"segmenter": [], "naive": [], "pipeline": []}
    cpu: dict[str, list[float]] = {k: [] for k in rates}  # CPU seconds per frame: what a busy machine can't skew
    frames: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        reference = get_segmenter("mediapipe")
        truths = make_clips(tmp / "data", args.clips, np.random.default_rng(0), reference)
        _, clips = read_folders(tmp / "data")
        by_name = {c.path.stem: c for c in clips}
        track = None
        if "tracked" in parts:  # the first clips of the set, alternately street and close-up, as made
            chosen = [by_name[f"clip{i:02d}"] for i in range(min(args.track_clips, args.clips))]
            track = tracked_vs_per_frame(
                chosen, truths[: len(chosen)], args.track_frames, args.track_every, args.track_mode
            )
        wide = None
        if "wide" in parts:
            clip = read_folders(tmp / "data")[1][0]
            wide_truth = make_wide_clip(tmp / "wide.mp4", reference, args.wide_height, args.track_frames)
            wide_clip = dataclasses.replace(clip, path=tmp / "wide.mp4")
            wide = tracked_vs_per_frame([wide_clip], [wide_truth], args.track_frames, args.track_every, args.track_mode)
        if "pipeline" in parts:
            seg = get_segmenter(args.segmenter)
            for clip in clips:
                frames += read_frames(clip.path, sample_indices(N_FRAMES, args.frames_per_clip)).values()
            seg.segment(frames[0])  # warm-up: model load, first-call allocations
            # rounds alternate the three, so a change in the machine's load hits all of them alike; medians reported
            for r in range(args.rounds):
                t, c = time.perf_counter(), cpu_seconds()
                for frame in frames:
                    seg.segment(frame)
                rates["segmenter"].append(len(frames) / (time.perf_counter() - t))
                cpu["segmenter"].append((cpu_seconds() - c) / len(frames))

                (tmp / f"naive{r}").mkdir()
                t, c = time.perf_counter(), cpu_seconds()
                n = naive(clips, cfg, seg, tmp / f"naive{r}")
                rates["naive"].append(n / (time.perf_counter() - t))
                cpu["naive"].append((cpu_seconds() - c) / n)

                t, c = time.perf_counter(), cpu_seconds()
                summary = prepare(tmp / "data", tmp / f"stim{r}", cfg, workers=args.workers)
                rates["pipeline"].append(summary["stimuli"] / (time.perf_counter() - t))
                cpu["pipeline"].append((cpu_seconds() - c) / summary["stimuli"])
                assert summary["stimuli"] == n == len(frames), (summary["stimuli"], n, len(frames))

    print(f"{args.clips} clips of {N_FRAMES} frames, {W}x{H}, segmenter {args.segmenter}")
    print(f"cpu cores: {os.cpu_count()}, workers: {args.workers}, load average: {os.getloadavg()[0]:.1f}")
    if "pipeline" in parts:
        fps = {k: float(np.median(v)) for k, v in rates.items()}
        print(f"pipeline part: {len(frames)} sampled frames")
        for k, v in rates.items():
            per = float(np.median(cpu[k]))
            print(
                f"{k:10s} {fps[k]:6.2f} frames/s (median of {', '.join(f'{x:.2f}' for x in v)}), {per:.3f} cpu-s/frame"
            )
        # On idle cores each worker runs at 1/cpu-s-per-frame; a model, printed because this machine is shared
        per = {k: float(np.median(v)) for k, v in cpu.items()}
        idle = min(args.workers, os.cpu_count() or 1) / per["pipeline"]
        print(
            f"projected on {min(args.workers, os.cpu_count() or 1)} idle cores from cpu time: "
            f"pipeline/naive {idle * per['naive']:.2f}, pipeline/segmenter {idle * per['segmenter']:.2f}"
        )
    if track is not None:
        print(
            f"tracked part: {args.track_clips} clips x {args.track_frames} frames, full pass every {args.track_every}, "
            f"track_mode {args.track_mode}"
        )
        for k, v in track.items():
            print(
                f"{k:10s} {v['fps']:6.2f} frames/s, {v['cpu']:.3f} cpu-s/frame, {v['calls']:.1f} model calls/frame, "
                f"full passes {v['full']:.2f}/frame, recall {v['recall']:.4f}, precision {v['precision']:.4f}"
            )
        cpu_ratio = track["per-frame"]["cpu"] / track["tracked"]["cpu"]
        print(
            f"tracked/per-frame from cpu time: {cpu_ratio:.2f}, from model calls: "
            f"{track['per-frame']['calls'] / track['tracked']['calls']:.2f}"
        )
    if wide is not None:
        print(f"wide shot: 1 clip x {args.track_frames} frames, a {args.wide_height} px person walking 4 px/frame")
        for k, v in wide.items():
            print(
                f"{k:10s} {v['fps']:6.2f} frames/s, {v['cpu']:.3f} cpu-s/frame, {v['calls']:.1f} model calls/frame, "
                f"full passes {v['full']:.2f}/frame, recall {v['recall']:.4f}, precision {v['precision']:.4f}"
            )
        print(f"wide shot tracked/per-frame: {wide['tracked']['fps'] / wide['per-frame']['fps']:.2f} (wall), "
              f"{wide['per-frame']['cpu'] / wide['tracked']['cpu']:.2f} (cpu), "
              f"{wide['per-frame']['calls'] / wide['tracked']['calls']:.2f} (calls); recall tracked minus per-frame "
              f"{wide['tracked']['recall'] - wide['per-frame']['recall']:+.4f}")  # fmt: skip
    if "pipeline" in parts:
        print(f"ratio pipeline/naive: {fps['pipeline'] / fps['naive']:.2f}")
        print(f"ratio pipeline/segmenter: {fps['pipeline'] / fps['segmenter']:.2f}")
    if track is not None:
        print(f"ratio tracked/per-frame: {track['tracked']['fps'] / track['per-frame']['fps']:.2f}")
        print(f"recall tracked minus per-frame: {track['tracked']['recall'] - track['per-frame']['recall']:+.4f}")


if __name__ == "__main__":
    main()
