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

Video (`track_every=k`, for all frames of a clip): the pyramid makes ~190 model calls per 1280x720 frame, nearly
all on tiles with no one in them. `segment_frames` runs the full pyramid on a clip's first frame, then on each next
frame only the tiles that overlap the boxes of the people found in the previous frame (blobs of at least a small
person's area, each box grown by `track_margin` of its size, at least `track_margin_px`), at the pyramid levels
that found them (the fewest levels holding all but `track_level_share` of the full pass's mask: a close-up is seen
whole by the large tiles), and keeps the mask inside those boxes. A pixel inside a box is covered by exactly the
tiles that cover it in the full pass, with the same votes, so on a still clip the tracked mask is the full pass's
mask less at most that share and the specks no box is drawn around (tests/test_segment_tracking.py). What tracking
cannot see is a person outside every box, so the full pyramid runs again every k frames, and at once when (a) the
tracked area grows or shrinks by more than `track_area_change` times, (b) the frame changes outside the boxes over
at least a small person's area (1/8-scale grey levels differing by more than `track_motion` from the previous
frame, under no shift and under the camera's shift by phase correlation: someone walking in), or (c) the whole
frame changes (a cut). benchmarks/prepare.py measures the speed-up and the recall against the per-frame pass.

`track_mode="crop"` trades that exactness for speed: between full passes each tracked box is one crop, shown to the
model whole (one call per box per frame instead of every tile over it; the square around the box, so the model's
squeeze to a square keeps the person's proportions). A box grown by `track_margin` is the
framing the selfie model works best at: the person fills most of its input (the reference masks of
benchmarks/prepare.py are cut the same way). So the crop mask is not the pyramid's, and blobs on textures that the
pyramid mistakes for people mostly vanish from it (the model, shown such a blob whole, sees no one). The
area-change test therefore compares crop masks with crop masks: at each full pass the boxes are also cropped once,
to give the tracked frames their reference area.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, register

MODES = ("tiles", "whole")
TRACK_MODES = ("tiles", "crop")
THUMB = 8  # change detection at 1/8 scale: cheap, and blind to compression noise
CUT_LEVELS = 30.0  # mean grey-level change of the whole thumbnail that counts as a cut


def person_boxes(
    mask: np.ndarray, margin: float, margin_px: int, min_area: float = 0
) -> list[tuple[int, int, int, int]]:
    """(y0, x0, y1, x1) around each blob of `mask` of at least `min_area` px, grown by `margin` of its larger side
    (at least `margin_px`)."""
    h, w = mask.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    boxes = []
    for x, y, bw, bh, area in stats[1:]:
        if area < min_area:
            continue
        grow = max(margin_px, round(margin * max(bw, bh)))
        boxes.append((max(0, y - grow), max(0, x - grow), min(h, y + bh + grow), min(w, x + bw + grow)))
    return boxes


def box_mask(boxes: list[tuple[int, int, int, int]], shape: tuple[int, int]) -> np.ndarray:
    roi = np.zeros(shape, bool)
    for y0, x0, y1, x1 in boxes:
        roi[y0:y1, x0:x1] = True
    return roi


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """Grey levels at 1/8 scale, slightly blurred (so a sub-pixel camera drift barely changes them), float32."""
    h, w = frame.shape[:2]
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (max(1, w // THUMB), max(1, h // THUMB)), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small.astype(np.float32), (3, 3), 0.8)


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
        track_every: int | None = None,
        track_margin: float = 0.25,
        track_margin_px: int = 16,
        track_area_change: float = 1.5,
        track_motion: float | None = 24.0,
        track_level_share: float = 0.02,
        track_mode: str = "crop",
    ):
        if mode not in MODES:
            raise BodySceneError(f"mediapipe segmenter: mode={mode!r}; choose one of {', '.join(MODES)}")
        if model not in ("general", "landscape"):
            raise BodySceneError(f"mediapipe segmenter: model={model!r}; choose general (256x256) or landscape")
        if min_height < 8:
            raise BodySceneError(f"mediapipe segmenter: min_height={min_height} px is too small; use >= 8")
        if track_every is not None and track_every < 1:
            raise BodySceneError(f"mediapipe segmenter: track_every={track_every}; use k >= 1 (or null: per frame)")
        if track_area_change <= 1.0 or track_margin < 0 or track_margin_px < 0:
            raise BodySceneError("mediapipe segmenter: track_area_change must be > 1, track_margin(_px) >= 0")
        if track_mode not in TRACK_MODES:
            raise BodySceneError(
                f"mediapipe segmenter: track_mode={track_mode!r}; choose one of {', '.join(TRACK_MODES)}"
            )
        self.track_mode = track_mode
        self.track_every, self.track_margin, self.track_margin_px = track_every, track_margin, track_margin_px
        self.track_area_change, self.track_motion = track_area_change, track_motion
        self.track_level_share = track_level_share
        self.calls = 0  # model calls so far (benchmarks/prepare.py: calls per frame, per-frame vs tracked)
        self.full_passes = 0
        self.mode, self.threshold, self.model = mode, threshold, model
        self.min_height, self.tile_factor, self.closeup_fraction = min_height, tile_factor, closeup_fraction
        self._graph = None  # built lazily, so each worker process builds its own

    def probability(self, image: np.ndarray) -> np.ndarray:
        """The selfie model's person probability (H x W float32 in [0, 1]) for an RGB uint8 image."""
        if self._graph is None:
            os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ INFO logging is noise here
            from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

            self._graph = SelfieSegmentation(model_selection=0 if self.model == "general" else 1)
        self.calls += 1
        return self._graph.process(np.ascontiguousarray(image)).segmentation_mask

    def tiled_mask(
        self, frame: np.ndarray, tile: int, boxes: list[tuple[int, int, int, int]] | None = None
    ) -> np.ndarray:
        """Pixels that at least half of the tiles covering them call person (only the tiles that overlap `boxes`,
        when given: exact inside the boxes, where every covering tile overlaps one)."""
        h, w = frame.shape[:2]
        votes = np.zeros((h, w), np.uint8)
        cover = np.zeros((h, w), np.uint8)
        for y in tile_starts(h, tile):
            for x in tile_starts(w, tile):
                if boxes is not None and not any(
                    y < y1 and y + tile > y0 and x < x1 and x + tile > x0 for y0, x0, y1, x1 in boxes
                ):
                    continue
                sl = (slice(y, y + tile), slice(x, x + tile))
                votes[sl] += self.probability(frame[sl]) > self.threshold
                cover[sl] += 1
        return (votes > 0) & (2 * votes >= cover)

    def crop_track(self, frame: np.ndarray, boxes: list[tuple[int, int, int, int]]):
        """`track_mode="crop"`: each box shown to the model whole; a box keeps its person (its next box is that
        person's extent grown by the margin) or, with less than a small person's area left in it, is dropped. The
        mask, the next boxes, and the persons (one per box kept)."""
        h, w = frame.shape[:2]
        mask, kept = np.zeros((h, w), bool), []
        for y0, x0, y1, x1 in boxes:
            found = self.square_probability(frame, (y0, x0, y1, x1)) > self.threshold
            if found.sum() < self.person_area():
                continue
            mask[y0:y1, x0:x1] |= found
            ys, xs = np.nonzero(found)
            by0, bx0, by1, bx1 = y0 + ys.min(), x0 + xs.min(), y0 + ys.max() + 1, x0 + xs.max() + 1
            grow = max(self.track_margin_px, round(self.track_margin * max(by1 - by0, bx1 - bx0)))
            kept.append((max(0, by0 - grow), max(0, bx0 - grow), min(h, by1 + grow), min(w, bx1 + grow)))
        return mask, kept, len(kept)

    def square_probability(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The model's probability inside `box`, from one call on the square around it (grey where it leaves the
        frame): the model squeezes its input to a square, so a square crop keeps the person's proportions."""
        y0, x0, y1, x1 = box
        side = max(y1 - y0, x1 - x0)
        sy, sx = (y0 + y1 - side) // 2, (x0 + x1 - side) // 2
        padded = cv2.copyMakeBorder(frame, side, side, side, side, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        prob = self.probability(padded[sy + side : sy + 2 * side, sx + side : sx + 2 * side])
        return prob[y0 - sy : y1 - sy, x0 - sx : x1 - sx]

    def track_step(self, frame: np.ndarray, boxes: list[tuple[int, int, int, int]], levels: set[int] | None):
        """One tracked frame: its mask, the boxes for the next frame, and the persons in it."""
        if self.track_mode == "crop":
            return self.crop_track(frame, boxes)
        mask = self.pyramid_mask(frame, boxes, levels)[0]
        return mask, self.boxes(mask), self.count_persons(mask)

    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        if self.mode == "whole":
            whole = self.probability(frame) > self.threshold
            n, _ = cv2.connectedComponents(whole.astype(np.uint8), connectivity=8)
            return Segmentation(whole, persons=n - 1)
        mask, _ = self.pyramid_mask(frame)
        return Segmentation(mask, persons=self.count_persons(mask))

    def person_area(self) -> float:
        """The smallest blob counted as a person: min_height tall, a third as wide, half filled."""
        return self.min_height**2 / 6

    def pyramid_mask(
        self, frame: np.ndarray, boxes: list[tuple[int, int, int, int]] | None = None, levels: set[int] | None = None
    ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """The tile pyramid's mask and each level's own mask (with `boxes`: only the tiles over them, and the mask
        inside them; with `levels`: only those tile sizes)."""
        h, w = frame.shape[:2]
        mask = np.zeros((h, w), bool)
        if self.closeup_fraction is not None:  # one whole-frame call: run on every frame, tracked or not
            whole = self.probability(frame) > self.threshold
            n, labels, stats, _ = cv2.connectedComponentsWithStats(whole.astype(np.uint8), connectivity=8)
            big = stats[:, cv2.CC_STAT_AREA] >= self.closeup_fraction * h * w
            big[0] = False
            mask = big[labels]
        per_level = {}
        if boxes is None or boxes:
            for tile in tile_sizes(h, w, self.min_height, self.tile_factor):
                if levels is None or tile in levels:
                    per_level[tile] = self.tiled_mask(frame, tile, boxes)
        tiles = np.logical_or.reduce(list(per_level.values())) if per_level else np.zeros((h, w), bool)
        if boxes is not None:
            tiles &= box_mask(boxes, (h, w))
        else:
            self.full_passes += 1
        return mask | tiles, per_level

    def needed_levels(self, per_level: dict[int, np.ndarray]) -> set[int]:
        """The fewest tile sizes whose masks together hold all but `track_level_share` of the full pass's mask
        (greedy, by new pixels): a person 300 px tall is seen whole by the large tiles, the small ones mostly
        repeat parts of them. So on a still frame tracking loses at most that share of the mask."""
        union = np.logical_or.reduce(list(per_level.values())) if per_level else None
        if union is None or not union.any():
            return set(per_level)
        chosen, covered = set(), np.zeros_like(union)
        while covered.sum() < (1 - self.track_level_share) * union.sum():
            tile = max((t for t in per_level if t not in chosen), key=lambda t: (per_level[t] & ~covered).sum())
            chosen.add(tile)
            covered |= per_level[tile]
        return chosen

    def segment_frames(
        self, frames: dict[int, np.ndarray], refs: dict[int, FrameRef] | None = None
    ) -> dict[int, Segmentation | BodySceneError]:
        """A clip's frames as video: the full pyramid on the first, then tiles around the people of the previous
        frame (module docstring); per frame when `track_every` is not set."""
        if self.track_every is None or self.mode == "whole":
            return super().segment_frames(frames, refs)
        out: dict[int, Segmentation | BodySceneError] = {}
        boxes, shape, prev_thumb, prev_area, last_full, levels = None, None, None, 0, None, None
        for index in sorted(frames):
            frame = frames[index]
            thumb, mask = thumbnail(frame), None
            track = boxes is not None and shape == frame.shape[:2] and index - last_full < self.track_every
            if track and not self._changed(thumb, prev_thumb, boxes, shape):
                tracked, next_boxes, persons = self.track_step(frame, boxes, levels)
                after, ratio = int(tracked.sum()), self.track_area_change
                if prev_area == after == 0 or (prev_area and prev_area / ratio <= after <= prev_area * ratio):
                    mask, boxes, prev_area = tracked, next_boxes, after
            if mask is None:
                mask, per_level = self.pyramid_mask(frame)
                last_full, levels, persons = index, self.needed_levels(per_level), self.count_persons(mask)
                boxes, prev_area = self.boxes(mask), int(mask.sum())
                if self.track_mode == "crop":  # the tracked frames compare their area with a crop mask's
                    reference, boxes, _ = self.crop_track(frame, boxes)
                    prev_area = int(reference.sum())
            out[index] = Segmentation(mask, persons=persons)
            shape, prev_thumb = frame.shape[:2], thumb
        return out

    def boxes(self, mask: np.ndarray) -> list[tuple[int, int, int, int]]:
        """The tracked boxes: around each blob of at least a small person's area, grown by the margin."""
        return person_boxes(mask, self.track_margin, self.track_margin_px, self.person_area())

    def _changed(
        self, thumb: np.ndarray, prev: np.ndarray, boxes: list[tuple[int, int, int, int]], shape: tuple[int, int]
    ) -> bool:
        """A cut, or something new outside the tracked boxes over at least a small person's area, once the camera's
        own motion (one shift for the whole frame, by phase correlation) is taken out."""
        if float(np.abs(thumb - prev).mean()) > CUT_LEVELS:
            return True
        if self.track_motion is None:
            return False
        (dx, dy), _ = cv2.phaseCorrelate(prev, thumb)
        h, w = thumb.shape
        diff = np.abs(thumb - prev)
        for sign in (1, -1):  # a pixel changed if it differs under no shift and under the camera's (either way)
            m = np.float32([[1, 0, sign * dx], [0, 1, sign * dy]])
            shifted = cv2.warpAffine(prev, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            diff = np.minimum(diff, np.abs(thumb - shifted))
        roi = cv2.resize(box_mask(boxes, shape).astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0
        moved = int(((diff > self.track_motion) & ~roi).sum()) * THUMB * THUMB
        return moved >= self.person_area()

    def count_persons(self, mask: np.ndarray) -> int:
        """Connected blobs at least as large as a small person (min_height tall, a third as wide, half
        filled)."""
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        return int((stats[1:, cv2.CC_STAT_AREA] >= self.person_area()).sum())
