"""Costs at paper scale (all frames of HAA500): bytes and encoding time per image format, the training loader's
frames per CPU-second from the uint8 cache vs tar shards, and the projection for HAA500's ~750k frames.

  formats   the three stimulus images of real-photo frames (ultralytics' bus.jpg in a street, the zidane
            close-up; benchmarks/prepare.py's clips) encoded as PNG (prepare's level 1), JPEG and WebP: bytes per
            frame (3 images) and milliseconds per image, at 640x360 and 1280x720
  loader    DomainNet batches (body + background, 224 px) through the class-balanced DataLoader in this process
            (num_workers 0, so all decoding is on this process's clock): stimuli per CPU-second from the cache,
            PNG shards and JPEG shards; x 8 workers is the extrapolation the issue's goal (>= 3,000/s) is read on
  projection HAA500 all frames: prepare CPU core-hours from the per-frame and tracked segmenter's CPU seconds per
            frame (measured by benchmarks/prepare.py; pass them with --cpu-per-frame / --cpu-tracked), and the disk
            the stimuli, the cache and the shards take

    nice -n 5 .venv/bin/python benchmarks/scale.py [--frames 256] [--batches 16] [--cpu-per-frame 1.18 --cpu-tracked 0.54]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from train_step import fake_stimulus_set  # noqa: E402

from bodyscene.stimuli.images import encode_image  # noqa: E402
from bodyscene.train.datamodule import StimulusDataModule  # noqa: E402
from helpers_seg import photo, street  # noqa: E402

HAA500_FRAMES = 750_000  # 10,000 clips of ~2-3 s (the estimate)
FORMATS = [("png", 0), ("jpg", 95), ("jpg", 90), ("webp", 90)]


def frames_like_prepare(w: int, h: int) -> list[np.ndarray]:
    """One street frame with the bus photo and one close-up, at w x h; with a black-outside 'body' version and
    the frame itself standing for the background-only image (same statistics)."""
    bus, _ = photo("bus.jpg", 0.3 * w / 640)
    base = street(h, w)
    bh, bw = bus.shape[:2]
    base[h - bh :, w // 3 : w // 3 + bw] = bus[:h, : w - w // 3]
    close = cv2.resize(photo("zidane.jpg")[0], (w, h))
    body = np.zeros_like(base)
    body[h - bh :, w // 3 : w // 3 + bw] = base[h - bh :, w // 3 : w // 3 + bw]  # about a person-sized region
    return [base, close, body]


def measure_formats(sizes: list[tuple[int, int]]) -> list[tuple]:
    rows = []
    for w, h in sizes:
        images = frames_like_prepare(w, h)
        for fmt, q in FORMATS:
            t, n_bytes = time.process_time(), []
            for _ in range(3):  # (three rounds for the timing)
                n_bytes = [len(encode_image(im, fmt, q or 95)) for im in images]
            ms = (time.process_time() - t) * 1000 / (3 * len(images))
            # a frame's three images: original and background-only (each like the mean of the two photos), body-only
            per_frame = 2 * (n_bytes[0] + n_bytes[1]) / 2 + n_bytes[2]
            rows.append((f"{w}x{h}", fmt if not q else f"{fmt} q{q}", per_frame, ms))
    return rows


def measure_loader(stimuli: Path, batches: int, batch_size: int) -> dict[str, tuple[float, float]]:
    out = {}
    for label, kw in (
        ("cache", {"store": "cache"}),
        ("shards png", {"store": "shards"}),
        ("shards jpg q95", {"store": "shards", "shard_format": "jpg"}),
    ):
        dm = StimulusDataModule(stimuli, kind="domainnet", image_size=224, batch_size=batch_size, **kw)
        dm.prepare_data()  # build once, not timed
        loader = dm.train_dataloader()
        next(iter(loader))  # first touch: page cache, maps
        t, c, n = time.perf_counter(), time.process_time(), 0
        for i, batch in enumerate(loader):
            n += len(batch["label"])
            if i + 1 >= batches:
                break
        out[label] = (n / (time.perf_counter() - t), n / max(time.process_time() - c, 1e-9))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=256, help="training frames in the loader's stimulus set")
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cpu-per-frame", type=float, default=None, help="prepare.py per-frame cpu-s/frame, 1280x720")
    ap.add_argument("--cpu-tracked", type=float, default=None, help="prepare.py tracked cpu-s/frame, 1280x720")
    args = ap.parse_args()
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")

    fmt_rows = measure_formats([(640, 360), (1280, 720)])
    print(f"{'size':10s}{'format':10s}{'KB/frame':>10s}{'ms/image':>10s}")
    for size, fmt, per_frame, ms in fmt_rows:
        print(f"{size:10s}{fmt:10s}{per_frame / 1024:10.1f}{ms:10.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        stimuli = fake_stimulus_set(Path(tmp) / "stim", args.frames, 224)
        loader = measure_loader(stimuli, args.batches, args.batch_size)
        shard_kb = {
            enc: sum(p.stat().st_size for p in (stimuli / "cache" / "shards").glob(f"*-{enc}-*.tar"))
            / (2 * args.frames * 1024)
            for enc in ("png", "jpg95")
        }
    print(f"loader, DomainNet (2 images a stimulus), 224 px, batch {args.batch_size}, in-process, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    for label, (wall, per_cpu) in loader.items():
        print(f"{label:16s}{wall:9.0f} stimuli/s wall {per_cpu:9.0f} per cpu-s   x 8 workers: {8 * per_cpu:8.0f}/s")
    print(f"shard bytes per image at 224 px: png {shard_kb['png']:.1f} KB, jpg q95 {shard_kb['jpg95']:.1f} KB "
          f"(cache: {3 * 224 * 224 / 1024:.1f} KB)")  # fmt: skip

    n = HAA500_FRAMES
    print(f"projection, HAA500 all frames (~{n:,}), 1280x720 stimuli, 224 px training store:")
    for size, fmt, per_frame, ms in fmt_rows:
        if size == "1280x720":
            print(f"  stimuli as {fmt:8s}: {n * per_frame / 1e9:7.0f} GB, encoding {n * 3 * ms / 3.6e6:6.1f} core-h")
    for label, kb in (
        ("cache", 3 * 224 * 224 / 1024),
        ("shards png", shard_kb["png"]),
        ("shards jpg", shard_kb["jpg95"]),
    ):
        print(f"  {label:10s} per image column: {n * kb / 1e6:7.1f} GB")
    if args.cpu_per_frame and args.cpu_tracked:
        print(f"  prepare (offline segmenter) per-frame: {n * args.cpu_per_frame / 3600:8.0f} core-h; "
              f"tracked: {n * args.cpu_tracked / 3600:8.0f} core-h")  # fmt: skip
    best = max(v[1] for k, v in loader.items() if k.startswith("shards"))
    print(f"ratio shards/cache per cpu-s: {best / loader['cache'][1]:.3f}")
    print(f"shard loader stimuli/s from 8 workers (extrapolated): {8 * best:.0f}")


if __name__ == "__main__":
    main()
