"""Action-swap stimuli: the body of one stimulus pasted onto the background-only frame of another, of another class.

The cue-conflict test of Geirhos et al. (ICLR 2019, shape of one class on the texture of another) made for actions
the way HAT did (Chung et al., NeurIPS 2022 D&B, princetonvisualai/HAT `actionswap_dataset.py`): the person of
video s (action A) is moved so that its mask's centre of mass lands on the centre of mass of the person of video t
(action B != A), and pasted onto t's background-only frame. Unlike HAT's hard paste, the alpha ramps from 0 to 1
over `feather_px` pixels inside the body's edge, so the cut is not itself a cue; outside the moved mask every pixel
is t's background-only pixel, exactly. The person keeps its relative size: a t frame of another size scales the
body by the ratio of the frame sizes. HAT's coverage rule (only frames where the person covers 5-50% of the image,
HAT doc/review_discussion.md) is `prepare.swap.coverage: [0.05, 0.5]`.

Pairing is per clip: every swapped frame of clip s takes its background from one clip t (frame k of s from t's
frame k modulo t's frames), so clip-unit readouts stay defined. `random` draws t among the other classes' clips of
the split (seeded); `within-scene` / `across-scene` draw among clips of the same / another scene type, where the
data folder says which (DATA/clips.csv `scene_type`, written by `bodyscene synth`).

Pure functions on arrays (RGB uint8 frames, bool masks) first; `make_swaps` at the end does the file work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.stimuli.images import extension

PAIRINGS: tuple[str, ...] = ("random", "within-scene", "across-scene")
MIN_KEPT = 0.9  # a moved body that keeps less of itself inside t's frame is skipped: it would be a cut-off person


def centre_of_mass(mask: np.ndarray) -> tuple[float, float]:
    """(y, x) of the mask's centre of mass; the frame's centre for an empty mask (as HAT does)."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return (mask.shape[0] - 1) / 2, (mask.shape[1] - 1) / 2
    return float(ys.mean()), float(xs.mean())


def feather_alpha(mask: np.ndarray, feather_px: int) -> np.ndarray:
    """Alpha in [0, 1]: 0 outside `mask`, ramping to 1 over `feather_px` px inside its edge (0: the hard mask).

    A pixel at distance d from the nearest non-mask pixel (d = 1 on the edge) gets min(1, d / (feather_px + 1))
    so every mask pixel is at least partly the body and pixels deeper than `feather_px` are the body alone.
    """
    if feather_px <= 0 or not mask.any():
        return mask.astype(np.float32)
    padded = np.pad(mask.astype(np.uint8), 1)  # the frame border counts as outside: no body is cut hard there
    inside = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    return np.clip(inside / (feather_px + 1), 0.0, 1.0).astype(np.float32)


