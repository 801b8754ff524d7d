"""Data-set readers: a list of clips (path, class, split) from a data folder's layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bodyscene.config import SPLITS
from bodyscene.errors import BodySceneError


@dataclass(frozen=True)
class Clip:
    clip_id: str  # stable, unique within the data set (the video's stem)
    path: Path  # absolute path of the video
    rel: str  # path relative to the data root, as written in the split lists
    label: int
    class_name: str
    split: str


def read_classes(root: Path) -> list[str]:
    path = root / "classes.txt"
    if not path.is_file():
        raise BodySceneError(f"{path}: missing; the 'list' layout needs classes.txt (one class name per line)")
    classes = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not classes:
        raise BodySceneError(f"{path}: empty; write one class name per line")
    return classes


def read_list_layout(root: str | Path) -> tuple[list[str], list[Clip]]:
    """mmaction2-style lists: ROOT/classes.txt and ROOT/splits/{train,val,test}.txt with `relative/path label`."""
    root = Path(root)
    if not root.is_dir():
        raise BodySceneError(f"{root}: data folder not found; run `bodyscene synth --out {root}` or pass --data")
    classes = read_classes(root)
    clips: list[Clip] = []
    seen: dict[str, str] = {}
    for split in SPLITS:
        path = root / "splits" / f"{split}.txt"
        if not path.is_file():
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise BodySceneError(f"{path}:{n}: expected 'relative/path label', got {line!r}")
            rel, label = parts[0], int(parts[1])
            if not 0 <= label < len(classes):
                raise BodySceneError(
                    f"{path}:{n}: label {label} is not a class index 0..{len(classes) - 1} of classes.txt"
                )
            clip_id = Path(rel).stem
            if clip_id in seen:
                raise BodySceneError(f"{path}:{n}: clip {clip_id!r} listed twice (also in {seen[clip_id]})")
            seen[clip_id] = f"{path.name}"
            clips.append(Clip(clip_id, root / rel, rel, label, classes[label], split))
    if not clips:
        raise BodySceneError(f"{root / 'splits'}: no clips listed; write splits/train.txt (and val.txt, test.txt)")
    return classes, clips
