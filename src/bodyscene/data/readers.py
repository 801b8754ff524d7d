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
        raise BodySceneError(f"{path}: missing; the 'list' layout needs classes.txt, one class per line")
    classes = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not classes:
        raise BodySceneError(f"{path}: empty; write one class name per line")
    return classes


def read_list_layout(root: str | Path) -> tuple[list[str], list[Clip]]:
    """mmaction2-style lists: ROOT/classes.txt, ROOT/splits/{train,val,test}.txt of `relative/path label`."""
    root = Path(root)
    if not root.is_dir():
        raise BodySceneError(f"{root}: data folder not found; run `bodyscene synth --out {root}` or fix --data")
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
        raise BodySceneError(f"{root / 'splits'}: no clips listed; write splits/train.txt (and val, test)")
    return classes, clips


VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
LAYOUTS = ("list", "haa500", "folders")
# HAA500 v1.1 (Chung et al. 2021, "HAA500: Human-Centric Atomic Action Dataset with Curated Videos"): 20 clips
# per action named <action>_<NNN>.mp4; the release's split by clip number: 000-015 train, 016 val, 017-019
# test.
HAA500_SPLIT = {**{i: "train" for i in range(16)}, 16: "val", 17: "test", 18: "test", 19: "test"}


def _videos(folder: Path) -> list[Path]:
    found = folder.rglob("*")
    return sorted(p for p in found if p.suffix.lower() in VIDEO_EXTS and not p.name.startswith("."))


def _subset(classes: list[str], wanted: list[str] | None, where: Path) -> list[str]:
    """Keep the `--classes` subset (in the order given); unknown names are one clear error."""
    if not wanted:
        return classes
    missing = [c for c in wanted if c not in classes]
    if missing:
        close = ", ".join(classes[:5]) + (" ..." if len(classes) > 5 else "")
        raise BodySceneError(f"{where}: no class {', '.join(missing)} (classes: {close}); fix --classes")
    return list(dict.fromkeys(wanted))


def _relabel(clips: list[Clip], classes: list[str]) -> list[Clip]:
    index = {c: i for i, c in enumerate(classes)}
    keep = [c for c in clips if c.class_name in index]
    return [Clip(c.clip_id, c.path, c.rel, index[c.class_name], c.class_name, c.split) for c in keep]


def read_haa500(root: str | Path, classes: list[str] | None = None) -> tuple[list[str], list[Clip]]:
    """HAA500 v1.1 as released: `<action>_<NNN>.mp4` under ROOT (flat or video/<action>/), its own split."""
    root = Path(root)
    if not root.is_dir():
        raise BodySceneError(f"{root}: HAA500 folder not found; unzip haa500_v1_1.zip, pass the folder as --data")
    found: dict[str, list[Clip]] = {}
    for path in _videos(root):
        action, _, number = path.stem.rpartition("_")
        if not action or not number.isdigit():
            raise BodySceneError(f"{path}: not an HAA500 name <action>_<NNN>; remove it or use --layout folders")
        n = int(number)
        if n not in HAA500_SPLIT:
            raise BodySceneError(f"{path}: clip number {n} is outside HAA500's 000-019; use --layout folders")
        rel = path.relative_to(root).as_posix()
        found.setdefault(action, []).append(Clip(path.stem, path, rel, -1, action, HAA500_SPLIT[n]))
    if not found:
        raise BodySceneError(f"{root}: no <action>_<NNN>.mp4 clips; pass the unzipped haa500_v1_1 folder")
    names = _subset(sorted(found), classes, root)
    clips = [c for name in names for c in sorted(found[name], key=lambda c: c.clip_id)]
    return names, _relabel(clips, names)


def _seeded_split(items: list, seed: int, fractions: tuple[float, float]) -> dict[str, str]:
    """Shuffle one class's clips with `seed`; cut val/test fractions off the end (>= 1 test clip when n >=
    2)."""
    import random

    items = sorted(items)
    random.Random(seed).shuffle(items)
    n = len(items)
    n_val = round(fractions[0] * n)
    n_test = max(round(fractions[1] * n), 1 if n >= 2 else 0)
    n_val = min(n_val, max(0, n - n_test - 1))
    split = {}
    for i, item in enumerate(items):
        split[item] = "test" if i >= n - n_test else "val" if i >= n - n_test - n_val else "train"
    return split


def read_folders(
    root: str | Path,
    classes: list[str] | None = None,
    split_file: str | Path | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> tuple[list[str], list[Clip]]:
    """A folder of videos per class: ROOT/<class>/<clip>.<ext>.

    Split: `split_file` (CSV with columns `path,split`, path relative to ROOT; clips it does not list are left
    out) or, without one, a seeded per-class random split (val/test fractions), the same for the same seed.
    """
    root = Path(root)
    if not root.is_dir():
        raise BodySceneError(f"{root}: data folder not found; pass a folder holding one subfolder per class")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _videos(p))
    if not names:
        raise BodySceneError(f"{root}: no class folders with videos; expected ROOT/<class>/<clip>.mp4")
    names = _subset(names, classes, root)
    given: dict[str, str] | None = None
    if split_file is not None:
        from bodyscene.files import read_csv

        given = {}
        for n, row in enumerate(read_csv(split_file, required=("path", "split")), start=2):
            if row["split"] not in SPLITS:
                raise BodySceneError(f"{split_file}:{n}: split {row['split']!r} is not {'/'.join(SPLITS)}")
            given[Path(row["path"]).as_posix()] = row["split"]
    clips: list[Clip] = []
    seen: dict[str, str] = {}
    for label, name in enumerate(names):
        rels = [p.relative_to(root).as_posix() for p in _videos(root / name)]
        split = given if given is not None else _seeded_split(rels, seed, (val_fraction, test_fraction))
        for rel in rels:
            if rel not in split:
                continue
            clip_id = Path(rel).stem
            if clip_id in seen:  # ids name output files, so two clips may not share one
                clip_id = Path(rel).with_suffix("").as_posix().replace("/", "__")
            seen[clip_id] = rel
            clips.append(Clip(clip_id, root / rel, rel, label, name, split[rel]))
    if not clips:
        raise BodySceneError(f"{split_file}: lists none of the videos under {root}; paths are relative to ROOT")
    return names, clips


def read_clips(root: str | Path, layout: str = "list", classes: list[str] | None = None, **options):
    """A data set's clips by layout: list (mmaction2 lists), haa500 (as released), folders (one per class)."""
    if layout == "list":
        names, clips = read_list_layout(root)
        names = _subset(names, classes, Path(root) / "classes.txt")
        return names, _relabel(clips, names) if classes else clips
    if layout == "haa500":
        return read_haa500(root, classes)
    if layout == "folders":
        return read_folders(root, classes, **options)
    raise BodySceneError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
