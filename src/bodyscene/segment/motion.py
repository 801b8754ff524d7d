"""A segmenter with no weights: the person is what moves against the scene ("Spelke objects": Spelke 1990).

For frame t and each neighbour s within `radius` frames (t-2 .. t+2 by default):
1. the camera's global motion from t to s: sparse corners (Shi-Tomasi) tracked with pyramidal Lucas-Kanade,
   a similarity (`compensate: similarity`, pan + zoom + roll) or homography fitted with RANSAC, so the minority
   of tracks on the person are outliers; frame s is warped onto frame t with it;
2. dense optical flow from t to the warped s (OpenCV DIS, Kroeger et al. 2016): what is left is motion against the
   scene; pixels the warp had no data for count as still.
The speeds of all neighbours are averaged (temporal smoothing), thresholded at
`max(threshold_px, median + relative * 1.4826 * MAD)` of the frame's own speeds (a still scene's residual is
noise), cleaned with a morphological opening then closing, holes filled, and only the `max_regions` largest
connected regions of at least `min_area` of the frame are kept. `refine: grabcut` then grows the moving parts to
the colour region they belong to (cv2.grabCut, seeded with the motion mask as probable person and the pixels far
from it as scene), since a limb that moves is attached to a torso that may not.

Prepare calls `segment(frame, ref)` per sampled frame; the neighbours are decoded from the clip `ref` names
(the last clip's frames are kept, so sampling many frames of one clip decodes each once). `motion_mask` is the
same algorithm on frames in memory. What it cannot see: a person who stands still (no motion, no mask), and
anything else that moves (a second mover, waving trees) is person to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from bodyscene.data.video import count_frames, read_frames
from bodyscene.errors import BodySceneError
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, register

CHANGE_LEVELS = 6  # grey levels of difference that count as a change (above H.264's noise at low CRF)
Compensate = Literal["similarity", "homography", "none"]
Refine = Literal["none", "grabcut"]


def _grey(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)) if frame.ndim == 3 else frame


def camera_motion(a: np.ndarray, b: np.ndarray, model: Compensate = "similarity") -> np.ndarray | None:
    """3 x 3 matrix taking frame a's pixel coordinates to frame b's (the scene's motion), or None when too few
    corners could be tracked to fit one (then no compensation)."""
    if model == "none":
        return np.eye(3)
    h, w = a.shape
    corners = cv2.goodFeaturesToTrack(a, maxCorners=400, qualityLevel=0.01, minDistance=max(3, min(h, w) // 40))
    if corners is None or len(corners) < 8:
        return None
    moved, ok, _ = cv2.calcOpticalFlowPyrLK(a, b, corners, None, winSize=(21, 21), maxLevel=3)
    good = ok.ravel() == 1
    src, dst = corners[good].reshape(-1, 2), moved[good].reshape(-1, 2)
    if len(src) < 8:
        return None
    thresh = max(1.0, 0.005 * max(h, w))  # RANSAC inlier distance, px
    if model == "homography":
        fitted, _ = cv2.findHomography(src, dst, cv2.RANSAC, thresh)
    else:
        m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=thresh)
        fitted = None if m is None else np.vstack([m, [0, 0, 1]])
    # RANSAC can lock onto a large, well-textured person over a plain scene, or onto tracks the person drags
    # along at its edges. A still camera and a plain pan are candidates too, and the one that lines up the most
    # of the frame's area wins (the truncated absolute grey-level difference after warping: the person is the
    # minority of pixels, a plain sky lines up under any of them)
    shift = np.median(dst - src, axis=0)
    candidates = [np.eye(3), np.array([[1, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1]])]
    candidates += [fitted] if fitted is not None else []
    return min(candidates, key=lambda m: _misalignment(a, b, m))  # (ties: the simpler model, listed first)


def _warp_onto(b: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """b resampled at m(p) for each pixel p of the other frame, and where that had data."""
    h, w = b.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(b, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (w, h), flags=flags)
    return warped, cv2.erode(inside, np.ones((5, 5), np.uint8)) == 255


def _misalignment(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    warped, valid = _warp_onto(b, m)
    diff = np.minimum(cv2.absdiff(a, warped), 24)
    return float(diff[valid].mean()) if valid.mean() > 0.5 else float("inf")


def _corners(h: int, w: int) -> np.ndarray:
    return np.float32([[[0, 0]], [[w - 1, 0]], [[0, h - 1]], [[w - 1, h - 1]]])


def residual_speed(a: np.ndarray, b: np.ndarray, compensate: Compensate = "similarity") -> np.ndarray:
    """Per-pixel speed (px per frame) at frame a's pixels of what moves against the scene between grey a and b."""
    h, w = a.shape
    valid = np.ones((h, w), bool)
    m = camera_motion(a, b, compensate)
    # (a warp below a tenth of a pixel would only blur b, and the blur would read as motion)
    if m is not None and np.abs(cv2.perspectiveTransform(_corners(h, w), m) - _corners(h, w)).max() > 0.1:
        b, valid = _warp_onto(b, m)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(a, np.ascontiguousarray(b), None)
    speed = np.hypot(flow[..., 0], flow[..., 1])
    # Dense flow fills plain areas from their neighbours, so a moving person drags a halo of flow into a plain sky
    # or wall beside it; only where the aligned frames differ (within a few pixels) is there evidence of motion
    px = max(1, round(max(h, w) / 50))
    changed = cv2.absdiff(cv2.GaussianBlur(a, (3, 3), 0), cv2.GaussianBlur(b, (3, 3), 0)) > CHANGE_LEVELS
    changed = cv2.dilate(changed.astype(np.uint8), np.ones((2 * px + 1,) * 2, np.uint8)) > 0
    speed[~(valid & changed)] = 0.0
    return speed


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Pixels not reachable from the border through the background are inside the mask."""
    h, w = mask.shape
    flood = np.pad(mask.astype(np.uint8), 1)
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    return mask | (flood[1:-1, 1:-1] == 0)


def clean_mask(
    moving: np.ndarray, open_px: int, close_px: int, max_regions: int, min_area: float
) -> tuple[np.ndarray, int]:
    """Opening (drops specks), closing (joins a limb's pieces), hole filling, then the largest regions: (mask, n)."""
    m = moving.astype(np.uint8)
    if open_px > 0:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * open_px + 1,) * 2))
    if close_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * close_px + 1,) * 2)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel)
    mask = _fill_holes(m > 0)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = [1 + i for i in np.argsort(-areas)[:max_regions] if areas[i] >= min_area * mask.size]
    return np.isin(labels, keep), len(keep)


