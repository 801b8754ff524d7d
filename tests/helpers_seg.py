"""Real photos of people for the segmenter tests: the two images ultralytics ships, and hand-placed person boxes."""

import importlib.util
from pathlib import Path

import cv2
import numpy as np

# found without importing ultralytics (which imports torch: seconds, in every spawned worker of benchmarks/prepare.py)
ASSETS = Path(importlib.util.find_spec("ultralytics").submodule_search_locations[0]) / "assets"
# (x0, y0, x1, y1) of each fully visible person, in the original photos' pixels
PEOPLE = {
    "bus.jpg": [(48, 398, 245, 902), (221, 405, 344, 857), (671, 395, 810, 878)],
    "zidane.jpg": [(747, 40, 1142, 712), (123, 197, 1111, 716)],
}


def photo(name: str, scale: float = 1.0) -> tuple[np.ndarray, list[np.ndarray]]:
    """RGB photo (resized by `scale`) and one bool box mask per person."""
    img = cv2.cvtColor(cv2.imread(str(ASSETS / name)), cv2.COLOR_BGR2RGB)
    if scale != 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    boxes = []
    for x0, y0, x1, y1 in PEOPLE[name]:
        m = np.zeros(img.shape[:2], bool)
        m[int(y0 * scale) : int(y1 * scale), int(x0 * scale) : int(x1 * scale)] = True
        boxes.append(m)
    return img, boxes


def street(h: int, w: int) -> np.ndarray:
    """A person-free real background: bus.jpg's upper rows (buildings, trees, the bus roof), mirror-tiled."""
    strip = cv2.cvtColor(cv2.imread(str(ASSETS / "bus.jpg")), cv2.COLOR_BGR2RGB)[:380]
    tile = np.concatenate([strip, strip[::-1]], axis=0)
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    reps = (h // tile.shape[0] + 1, w // tile.shape[1] + 1, 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:h, :w])


def wide_shot(seg, height: int = 100, size: tuple[int, int] = (360, 640)) -> tuple[np.ndarray, np.ndarray]:
    """A bus.jpg person cut out (the selfie model on a tight crop) and pasted `height` px tall into `street`."""
    img, _ = photo("bus.jpg")
    x0, y0, x1, y1 = PEOPLE["bus.jpg"][1]
    side = int(1.25 * (y1 - y0))
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    crop = np.zeros((side, side, 3), np.uint8)
    sy, sx = cy - side // 2, max(0, cx - side // 2)
    part = img[sy : sy + side, sx : sx + side]
    crop[: part.shape[0], : part.shape[1]] = part
    cut = seg.probability(crop) > 0.5
    ys, xs = np.nonzero(cut)
    person, cut = (
        crop[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
        cut[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
    )
    w = round(person.shape[1] * height / person.shape[0])
    person = cv2.resize(person, (w, height), interpolation=cv2.INTER_AREA)
    cut = cv2.resize(cut.astype(np.uint8), (w, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    frame = street(*size)
    truth = np.zeros(size, bool)
    y, x = size[0] - height - 20, size[1] // 3
    frame[y : y + height, x : x + w][cut] = person[cut]
    truth[y : y + height, x : x + w] = cut
    return frame, truth


def write_audio_only(path) -> None:
    """An MP4 with one AAC audio stream and no video stream."""
    import av

    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        stream.layout = "mono"
        for _ in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 8000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
