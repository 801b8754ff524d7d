"""Optical flow as an image, for the flow experiment's third stream (`kind: domainnet-flow`).

For a sampled frame t we compute dense flow from frame t to frame t+1 of the clip (t-1 -> t for the last frame)
with OpenCV's DIS optical flow (Kroeger et al. 2016; weight-free, fast on a CPU), on grey levels, and encode it
the usual way as a colour image: hue = direction, brightness = speed (full brightness at FULL_SCALE of the frame
width per frame), so no motion is black. `prepare` then makes the three conditions of the flow image exactly as of
the frame (stimuli/masks.py): body-only flow keeps the motion inside the person mask, background-only flow has the
dilated person region inpainted, so no condition leaks motion it should not show.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from bodyscene.data.video import read_frames

FULL_SCALE = 0.05  # speed (share of the frame width per frame) shown at full brightness


def partner_index(index: int, n_frames: int) -> int:
    """The frame paired with `index` for its flow: the next one, or the previous one at the end of the clip."""
    if index + 1 < n_frames:
        return index + 1
    return max(0, index - 1)


def read_with_partners(
    path: str | Path, indices: Sequence[int], n_frames: int, flow: bool
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The sampled frames, and (when `flow`) each one's flow partner, in one decoding pass."""
    wanted = set(indices) | ({partner_index(i, n_frames) for i in indices} if flow else set())
    frames = read_frames(path, sorted(wanted))
    sampled = {i: frames[i] for i in indices if i in frames}
    partners = {i: frames.get(partner_index(i, n_frames), frames[i]) for i in sampled} if flow else {}
    return sampled, partners


def dense_flow(frame: np.ndarray, partner: np.ndarray, forward: bool = True) -> np.ndarray:
    """H x W x 2 float32 flow (dx, dy) in pixels at frame's pixels, towards partner; negated when the partner is
    the previous frame (`forward=False`), so it always points forward in time."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    a, b = (np.ascontiguousarray(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)) for f in (frame, partner))
    flow = dis.calc(a, b, None)
    return flow if forward else -flow


def flow_to_rgb(flow: np.ndarray) -> np.ndarray:
    """Hue = direction, value = speed (saturating at FULL_SCALE of the width), saturation full; no motion is black."""
    speed, angle = cv2.cartToPolar(flow[..., 0], flow[..., 1], angleInDegrees=True)
    hsv = np.zeros((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)  # OpenCV hue runs 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(speed / (FULL_SCALE * flow.shape[1]) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def flow_image(frame: np.ndarray, partner: np.ndarray, forward: bool = True) -> np.ndarray:
    return flow_to_rgb(dense_flow(frame, partner, forward))
