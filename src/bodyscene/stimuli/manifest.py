"""The stimulus set's manifest: one row per sampled frame, with the paths of its three images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv
from bodyscene.schema import (
    AUDIO_COLUMNS,
    CONDITIONS,
    FILL_COLUMNS,
    FLOW_COLUMNS,
    IMAGE_COLUMNS,
    MANIFEST_COLUMNS,
    SKIPPED_COLUMNS,
    SWAP_COLUMNS,
)

__all__ = [
    "AUDIO_COLUMNS", "FILL_COLUMNS", "FLOW_COLUMNS", "IMAGE_COLUMNS", "MANIFEST_COLUMNS", "SKIPPED_COLUMNS", "SWAP_COLUMNS", "StimulusSet", "manifest_columns", "read_stimulus_set",
    "stimulus_id",
]  # fmt: skip


def manifest_columns(flow: bool = False, swap: bool = False, audio: bool = False) -> tuple[str, ...]:
    """The columns of STIM/manifest.csv, in order: the manifest's own, how the fill and the images were made, then
    the optional flow and swap images and the clip's spectrogram."""
    return (
        MANIFEST_COLUMNS
        + FILL_COLUMNS
        + IMAGE_COLUMNS
        + (FLOW_COLUMNS if flow else ())
        + (SWAP_COLUMNS if swap else ())
        + (AUDIO_COLUMNS if audio else ())
    )


def stimulus_id(clip_id: str, frame_index: int) -> str:
    return f"{clip_id}_f{frame_index:04d}"


@dataclass(frozen=True)
class StimulusSet:
    root: Path
    classes: list[str]
    rows: list[dict[str, str]]

    def split(self, name: str, usable_only: bool = True) -> list[dict[str, str]]:
        return [r for r in self.rows if r["split"] == name and (r["status"] == "ok" or not usable_only)]

    def path(self, row: dict[str, str], condition: str) -> Path:
        if not row.get(condition):  # optional columns (flow_*) exist only when prepare wrote them
            fix = (
                "prepare it with `prepare.flow: true`"
                if condition in FLOW_COLUMNS
                else "prepare it with `prepare.swap: {pairing: random}`"
                if condition in SWAP_COLUMNS
                else "rerun `bodyscene prepare`"
            )
            raise BodySceneError(
                f"{self.root / 'manifest.csv'}: no {condition!r} image for {row['stimulus_id']}; {fix}"
            )
        return self.root / row[condition]


def read_stimulus_set(root: str | Path) -> StimulusSet:
    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise BodySceneError(f"{manifest}: not found; make the stimulus set with `bodyscene prepare --out {root}`")
    classes_file = root / "classes.txt"
    if not classes_file.is_file():
        raise BodySceneError(f"{classes_file}: not found; rerun `bodyscene prepare --out {root}`")
    classes = [c.strip() for c in classes_file.read_text().splitlines() if c.strip()]
    rows = read_csv(manifest, required=MANIFEST_COLUMNS)
    for n, row in enumerate(rows, start=2):
        if row["class"] not in classes:
            raise BodySceneError(f"{manifest}:{n}: class {row['class']!r} is not in classes.txt")
    assert set(CONDITIONS) <= set(MANIFEST_COLUMNS)
    return StimulusSet(root, classes, rows)
