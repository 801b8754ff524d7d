"""The default segmenter: MediaPipe selfie segmentation, whose model ships inside the mediapipe==0.10.21 wheel
(so it runs offline), made to hold up on wide shots by segmenting a pyramid of overlapping tiles.

The selfie model (Bazarevsky & Grishchenko 2020, "MediaPipe Selfie Segmentation") squeezes its input to
256x256 and was trained on close-ups. On a wide shot a person 80 px tall in 1280x720 becomes ~28x16 px there:
it is missed and random textures are marked instead. Detecting people first and segmenting crops was the first
plan, but OpenCV's HOG people detector found only 7 of 17 pasted people, and the pose detector in the wheel is
single-person. So the model is shown the frame at the scales it expects:
  1. tiles: square tiles of side `tile_factor * min_height` (a `min_height` px person fills ~40% of a tile, the
     framing the model works at), overlapping by half; then tiles twice, four times ... as large, while they
     fit in the frame. Within a level a pixel is person when at least half of the tiles covering it say so: a
     real person is seen from every tile around them, a texture mistaken for one usually from a single tile
     (the vote raised precision on wide shots from 0.58 to 0.86 for a little recall).
The mask is the union of the levels. Merging in the whole-frame mask's large blobs (`closeup_fraction=0.03`:
blobs of at least 3% of the frame, close-ups being the model's home ground) was measured and left off by default:
on close-ups (people 55-95% of the frame height) the pyramid alone found the same share of people's pixels
(0.976 vs 0.978) with higher precision and fewer leftovers after inpainting (benchmarks/segmenter_quality.py).
`mode="whole"` is the plain model on the whole frame, for comparison.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, register

MODES = ("tiles", "whole")


def tile_starts(length: int, tile: int) -> list[int]:
    """Starts of tiles of side `tile` overlapping by half that cover [0, length) (the last one flush with
    the end)."""
    if tile >= length:
        return [0]
    starts = list(range(0, length - tile + 1, max(1, tile // 2)))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def tile_sizes(h: int, w: int, min_height: int, tile_factor: float) -> list[int]:
    """Tile sides from the smallest person's framing, doubling, while a tile still fits in the frame."""
    sizes, side = [], round(tile_factor * min_height)
    while side < min(h, w):
        sizes.append(side)
        side *= 2
    return sizes


@register("mediapipe")
class MediaPipeSegmenter(Segmenter):
    name = "mediapipe"

    def __init__(
        self,
        mode: str = "tiles",
        threshold: float = 0.5,
        min_height: int = 60,
        tile_factor: float = 2.5,
        closeup_fraction: float | None = None,
        model: str = "general",
    ):
        if mode not in MODES:
            raise BodySceneError(f"mediapipe segmenter: mode={mode!r}; choose one of {', '.join(MODES)}")
        if model not in ("general", "landscape"):
            raise BodySceneError(f"mediapipe segmenter: model={model!r}; choose general (256x256) or landscape")
        if min_height < 8:
            raise BodySceneError(f"mediapipe segmenter: min_height={min_height} px is too small; use >= 8")
        self.mode, self.threshold, self.model = mode, threshold, model
        self.min_height, self.tile_factor, self.closeup_fraction = min_height, tile_factor, closeup_fraction
        self._graph = None  # built lazily, so each worker process builds its own

    def probability(self, image: np.ndarray) -> np.ndarray:
        """The selfie model's person probability (H x W float32 in [0, 1]) for an RGB uint8 image."""
        if self._graph is None:
            os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ INFO logging is noise here
            from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

            self._graph = SelfieSegmentation(model_selection=0 if self.model == "general" else 1)
        return self._graph.process(np.ascontiguousarray(image)).segmentation_mask

    def tiled_mask(self, frame: np.ndarray, tile: int) -> np.ndarray:
        """Pixels that at least half of the tiles covering them call person."""
        h, w = frame.shape[:2]
        votes = np.zeros((h, w), np.uint8)
        cover = np.zeros((h, w), np.uint8)
        for y in tile_starts(h, tile):
            for x in tile_starts(w, tile):
                sl = (slice(y, y + tile), slice(x, x + tile))
                votes[sl] += self.probability(frame[sl]) > self.threshold
                cover[sl] += 1
        return (votes > 0) & (2 * votes >= cover)

    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        h, w = frame.shape[:2]
        mask = np.zeros((h, w), bool)
        if self.mode == "whole" or self.closeup_fraction is not None:
            whole = self.probability(frame) > self.threshold
            n, labels, stats, _ = cv2.connectedComponentsWithStats(whole.astype(np.uint8), connectivity=8)
            if self.mode == "whole":
                return Segmentation(whole, persons=n - 1)
            big = stats[:, cv2.CC_STAT_AREA] >= self.closeup_fraction * h * w
            big[0] = False
            mask = big[labels]
        for tile in tile_sizes(h, w, self.min_height, self.tile_factor):
            mask |= self.tiled_mask(frame, tile)
        return Segmentation(mask, persons=self.count_persons(mask))

    def count_persons(self, mask: np.ndarray) -> int:
        """Connected blobs at least as large as a small person (min_height tall, a third as wide, half
        filled)."""
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        return int((stats[1:, cv2.CC_STAT_AREA] >= self.min_height**2 / 6).sum())
