"""Controlled corruption of person masks, for the seg-noise experiment: how much do the results depend on a
perfect segmentation?

Applied in `prepare` to the segmenter's mask before the stimuli are made (`prepare.mask_noise`), so body-only and
background-only frames show the errors a worse segmenter would make. `level` is a share in [0, 1]:

- `erode` / `dilate`: the boundary moves in / out by k = round(level * r) px, r the radius of a disc of the mask's
  area, so a level means the same relative error at any resolution (at least 1 px when level > 0).
- `flip`: that share of the pixels in a band of `band_px` on either side of the boundary switch person <-> not.
- `drop`: that share of frames loses its mask entirely (body-only goes black, background-only keeps the person).

Noise is a pure function of (settings, stimulus id): a rerun makes the same corruption.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from bodyscene.config import MaskNoiseConfig


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def boundary_shift_px(mask: np.ndarray, level: float) -> int:
    if level <= 0 or not mask.any():
        return 0
    radius = float(np.sqrt(mask.sum() / np.pi))
    return max(1, round(level * radius))


def boundary_band(mask: np.ndarray, band_px: int) -> np.ndarray:
    """Pixels within `band_px` of the mask boundary, on either side."""
    m = mask.astype(np.uint8)
    return cv2.dilate(m, _disc(band_px)).astype(bool) & ~cv2.erode(m, _disc(band_px)).astype(bool)


def corrupt_mask(mask: np.ndarray, cfg: MaskNoiseConfig, key: str) -> np.ndarray:
    """The mask with `cfg`'s noise; `key` (the stimulus id) seeds the randomness of this frame."""
    if cfg.level <= 0:
        return mask.copy()
    rng = np.random.default_rng([cfg.seed, zlib.crc32(key.encode())])
    if cfg.kind == "drop":
        return np.zeros_like(mask) if rng.random() < cfg.level else mask.copy()
    if cfg.kind in ("erode", "dilate"):
        k = boundary_shift_px(mask, cfg.level)
        if k == 0:
            return mask.copy()
        op = cv2.erode if cfg.kind == "erode" else cv2.dilate
        return op(mask.astype(np.uint8), _disc(k)).astype(bool)
    band = boundary_band(mask, cfg.band_px)
    flip = band & (rng.random(mask.shape) < cfg.level)
    return mask ^ flip


def applies_to(cfg: MaskNoiseConfig | None, split: str) -> bool:
    return cfg is not None and cfg.level > 0 and split in cfg.splits
