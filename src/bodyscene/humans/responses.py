"""Human response CSVs: read, validate against the stimulus set, and say exactly which line is wrong.

One row per trial: `participant, stimulus_id, condition, label, response` (optional `rt_ms`, `trial`, `choices`,
`kind`, `unit`);
`label` and `response` are class names, `condition` is one of `original, body, background`. `stimulus_id` names a
stimulus of the manifest (one frame) or a clip (`clip_id`: the trial showed the whole clip). `choices` lists the
class names the trial offered, joined by `|` (absent or empty: every class); columns are defined in schema.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from bodyscene.errors import BodySceneError
from bodyscene.files import iter_csv, read_csv
from bodyscene.schema import (
    CHOICE_SEPARATOR,
    COMBINED,
    CONDITIONS,
    HUMAN_OPTIONAL,
    HUMAN_REQUIRED,
    SWAP_CONDITION,
    TRIAL_KINDS,
)

REQUIRED = HUMAN_REQUIRED
OPTIONAL = HUMAN_OPTIONAL
TRIAL_CONDITIONS = (*CONDITIONS, SWAP_CONDITION)  # swap: a cue-conflict trial (stimuli/swap.py, humans/swap.py)


@dataclass(frozen=True, slots=True)  # slots: a million trials take ~46 MB less (benchmarks/compare_scale.py)
class Trial:
    participant: str
    stimulus_id: str
    condition: str
    label: str
    response: str
    rt_ms: float | None = None
    trial: int | None = None
    choices: tuple[str, ...] | None = None  # the classes offered; None: every class
    kind: str = "stimulus"  # or practice / attention (not scored)

    @property
    def correct(self) -> bool:
        return self.response == self.label


@dataclass(frozen=True)
class StimulusLabels:
    """What the human side needs from a stimulus set (`stimuli.manifest.StimulusSet`): the class names and each
    stimulus's true class, split and clip."""

    classes: list[str]
    labels: dict[str, str]  # stimulus_id -> class name
    splits: dict[str, str]  # stimulus_id -> split
    clips: dict[str, str]  # stimulus_id -> clip_id
    source: str  # where the ids came from, for error messages
    swap_scenes: dict[str, str] = field(default_factory=dict)  # stimulus_id -> its swap's scene class (prepare.swap)

    @cached_property
    def clip_labels(self) -> dict[str, str]:
        """clip_id -> class name, for trials that showed a whole clip (built once: label_of runs per row)."""
        return {self.clips[s]: label for s, label in self.labels.items()}

    def label_of(self, item: str) -> str | None:
        """The class of a stimulus id or a clip id (None: neither)."""
        return self.labels.get(item) or self.clip_labels.get(item)


def load_stimulus_set(stim: str | Path) -> StimulusLabels:
    """STIM/manifest.csv + classes.txt through the stimulus stage's own reader (same checks, same messages)."""
    from bodyscene.stimuli.manifest import read_stimulus_set

    stimuli = read_stimulus_set(stim)
    rows = stimuli.rows
    return StimulusLabels(
        classes=stimuli.classes,
        labels={r["stimulus_id"]: r["class"] for r in rows},
        splits={r["stimulus_id"]: r["split"] for r in rows},
        clips={r["stimulus_id"]: r["clip_id"] for r in rows},
        source=str(stimuli.root / "manifest.csv"),
        swap_scenes={r["stimulus_id"]: r["swap_background_label"] for r in rows if r.get("swap")},
    )


def stimulus_set_from_predictions(predictions: list[dict[str, str]], source: str) -> StimulusLabels:
    """Fallback when the manifest is not at hand: the ids and labels the models were evaluated on."""
    labels = {r["stimulus_id"]: r["label"] for r in predictions}
    classes = sorted(set(labels.values()) | {r["predicted"] for r in predictions})
    return StimulusLabels(classes, labels, dict.fromkeys(labels, "test"), {s: s for s in labels}, source)


def _kind(row: dict[str, str]) -> str:
    return (row.get("kind") or "").strip() or "stimulus"


def _problem(row: dict[str, str], stim: StimulusLabels) -> str | None:
    """What is wrong with one row (None if nothing), phrased as '<what>; <fix>'."""
    kind = _kind(row)
    if kind not in TRIAL_KINDS:
        return f"kind '{kind}' is not one of {', '.join(TRIAL_KINDS)}; leave it empty for a scored trial"
    required = [c for c in REQUIRED if not (kind == "attention" and c == "condition")]
    for col in required:
        if not (row.get(col) or "").strip():
            return f"empty '{col}'; every {kind} row needs {', '.join(required)}"
    sid, cond = row["stimulus_id"].strip(), (row.get("condition") or "").strip()
    label, response = row["label"].strip(), row["response"].strip()
    if kind != "attention" and cond not in TRIAL_CONDITIONS:
        return f"condition '{cond}' is not one of {', '.join(TRIAL_CONDITIONS)}; use one of those spellings"
    if cond == SWAP_CONDITION and sid not in stim.swap_scenes:
        return f"swap trial on {sid}, which has no swap in {stim.source}; prepare the set with prepare.swap"
    for col, name in (("label", label), ("response", response)):
        if name not in stim.classes:
            return f"unknown class '{name}' in '{col}'; use a class name from {', '.join(stim.classes)}"
    if kind != "attention":
        unit = (row.get("unit") or "").strip()
        truth = {"frame": stim.labels.get(sid), "clip": stim.clip_labels.get(sid)}.get(unit) if unit else None
        if unit and unit not in ("frame", "clip"):
            return f"unit '{unit}' is not frame or clip; leave it empty to infer it from the stimulus_id"
        truth = truth if unit else stim.label_of(sid)
        if truth is None:
            what = f"{unit} id" if unit else "stimulus_id or clip_id"
            return f"unknown stimulus_id '{sid}'; use a {what} from {stim.source}"
        if label != truth:
            return f"label '{label}' but {sid} is class '{truth}' in {stim.source}; fix the label"
    problem = _choices_problem(row.get("choices"), label, response, stim.classes)
    if problem:
        return problem
    if (row.get("rt_ms") or "").strip():
        try:
            float(row["rt_ms"])
        except ValueError:
            return f"rt_ms '{row['rt_ms']}' is not a number; write milliseconds or leave it empty"
    if (row.get("trial") or "").strip() and not re.fullmatch(r"-?[0-9]{1,9}", row["trial"].strip()):
        return f"trial '{row['trial']}' is not an integer; number trials 1, 2, 3, ... or leave it empty"
    return None


