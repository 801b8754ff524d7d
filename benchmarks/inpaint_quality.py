"""How close is each background-only frame to the true scene behind the person? Prints a table.

Scored inside the hidden region (the inflated mask: the frame's own, or the clip's union) against the clean
background plate, for Telea, Navier-Stokes and the temporal fill, at frame and clip mask scope:
  - synth still / synth pan: `bodyscene synth` clips (decoded from their H.264 videos, as `prepare` reads them)
    with their ground-truth masks and plates (DATA/plates/), a still camera or `synth.camera_pan` px per frame;
  - real 640x360 pan: a person cut out of bus.jpg (the selfie model on a tight crop, as tests/helpers_seg.py
    does) walking 10 px per frame across a real street (mirror-tiled bus.jpg rows) panned 2 px per frame; the
    truth is the pasted cut-out and the street crop.
PSNR and SSIM (Wang et al. 2004: Gaussian window sigma 1.5, on grey levels; the mean of the SSIM map over the
region) inside the region; share = the region's share filled from other frames; ms/frame = making the
background-only frame (for temporal including its share of the clip's motion estimation), one process.

With --prepare it also times `bodyscene prepare` end to end on the real clips written as HAA500-named videos
(mediapipe segmenter, every frame a stimulus, residual pass off): seconds per frame, wall and CPU.

    .venv/bin/python benchmarks/inpaint_quality.py [--clips 6] [--frames 8] [--size 128] [--prepare]
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

from bodyscene.config import PrepareConfig, SynthConfig  # noqa: E402
from bodyscene.data.readers import read_list_layout  # noqa: E402
from bodyscene.data.synth import generate  # noqa: E402
from bodyscene.data.video import read_frames, write_video  # noqa: E402
from bodyscene.stimuli.background import plan_clip  # noqa: E402
from bodyscene.stimuli.masks import inpaint  # noqa: E402

METHODS = ("telea", "ns", "temporal")
SCOPES = ("frame", "clip")


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wang et al. 2004 SSIM per pixel on grey levels (Gaussian window, sigma 1.5, K1 0.01, K2 0.03)."""
    a, b = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float64) for x in (a, b))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x):
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    err = np.mean((a[where].astype(np.float64) - b[where].astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(err, 1e-9)))


def score_clip(frames, masks, plates, cfg: PrepareConfig) -> tuple[list[tuple[float, float, float]], float]:
    """(psnr, ssim, temporal share) per frame, and the seconds it took to make all background-only frames."""
    start = time.process_time()
    plan = plan_clip(frames, masks, cfg)
    made = {}
    for i in sorted(frames):
        region, background, share = plan.background(i, masks[i])
        if background is None:
            background = inpaint(frames[i], region, plan.method, cfg.inpaint_radius)
        made[i] = (region, background, share or 0.0)
    seconds = time.process_time() - start
    scores = []
    for i, (region, background, share) in made.items():
        if region.any():
            scores.append((psnr(background, plates[i], region), float(ssim_map(background, plates[i])[region].mean()),
                           share))  # fmt: skip
    return scores, seconds


