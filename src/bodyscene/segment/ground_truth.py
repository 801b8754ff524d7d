"""Masks from files: DATA/masks/<clip's folder>/<clip>/<frame:04d>.png (the synthetic benchmark's, or a
user's)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, register


def mask_path(ref: FrameRef, masks_dir: Path | None = None) -> Path:
    rel = Path(ref.rel)
    if rel.parts and rel.parts[0] == "videos":
        rel = Path(*rel.parts[1:])
    base = masks_dir if masks_dir is not None else ref.data_root / "masks"
    return base / rel.with_suffix("") / f"{ref.frame_index:04d}.png"


@register("ground-truth")
class GroundTruthSegmenter(Segmenter):
    name = "ground-truth"
    single_frame = False

    def __init__(self, masks_dir: str | Path | None = None):
        self.masks_dir = Path(masks_dir) if masks_dir else None

    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        if ref is None:
            raise BodySceneError("the ground-truth segmenter needs to know which clip a frame is from")
        path = mask_path(ref, self.masks_dir)
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise BodySceneError(f"{path}: ground-truth mask missing or unreadable; write one PNG per frame")
        if mask.shape != frame.shape[:2]:
            raise BodySceneError(f"{path}: mask is {mask.shape[::-1]} but the frame is {frame.shape[1::-1]}")
        binary = mask > 127
        n, _ = cv2.connectedComponents(binary.astype(np.uint8))
        return Segmentation(binary, persons=int(binary.any()) and max(1, n - 1))
