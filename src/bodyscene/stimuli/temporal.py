"""Temporal background fill: a hole pixel takes the scene behind the person from the clip's other frames.

The person moves, so most of the scene behind them is visible in some other frame. For each target frame, every
source frame (the `MAX_SOURCES` nearest in time among those read) is warped into the target's coordinates with a
global transform that compensates camera motion, and a hole pixel becomes the per-channel median of the sources
where that point is neither covered by the source's own (inflated) person mask nor outside its frame. What no
source uncovers falls back to Telea, which then also sees the temporally filled pixels as known context.

The global transform between consecutive frames: ORB features outside the persons, matched and fitted with a
RANSAC homography (OpenCV); when that finds too few inliers (flat or tiny frames), ECC (Evangelidis & Psarakis
2008) with a translation model; a pair neither method can align is taken as static. Transforms between distant
frames are chained from consecutive ones (cost linear in the clip length, at the price of some drift). This is the
idea of flow-guided video inpainting (e.g. Gao et al. 2020, "Flow-edge guided video completion") with one global
motion instead of a learned dense flow, and no weights.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from bodyscene.stimuli.masks import inpaint

MAX_SOURCES = 32  # nearest frames used per target: bounds the cost on long clips; more rarely uncovers more
MIN_INLIERS = 12  # RANSAC inliers below this: the homography is not trusted


def _gray(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))


def _orb_homography(a: np.ndarray, b: np.ndarray, free_a: np.ndarray, free_b: np.ndarray) -> np.ndarray | None:
    """3x3 map from a's pixels to b's from ORB matches in the person-free areas, or None when unreliable."""
    orb = cv2.ORB_create(nfeatures=1500, edgeThreshold=15, patchSize=15)
    ka, da = orb.detectAndCompute(a, free_a.astype(np.uint8) * 255)
    kb, db = orb.detectAndCompute(b, free_b.astype(np.uint8) * 255)
    if da is None or db is None or len(ka) < MIN_INLIERS or len(kb) < MIN_INLIERS:
        return None
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    if len(matches) < MIN_INLIERS:
        return None
    src = np.float32([ka[m.queryIdx].pt for m in matches])
    dst = np.float32([kb[m.trainIdx].pt for m in matches])
    h, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 2.0)
    if h is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    return h


def _ecc_translation(a: np.ndarray, b: np.ndarray, free_b: np.ndarray) -> np.ndarray | None:
    """3x3 translation from a's pixels to b's by ECC, or None when it does not converge."""
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    try:
        # ECC finds W with b(x) ~ a(W x): W maps b's pixels to a's, so the a -> b map is its inverse
        _, warp = cv2.findTransformECC(
            a.astype(np.float32), b.astype(np.float32), warp, cv2.MOTION_TRANSLATION, criteria,
            free_b.astype(np.uint8), 5,
        )  # fmt: skip
    except cv2.error:
        return None
    h = np.eye(3)
    h[:2] = warp
    return np.linalg.inv(h)


def pair_motion(a: np.ndarray, b: np.ndarray, covered_a: np.ndarray, covered_b: np.ndarray) -> np.ndarray:
    """The global transform from frame a's pixels to frame b's (RGB frames, bool person masks to ignore)."""
    ga, gb = _gray(a), _gray(b)
    h = _orb_homography(ga, gb, ~covered_a, ~covered_b)
    if h is None:
        h = _ecc_translation(ga, gb, ~covered_b)
    return np.eye(3) if h is None else h


def chain_motions(frames: list[np.ndarray], covered: list[np.ndarray]) -> list[np.ndarray]:
    """to_first[i]: the transform from frame i's pixels to frame 0's, chained from consecutive pairs."""
    to_first = [np.eye(3)]
    for i in range(1, len(frames)):
        step = pair_motion(frames[i], frames[i - 1], covered[i], covered[i - 1])  # i -> i-1
        to_first.append(to_first[-1] @ step)
    return to_first


def temporal_fill(
    frames: list[np.ndarray],
    covered: list[np.ndarray],
    target: int,
    hole: np.ndarray,
    to_first: list[np.ndarray] | None = None,
    radius: int = 5,
) -> tuple[np.ndarray, float]:
    """Frame `target` with `hole` filled from the other frames (see the module's docstring).

    frames: a clip's frames (RGB uint8, one size) in time order; covered: each frame's inflated person mask (where
    that frame does not show the scene); to_first: `chain_motions(frames, covered)`, computed here when None.
    Returns the filled frame and the share of the hole filled temporally (the rest is Telea's).
    """
    frame = frames[target]
    if not hole.any():
        return frame.copy(), 0.0
    if len(frames) < 2:  # nothing to borrow from: Telea alone
        return inpaint(frame, hole, "telea", radius), 0.0
    if to_first is None:
        to_first = chain_motions(frames, covered)
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)  # crop pixel -> target frame pixel
    nearest = sorted((s for s in range(len(frames)) if s != target), key=lambda s: abs(s - target))[:MAX_SOURCES]
    samples = np.full((len(nearest), y1 - y0, x1 - x0, 3), np.nan, np.float32)
    for k, s in enumerate(nearest):
        # target pixel -> frame 0 -> source pixel; WARP_INVERSE_MAP reads source(M p) for each crop pixel p
        m = np.linalg.inv(to_first[s]) @ to_first[target] @ shift
        size = (x1 - x0, y1 - y0)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        warped = cv2.warpPerspective(frames[s], m, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
        visible = cv2.warpPerspective(
            (~covered[s]).astype(np.uint8), m, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=0
        ).astype(bool)
        samples[k][visible] = warped[visible]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: no source shows them
        median = np.nanmedian(samples, axis=0)
    crop_hole = hole[y0:y1, x0:x1]
    got = crop_hole & ~np.isnan(median[..., 0])
    out = frame.copy()
    out[y0:y1, x0:x1][got] = np.clip(np.rint(median[got]), 0, 255).astype(np.uint8)
    rest = np.zeros((h, w), bool)
    rest[y0:y1, x0:x1] = crop_hole & ~got
    out = inpaint(out, rest, "telea", radius)
    return out, float(got.sum()) / float(crop_hole.sum())
