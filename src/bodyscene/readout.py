"""How a model's logits become an answer: argmax over all classes or over the offered choices, per frame or per clip.

The paper's humans chose among 5 options (the true action and 4 foils) after watching a whole test clip, and the
networks were scored by their argmax over the same 5 options (the authors' prototype, notebooks 16-*). So:

- `answer(logits, allowed)`: argmax over the classes `allowed` marks (all classes when None);
- `clip_logits(logits, clip_ids)`: the clip's logits are the mean of its evaluated frames' logits;
- `chance(n_choices)`: the chance level of a set of trials, the mean of 1 / (number of options offered).

`Scores` reads and writes RUN/scores.npz (schema.py), the logits every readout starts from.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes
from bodyscene.schema import (
    COMBINED,
    CONDITIONS,
    HEADS,
    SCORES_META,
    SCORES_OPTIONAL,
    UNITS,
    parse_scores_key,
    scores_key,
)


def answer(logits: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """The argmax of each row of `logits` [N, C] over the classes `allowed` [N, C] (bool) marks; None: all."""
    logits = np.asarray(logits, dtype=np.float64)
    if allowed is None:
        return logits.argmax(1)
    allowed = np.asarray(allowed, dtype=bool)
    if allowed.shape != logits.shape:
        raise ValueError(f"allowed has shape {allowed.shape}, logits {logits.shape}")
    if not allowed.any(1).all():
        raise ValueError("every row needs at least one allowed class")
    return np.where(allowed, logits, -np.inf).argmax(1)


def choice_mask(choices: Sequence[Sequence[int] | None], num_classes: int) -> np.ndarray:
    """Rows of class indices (None: every class) as an [N, C] bool mask for `answer`."""
    mask = np.zeros((len(choices), num_classes), dtype=bool)
    for i, row in enumerate(choices):
        if row is None:
            mask[i] = True
        else:
            mask[i, list(row)] = True
    return mask


def chance(n_choices: Sequence[int]) -> float:
    """Chance accuracy of a set of trials: the mean over trials of 1 / (options offered)."""
    n = np.asarray(n_choices, dtype=float)
    return float(np.mean(1.0 / n)) if len(n) else float("nan")


def clip_logits(logits: np.ndarray, clip_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(clips in first-seen order, [n_clips, C] mean logits over each clip's frames)."""
    clips = list(dict.fromkeys(clip_ids))
    index = {c: i for i, c in enumerate(clips)}
    which = np.array([index[c] for c in clip_ids], dtype=int)
    sums = np.zeros((len(clips), logits.shape[1]), dtype=np.float64)
    np.add.at(sums, which, logits)
    return clips, sums / np.bincount(which, minlength=len(clips))[:, None]


def softmax_max(logits: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Softmax probability of the predicted class (over all classes)."""
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return p[np.arange(len(pred)), pred]


def manifest_digest(stimuli_root: str | Path) -> str:
    return hashlib.sha256((Path(stimuli_root) / "manifest.csv").read_bytes()).hexdigest()


def check_name(kind: str, value: str, allowed: Sequence[str], fix: str) -> str:
    if value not in allowed:
        raise BodySceneError(f"unknown {kind} {value!r}; choose one of {', '.join(allowed)} ({fix})")
    return value


@dataclass
class Scores:
    """The logits of every model, head and condition on one evaluated split (RUN/scores.npz)."""

    stimulus_ids: list[str]
    clip_ids: list[str]
    classes: list[str]
    labels: np.ndarray
    manifest: str  # sha256 of the stimulus set's manifest.csv
    logits: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)  # (model, head, condition)
    source: str = "scores.npz"
    swap_scene: np.ndarray | None = None  # [N] class of each stimulus's swap background, -1: none (prepare.swap)

    def __post_init__(self) -> None:
        self._row = {s: i for i, s in enumerate(self.stimulus_ids)}
        self._clip_rows: dict[str, list[int]] = {}
        for i, c in enumerate(self.clip_ids):
            self._clip_rows.setdefault(c, []).append(i)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(m for m, _, _ in self.logits))

    def heads(self, model: str) -> list[str]:
        return [h for h in HEADS if (model, h, CONDITIONS[0]) in self.logits]

    def get(self, model: str, head: str = COMBINED, condition: str = "original") -> np.ndarray:
        key = (model, head, condition)
        if key not in self.logits:
            have = ", ".join(self.heads(model)) or "none"
            raise BodySceneError(
                f"{self.source}: no logits for model {model!r}, head {head!r}, condition {condition!r} "
                f"(its heads: {have}); rerun `bodyscene evaluate` or choose another head"
            )
        return self.logits[key]

    def has_clip(self, clip_id: str) -> bool:
        return clip_id in self._clip_rows

    def rows_of(self, item: str, unit: str) -> list[int]:
        """Rows of the scores that make up `item`: one stimulus (frame unit) or all frames of a clip."""
        if unit == "frame":
            return [self._row[item]] if item in self._row else []
        return self._clip_rows.get(item, [])

    def item_logits(self, model: str, head: str, condition: str, item: str, unit: str) -> np.ndarray | None:
        rows = self.rows_of(item, unit)
        return self.get(model, head, condition)[rows].mean(0) if rows else None

    @property
    def frames_per_clip(self) -> float:
        return len(self.stimulus_ids) / max(1, len(self._clip_rows))

    def save(self, path: Path) -> Path:
        arrays = {
            "stimulus_ids": np.array(self.stimulus_ids, dtype=str),
            "clip_ids": np.array(self.clip_ids, dtype=str),
            "classes": np.array(self.classes, dtype=str),
            "labels": np.asarray(self.labels, dtype=np.int64),
            "manifest": np.array(self.manifest, dtype=str),
        }
        arrays |= {scores_key(*k): np.asarray(v, dtype=np.float32) for k, v in self.logits.items()}
        if self.swap_scene is not None:
            arrays["swap_scene"] = np.asarray(self.swap_scene, dtype=np.int64)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Scores:
        path = Path(path)
        if not path.is_file():
            raise BodySceneError(f"{path}: file not found; run `bodyscene evaluate --run {path.parent}` first")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except Exception as e:  # noqa: BLE001 - a damaged file is one user-facing error
            raise BodySceneError(f"{path}: not a readable scores file ({type(e).__name__}); rerun evaluate") from e
        missing = [k for k in SCORES_META if k not in data]
        if missing:
            raise BodySceneError(f"{path}: lacks {', '.join(missing)}; rerun `bodyscene evaluate` to rewrite it")
        logits = {}
        for key in data:
            if key not in SCORES_META and key not in SCORES_OPTIONAL:
                model, head, condition = parse_scores_key(key)
                logits[(model, head, condition)] = data[key]
        return cls(
            stimulus_ids=[str(s) for s in data["stimulus_ids"]],
            clip_ids=[str(s) for s in data["clip_ids"]],
            classes=[str(s) for s in data["classes"]],
            labels=data["labels"].astype(int),
            manifest=str(data["manifest"]),
            logits=logits,
            source=str(path),
            swap_scene=data["swap_scene"].astype(int) if "swap_scene" in data else None,
        )


__all__ = ["UNITS", "Scores", "answer", "chance", "check_name", "choice_mask", "clip_logits", "manifest_digest"]
