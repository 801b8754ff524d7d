"""Training speed: where the time goes, and DomainNet's step cost against the baseline's.

Prints, for one backbone, batch size and image size:
  - the data path: PNG decoding (what an uncached loader pays every epoch), building the frame cache once, and the
    DataLoader reading batches from the memory-mapped cache (stimuli/s, with and without workers);
  - the model: training steps per second for the baseline and DomainNet on device-resident uint8 batches
    (on-device normalisation + augmentation, forward, the loss, backward, SGD step), as stimuli/s and images/s;
  - the DomainNet / baseline step-time ratio (last line, `ratio domainnet/baseline: X`). Two backbones cost 2x;
    anything above that is overhead.
On CUDA the defaults are the paper's model at full speed: ResNet-50, 224 px, batch 256, bf16 autocast,
channels_last. Everything runs in this process, so the numbers are per GPU.

    python benchmarks/train_step.py                                   # CUDA defaults, or a small CPU run
    nice -n 15 python benchmarks/train_step.py --backbone resnet18 --image-size 64 --batch-size 32 --steps 5
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from bodyscene.files import write_csv
from bodyscene.models.loss import total_loss
from bodyscene.stimuli.manifest import MANIFEST_COLUMNS
from bodyscene.train.datamodule import StimulusDataModule, decode_into, load_image
from bodyscene.train.module import ActionModule
from bodyscene.train.run import resolve_precision

CLASSES = [f"class{i:02d}" for i in range(10)]


def fake_stimulus_set(root: Path, frames: int, size: int, seed: int = 0) -> Path:
    """A stimulus set of `frames` training rows (PNG triplets at `size` px, textured like photographs: smooth
    shapes plus sensor noise, so they compress and decode like real frames) and a manifest."""
    rng = np.random.default_rng(seed)
    (root / "classes.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("".join(c + "\n" for c in CLASSES))
    rows = []
    for i in range(frames):
        label = i % len(CLASSES)
        image = cv2.GaussianBlur(rng.integers(0, 255, (size // 8, size // 8, 3), dtype=np.uint8), (3, 3), 0)
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
        image = cv2.add(image, rng.integers(0, 12, image.shape, dtype=np.uint8))
        sid = f"clip{i:05d}_f0000"
        row = {"stimulus_id": sid, "clip_id": f"clip{i:05d}", "class": CLASSES[label], "label": label}
        row.update(split="train", frame_index=0, mask_area=0.2, persons=1, residual_person=0, status="ok")
        for column in ("original", "body", "background", "mask"):
            rel = f"{column}/train/{CLASSES[label]}/{sid}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / rel), image if column != "mask" else image[..., 0])
            row[column] = rel
        rows.append(row)
    write_csv(root / "manifest.csv", rows, MANIFEST_COLUMNS)
    return root


def measure_data(stimuli: Path, image_size: int, batch_size: int, workers: list[int]) -> dict[str, tuple]:
    """(wall, CPU) stimuli/s of each way to get frames: decoding PNGs (1 thread, all threads), building the cache
    once, and the cached loader (CPU time is this process's only, so not given with workers)."""
    out = {}
    dm = StimulusDataModule(stimuli, kind="domainnet", image_size=image_size, batch_size=batch_size)
    paths = dm.cache.paths("train", "body")
    buf = np.empty((len(paths), 3, image_size, image_size), np.uint8)

    def rate(fn, n_of=lambda r: len(paths)) -> tuple[float, float | None]:
        t, c = time.perf_counter(), time.process_time()
        n = n_of(fn())
        return n / (time.perf_counter() - t), n / max(time.process_time() - c, 1e-9)

    out["decode PNG, 1 thread"] = rate(lambda: [load_image(p, image_size) for p in paths])
    out["decode PNG, all threads"] = rate(lambda: decode_into(buf, paths, image_size))
    out["cache build (once), 2 images each"] = rate(dm.prepare_data)  # the body and background columns
    for kind in ("baseline", "domainnet"):
        for w in workers:
            dm = StimulusDataModule(stimuli, kind=kind, image_size=image_size, batch_size=batch_size, num_workers=w)
            dm.prepare_data()
            loader = dm.train_dataloader()
            for _ in range(2):  # the second epoch is the steady state (persistent workers, warm page cache)
                wall, cpu = rate(lambda loader=loader: [len(b["label"]) for b in loader], sum)
            out[f"loader {kind}, {w} workers"] = (wall, cpu if w == 0 else None)
    return out


def make_step(kind: str, backbone: str, image_size: int, batch_size: int, device: str, precision: str,
              channels_last: bool):  # fmt: skip
    """(one training step on a fixed device-resident uint8 batch, the input preparation alone)."""
    train = {"image_size": image_size, "batch_size": batch_size, "channels_last": channels_last}
    module = ActionModule({"kind": kind, "backbone": backbone}, train, CLASSES).to(device).train()
    optimizer = module.configure_optimizers()
    gen = torch.Generator().manual_seed(0)
    batch = {name: torch.randint(0, 256, (batch_size, 3, image_size, image_size), generator=gen, dtype=torch.uint8)
             for name in module.net.inputs}  # fmt: skip
    batch["label"] = torch.randint(0, len(CLASSES), (batch_size,), generator=gen)
    batch = {k: v.to(device) for k, v in batch.items()}
    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")

    def step() -> None:
        x = module.on_after_batch_transfer(batch, 0)
        with autocast:
            loss, _ = total_loss(module(x), x["label"], module.model_cfg.loss_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step, lambda: module.on_after_batch_transfer(batch, 0)


def timed(fn, device: str) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of fn(); on CUDA the wall time includes finishing its kernels."""
    if device == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), time.process_time()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, time.process_time() - c


def measure_models(args, device: str, precision: str) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds per step and per input preparation; baseline and DomainNet steps interleaved
    so that a change in machine load hits both alike."""
    fns = {kind: make_step(kind, args.backbone, args.image_size, args.batch_size, device, precision,
                           args.channels_last) for kind in ("baseline", "domainnet")}  # fmt: skip
    for _ in range(args.warmup):
        for step, _prep in fns.values():
            step()
    samples: dict[str, list[tuple[float, float, float, float]]] = {kind: [] for kind in fns}
    for _ in range(args.steps):
        for kind, (step, prep) in fns.items():
            samples[kind].append((*timed(step, device), *timed(prep, device)))
    keys = ("wall", "cpu", "prep_wall", "prep_cpu")
    return {kind: dict(zip(keys, np.median(np.array(v), axis=0).tolist(), strict=True)) for kind, v in samples.items()}


def main() -> None:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", default="resnet50" if cuda else "resnet18")
    p.add_argument("--image-size", type=int, default=224 if cuda else 64)
    p.add_argument("--batch-size", type=int, default=256 if cuda else 32)
    p.add_argument("--steps", type=int, default=30 if cuda else 5)
    p.add_argument("--warmup", type=int, default=10 if cuda else 2)
    p.add_argument("--precision", default="auto", help="auto, bf16-mixed or 32-true")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--frames", type=int, default=2000 if cuda else 256, help="stimuli in the made-up set")
    p.add_argument("--source-size", type=int, default=None, help="PNG size on disk (default: image size x 8/7)")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 4] if cuda else [0, 2])
    p.add_argument("--stimuli", type=Path, default=None, help="a real stimulus set instead of a made-up one")
    p.add_argument("--skip-data", action="store_true", help="only the model steps")
    p.add_argument("--skip-model", action="store_true", help="only the data path")
    args = p.parse_args()
    device = "cuda" if cuda else "cpu"
    precision = resolve_precision(args.precision)
    if cuda:
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    load = "" if cuda else f"; load average {os.getloadavg()[0]:.1f}"
    print(f"device: {name}{load}; {args.backbone} at {args.image_size} px, batch {args.batch_size}, {precision}, "
          f"channels_last={args.channels_last}")  # fmt: skip

    if not args.skip_data:
        with tempfile.TemporaryDirectory() as tmp:
            stimuli = args.stimuli or fake_stimulus_set(
                Path(tmp) / "stimuli", args.frames, args.source_size or args.image_size * 8 // 7
            )
            for what, (wall, cpu) in measure_data(stimuli, args.image_size, args.batch_size, args.workers).items():
                cpu_text = f"{cpu:10.0f} per CPU-second" if cpu else ""
                print(f"data   {what:38s} {wall:10.0f} stimuli/s wall {cpu_text}")

    if args.skip_model:
        return
    clock = "wall" if cuda else "cpu"  # on a shared CPU, wall time measures the other jobs as much as ours
    rates = {}
    for kind, m in measure_models(args, device, precision).items():
        rates[kind] = args.batch_size / m[clock]
        images = rates[kind] * (2 if kind == "domainnet" else 1)
        print(f"model  {kind:10s} {m['wall'] * 1000:8.1f} ms/step wall, {m['cpu'] * 1000:8.1f} ms CPU  "
              f"{rates[kind]:8.1f} stimuli/s  {images:8.1f} images/s ({clock})  "
              f"input prep {m[f'prep_{clock}'] / m[clock]:.1%} of the step")  # fmt: skip
    print("loader vs model: the loader must deliver more stimuli/s than the model consumes (the rows above)")
    print(f"ratio domainnet/baseline: {rates['baseline'] / rates['domainnet']:.3f}")


if __name__ == "__main__":
    main()