def grabcut_refine(frame: np.ndarray, mask: np.ndarray, band_px: int, iterations: int = 3) -> np.ndarray:
    """Grow a motion mask to the colour region it belongs to: inside = probable person, within `band_px` of it
    = probable scene, farther = scene; GrabCut (Rother et al. 2004) decides the probable pixels."""
    if not mask.any() or mask.all():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band_px + 1,) * 2)
    near = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    gc = np.full(mask.shape, cv2.GC_BGD, np.uint8)
    gc[near] = cv2.GC_PR_BGD
    gc[mask] = cv2.GC_PR_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(frame[..., ::-1]), gc, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a degenerate colour model (e.g. a flat frame): keep the motion mask
        return mask
    return (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)


@register("motion")
class MotionSegmenter(Segmenter):
    """`--segmenter motion`; every option below can be set with `prepare.segmenter_options`."""

    name = "motion"
    single_frame = False  # needs the clip's neighbouring frames

    def __init__(
        self,
        radius: int = 2,
        compensate: Compensate = "similarity",
        threshold_px: float = 0.5,
        relative: float = 4.0,
        open_px: int = 1,
        close_px: int = 3,
        max_regions: int = 1,
        min_area: float = 0.001,
        refine: Refine = "grabcut",
        refine_band: float = 0.08,
        work_size: int | None = None,
    ):
        checks = {
            "radius": radius >= 1, "compensate": compensate in ("similarity", "homography", "none"),
            "threshold_px": threshold_px >= 0, "relative": relative >= 0, "open_px": open_px >= 0,
            "close_px": close_px >= 0, "max_regions": max_regions >= 1, "min_area": 0 <= min_area < 1,
            "refine": refine in ("none", "grabcut"), "refine_band": 0 < refine_band < 1,
            "work_size": work_size is None or work_size >= 32,
        }  # fmt: skip
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            value = locals()[bad[0]]
            raise BodySceneError(f"motion segmenter: {bad[0]}={value!r} is out of range (see segment/motion.py)")
        self.radius, self.compensate, self.threshold_px, self.relative = radius, compensate, threshold_px, relative
        self.open_px, self.close_px, self.max_regions, self.min_area = open_px, close_px, max_regions, min_area
        self.refine, self.refine_band, self.work_size = refine, refine_band, work_size
        self._clip: tuple[Path, dict[int, np.ndarray], int] | None = None  # (video, decoded frames, frame count)

    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        if ref is None:
            raise BodySceneError(
                "the motion segmenter needs the clip a frame is from (it compares neighbouring frames)"
            )
        neighbours = self._neighbours(ref, frame)
        return self.segment_at({ref.frame_index: frame, **neighbours}, ref.frame_index)

    def segment_at(self, frames: Mapping[int, np.ndarray], index: int) -> Segmentation:
        """The motion mask of frames[index] from the other frames within `radius` (RGB uint8, one clip)."""
        frame = frames[index]
        others = [frames[s] for s in sorted(frames) if s != index and abs(s - index) <= self.radius]
        if not others:
            raise BodySceneError("the clip has a single frame; the motion segmenter needs at least two")
        h, w = frame.shape[:2]
        scale = 1.0 if self.work_size is None else min(1.0, self.work_size / max(h, w))

        def prep(f: np.ndarray) -> np.ndarray:
            g = _grey(f)
            return (
                g if scale == 1.0 else cv2.resize(g, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            )

        a = prep(frame)
        speed = np.mean([residual_speed(a, prep(o), self.compensate) for o in others], axis=0)
        med = float(np.median(speed))
        mad = float(np.median(np.abs(speed - med)))
        thresh = max(self.threshold_px * scale, med + self.relative * 1.4826 * mad)
        s = max(h, w) * scale / 100  # morphology sizes are given for a 100-px frame and scale with it
        mask, n = clean_mask(
            speed > thresh, round(self.open_px * s), round(self.close_px * s), self.max_regions, self.min_area
        )
        if scale != 1.0:
            mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        if self.refine == "grabcut" and n:
            mask = grabcut_refine(frame, mask, max(2, round(self.refine_band * max(h, w))))
            mask, n = clean_mask(mask, 0, 0, self.max_regions, self.min_area)
        return Segmentation(mask, n)

    def _neighbours(self, ref: FrameRef, frame: np.ndarray) -> dict[int, np.ndarray]:
        path = ref.data_root / ref.rel
        if self._clip is None or self._clip[0] != path:
            self._clip = (path, {}, count_frames(path))
        _, cache, n_frames = self._clip
        t = ref.frame_index
        wanted = [s for s in range(max(0, t - self.radius), min(n_frames, t + self.radius + 1)) if s != t]
        missing = [s for s in wanted if s not in cache]
        if missing:
            cache.update(read_frames(path, missing))  # (decoded as rgb24: H x W x 3 uint8, as prepare's frames)
        out = {s: cache[s] for s in wanted}
        for s, f in out.items():
            if f.shape != frame.shape:
                raise BodySceneError(f"{path}: frame {s} is {f.shape[1::-1]}, frame {t} {frame.shape[1::-1]}")
        return out
