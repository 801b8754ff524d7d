"""Speed of `prepare` on real-photo clips: the whole pipeline vs the segmenter alone vs a naive per-frame loop.

All three handle the same sampled frames of the same clips (made from ultralytics' bus.jpg / zidane.jpg, 640x360,
a keyframe every 12 frames as in web video):
  pipeline  = bodyscene.stimuli.make.prepare with --workers (seek-decode, segment, dilate, inpaint a crop, write 3
              PNGs + mask, atomic records); residual re-segmentation off, as it is a second segmenter pass
  segmenter = the segmenter's segment() on the already-decoded frames, one process
  naive     = one process, per clip: decode the whole video, per sampled frame: segment, dilate, inpaint the whole
              frame, cv2.imwrite the three images
Goal on 2 cores: pipeline >= 2x naive and >= 70% of segmenter-alone. Wall-clock rates are medians of rounds that
alternate the three; CPU seconds per frame are printed too, with the ratios they imply on idle cores, because on a
shared machine the wall clock mostly measures the other users.

    .venv/bin/python benchmarks/prepare.py [--clips 8] [--frames-per-clip 2] [--workers 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
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
from helpers_seg import photo, street  # noqa: E402

H, W, N_FRAMES = 360, 640, 48


def make_clips(root: Path, n: int, rng: np.random.Generator) -> None:
    """n clips in two classes: the bus photo in a street, or the zidane close-up, drifting a few px per frame."""
    bus, _ = photo("bus.jpg", 0.3)
    zidane, _ = photo("zidane.jpg", 0.5)
    for i in range(n):
        if i % 2 == 0:
            base = street(H + 40, W + 40)
            bh, bw = bus.shape[:2]
            y, x = H + 40 - bh - int(rng.integers(0, 30)), int(rng.integers(0, W - bw))
            base[y : y + bh, x : x + bw] = bus
        else:
            base = cv2.resize(zidane, (W + 40, H + 40))
        frames = [np.ascontiguousarray(base[t % 40 : t % 40 + H, t % 40 : t % 40 + W]) for t in range(N_FRAMES)]
        write_video(root / ("street" if i % 2 == 0 else "closeup") / f"clip{i:02d}.mp4", frames, fps=24, gop=12)


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames-per-clip", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--segmenter", default="mediapipe")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cfg = PrepareConfig(
        segmenter=args.segmenter, layout="folders", frames_per_clip=args.frames_per_clip,
        eval_frames_per_clip=args.frames_per_clip, residual=False, split_seed=0,
    )  # fmt: skip
    rates: dict[str, list[float]] = {"segmenter": [], "naive": [], "pipeline": []}
    cpu: dict[str, list[float]] = {k: [] for k in rates}  # CPU seconds per frame: what a busy machine can't skew
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_clips(tmp / "data", args.clips, np.random.default_rng(0))
        _, clips = read_folders(tmp / "data")
        seg = get_segmenter(args.segmenter)
        frames = []
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

    fps = {k: float(np.median(v)) for k, v in rates.items()}
    print(f"{len(frames)} frames ({args.clips} clips of {N_FRAMES} frames, {W}x{H}), segmenter {args.segmenter}")
    print(f"cpu cores: {os.cpu_count()}, workers: {args.workers}, load average: {os.getloadavg()[0]:.1f}")
    for k, v in rates.items():
        per = float(np.median(cpu[k]))
        print(f"{k:10s} {fps[k]:6.2f} frames/s (median of {', '.join(f'{x:.2f}' for x in v)}), {per:.3f} cpu-s/frame")
    # On idle cores each worker runs at 1/cpu-s-per-frame; a model, printed because this machine is shared
    per = {k: float(np.median(v)) for k, v in cpu.items()}
    idle = min(args.workers, os.cpu_count() or 1) / per["pipeline"]
    print(
        f"projected on {min(args.workers, os.cpu_count() or 1)} idle cores from cpu time: "
        f"pipeline/naive {idle * per['naive']:.2f}, pipeline/segmenter {idle * per['segmenter']:.2f}"
    )
    print(f"ratio pipeline/naive: {fps['pipeline'] / fps['naive']:.2f}")
    print(f"ratio pipeline/segmenter: {fps['pipeline'] / fps['segmenter']:.2f}")


if __name__ == "__main__":
    main()
