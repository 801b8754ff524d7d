"""The one fake stimulus set of the tests: STIM/manifest.csv with schema.py's columns, classes.txt, optional images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bodyscene.files import write_csv
from bodyscene.schema import CONDITIONS, MANIFEST_COLUMNS

# (image column, the row, the clip's index within its class and split) -> the image to write, or None for no file
ImageMaker = Callable[[str, dict[str, Any], int], np.ndarray | None]


def write_stimulus_set(
    stim: Path,
    classes: Sequence[str],
    clips: Sequence[tuple[str, int]],
    clip_id: str = "{cls}_{split}{i:03d}",
    image: ImageMaker | None = None,
    mask_area: float = 0.2,
    frames: dict[str, int] | None = None,
) -> Path:
    """For each class, `clips` [(split, how many)] in order, `frames[split]` frames per clip (default one); every
    condition's path and the mask path follow `prepare`'s layout (COND/SPLIT/CLASS/ID.png); `image` writes the
    files (default: none)."""
    stim.mkdir(parents=True, exist_ok=True)
    (stim / "classes.txt").write_text("\n".join(classes) + "\n")
    rows = []
    for label, cls in enumerate(classes):
        for split, n in clips:
            for i, f in ((i, f) for i in range(n) for f in range((frames or {}).get(split, 1))):
                clip = clip_id.format(cls=cls, split=split, i=i)
                sid = f"{clip}_f{f:04d}"
                row: dict[str, Any] = {"stimulus_id": sid, "clip_id": clip, "class": cls, "label": label}
                row |= {"split": split, "frame_index": f, "mask": f"masks/{split}/{cls}/{sid}.png"}
                row |= {c: f"{c}/{split}/{cls}/{sid}.png" for c in CONDITIONS}
                row |= {"mask_area": mask_area, "persons": 1, "residual_person": 0.0, "status": "ok"}
                for key in (*CONDITIONS, "mask"):
                    img = image(key, row, i) if image is not None else None
                    if img is not None:
                        (stim / row[key]).parent.mkdir(parents=True, exist_ok=True)
                        cv2.imwrite(str(stim / row[key]), img)
                rows.append(row)
    write_csv(stim / "manifest.csv", rows, MANIFEST_COLUMNS)
    return stim
