"""A split's spectrograms (the manifest's `audio` column) as one float32 array, for the audio stream's batches.

A spectrogram is small (64 x 101 float32: 26 KB), so a split's are read once into memory (one file per clip,
shared by the clip's rows) instead of going through the image caches and shards of datamodule.py / store.py.
Rows with an empty `audio` cell (a clip without usable sound, `prepare --audio`) and every row when the sound is
off hear silence: SILENCE_DB everywhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bodyscene.config import MelConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import read_json
from bodyscene.schema import SILENCE_DB
from bodyscene.stimuli.manifest import StimulusSet
from bodyscene.stimuli.sound import read_spectrogram, spectrogram_shape


def mel_settings(root: Path) -> tuple[bool, MelConfig]:
    """(made with --audio, its mel settings) of a stimulus set, from STIM/stimuli.json."""
    meta = root / "stimuli.json"
    prepare = (read_json(meta).get("settings") or {}).get("prepare", {}) if meta.is_file() else {}
    return bool(prepare.get("audio")), MelConfig.model_validate(prepare.get("mel") or {})


class Spectrograms:
    """N x 1 x n_mels x frames float32 for `rows` of a stimulus set; `column` None: all silence."""

    def __init__(self, stimuli: StimulusSet, rows: list[dict[str, str]], column: str | None):
        made_with_audio, mel = mel_settings(stimuli.root)
        shape = spectrogram_shape(mel)
        if column is not None and not made_with_audio:
            raise BodySceneError(
                f"{stimuli.root / 'manifest.csv'}: no {column!r} column; the audio stream needs a set made with "
                "`bodyscene prepare --audio` (prepare.audio: true)"
            )
        self.array = np.full((len(rows), 1, *shape), SILENCE_DB, np.float32)
        loaded: dict[str, np.ndarray] = {}
        for i, row in enumerate(rows):
            rel = row.get(column, "") if column is not None else ""
            if rel:
                if rel not in loaded:
                    loaded[rel] = read_spectrogram(stimuli.root / rel, shape)
                self.array[i, 0] = loaded[rel]

    def __len__(self) -> int:
        return len(self.array)

    def read(self, idx: np.ndarray) -> np.ndarray:
        return self.array[idx]