def parse_choices(text: str | None) -> tuple[str, ...] | None:
    """`a|b|c` -> ('a', 'b', 'c'); empty or absent -> None (every class was offered)."""
    if text is None or not text.strip():
        return None
    return tuple(c.strip() for c in text.split(CHOICE_SEPARATOR))


def _choices_problem(text: str | None, label: str, response: str, classes: list[str]) -> str | None:
    choices = parse_choices(text)
    if choices is None:
        return None
    fix = f"list the offered class names joined by '{CHOICE_SEPARATOR}', or leave 'choices' empty for all classes"
    unknown = [c for c in choices if c not in classes]
    if unknown:
        return f"choices name {unknown[0]!r}, which is not a class; {fix}"
    if len(set(choices)) != len(choices):
        return f"choices list a class twice ({text.strip()!r}); {fix}"
    if len(choices) < 2:
        return f"choices offer only {len(choices)} option; a forced choice needs 2 or more; {fix}"
    for col, name in (("label", label), ("response", response)):
        if name not in choices:
            return f"choices {text.strip()!r} omit the trial's {col} {name!r}; {fix}"
    return None


def load_responses(path: str | Path, stim: StimulusLabels) -> list[Trial]:
    """The scored trials of a responses file (practice and attention rows are checked, then left out)."""
    return load_study(path, stim)[0]


def load_study(path: str | Path, stim: StimulusLabels) -> tuple[list[Trial], list[Trial]]:
    """(scored trials, practice + attention rows). Every row is read and validated; the first problem is raised
    with its line and how many more there are.

    A bad row is not skipped: a silently dropped trial would bias every accuracy computed from the file.
    """
    path = Path(path)
    # utf-8-sig, one pass, rows not kept: missing file/columns, other encodings, over-long fields are one error
    rows = iter_csv(path, required=REQUIRED)
    trials: list[Trial] = []
    unscored: list[Trial] = []
    problems: list[str] = []
    seen_items: dict[tuple[str, str, str], int] = {}
    seen_trials: dict[tuple[str, int], int] = {}
    for i, row in enumerate(rows):
        line = i + 2  # 1-based, after the header
        problem = _problem(row, stim)
        if problem is None:
            t = Trial(
                participant=row["participant"].strip(),
                stimulus_id=row["stimulus_id"].strip(),
                condition=(row.get("condition") or "").strip(),
                label=row["label"].strip(),
                response=row["response"].strip(),
                rt_ms=float(row["rt_ms"]) if (row.get("rt_ms") or "").strip() else None,
                trial=int(row["trial"]) if (row.get("trial") or "").strip() else None,
                choices=parse_choices(row.get("choices")),
                kind=_kind(row),
            )
            item = (t.participant, t.stimulus_id, t.condition)
            if t.kind != "stimulus":
                if (t.kind, *item) in seen_items:
                    problem = f"duplicate {t.kind} row {t.stimulus_id} of participant {t.participant}; keep one"
                else:
                    seen_items[(t.kind, *item)] = line
                    unscored.append(t)
            elif item in seen_items:
                problem = (
                    f"duplicate trial: participant {t.participant} saw {t.stimulus_id} ({t.condition}) "
                    f"already on line {seen_items[item]}; keep one row per participant, stimulus, condition"
                )
            elif t.trial is not None and (t.participant, t.trial) in seen_trials:
                problem = (
                    f"duplicate trial: participant {t.participant} trial {t.trial} already on line "
                    f"{seen_trials[(t.participant, t.trial)]}; number each participant's trials once"
                )
            else:
                seen_items[item] = line
                if t.trial is not None:
                    seen_trials[(t.participant, t.trial)] = line
                trials.append(t)
        if problem is not None:
            problems.append(f"{path}:{line}: {problem}")
    if problems:
        more = f" ({len(problems) - 1} more problem(s) in this file)" if len(problems) > 1 else ""
        raise BodySceneError(problems[0] + more)
    if not trials:
        raise BodySceneError(f"{path}: no trials; add one row per trial under the header")
    return trials, unscored


def read_predictions(run: str | Path, head: str = COMBINED) -> list[dict[str, str]]:
    """RUN/predictions.csv rows of one head (`bodyscene evaluate` writes it; default: each model's answer)."""
    path = Path(run) / "predictions.csv"
    if not path.is_file():
        raise BodySceneError(f"{path}: file not found; run `bodyscene evaluate --run {run}` first")
    rows = read_csv(path, required=("model", "condition", "stimulus_id", "label", "predicted"))
    return [r for r in rows if r.get("head", COMBINED) == head]


def model_correctness(predictions: list[dict[str, str]]) -> dict[str, dict[tuple[str, str], bool]]:
    """model -> {(condition, stimulus_id): predicted == label}."""
    out: dict[str, dict[tuple[str, str], bool]] = {}
    for r in predictions:
        out.setdefault(r["model"], {})[(r["condition"], r["stimulus_id"])] = r["predicted"] == r["label"]
    return out
