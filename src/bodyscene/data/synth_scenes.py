"""Procedural scenes for the embedded benchmark: large, colourful backgrounds, one look per scene type.

The scene is meant to be the *easy* cue (most of the pixels, distinct colours and layouts), so a standard CNN
trained on original frames can solve most of the task from it, as the paper finds for real action videos.
Eight hand-made painters; scene types 8..19 reuse them with a moved horizon, permuted colour channels and a
warm or cool tint.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Color = tuple[int, int, int]


def _jitter(rng: np.random.Generator, rgb: Color, sd: float = 12.0) -> Color:
    """Per-clip colour variation, so two clips of one scene type are never pixel-identical."""
    return tuple(int(np.clip(c + rng.normal(0, sd), 0, 255)) for c in rgb)  # type: ignore[return-value]


def _gradient(img: np.ndarray, y0: int, y1: int, top: Color, bottom: Color) -> None:
    n = max(y1 - y0, 1)
    w = np.linspace(0.0, 1.0, n)[:, None]
    rows = (1 - w) * np.array(top, float) + w * np.array(bottom, float)
    img[y0:y1] = rows[: y1 - y0, None, :].astype(np.uint8)


def _speckle(img: np.ndarray, rng: np.random.Generator, y0: int, color: Color, density: float, r: int) -> None:
    """Scatter small dots below row y0 (grass, sand grains, stars, leaves)."""
    h, w = img.shape[:2]
    n = int(density * w * max(h - y0, 0) / 100)
    for _ in range(n):
        x, y = int(rng.integers(0, w)), int(rng.integers(y0, h))
        cv2.circle(img, (x, y), r, color, -1, cv2.LINE_8)


def _tree(img: np.ndarray, x: int, base: int, size: int, trunk: Color, crown: Color) -> None:
    tw = max(size // 6, 1)
    cv2.rectangle(img, (x - tw, base - size), (x + tw, base), trunk, -1)
    cv2.circle(img, (x, base - size), max(size // 2, 2), crown, -1, cv2.LINE_8)


def _meadow(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (80, 150, 235)), _jitter(rng, (185, 220, 250)))
    _gradient(img, hz, s, _jitter(rng, (90, 170, 60)), _jitter(rng, (40, 115, 35)))
    _speckle(img, rng, hz, _jitter(rng, (140, 210, 90)), 4.0, max(s // 128, 0))
    cv2.circle(img, (int(rng.uniform(0.1, 0.9) * s), int(0.12 * s)), int(0.07 * s), (255, 230, 90), -1)
    for _ in range(int(rng.integers(2, 5))):
        x = int(rng.uniform(0.05, 0.95) * s)
        _tree(
            img,
            x,
            hz + int(rng.uniform(0, 0.05) * s),
            int(rng.uniform(0.15, 0.28) * s),
            _jitter(rng, (110, 70, 30)),
            _jitter(rng, (30, 120, 40)),
        )


def _beach(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (120, 200, 245)), _jitter(rng, (210, 240, 250)))
    sea = hz + int(0.12 * s)
    _gradient(img, hz, sea, _jitter(rng, (20, 80, 170)), _jitter(rng, (40, 140, 200)))
    for y in range(hz + 3, sea, max(s // 24, 2)):
        x0 = int(rng.integers(0, s // 2))
        cv2.line(img, (x0, y), (x0 + s // 3, y), (235, 245, 255), 1, cv2.LINE_8)
    _gradient(img, sea, s, _jitter(rng, (240, 215, 150)), _jitter(rng, (215, 185, 120)))
    _speckle(img, rng, sea, _jitter(rng, (190, 160, 100)), 3.0, 0)
    cv2.circle(img, (int(rng.uniform(0.1, 0.9) * s), int(0.1 * s)), int(0.06 * s), (255, 250, 200), -1)
    for _ in range(int(rng.integers(1, 3))):  # beach balls: red and white halves
        c, r = (int(rng.uniform(0.1, 0.9) * s), int(rng.uniform(sea + 0.05 * s, 0.95 * s))), int(0.05 * s)
        cv2.circle(img, c, r, (230, 40, 40), -1, cv2.LINE_8)
        cv2.ellipse(img, c, (r, r), 0, 0, 180, (250, 250, 250), -1, cv2.LINE_8)


def _city(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (165, 170, 185)), _jitter(rng, (205, 205, 210)))
    x = -int(rng.integers(0, s // 8))
    while x < s:  # a row of buildings with lit windows
        bw, bh = int(rng.uniform(0.12, 0.25) * s), int(rng.uniform(0.2, 0.5) * s)
        cv2.rectangle(img, (x, hz - bh), (x + bw, hz), _jitter(rng, (120, 90, 80), 30), -1)
        step = max(s // 20, 3)
        for wy in range(hz - bh + step // 2, hz - step, step):
            for wx in range(x + step // 2, x + bw - step // 2, step):
                cv2.rectangle(img, (wx, wy), (wx + step // 3, wy + step // 3), (250, 220, 100), -1)
        x += bw + int(rng.integers(0, s // 16 + 1))
    _gradient(img, hz, s, _jitter(rng, (85, 85, 90)), _jitter(rng, (55, 55, 60)))
    lane = int((hz + s) / 2)
    for x0 in range(-int(rng.integers(0, s // 6)), s, s // 6):
        cv2.line(img, (x0, lane), (x0 + s // 12, lane), (240, 240, 240), max(s // 64, 1))
    for _ in range(int(rng.integers(1, 3))):  # street lamps
        px = int(rng.uniform(0.05, 0.95) * s)
        cv2.line(img, (px, hz + s // 10), (px, hz - s // 3), (40, 40, 40), max(s // 50, 1))
        cv2.circle(img, (px, hz - s // 3), max(s // 40, 1), (255, 240, 150), -1)


def _gym(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (230, 180, 120)), _jitter(rng, (210, 150, 95)))
    for px in np.linspace(0.05, 0.95, int(rng.integers(3, 6))) * s:  # wall bars
        cv2.line(img, (int(px), int(0.1 * s)), (int(px), hz), (120, 70, 30), max(s // 40, 1))
    for y in range(int(0.15 * s), hz, max(s // 12, 2)):
        cv2.line(img, (0, y), (s, y), (140, 85, 40), max(s // 100, 1))
    _gradient(img, hz, s, _jitter(rng, (190, 130, 70)), _jitter(rng, (160, 100, 50)))
    for y in range(hz, s, max(s // 16, 2)):  # planks
        cv2.line(img, (0, y), (s, y), (110, 65, 30), 1)
    for _ in range(int(rng.integers(1, 4))):
        c = (int(rng.uniform(0.05, 0.95) * s), int(rng.uniform(hz + 0.05 * s, 0.95 * s)))
        cv2.circle(img, c, int(0.045 * s), (240, 110, 20), -1, cv2.LINE_8)


def _snow_night(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (10, 15, 55)), _jitter(rng, (45, 55, 120)))
    for _ in range(int(0.02 * s * s / 16)):
        cv2.circle(img, (int(rng.integers(0, s)), int(rng.integers(0, hz))), 0, (255, 255, 255), -1)
    cv2.circle(img, (int(rng.uniform(0.1, 0.9) * s), int(0.12 * s)), int(0.06 * s), (240, 240, 210), -1)
    x = -int(rng.uniform(0, 0.2) * s)
    while x < s:  # mountains
        w, h = int(rng.uniform(0.3, 0.5) * s), int(rng.uniform(0.15, 0.3) * s)
        pts = np.array([[x, hz], [x + w // 2, hz - h], [x + w, hz]], np.int32)
        cv2.fillConvexPoly(img, pts, _jitter(rng, (150, 160, 190)), cv2.LINE_8)
        cv2.fillConvexPoly(
            img,
            np.array(
                [
                    [x + w // 2 - w // 8, hz - h + h // 4],
                    [x + w // 2, hz - h],
                    [x + w // 2 + w // 8, hz - h + h // 4],
                ],
                np.int32,
            ),
            (250, 250, 255),
        )
        x += int(w * 0.7)
    _gradient(img, hz, s, _jitter(rng, (225, 230, 245)), _jitter(rng, (250, 250, 255)))
    _speckle(img, rng, hz, (180, 200, 235), 2.0, max(s // 128, 0))


def _desert(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (250, 150, 60)), _jitter(rng, (250, 215, 140)))
    cv2.circle(img, (int(rng.uniform(0.1, 0.9) * s), int(0.15 * s)), int(0.1 * s), (255, 245, 120), -1)
    _gradient(img, hz, s, _jitter(rng, (225, 180, 100)), _jitter(rng, (200, 150, 80)))
    for _ in range(3):  # dunes
        c = (int(rng.uniform(0, 1) * s), int(rng.uniform(hz, s)))
        cv2.ellipse(img, c, (int(0.3 * s), int(0.06 * s)), 0, 180, 360, _jitter(rng, (185, 135, 70)), -1)
    for _ in range(int(rng.integers(1, 4))):  # cacti
        x, base, h = int(rng.uniform(0.05, 0.95) * s), hz + int(rng.uniform(0, 0.1) * s), int(0.2 * s)
        green, t = _jitter(rng, (50, 130, 60)), max(s // 30, 1)
        cv2.line(img, (x, base), (x, base - h), green, t)
        cv2.line(img, (x - h // 3, base - h // 2), (x - h // 3, base - h + h // 6), green, t)
        cv2.line(img, (x - h // 3, base - h // 2), (x, base - h // 2), green, t)


def _forest(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (150, 200, 170)), _jitter(rng, (110, 160, 120)))
    for _ in range(int(rng.integers(7, 12))):
        x = int(rng.uniform(0, 1) * s)
        _tree(
            img,
            x,
            hz + int(rng.uniform(-0.02, 0.04) * s),
            int(rng.uniform(0.25, 0.4) * s),
            _jitter(rng, (80, 50, 25)),
            _jitter(rng, (20, 85, 35), 18),
        )
    _gradient(img, hz, s, _jitter(rng, (115, 85, 50)), _jitter(rng, (85, 60, 35)))
    _speckle(img, rng, hz, _jitter(rng, (170, 120, 40)), 5.0, max(s // 128, 0))


def _court(img, rng, s, hz):
    _gradient(img, 0, hz, _jitter(rng, (30, 40, 95)), _jitter(rng, (45, 60, 130)))
    for i, y in enumerate(range(int(0.08 * s), hz - s // 20, max(s // 10, 3))):  # banners
        cv2.rectangle(img, (0, y), (s, y + max(s // 40, 1)), (230, 60, 60) if i % 2 else (250, 250, 250), -1)
    _gradient(img, hz, s, _jitter(rng, (110, 70, 170)), _jitter(rng, (80, 50, 140)))
    t = max(s // 64, 1)
    cv2.line(img, (0, hz + s // 12), (s, hz + s // 12), (255, 255, 255), t)
    cv2.line(img, (s // 2, hz), (s // 2, s), (255, 255, 255), t)
    cv2.ellipse(img, (s // 2, int(0.85 * s)), (s // 5, s // 14), 0, 0, 360, (255, 255, 255), t)
    for px in (int(rng.uniform(0.02, 0.15) * s), int(rng.uniform(0.85, 0.98) * s)):  # net posts
        cv2.line(img, (px, hz + s // 8), (px, hz - s // 4), (220, 220, 220), max(s // 40, 1))
    c = (int(rng.uniform(0.1, 0.9) * s), int(rng.uniform(hz + 0.1 * s, 0.95 * s)))
    cv2.circle(img, c, int(0.04 * s), (250, 230, 40), -1, cv2.LINE_8)


# (name, painter, horizon as a fraction of the height)
Painter = Callable[[np.ndarray, np.random.Generator, int, int], None]
SCENES: tuple[tuple[str, Painter, float], ...] = (
    ("meadow", _meadow, 0.45),
    ("beach", _beach, 0.42),
    ("city", _city, 0.6),
    ("gym", _gym, 0.62),
    ("snow_night", _snow_night, 0.5),
    ("desert", _desert, 0.55),
    ("forest", _forest, 0.5),
    ("court", _court, 0.55),
)


def scene_name(scene_type: int) -> str:
    base = SCENES[scene_type % len(SCENES)][0]
    turn = scene_type // len(SCENES)
    return base if turn == 0 else f"{base}_{('', 'warm', 'cool')[turn]}"


def render_scene(size: int, scene_type: int, rng: np.random.Generator) -> np.ndarray:
    """One scene image (RGB uint8 [size, size, 3]); the same for every frame of a clip (a still camera)."""
    _, painter, horizon = SCENES[scene_type % len(SCENES)]
    img = np.zeros((size, size, 3), np.uint8)
    turn = scene_type // len(SCENES)
    hz = int((horizon + (0.12 if turn == 1 else -0.1 * turn / 2) + rng.uniform(-0.05, 0.05)) * size)
    painter(img, rng, size, hz)
    if turn:  # types past the eighth: moved horizon, permuted colour channels and a tint (greys change too)
        order = [(0, 1, 2), (2, 0, 1), (1, 2, 0)][turn]
        tint = np.array([(1.0, 1.0, 1.0), (1.15, 0.95, 0.7), (0.7, 1.1, 1.1)][turn])
        img = np.clip(img[..., order] * tint, 0, 255)
    noise = rng.normal(0, 4, img.shape)  # camera-like grain, so flat regions are not perfectly flat
    return np.clip(img + noise, 0, 255).astype(np.uint8)
