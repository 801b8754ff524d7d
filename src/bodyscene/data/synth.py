"""The embedded body/scene benchmark: an articulated figure doing a class-specific movement before a scene.

Body and scene both carry class information, and we control how much: class c's typical scene type is
`c % scene_types` (so with 10 classes and 5 scene types, classes c and c+5 share one: the background alone is
informative but ambiguous), shown with probability `scene_correlation`, otherwise a uniformly random *other*
scene type. The pose is always class-specific. A network trained on original frames can lean on the large,
colourful scene; one trained on body-only frames must learn the pose (the paper's finding, arXiv 2512.07729).

Every clip's random stream comes from SeedSequence([seed, split, class, index]), so a clip never depends on
the order of generation. Figure and mask are drawn with the same OpenCV calls (LINE_8, no anti-aliasing), so
the mask is exactly the figure's pixels.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bodyscene.config import SPLITS, SynthConfig
from bodyscene.data.synth_audio import choose_sound, movement_events, soundtrack
from bodyscene.data.synth_scenes import render_scene, scene_name
from bodyscene.data.video import write_video
from bodyscene.files import atomic_write_text, write_csv, write_json
from bodyscene.progress import track

# Segment lengths in units of a standing figure's height (roughly human proportions, limbs made thick on
# purpose so a 16-px figure at 64x64 still has 2-px limbs).
HEAD_R, NECK, TORSO, UPPER_ARM, FOREARM, THIGH, SHIN = 0.085, 0.03, 0.30, 0.16, 0.15, 0.24, 0.24
SHOULDER, HIP, LIMB = 0.10, 0.06, 0.14  # half shoulder width, half hip width, limb thickness
HEIGHT_RANGE = (0.28, 0.57)  # figure height / frame height, inside the spec's 25-60% with room for rounding

# Poses: pose(phase) -> (lean, arms (L upper, L fore, R upper, R fore), legs (L thigh, L shin, R thigh,
# R shin), lift). Angles in degrees of *abduction*: 0 = hanging down, 90 = horizontal outward,
# 180 = straight up, negative = across the body. Lean tilts the torso to the image's right; lift raises the
# figure (a jump). Key poses differ a lot and movements stay near them, so one frame identifies the class.
# No class is the mirror image of another (a horizontal-flip augmentation must not merge two classes).
Pose = tuple[float, tuple[float, ...], tuple[float, ...], float]


def _pose(cls: int, p: float) -> Pose:
    s, u = np.sin(p), 0.5 + 0.5 * np.sin(p)  # s in [-1, 1], u in [0, 1]
    poses: list[Pose] = [
        (0, (8, 8, 95, 160 + 30 * s), (8, 8, 8, 8), 0),  # wave: right forearm up, swinging
        (0, (135 + 20 * s,) * 2 + (135 + 20 * s,) * 2, (22 + 8 * s,) * 4, 0),  # jumping_jacks
        (0, (40, 100, 40, 100), (60 + 20 * u, 15, 60 + 20 * u, 15), 0),  # squat: knees out, deep
        (0, (25, 160, 90, 90 + 60 * u), (18, 18, 18, 18), 0),  # punch: right arm out, left fist at face
        (-10, (50, 50, 50, 50), (3, 3, 75 + 15 * s, 85 + 15 * s), 0),  # kick: right leg high
        (0, (30, -70 + 25 * s, 30, -70 + 25 * s), (5, 5, 5, 5), 0),  # clap: hands meet in front
        (0, (172 + 5 * s, 172 + 5 * s, 172 + 5 * s, 172 + 5 * s), (3, 3, 3, 3), 0),  # raise_arms
        (45 + 20 * u, (3 + 5 * s, 3 + 5 * s, 3 - 5 * s, 3 - 5 * s), (5, 5, 5, 5), 0),  # bow: arms hang
        (0, (30 + 20 * u, 10, 50 - 20 * u, 10), (70 * u, 0, 70 * (1 - u), 0), 0),  # march: knees up
        (-12, (5, 5, 172 + 6 * s, 178 + 6 * s), (5, 5, 5, 5), 0.02),  # reach_up: right arm, tiptoe
        (0, (90 + 8 * s, 90 + 8 * s, 90 - 8 * s, 90 - 8 * s), (12, 12, 12, 12), 0),  # arms_out
        (0, (145, 145, 145, 145), (35, -25, 35, -25), 0.12 + 0.08 * s),  # jump: tucked legs, arms V
        (0, (40, -40, 40, -40), (55 + 15 * u, 10, 45, 45), 0),  # lunge: hands on hips
        (-30 - 10 * u, (20, -20, 160, 215), (10, 10, 10, 10), 0),  # side_stretch: arm over head
        (75, (5 + 15 * s, 5 + 15 * s, 5 - 15 * s, 5 - 15 * s), (5, 85, -5, -85), 0),  # crawl
        (10 * s, (120, -140, 120, -140), (8, 8, 8, 8), 0),  # hands_on_head: elbows out
        (5 * s, (15, 15, 15, 15), (5, 88, 70, 5), 0),  # kneel: left shin on the ground
        (8 * s, (160, -170, 160, -170), (0, 0, 70, -60), 0),  # tree_pose: foot on knee, hands up
        (-10, (90, 90, 130 + 30 * s, 160 + 40 * s), (15, 15, 15, 15), 0),  # throw: left arm points
        (35, (-40 - 15 * s, -40 - 15 * s, 40 + 15 * s, 40 + 15 * s), (25, 25, 25, 25), 0),  # dig
    ]
    return poses[cls]


CLASS_NAMES: tuple[str, ...] = (
    "wave", "jumping_jacks", "squat", "punch", "kick", "clap", "raise_arms", "bow", "march", "reach_up",
    "arms_out", "jump", "lunge", "side_stretch", "crawl", "hands_on_head", "kneel", "tree_pose", "throw",
    "dig",
)  # fmt: skip


def class_scene(cls: int, scene_types: int) -> int:
    """Class c's typical scene type (shared by classes c, c + scene_types, ...)."""
    return cls % scene_types


