"""How well does the weight-free motion segmenter find the person? Prints a table.

  - synth still / synth pan: `bodyscene synth` clips at the demo size (96 px, 8 frames, 10 classes), decoded from
    their H.264 videos as `prepare` reads them, scored against the ground-truth masks; still camera, or
    `synth.camera_pan` px per frame (the figure is tracked, the scene slides);
  - real 640x360 pan: a real person cut out of bus.jpg walking 10 px per frame across a real street panned 2 px
    per frame (benchmarks/inpaint_quality.py's clip); truth = the pasted cut-out; also the agreement (IoU) of the
    motion mask with the default segmenter's (mediapipe).
IoU per frame, averaged (an empty mask on a frame with a person scores 0); found = share of frames with IoU >= 0.5;
ms/frame = CPU time of segmenting one frame (for motion: its flows to the neighbours, the decoding excluded).

    .venv/bin/python benchmarks/motion_segmenter.py [--clips 2] [--real 3]
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

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from bodyscene.config import SynthConfig  # noqa: E402
from bodyscene.data.readers import read_list_layout  # noqa: E402
from bodyscene.data.synth import generate  # noqa: E402
from bodyscene.data.video import read_frames  # noqa: E402
from bodyscene.segment import get_segmenter  # noqa: E402

VARIANTS = {
    "motion (default: radius 2, grabcut)": {},
    "motion, no grabcut": {"refine": "none"},
    "motion, radius 1": {"radius": 1},
    "motion, no compensation": {"compensate": "none"},
}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def synth_clips(root: Path, clips: int, pan: float):
    cfg = SynthConfig(classes=10, scene_types=5, train_clips=1, val_clips=0, test_clips=clips, frames=8, size=96,
                      camera_pan=pan, seed=0)  # fmt: skip
    generate(cfg, root)
    for clip in read_list_layout(root)[1]:
        if clip.split != "test":
            continue
        folder = Path(*Path(clip.rel).with_suffix("").parts[1:])
        frames = read_frames(clip.path)
        masks = {t: cv2.imread(str(root / "masks" / folder / f"{t:04d}.png"), 0) > 127 for t in frames}
        yield frames, masks


def score(clips: list, options: dict) -> tuple[float, float, float, float]:
    """(mean IoU with the truth, found, mean IoU with the reference masks when a clip has them else nan, ms/frame)."""
    seg = get_segmenter("motion", **options)
    ious, agree, seconds, n = [], [], 0.0, 0
    for frames, masks, *ref in clips:
        for t in sorted(frames):
            start = time.process_time()
            mask = seg.segment_at(frames, t).mask
            seconds += time.process_time() - start
            n += 1
            ious.append(iou(mask, masks[t]))
            if ref:
                agree.append(iou(mask, ref[0][t]))
    ious = np.array(ious)
    return (
        float(ious.mean()),
        float((ious >= 0.5).mean()),
        float(np.mean(agree)) if agree else np.nan,
        1000 * seconds / n,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=2, help="synthetic test clips per class")
    ap.add_argument("--real", type=int, default=3, help="real 640x360 walker clips (8 frames each)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        data["synth still (96 px)"] = list(synth_clips(Path(tmp) / "still", args.clips, 0.0))
        data["synth pan 2 px/frame (96 px)"] = list(synth_clips(Path(tmp) / "pan", args.clips, 2.0))
    from inpaint_quality import walker_clip

    mediapipe = get_segmenter("mediapipe")
    real, mp_ious, mp_seconds = [], [], 0.0
    for k in range(args.real):
        frames, masks, _ = walker_clip(8, k)
        ref = {}
        for t, f in frames.items():
            start = time.process_time()
            ref[t] = mediapipe.segment(f).mask
            mp_seconds += time.process_time() - start
            mp_ious.append(iou(ref[t], masks[t]))
        real.append((frames, masks, ref))
    data["real 640x360 pan"] = real
    print("| data | method | IoU | found | agreement with mediapipe | ms/frame |")
    print("|---|---|---|---|---|---|")
    for name, clips in data.items():
        for label, options in VARIANTS.items():
            m, found, agree, ms = score(clips, options)
            agree_s = "" if np.isnan(agree) else f"{agree:.3f}"
            print(f"| {name} | {label} | {m:.3f} | {found:.2f} | {agree_s} | {ms:.0f} |")
        if clips is real:
            ms = 1000 * mp_seconds / len(mp_ious)
            found = float((np.array(mp_ious) >= 0.5).mean())
            print(f"| {name} | mediapipe (default segmenter) | {np.mean(mp_ious):.3f} | {found:.2f} | 1 | {ms:.0f} |")


if __name__ == "__main__":
    main()
