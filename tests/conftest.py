"""Shared fixtures: a tiny data folder (videos, masks, split lists) and the stimulus set made from it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bodyscene.config import PrepareConfig
from bodyscene.data.video import write_video

TINY_CLASSES = ["wave", "jump", "squat", "kick"]
SPLIT_NUMBER = {"train": 0, "val": 1, "test": 2}


def draw_clip(label: int, index: int, frames: int = 4, size: int = 64) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A flat scene whose colour depends on the class, and a 'person' (a filled box) whose shape depends on it too."""
    rng = np.random.default_rng(1000 * label + index)
    scene = np.array([(60 * label + 40) % 255, 120, 200 - 40 * label], np.uint8)
    images, masks = [], []
    for t in range(frames):
        image = np.empty((size, size, 3), np.uint8)
        image[:] = scene
        image[size // 2 :] //= 2  # a horizon
        mask = np.zeros((size, size), np.uint8)
        x, y = 10 + int(rng.integers(0, 20)) + t, 12 + int(rng.integers(0, 10))
        w, h = 6 + 4 * label, 30 - 4 * label
        cv2.rectangle(mask, (x, y), (x + w, y + h), 255, -1)
        image[mask > 0] = (230, 60 + 40 * label, 40)
        images.append(image)
        masks.append(mask)
    return images, masks


def class_tone(label: int, index: int, seconds: float, rate: int = 16000) -> np.ndarray:
    """A clip's soundtrack for `make_tiny_data(audio=True)`: a tone at 400 * 1.5^label Hz over a little noise."""
    t = np.arange(round(seconds * rate)) / rate
    noise = np.random.default_rng(7919 * label + index).normal(0, 0.01, len(t))
    return (0.3 * np.sin(2 * np.pi * 400 * 1.5**label * t) + noise).astype(np.float32)


def make_tiny_data(
    root: Path, clips_per_split: dict[str, int] | None = None, frames: int = 4, audio: bool = False
) -> Path:
    clips_per_split = clips_per_split or {"train": 4, "val": 1, "test": 2}
    (root / "classes.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("".join(f"{c}\n" for c in TINY_CLASSES))
    (root / "splits").mkdir(exist_ok=True)
    for split, n in clips_per_split.items():
        lines = []
        for label, name in enumerate(TINY_CLASSES):
            for i in range(n):
                clip_id = f"{name}_{split}_{i:03d}"
                images, masks = draw_clip(label, 100 * SPLIT_NUMBER[split] + i, frames)  # hash() of str varies per run
                rel = f"videos/{name}/{clip_id}.mp4"
                sound = class_tone(label, 100 * SPLIT_NUMBER[split] + i, frames / 8) if audio else None
                write_video(root / rel, images, audio=sound)
                for t, m in enumerate(masks):
                    path = root / "masks" / name / clip_id / f"{t:04d}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(path), m)
                lines.append(f"{rel} {label}\n")
        (root / "splits" / f"{split}.txt").write_text("".join(lines))
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return make_tiny_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_stimuli(tiny_data, tmp_path_factory) -> Path:
    from bodyscene.stimuli.make import prepare

    out = tmp_path_factory.mktemp("stimuli")
    prepare(tiny_data, out, PrepareConfig(frames_per_clip=2))
    return out


@pytest.fixture(scope="session")
def sound_data(tmp_path_factory) -> Path:
    """`tiny_data` whose videos have a soundtrack: a tone per class (`class_tone`)."""
    return make_tiny_data(tmp_path_factory.mktemp("sound-data"), audio=True)


@pytest.fixture(scope="session")
def sound_stimuli(sound_data, tmp_path_factory) -> Path:
    from bodyscene.stimuli.make import prepare

    out = tmp_path_factory.mktemp("sound-stimuli")
    prepare(sound_data, out, PrepareConfig(frames_per_clip=2, audio=True))
    return out


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """`run_cli(*args, one_line=False) -> (exit code, stderr)`: the bodyscene CLI in this process, as a user runs
    it. With one_line, stderr must be one line and hold no traceback (the bad-input contract)."""
    import sys

    from bodyscene.cli import main

    def run(*args, one_line: bool = False) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["bodyscene", *map(str, args)])
        with pytest.raises(SystemExit) as exit_info:
            main()
        err = capsys.readouterr().err
        if one_line:
            assert "Traceback" not in err
            assert len(err.strip().splitlines()) == 1, err
        return exit_info.value.code, err

    return run
