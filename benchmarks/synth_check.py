"""Self-check of the embedded benchmark (not a test): is the body learnable from one 64x64 frame, and does a
network trained on original frames lean on the scene? Trains a small random-init torchvision ResNet-18 on one
frame per training clip of a `bodyscene synth` folder and prints test accuracy on original / body-only /
background-only frames made by stimuli/masks.py with `prepare`'s default recipe (mask scaled 1.2x about each
region's centroid plus a 2 px margin, inpainted with OpenCV Telea).

    nice -n 10 env PYTHONPATH=src .venv/bin/python benchmarks/synth_check.py \
        --data runs/synth --train-on body --augment

`--epochs 0` runs only the silhouette nearest-neighbour check (seconds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torchvision
from torchvision.transforms import v2

from bodyscene.config import PrepareConfig
from bodyscene.data.readers import read_list_layout
from bodyscene.data.video import read_frames
from bodyscene.stimuli.masks import make_background_only, make_body_only


def silhouette(mask: np.ndarray, size: int = 24) -> np.ndarray:
    """The mask cropped to its bounding box, padded square and resized: the pose without position or scale."""
    ys, xs = np.nonzero(mask)
    crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)
    h, w = crop.shape
    square = np.zeros((max(h, w),) * 2, np.float32)
    square[(max(h, w) - h) // 2 :][:h, (max(h, w) - w) // 2 :][:, :w] = crop
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA).ravel()


def load(data: Path, size: int) -> dict[str, dict[str, np.ndarray]]:
    """{split: {condition: [N, 3, size, size] float32, 'label': [N]}} from each clip's middle frame."""
    _, clips = read_list_layout(data)
    out: dict[str, dict[str, list]] = {}
    for clip in clips:
        frames = read_frames(clip.path)
        t = len(frames) // 2
        frame = frames[t]
        mask = cv2.imread(str(data / "masks" / clip.class_name / clip.clip_id / f"{t:04d}.png"), 0) > 127
        recipe = PrepareConfig()  # prepare's own defaults: dilation 1.2 about each region's centroid, margin, Telea
        views = {
            "original": frame,
            "body": make_body_only(frame, mask),
            "background": make_background_only(
                frame, mask, recipe.dilation, recipe.inpaint, recipe.inpaint_radius, recipe.margin_px
            ),
        }
        d = out.setdefault(clip.split, {})
        for k, v in views.items():
            small = cv2.resize(v, (size, size), interpolation=cv2.INTER_AREA)
            d.setdefault(k, []).append(small.transpose(2, 0, 1).astype(np.float32) / 255)
        d.setdefault("label", []).append(clip.label)
        d.setdefault("silhouette", []).append(silhouette(mask))
    return {s: {k: np.stack(v) for k, v in d.items()} for s, d in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("runs/synth"))
    ap.add_argument("--train-on", choices=["original", "body"], default="body")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--augment", action="store_true", help="random flip, shift and scale of each training frame")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    sets = load(args.data, args.size)
    n_classes = int(sets["train"]["label"].max()) + 1
    # Pose separability without learning: 1-nearest-neighbour on position- and scale-free silhouettes.
    a, b = sets["train"]["silhouette"], sets["test"]["silhouette"]
    nearest = ((b[:, None] - a[None]) ** 2).sum(-1).argmin(1)
    nn_acc = np.mean(sets["train"]["label"][nearest] == sets["test"]["label"])
    print(f"silhouette 1-NN test accuracy {nn_acc:.3f} (chance {1 / n_classes:.3f})", flush=True)
    if args.epochs == 0:
        return
    x = torch.from_numpy(sets["train"][args.train_on])
    y = torch.from_numpy(sets["train"]["label"]).long()
    net = torchvision.models.resnet18(num_classes=n_classes)
    augment = v2.Compose(
        [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=0, translate=(0.1, 0.1), scale=(0.8, 1.2))]
    )
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), args.batch_size):
            idx = perm[i : i + args.batch_size]
            batch = torch.stack([augment(img) for img in x[idx]]) if args.augment else x[idx]
            loss = torch.nn.functional.cross_entropy(net(batch), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}: train loss {total / len(x):.3f}", flush=True)
    net.eval()
    test = sets["test"]
    with torch.no_grad():
        for cond in ("original", "body", "background"):
            pred = net(torch.from_numpy(test[cond])).argmax(1).numpy()
            print(f"trained on {args.train_on}, test {cond}: accuracy {np.mean(pred == test['label']):.3f}")
    print(f"chance {1 / n_classes:.3f}; {len(x)} training frames; {time.perf_counter() - start:.0f} s training")


if __name__ == "__main__":
    main()