def move_body(
    frame: np.ndarray, mask: np.ndarray, shape: tuple[int, int], centre: tuple[float, float], scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """`frame` and `mask` moved (and scaled by `scale`) so that the mask's centre of mass lands on `centre` of a
    frame of `shape` (h, w); pixels moved in from outside are 0. At scale 1 the shift is whole pixels (a copy, so
    body pixels keep their exact values, as in HAT's integer paste)."""
    h, w = shape
    cy, cx = centre_of_mass(mask)
    if scale == 1.0:
        dy, dx = int(round(centre[0] - cy)), int(round(centre[1] - cx))
        out_frame = np.zeros((h, w, 3), np.uint8)
        out_mask = np.zeros((h, w), bool)
        sh, sw = mask.shape
        y0, y1 = max(0, dy), min(h, sh + dy)  # destination rows and columns that have a source pixel
        x0, x1 = max(0, dx), min(w, sw + dx)
        if y0 < y1 and x0 < x1:
            out_frame[y0:y1, x0:x1] = frame[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
            out_mask[y0:y1, x0:x1] = mask[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
        return out_frame, out_mask
    affine = np.array([[scale, 0, centre[1] - scale * cx], [0, scale, centre[0] - scale * cy]], dtype=np.float64)
    out_frame = cv2.warpAffine(frame, affine, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    out_mask = cv2.warpAffine(mask.astype(np.uint8), affine, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return out_frame, out_mask.astype(bool)


@dataclass
class Swap:
    image: np.ndarray  # the composite, uint8 RGB of the background's size
    mask: np.ndarray  # the moved body mask (bool)
    kept: float  # share of the (scaled) body that lies inside the background's frame


def composite_swap(
    body_frame: np.ndarray,
    body_mask: np.ndarray,
    background: np.ndarray,
    background_mask: np.ndarray,
    feather_px: int = 2,
) -> Swap:
    """The body of (`body_frame`, `body_mask`) on `background` (a background-only frame), at the centre of mass of
    `background_mask` (the person that background-only frame had). The person keeps its size relative to the frame."""
    h, w = background.shape[:2]
    sh, sw = body_mask.shape
    scale = 1.0 if (sh, sw) == (h, w) else float(np.sqrt((h * w) / (sh * sw)))
    moved, moved_mask = move_body(body_frame, body_mask, (h, w), centre_of_mass(background_mask), scale)
    alpha = feather_alpha(moved_mask, feather_px)[..., None]
    image = np.rint(alpha * moved + (1.0 - alpha) * background).astype(np.uint8)
    image[~moved_mask] = background[~moved_mask]  # exactly t's pixels outside the body (no rounding drift)
    expected = scale * scale * body_mask.sum()
    return Swap(image, moved_mask, float(moved_mask.sum() / expected) if expected else 0.0)


def pair_clips(
    clips: Sequence[tuple[str, int, Any]], pairing: str = "random", seed: int = 0
) -> dict[str, tuple[str | None, str]]:
    """Each clip's background clip: {clip_id: (partner clip_id or None, why none)} from (clip_id, label, scene).

    The partner is drawn (seeded, in the given order) among clips of another label, and for `within-scene` /
    `across-scene` of the same / another scene. A clip is never paired with a clip of its own action.
    """
    if pairing not in PAIRINGS:
        raise BodySceneError(f"prepare.swap.pairing {pairing!r}: choose one of {', '.join(PAIRINGS)}")
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[str | None, str]] = {}
    for clip_id, label, scene in clips:
        candidates = [c for c, lab, sc in clips if lab != label]
        if pairing != "random":
            same = pairing == "within-scene"
            candidates = [c for c, lab, sc in clips if lab != label and (sc == scene) == same]
        if not candidates:
            kind = "" if pairing == "random" else f" in {'the same' if pairing == 'within-scene' else 'another'} scene"
            out[clip_id] = (None, f"swap: no clip of another class{kind} to take the background from")
        else:
            out[clip_id] = (candidates[int(rng.integers(len(candidates)))], "")
    return out


def coverage_reason(area: float, coverage: Sequence[float] | None) -> str:
    """Why a frame fails the coverage rule ('' when it passes or there is no rule)."""
    if coverage is None:
        return ""
    lo, hi = coverage
    if lo <= area <= hi:
        return ""
    side = "too small" if area < lo else "too large"
    return f"swap: person covers {area:.1%} of the frame, {side} for the coverage rule [{lo:.0%}, {hi:.0%}]"


def read_scene_types(data: Path) -> dict[str, str]:
    """clip_id -> scene type, from DATA/clips.csv (the embedded benchmark writes it); an error if there is none."""
    from bodyscene.files import read_csv

    path = Path(data) / "clips.csv"
    if not path.is_file():
        raise BodySceneError(
            f"{path}: not found, so scene types are unknown; use prepare.swap.pairing random, or add clips.csv "
            "with columns clip_id,scene_type"
        )
    return {r["clip_id"]: r["scene_type"] for r in read_csv(path, required=("clip_id", "scene_type"))}


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BodySceneError(f"{path}: missing or unreadable image; rerun `bodyscene prepare` on this stimulus set")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise BodySceneError(f"{path}: missing or unreadable mask; rerun `bodyscene prepare` on this stimulus set")
    return mask > 127


def make_swaps(
    out: Path,
    rows: list[dict[str, Any]],
    swap_cfg: Any,
    prepare_cfg: Any,
    data: Path,
    write: Callable[[Path, np.ndarray], None],
) -> list[dict[str, Any]]:
    """Write the swap images of `rows` (manifest rows, updated in place with the swap columns) with `write`
    (prepare's atomic writer, in the stimulus set's `image_format`); return the skipped list.

    Images already on disk are kept (the settings check of `prepare` makes sure they were made the same way).
    """
    for row in rows:
        row.update(swap="", swap_body="", swap_background="", swap_background_id="", swap_background_label="")
    skipped: list[dict[str, Any]] = []

    def skip(row: dict[str, Any], reason: str) -> None:
        skipped.append({"clip_id": row["clip_id"], "path": row["original"], "frame_index": row["frame_index"],
                        "reason": reason})  # fmt: skip

    ext = extension(prepare_cfg.image_format)  # the set's other images' format (masks, which swaps read, stay PNG)
    scenes = read_scene_types(data) if swap_cfg.pairing != "random" else {}
    for split in swap_cfg.splits:
        usable = _usable_frames(rows, split, swap_cfg.coverage, skip)
        clips = []
        for clip_id, frames in usable.items():
            if swap_cfg.pairing != "random" and clip_id not in scenes:
                raise BodySceneError(
                    f"{data / 'clips.csv'}: no scene_type for clip {clip_id!r}; add it, or pair random"
                )
            clips.append((clip_id, int(frames[0]["label"]), scenes.get(clip_id)))
        partners = pair_clips(clips, swap_cfg.pairing, swap_cfg.seed + len(split))  # (a different draw per split)
        for clip_id, frames in usable.items():
            partner, why = partners[clip_id]
            for k, row in enumerate(frames):
                if partner is None:
                    skip(row, why)
                    continue
                t = usable[partner][k % len(usable[partner])]
                rel = {
                    c: f"{c}/{split}/{row['class']}/{row['stimulus_id']}{ext}"
                    for c in ("swap", "swap_body", "swap_background")
                }
                if not all((out / p).is_file() for p in rel.values()):
                    images, kept = _swap_images(out, row, t, swap_cfg.feather_px, prepare_cfg)
                    if images is None:
                        skip(row, f"swap: only {kept:.0%} of the body fits in {t['stimulus_id']}'s frame")
                        continue
                    for column, image in images.items():
                        write(out / rel[column], image)
                row.update(rel, swap_background_id=t["stimulus_id"], swap_background_label=t["class"])
    return skipped


def _usable_frames(rows: list[dict[str, Any]], split: str, coverage: Any, skip: Callable) -> dict[str, list[dict]]:
    """clip -> its frames of `split` that can take part in a swap, in manifest order; the others are skipped."""
    usable: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["split"] != split or row["status"] != "ok":
            continue
        reason = coverage_reason(float(row["mask_area"]), coverage)
        if reason:
            skip(row, reason)
        else:
            usable.setdefault(row["clip_id"], []).append(row)
    return usable


def _swap_images(
    out: Path, row: dict[str, Any], target: dict[str, Any], feather_px: int, c: Any
) -> tuple[dict[str, np.ndarray] | None, float]:
    """The swap of `row`'s body onto `target`'s background-only frame, and its body-only and background-only
    versions made as prepare makes them; (None, kept share) when too little of the body fits in the frame."""
    from bodyscene.stimuli.masks import inpaint, make_body_only, removal_region

    swap = composite_swap(
        _read_rgb(out / row["original"]), _read_mask(out / row["mask"]),
        _read_rgb(out / target["background"]), _read_mask(out / target["mask"]), feather_px,
    )  # fmt: skip
    if swap.kept < MIN_KEPT:
        return None, swap.kept
    method = "telea" if c.inpaint == "temporal" else c.inpaint  # (a composite has no clip to borrow from)
    region = removal_region(swap.mask, c.inflate, c.dilation, c.margin_px, c.blur_radius)
    images = {
        "swap": swap.image,
        "swap_body": make_body_only(swap.image, swap.mask, c.body_fill),
        "swap_background": inpaint(swap.image, region, method, c.inpaint_radius),
    }
    return images, swap.kept


def no_swaps_message(out: Path, skipped: list[dict[str, Any]], swap_cfg: Any) -> str:
    from collections import Counter

    top = Counter(s["reason"] for s in skipped if s["reason"].startswith("swap:")).most_common(2)
    reasons = "; ".join(f"{n} x {r!r}" for r, n in top) or "no usable frames in the swap splits"
    return (
        f"{out}: 0 swap stimuli (pairing {swap_cfg.pairing}, coverage {swap_cfg.coverage}); top reasons: {reasons}; "
        f"see {out / 'skipped.csv'}; a swap needs two classes, and a wider prepare.swap.coverage or pairing random"
    )