def _dir(deg: np.ndarray) -> np.ndarray:
    """Unit vector for an image angle (x right, y down; 0 = down, +90 = right)."""
    a = np.radians(deg)
    return np.stack([np.sin(a), np.cos(a)], -1)


def skeleton(cls: int, phases: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
    """Joint positions [T, 2] in figure units (pelvis at the origin, y down) for each phase."""
    parts = [_pose(cls, p) for p in phases]
    lean = np.array([q[0] for q in parts]) + offsets[0]
    arms = np.array([q[1] for q in parts]) + offsets[1:5]
    legs = np.array([q[2] for q in parts]) + offsets[5:9]
    side = np.array([-1, -1, 1, 1])  # left limbs point to the image's left for positive abduction
    arms, legs = _dir(arms * side), _dir(legs * side)
    up, across = _dir(180 - lean), _dir(90 - lean)  # torso axis (pelvis -> neck) and shoulder line
    ua, fa, th, sh, to = lengths
    j = {"pelvis": np.zeros_like(up), "neck": to * up}
    j["head"] = j["neck"] + (NECK + HEAD_R) * up
    for k, sgn in (("l", -1), ("r", 1)):
        i = 0 if k == "l" else 2
        j[f"{k}sh"] = j["neck"] + sgn * SHOULDER * across
        j[f"{k}hip"] = sgn * HIP * across
        j[f"{k}elb"] = j[f"{k}sh"] + ua * arms[:, i]
        j[f"{k}hand"] = j[f"{k}elb"] + fa * arms[:, i + 1]
        j[f"{k}knee"] = j[f"{k}hip"] + th * legs[:, i]
        j[f"{k}foot"] = j[f"{k}knee"] + sh * legs[:, i + 1]
    return j


def _extent(j: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (top-left, bottom-right) of the drawn figure in units: joints padded by half a limb, the head
    by its radius."""
    pts = np.stack([v for k, v in j.items() if k != "head"], 1)  # [T, J, 2]
    lo = np.minimum(pts.min(1) - LIMB / 2, j["head"] - HEAD_R)
    hi = np.maximum(pts.max(1) + LIMB / 2, j["head"] + HEAD_R)
    return lo, hi


@dataclass
class Figure:
    """A clip's figure: joints in pixels [T, 2] per joint, limb thickness and colours."""

    joints: dict[str, np.ndarray]
    thickness: int
    head_r: int
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    hair: tuple[int, int, int]


def _color(rng: np.random.Generator, lo: int = 25, hi: int = 235) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def sample_movement(rng: np.random.Generator) -> tuple[float, float]:
    """(speed in movement cycles per clip, starting phase): the first two draws of a clip's figure."""
    speed = rng.uniform(0.6, 1.4)
    return speed, rng.uniform(0, 2 * np.pi)


def sample_figure(cfg: SynthConfig, cls: int, rng: np.random.Generator) -> Figure:
    """Per-clip jitter: phase, speed, limb angles and lengths, height (25-60% of frame), position, colours."""
    T, S = cfg.frames, cfg.size
    speed, phase0 = sample_movement(rng)
    phases = phase0 + 2 * np.pi * speed * np.arange(T) / max(T, 1)
    offsets = rng.normal(0, 6, 9)
    lengths = np.array([UPPER_ARM, FOREARM, THIGH, SHIN, TORSO]) * rng.uniform(0.93, 1.07, 5)
    j = skeleton(cls, phases, offsets, lengths)
    lift = np.array([_pose(cls, p)[3] for p in phases])
    lo, hi = _extent(j)
    ground = hi[:, 1] + lift  # put the lowest point of each frame on the ground, minus the jump
    for k in j:
        j[k] = j[k] - np.stack([np.zeros(T), ground], -1)
    lo, hi = _extent(j)
    height_u = float((hi[:, 1] - lo[:, 1]).max())  # tallest frame: what "figure height" means
    x0, y0, x1, y1 = lo[:, 0].min(), lo[:, 1].min(), hi[:, 0].max(), hi[:, 1].max()
    top = min(HEIGHT_RANGE[1], 0.9 * height_u / (x1 - x0))  # wide poses (crawl) must still fit in the frame
    frac = rng.uniform(HEIGHT_RANGE[0], max(top, HEIGHT_RANGE[0]))
    scale = frac * S / height_u  # pixels per unit
    w, h = (x1 - x0) * scale, (y1 - y0) * scale
    px = rng.uniform(2 - x0 * scale, max(S - 2 - w, 2) - x0 * scale)
    py = rng.uniform(min(max(0.6 * S, h + 2), S - 2), S - 2) - y1 * scale  # feet in the lower part, head inside
    for k in j:
        j[k] = j[k] * scale + np.array([px, py])
    skin = tuple(int(np.clip(c + rng.normal(0, 10), 0, 255)) for c in _SKIN[rng.integers(len(_SKIN))])
    return Figure(
        j,
        max(2, round(LIMB * scale)),
        max(2, round(HEAD_R * scale)),
        skin,  # type: ignore[arg-type]
        _color(rng),
        _color(rng),
        _color(rng, 25, 90),
    )


_SKIN = ((255, 220, 180), (235, 190, 150), (200, 150, 110), (160, 110, 75), (110, 75, 50), (80, 55, 40))


def draw_figure(img: np.ndarray, fig: Figure, t: int, mask_value: int | None = None) -> None:
    """Draw frame t's figure into img (RGB), or with `mask_value` into a single-channel mask: same calls."""
    j = {k: tuple(int(round(c)) for c in v[t]) for k, v in fig.joints.items()}
    col = (lambda c: mask_value) if mask_value is not None else (lambda c: c)  # noqa: E731
    th, lt = fig.thickness, cv2.LINE_8
    for k in "lr":
        cv2.line(img, j[f"{k}hip"], j[f"{k}knee"], col(fig.trousers), th, lt)
        cv2.line(img, j[f"{k}knee"], j[f"{k}foot"], col(fig.trousers), th, lt)
    torso = np.array([j["lsh"], j["rsh"], j["rhip"], j["lhip"]], np.int32)
    cv2.fillConvexPoly(img, torso, col(fig.shirt), lt)
    cv2.line(img, j["neck"], j["pelvis"], col(fig.shirt), th, lt)
    for k in "lr":
        cv2.line(img, j[f"{k}sh"], j[f"{k}elb"], col(fig.shirt), th, lt)
        cv2.line(img, j[f"{k}elb"], j[f"{k}hand"], col(fig.skin), th, lt)
    cv2.circle(img, j["head"], fig.head_r, col(fig.skin), -1, lt)
    cv2.ellipse(img, j["head"], (fig.head_r, fig.head_r), 0, 180, 360, col(fig.hair), -1, lt)


def render_figure(
    cfg: SynthConfig, cls: int, rng: np.random.Generator, background: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The figure over `background` (black when None; one image, or one per frame [T,H,W,3]) for T frames:
    (frames [T,H,W,3] RGB, masks [T,H,W])."""
    fig = sample_figure(cfg, cls, rng)
    S = cfg.size
    bg = np.zeros((S, S, 3), np.uint8) if background is None else background
    frames = np.repeat(bg[None], cfg.frames, 0) if bg.ndim == 3 else bg.copy()
    masks = np.zeros((cfg.frames, S, S), np.uint8)
    for t in range(cfg.frames):
        draw_figure(frames[t], fig, t)
        draw_figure(masks[t], fig, t, mask_value=255)
    return frames, masks > 0


def render_clip(
    cfg: SynthConfig, class_index: int, scene_type: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One clip: (frames uint8 [T,H,W,3] RGB, masks bool [T,H,W]). Pure: one rng state, one clip.

    Scene and figure draw from two child generators, so `render_scene` / `render_figure` with those reproduce
    each part alone (see `clip_parts`)."""
    frames, masks, _ = render_clip_with_plates(cfg, class_index, scene_type, rng)
    return frames, masks


def render_clip_with_plates(
    cfg: SynthConfig, class_index: int, scene_type: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`render_clip` and each frame's clean background plate (the scene without the figure, [T,H,W,3])."""
    scene_rng, figure_rng = clip_parts(rng)
    plates = pan_plates(cfg, scene_type, scene_rng)
    frames, masks = render_figure(cfg, class_index, figure_rng, background=plates)
    return frames, masks, plates


def pan_plates(cfg: SynthConfig, scene_type: int, rng: np.random.Generator) -> np.ndarray:
    """The scene seen by the clip's camera, one plate per frame: still, or panning `camera_pan` px per frame to
    the right (a scene rendered wide enough, cropped at sub-pixel offsets); the figure stays in frame (tracked)."""
    S, T = cfg.size, cfg.frames
    if cfg.camera_pan == 0:
        return np.repeat(render_scene(S, scene_type, rng)[None], T, 0)
    wide = render_scene(S + int(np.ceil(cfg.camera_pan * (T - 1))) + 2, scene_type, rng)
    top = (wide.shape[0] - S) // 2  # the middle rows keep the horizon where a still camera has it
    return np.stack([
        cv2.warpAffine(wide, np.float32([[1, 0, -cfg.camera_pan * t], [0, 1, -top]]), (S, S), flags=cv2.INTER_LINEAR)
        for t in range(T)
    ])  # fmt: skip


def clip_parts(rng: np.random.Generator) -> tuple[np.random.Generator, np.random.Generator]:
    """The (scene, figure) generators a clip uses, derived from the clip's generator."""
    a, b = rng.integers(0, 2**63, 2)
    return np.random.default_rng(a), np.random.default_rng(b)


def clip_rng(seed: int, split: str, class_index: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), class_index, index]))


def choose_scene(cls: int, scene_types: int, correlation: float, rng: np.random.Generator) -> int:
    """The class's scene with probability `correlation`, else a uniformly random other scene type (with a
    single scene type every clip shows it, whatever the correlation)."""
    own = class_scene(cls, scene_types)
    if scene_types == 1 or rng.random() < correlation:
        return own
    return int([k for k in range(scene_types) if k != own][rng.integers(scene_types - 1)])


def make_clip(cfg: SynthConfig, split: str, class_index: int, index: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Clip `index` of a class in a split: (scene_type, frames, masks), from its own random stream."""
    return make_clip_with_plates(cfg, split, class_index, index)[:3]


def make_clip_with_plates(cfg: SynthConfig, split: str, class_index: int, index: int) -> tuple:
    """`make_clip` and the clip's background plates: (scene_type, frames, masks, plates)."""
    scene, rng = _clip_scene(cfg, split, class_index, index)
    return (scene, *render_clip_with_plates(cfg, class_index, scene, rng))


def _clip_scene(cfg: SynthConfig, split: str, class_index: int, index: int) -> tuple[int, np.random.Generator]:
    """The clip's scene type and its generator, as the clip's picture draws them."""
    rng = clip_rng(cfg.seed, split, class_index, index)
    corr = cfg.scene_correlation
    if split == "test" and cfg.test_scene_correlation is not None:
        corr = cfg.test_scene_correlation
    return choose_scene(class_index, cfg.scene_types, corr, rng), rng


AUDIO_STREAM = 1  # the fifth SeedSequence entry of a clip's sound: apart from its picture's stream


def make_clip_sound(cfg: SynthConfig, split: str, class_index: int, index: int) -> tuple[int, np.ndarray]:
    """(sound class, mono soundtrack at `audio_rate`) of a clip (data/synth_audio.py): the events fall where the
    clip's figure passes the middle of its movement, replayed from the picture's own draws (`sample_movement`)."""
    scene, rng = _clip_scene(cfg, split, class_index, index)
    speed, phase0 = sample_movement(clip_parts(rng)[1])
    events = movement_events(phase0, speed, cfg.frames, cfg.fps)
    sound_rng = np.random.default_rng(
        np.random.SeedSequence([cfg.seed, SPLITS.index(split), class_index, index, AUDIO_STREAM])
    )
    corr = cfg.audio_correlation
    if split == "test" and cfg.test_audio_correlation is not None:
        corr = cfg.test_audio_correlation
    sound = choose_sound(class_index, cfg.classes, corr, sound_rng)
    return sound, soundtrack(sound, scene, events, cfg.frames / cfg.fps, cfg.audio_rate, sound_rng)


def _write_pngs(folder: Path, images: np.ndarray) -> None:
    """Masks (bool) as 0/255 PNGs, RGB plates as colour PNGs: DIR/<frame:04d>.png."""
    folder.mkdir(parents=True, exist_ok=True)
    for t, m in enumerate(images):
        path = folder / f"{t:04d}.png"
        tmp = folder / f".{t:04d}.tmp.png"
        cv2.imwrite(str(tmp), m.astype(np.uint8) * 255 if m.ndim == 2 else cv2.cvtColor(m, cv2.COLOR_RGB2BGR))
        os.replace(tmp, path)  # a killed run never leaves a truncated image under the final name


def _rates(rows: list[dict], column: str) -> dict[str, float]:
    """Per split, the share of clips whose `column` is 1 (class_scene, class_sound)."""
    return {sp: round(float(np.mean([r[column] for r in rows if r["split"] == sp] or [0])), 4) for sp in SPLITS}


def generate(cfg: SynthConfig, out: Path) -> dict:
    """Write the data folder (README "Data formats"): videos, masks, split lists, clips.csv, synth.json. With
    `cfg.audio` each video has an AAC soundtrack and clips.csv says whose sound it is (sound_class, class_sound)."""
    out = Path(out)
    start = time.perf_counter()
    classes = list(CLASS_NAMES[: cfg.classes])
    counts = {"train": cfg.train_clips, "val": cfg.val_clips, "test": cfg.test_clips}
    jobs = [(sp, c, i) for sp in SPLITS for c in range(cfg.classes) for i in range(counts[sp])]
    rows: list[dict] = []
    lists: dict[str, list[str]] = {sp: [] for sp in SPLITS}
    for split, c, i in track(jobs, len(jobs), "synth", unit="clips"):
        scene, frames, masks, plates = make_clip_with_plates(cfg, split, c, i)
        name = classes[c]
        clip_id = f"{name}_{split}_{i:03d}"
        rel = f"videos/{name}/{clip_id}.mp4"
        sound_class, audio = make_clip_sound(cfg, split, c, i) if cfg.audio else (None, None)
        write_video(out / rel, list(frames), fps=cfg.fps, audio=audio, sample_rate=cfg.audio_rate)
        _write_pngs(out / "masks" / name / clip_id, masks)
        _write_pngs(out / "plates" / name / clip_id, plates)  # the truth for inpainting (benchmarks/)
        rows_px = masks.any(2)
        heights = [np.flatnonzero(r).ptp() + 1 if r.any() else 0 for r in rows_px]
        rows.append(dict(
            clip_id=clip_id, **{"class": name}, label=c, split=split, scene_type=scene,
            scene_name=scene_name(scene), class_scene=int(scene == class_scene(c, cfg.scene_types)),
            figure_height=round(max(heights) / cfg.size, 4), mask_fraction=round(float(masks.mean()), 5),
            seed=cfg.seed, seed_key=f"[{cfg.seed}, {SPLITS.index(split)}, {c}, {i}]",
        ))  # fmt: skip
        if cfg.audio:  # whose sound the clip makes (data/synth_audio.py)
            rows[-1].update(sound_class=sound_class, class_sound=int(sound_class == c))
        lists[split].append(f"{rel} {c}")
    # Lists and tables last: a crash before this point leaves no list naming a clip that was never written.
    for split in SPLITS:
        atomic_write_text(out / "splits" / f"{split}.txt", "".join(line + "\n" for line in lists[split]))
    atomic_write_text(out / "classes.txt", "".join(name + "\n" for name in classes))
    write_csv(out / "clips.csv", rows, list(rows[0]) if rows else ["clip_id"])
    summary = {
        "clips": len(rows),
        "classes": classes,
        "out": str(out),
        "per_split": {sp: len(lists[sp]) for sp in SPLITS},
        "class_scene_rate": _rates(rows, "class_scene"),
        "scene_of_class": {name: scene_name(class_scene(c, cfg.scene_types)) for c, name in enumerate(classes)},
        **({"class_sound_rate": _rates(rows, "class_sound")} if cfg.audio else {}),
        "seconds": round(time.perf_counter() - start, 2),
        "config": cfg.model_dump(mode="json"),
    }
    write_json(out / "synth.json", summary)
    return summary
