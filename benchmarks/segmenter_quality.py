"""How well does each person-segmenter variant find people, on close-ups and on wide shots? Prints a table.

Test frames are built from the real photos ultralytics ships (bus.jpg, zidane.jpg): each person is cut out with
the selfie model run on a hand-placed box around them (so the ground truth is exactly the pasted pixels), then
pasted into a 1280x720 person-free real background (mirror-tiled crops of bus.jpg's upper rows: buildings,
trees, the bus roof):
  - close-up: 1-2 people 55-95% of the frame height,
  - wide shot: 3-5 people 60-150 px tall.
The two original photos are scored too ("photo"), against the cut-out masks (a reference made by the same
model, so read those rows as agreement, not truth).

Columns: recall = mean share of a person's pixels inside the mask; found = share of people with recall >= 0.5;
precision = share of mask pixels on a person; visible = mean share of a person's pixels outside the dilated
mask (bodyscene.stimuli.masks.dilate_mask, 1.2x), i.e. still shown in the background-only image; left = share
of people with > 30% visible; reseg = share of the people's area that a fixed judge (the default segmenter)
still calls person in the inpainted background-only image; self = share of the background-only frame the method
itself still calls person (the manifest's residual_person); ms = time per frame on this machine.

    .venv/bin/python benchmarks/segmenter_quality.py [--frames 12]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from bodyscene.segment import get_segmenter  # noqa: E402
from bodyscene.stimuli.masks import dilate_mask, make_background_only  # noqa: E402

ASSETS = Path(__import__("ultralytics").__file__).parent / "assets"
# person boxes (x0, y0, x1, y1) placed by hand on the two photos
PEOPLE = {
    "bus.jpg": [(48, 398, 245, 902), (221, 405, 344, 857), (671, 395, 810, 878)],
    "zidane.jpg": [(747, 40, 1142, 712), (123, 197, 1111, 716)],  # photo rows only: cut-outs include crowd
}
W, H = 1280, 720
METHODS = {
    "whole frame (plain model)": dict(mode="whole"),
    "whole frame, landscape model": dict(mode="whole", model="landscape"),
    "tile pyramid (default)": dict(),
    "tiles + large whole blobs": dict(closeup_fraction=0.03),
}


def load(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(ASSETS / name)), cv2.COLOR_BGR2RGB)


def cutouts(seg) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, list[np.ndarray]]]:
    """(rgb crop, bool mask) per person, and per photo the list of full-frame person masks."""
    people, photo_masks = [], {}
    for name, boxes in PEOPLE.items():
        img = load(name)
        photo_masks[name] = []
        for x0, y0, x1, y1 in boxes:
            # a square crop with the person at ~80% of its height: the framing the model does best on
            side = int(1.25 * max(x1 - x0, y1 - y0))
            cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
            cy0, cx0 = max(0, cy - side // 2), max(0, cx - side // 2)
            crop = img[cy0 : cy0 + side, cx0 : cx0 + side]
            inside = np.zeros(img.shape[:2], bool)
            inside[cy0 : cy0 + side, cx0 : cx0 + side] = seg.probability(crop) > 0.5
            box = np.zeros_like(inside)
            box[y0:y1, x0:x1] = True
            m = inside & box
            n, labels, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8))
            if n > 1:
                m = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            photo_masks[name].append(m)
            ys, xs = np.nonzero(m)
            sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
            if name == "bus.jpg":
                people.append((img[sl], m[sl]))
    return people, photo_masks


def background(rng: np.random.Generator) -> np.ndarray:
    strip = load("bus.jpg")[:380]
    tile = np.concatenate([strip, strip[::-1]], axis=0)
    tile = np.concatenate([tile, tile[:, ::-1], tile], axis=1)
    y, x = rng.integers(0, tile.shape[0] - H + 1), rng.integers(0, tile.shape[1] - W + 1)
    out = tile[y : y + H, x : x + W].astype(np.float32) * rng.uniform(0.8, 1.15)
    return np.clip(out, 0, 255).astype(np.uint8)


def compose(people, rng, n_people: tuple[int, int], heights: tuple[float, float]):
    """Paste people (non-overlapping) into a background; returns the frame and one GT mask per person."""
    frame, masks, taken = background(rng), [], np.zeros((H, W), bool)
    for _ in range(int(rng.integers(n_people[0], n_people[1] + 1))):
        for _attempt in range(50):
            rgb, m = people[int(rng.integers(len(people)))]
            th = int(rng.uniform(*heights))
            tw = max(1, round(m.shape[1] * th / m.shape[0]))
            if tw >= W or th > H:
                continue
            x, y = int(rng.integers(0, W - tw)), int(rng.integers(max(0, H // 3 - th // 2), H - th + 1))
            if taken[y : y + th, x : x + tw].any():
                continue
            rgb_s = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)
            m_s = cv2.resize(m.astype(np.uint8), (tw, th), interpolation=cv2.INTER_NEAREST).astype(bool)
            if rng.random() < 0.5:
                rgb_s, m_s = rgb_s[:, ::-1], m_s[:, ::-1]
            region = frame[y : y + th, x : x + tw]
            region[m_s] = rgb_s[m_s]
            full = np.zeros((H, W), bool)
            full[y : y + th, x : x + tw] = m_s
            masks.append(full)
            taken[max(0, y - 8) : y + th + 8, max(0, x - 8) : x + tw + 8] = True
            break
    return frame, masks


def score(seg, judge, frames) -> dict[str, float]:
    rec, vis, reseg, selfres, tp, area, ms = [], [], [], [], 0, 0, []
    for frame, masks in frames:
        t = time.perf_counter()
        mask = seg.segment(frame).mask
        ms.append(1000 * (time.perf_counter() - t))
        dil = dilate_mask(mask)
        bg = make_background_only(frame, mask)
        judged = judge.segment(bg).mask
        selfres.append(seg.segment(bg).mask.mean())
        anyone = np.logical_or.reduce(masks)
        tp += (mask & cv2.dilate(anyone.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)).sum()
        area += mask.sum()
        for m in masks:
            rec.append((mask & m).sum() / m.sum())
            vis.append((m & ~dil).sum() / m.sum())
            reseg.append((judged & m).sum() / m.sum())
    rec, vis, reseg = map(np.asarray, (rec, vis, reseg))
    return dict(
        recall=rec.mean(),
        found=(rec >= 0.5).mean(),
        precision=tp / max(area, 1),
        visible=vis.mean(),
        left=(vis > 0.3).mean(),
        reseg=reseg.mean(),
        self=float(np.mean(selfres)),
        ms=float(np.median(ms)),
        people=len(rec),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=12, help="composed frames per kind")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    judge = get_segmenter("mediapipe")
    people, photo_masks = cutouts(judge)
    sets = {
        "photo": [(load(name), photo_masks[name]) for name in PEOPLE],
        "close-up": [compose(people, rng, (1, 2), (0.55 * H, 0.95 * H)) for _ in range(args.frames)],
        "wide": [compose(people, rng, (3, 5), (60, 150)) for _ in range(args.frames)],
    }
    head = f"{'frames':9s}{'method':32s}{'people':>7s}{'recall':>8s}{'found':>7s}{'precis':>8s}"
    print(head + f"{'visible':>9s}{'left':>6s}{'reseg':>7s}{'self':>7s}{'ms':>7s}")
    for kind, frames in sets.items():
        for label, opts in METHODS.items():
            r = score(get_segmenter("mediapipe", **opts), judge, frames)
            print(
                f"{kind:9s}{label:32s}{r['people']:7d}{r['recall']:8.3f}{r['found']:7.2f}{r['precision']:8.3f}"
                f"{r['visible']:9.3f}{r['left']:6.2f}{r['reseg']:7.3f}{r['self']:7.3f}{r['ms']:7.0f}"
            )


if __name__ == "__main__":
    main()