def synth_clips(root: Path, n: int, frames: int, size: int, pan: float):
    cfg = SynthConfig(classes=max(2, n // 2), scene_types=2, train_clips=1, val_clips=0, test_clips=1,
                      frames=frames, size=size, camera_pan=pan, seed=0)  # fmt: skip
    generate(cfg, root)
    for clip in read_list_layout(root)[1][:n]:
        folder = Path(*Path(clip.rel).with_suffix("").parts[1:])
        decoded = read_frames(clip.path)
        masks = {t: cv2.imread(str(root / "masks" / folder / f"{t:04d}.png"), 0) > 127 for t in decoded}
        plates = {t: cv2.imread(str(root / "plates" / folder / f"{t:04d}.png"))[..., ::-1] for t in decoded}
        yield decoded, masks, plates


def walker_clip(frames: int, seed: int, size=(360, 640), pan: float = 2.0, speed: int = 10):
    """A real person cut-out walking across a real street, the camera panning: (frames, masks, plates) dicts."""
    from bodyscene.segment import get_segmenter
    from helpers_seg import street, wide_shot

    shot, cut = wide_shot(get_segmenter("mediapipe"), height=200 - 20 * seed, size=size)
    ys, xs = np.nonzero(cut)
    person, cut = (
        shot[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
        cut[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
    )
    h, w = size
    wide = street(h + 40, w + int(pan * frames) + 60 + 30 * seed)[20 + seed : 20 + seed + h]
    out = ({}, {}, {})
    for t in range(frames):
        plate = np.ascontiguousarray(wide[:, int(pan * t) + 30 * seed : int(pan * t) + 30 * seed + w])
        y, x = h - person.shape[0] - 15, 60 + speed * t + 40 * seed
        frame, mask = plate.copy(), np.zeros((h, w), bool)
        frame[y : y + person.shape[0], x : x + person.shape[1]][cut] = person[cut]
        mask[y : y + person.shape[0], x : x + person.shape[1]] = cut
        out[0][t], out[1][t], out[2][t] = frame, mask, plate
    return out


def quality_table(data: dict[str, list]) -> list[str]:
    lines = ["| data | scope | method | PSNR dB | SSIM | temporal share | ms/frame |", "|---|---|---|---|---|---|---|"]
    for name, clips in data.items():
        for scope in SCOPES:
            for method in METHODS:
                cfg = PrepareConfig(mask_scope=scope, inpaint=method, inpaint_radius=5)
                scores, seconds, n = [], 0.0, 0
                for frames, masks, plates in clips:
                    s, sec = score_clip(frames, masks, plates, cfg)
                    scores += s
                    seconds += sec
                    n += len(frames)
                p, q, share = np.mean(scores, axis=0)
                lines.append(
                    f"| {name} | {scope} | {method} | {p:.1f} | {q:.3f} | {share:.2f} | {1000 * seconds / n:.0f} |"
                )
    return lines


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def prepare_table(real: list, tmp: Path) -> list[str]:
    from bodyscene.stimuli.make import prepare

    root = tmp / "haa500"
    for k, (frames, _, _) in enumerate(real):
        number = "000" if k % 2 == 0 else "017"
        write_video(
            root / "video" / f"walk{k // 2}" / f"walk{k // 2}_{number}.mp4", [frames[t] for t in sorted(frames)]
        )
    n = sum(len(c[0]) for c in real)
    lines = ["| scope | method | s/frame (wall) | CPU s/frame |", "|---|---|---|---|"]
    for scope in SCOPES:
        for method in METHODS:
            cfg = PrepareConfig(layout="haa500", segmenter="mediapipe", mask_scope=scope, inpaint=method,
                                inpaint_radius=5, frames_per_clip="all", eval_frames_per_clip="all", residual=False)  # fmt: skip
            wall, cpu = time.perf_counter(), cpu_seconds()
            prepare(root, tmp / f"stim-{scope}-{method}", cfg)
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
            lines.append(f"| {scope} | {method} | {wall / n:.2f} | {cpu / n:.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=6, help="synthetic clips per condition")
    ap.add_argument("--frames", type=int, default=8, help="frames per synthetic clip")
    ap.add_argument("--size", type=int, default=128, help="synthetic frame size")
    ap.add_argument("--real-clips", type=int, default=2)
    ap.add_argument("--real-frames", type=int, default=12)
    ap.add_argument("--prepare", action="store_true", help="also time `prepare` end to end on the real clips")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = {
            "synth still": list(synth_clips(tmp / "still", args.clips, args.frames, args.size, 0.0)),
            "synth pan 1.5 px": list(synth_clips(tmp / "pan", args.clips, args.frames, args.size, 1.5)),
            "real 640x360 pan": [walker_clip(args.real_frames, k) for k in range(args.real_clips)],
        }
        print("\n".join(quality_table(data)))
        if args.prepare:
            print()
            print("\n".join(prepare_table(data["real 640x360 pan"], tmp)))


if __name__ == "__main__":
    main()
