"""Who sees which stimulus in which condition, in what order: the human study's counterbalanced design.

Pure functions over plain data (no files): `build_design` turns the usable clips of a stimulus set into one
trial list per participant. The default is a Latin square over the three conditions: participant p sees clip c
in condition (c's rank within its class + its class index + p) mod 3, so every participant sees every clip
exactly once, sees each condition equally often within each class (when the clips per class are a multiple of
3), and every 3 consecutive participants together see every clip in every condition (a standard Latin-square
rotation; it keeps a participant from recognising a background-only frame because they saw the same clip's
original before).
`design="full"` shows every clip in all three conditions to everyone instead.

Units: `frame` makes one trial per sampled frame (stimulus_id = the frame's); `clip` one trial per clip, which plays
the clip's frames (stimulus_id = clip_id), as the paper's participants watched whole clips. Answer options: the true
action plus n-1 foils drawn per trial with the participant's seed (the paper: n = 5), or every class.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bodyscene.config import CONDITIONS
from bodyscene.errors import BodySceneError

DesignKind = Literal["latin", "full"]
Unit = Literal["frame", "clip"]
PAPER_CHOICES = 5  # the true action + 4 foils (the authors' prototype, notebooks 16-*)


@dataclass(frozen=True)
class StudyClip:
    """One clip as the study shows it (its frames' stimulus ids and image paths per condition); not
    `data.readers.Clip`, a video of a data set."""

    clip_id: str
    label: str  # class name
    label_index: int
    # one entry per sampled frame: {"stimulus_id": ..., "original": path, "body": path, "background": path}
    # (+ "swap": path, "swap_scene": class, when the experiment has swap trials and the frame a swap)
    frames: tuple[dict[str, str], ...] = field(default_factory=tuple)


def participant_seed(design_seed: int, participant: int) -> int:
    """A participant's own shuffle seed: stable, recorded, different for every (design seed, participant)."""
    digest = hashlib.sha256(f"bodyscene:{design_seed}:{participant}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def latin_condition(rank: int, participant: int) -> str:
    """The condition a participant sees a clip of the given rotation rank in (participants count from 1)."""
    return CONDITIONS[(rank + participant - 1) % len(CONDITIONS)]


def rotation_ranks(clips: Sequence[StudyClip]) -> dict[str, int]:
    """Rank within its class plus the class index, so conditions are balanced within and across classes."""
    seen: dict[str, int] = {}
    ranks: dict[str, int] = {}
    for clip in sorted(clips, key=lambda c: (c.label_index, c.clip_id)):
        k = seen.get(clip.label, 0)
        seen[clip.label] = k + 1
        ranks[clip.clip_id] = k + clip.label_index
    return ranks


def resolve_choices(choices: int | str | None, n_classes: int, where: str = "--choices") -> int:
    """Options per trial: an int (at most the classes tested), 'all', or None (the paper's 5, or every class
    when the study tests 5 or fewer)."""
    if choices is None:
        return min(PAPER_CHOICES, n_classes)
    if choices == "all":
        return n_classes
    if not isinstance(choices, int) or isinstance(choices, bool) or choices < 2:
        raise BodySceneError(f"{where} {choices!r}: give a number of options (2 or more) or 'all'")
    if choices > n_classes:
        raise BodySceneError(
            f"{where} {choices}: more options than the {n_classes} classes tested; lower it or use --choices all"
        )
    return choices


def choice_set(
    label: str, classes: Sequence[str], n_choices: int, rng: np.random.Generator, also: str | None = None
) -> list[str]:
    """The answer buttons of one trial. All classes: fixed class order, so buttons never move. Fewer (the
    paper's 5): the true label (and `also`, a swap trial's scene action) plus foils drawn at random from the other
    classes, in random order."""
    if n_choices >= len(classes):
        return list(classes)
    fixed = [label] if also is None or also == label else [label, also]
    others = [c for c in classes if c not in fixed]
    picked = [others[i] for i in rng.choice(len(others), size=max(0, n_choices - len(fixed)), replace=False)]
    options = [*fixed, *picked]
    return [options[i] for i in rng.permutation(len(options))]


def _attention_positions(n_trials: int, n_checks: int) -> list[int]:
    """Evenly spread: check j goes before stimulus trial round((j+1) * n / (k+1)), never first or last."""
    return [round((j + 1) * n_trials / (n_checks + 1)) for j in range(n_checks)]


def clip_trials(clip: StudyClip, conditions: Sequence[str], unit: Unit) -> list[dict[str, Any]]:
    """The stimulus trials one clip gives in the given conditions (one clip trial, or a still per frame), plus a
    still cue-conflict trial for each frame that has a swap (humans/swap.py), before choices and order."""
    planned: list[dict[str, Any]] = []
    for condition in conditions:
        if unit == "clip":
            planned.append({"kind": "stimulus", "unit": "clip", "stimulus_id": clip.clip_id, "clip_id": clip.clip_id,
                            "condition": condition, "label": clip.label, "frames": [f[condition] for f in clip.frames]})  # fmt: skip
            continue
        planned += [
            {"kind": "stimulus", "unit": "frame", "stimulus_id": frame["stimulus_id"], "clip_id": clip.clip_id,
             "condition": condition, "label": clip.label, "image": frame[condition]}
            for frame in clip.frames
        ]  # fmt: skip
    for frame in clip.frames:  # cue-conflict trials besides the Latin square's, as stills
        if "swap" in frame:
            planned.append({"kind": "stimulus", "unit": "frame", "stimulus_id": frame["stimulus_id"],
                            "clip_id": clip.clip_id, "condition": "swap", "label": clip.label,
                            "scene": frame["swap_scene"], "image": frame["swap"]})  # fmt: skip
    return planned


def participant_trials(
    participant: int,
    clips: Sequence[StudyClip],
    classes: Sequence[str],
    kind: DesignKind,
    n_choices: int,
    attention_checks: int,
    design_seed: int,
    unit: Unit = "frame",
) -> dict[str, Any]:
    """One participant's trial list: stimulus trials in shuffled order, attention checks spread among them."""
    seed = participant_seed(design_seed, participant)
    rng = np.random.default_rng(seed)
    ranks = rotation_ranks(clips)
    planned: list[dict[str, Any]] = []
    for clip in clips:
        conditions = CONDITIONS if kind == "full" else (latin_condition(ranks[clip.clip_id], participant),)
        planned += clip_trials(clip, conditions, unit)
    order = rng.permutation(len(planned))
    trials: list[dict[str, Any]] = []
    for number, i in enumerate(order, start=1):
        trial = planned[i]
        trial["trial"] = number
        trial["choices"] = choice_set(trial["label"], classes, n_choices, rng, also=trial.get("scene"))
        trials.append(trial)
    for offset, pos in enumerate(_attention_positions(len(trials), attention_checks)):
        target = classes[int(rng.integers(len(classes)))]
        check = {
            "kind": "attention",
            "check": offset + 1,
            "target": target,
            "choices": choice_set(target, classes, n_choices, rng),
        }
        trials.insert(pos + offset, check)
    return {"participant": str(participant), "seed": seed, "trials": trials}


def build_design(
    clips: Sequence[StudyClip],
    classes: Sequence[str],
    participants: int,
    kind: DesignKind = "latin",
    n_choices: int | None = None,
    attention_checks: int = 2,
    seed: int = 0,
    unit: Unit = "frame",
) -> list[dict[str, Any]]:
    """Trial lists for participants 1..N (the number a participant is given in the URL: ?participant=N).
    `n_choices`: options per trial (None: every class)."""
    n = len(classes) if n_choices is None else n_choices
    return [
        participant_trials(p, clips, classes, kind, n, attention_checks, seed, unit) for p in range(1, participants + 1)
    ]
