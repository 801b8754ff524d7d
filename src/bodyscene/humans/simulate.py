"""Simulated participants: a responses CSV with chosen accuracy per condition and agreement with a model.

For tests, demos and power analysis, never as data: participant ids are `sim01, sim02, ...` and a sidecar
`<out>.json` records `"simulated": true` with every setting.

Generative model (per trial of participant p on stimulus s in condition c):
  * with probability `agreement` (alpha) the participant copies the model's correctness m(s, c);
  * otherwise they are correct independently with probability b_c.
  b_c is chosen so the marginal accuracy equals the target a_c:  alpha * q_c + (1 - alpha) * b_c = a_c,
  i.e. b_c = (a_c - alpha * q_c) / (1 - alpha), q_c being the model's accuracy on the condition's test items.
  This needs 0 <= b_c <= 1, i.e. alpha <= min(a_c / q_c, (1 - a_c) / (1 - q_c)); a larger alpha is an error.
  A correct trial answers the true class; a wrong one a uniformly random foil among the options the trial
  offered. m(s, c) is the model's correctness asked as the participant was (restricted argmax over the trial's
  options on RUN/scores.npz, on the frame or on the clip's mean logits; readout.py), and q_c its mean over the
  simulated trials of condition c.
With alpha = 0 the simulated errors are independent of the model's, so its expected error consistency is 0.

Options per trial (`choices`): the true class plus n-1 foils drawn per trial with the seed (the paper's 5-AFC;
`None`: 5, or every class when there are 5 or fewer), or "all"; written to the `choices` column. Unit: `frame`
(one trial per test frame) or `clip` (one trial per test clip, stimulus_id = clip_id, like the browser's clip
trials).

Designs: `counterbalanced` (the browser experiment's): each participant sees each test clip once, in one
condition, rotated over participants like a Latin square (clip i -> condition (i + p) mod 3), in random order;
`full`: every participant sees every test stimulus in all three conditions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bodyscene.config import CONDITIONS, SimulateConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import write_csv, write_json
from bodyscene.humans.responses import StimulusLabels, Trial, load_stimulus_set
from bodyscene.humans.study_design import choice_set, resolve_choices
from bodyscene.schema import CHOICE_SEPARATOR, COMBINED, SCORES_FILE


def parse_accuracy(spec: str) -> dict[str, float]:
    """'original=0.8,body=0.85,background=0.55' -> dict; every condition must be given, each in [0, 1]."""
    out: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, value = part.strip().partition("=")
        try:
            if not sep or key not in CONDITIONS:
                raise ValueError
            out[key] = float(value)
        except ValueError:
            raise BodySceneError(
                f"--accuracy {spec!r}: expected CONDITION=P pairs like original=0.8,body=0.85,background=0.55"
            ) from None
        if not 0.0 <= out[key] <= 1.0:
            raise BodySceneError(f"--accuracy {key}={value}: must be between 0 and 1")
    missing = [c for c in CONDITIONS if c not in out]
    if missing:
        raise BodySceneError(f"--accuracy {spec!r}: missing {', '.join(missing)}; give all three conditions")
    return out


def independent_accuracy(target: float, model_acc: float, agreement: float) -> float:
    """b_c of the module docstring; raises if no b_c in [0, 1] reaches the target."""
    if agreement == 0.0:
        return target
    limit = min(
        target / model_acc if model_acc > 0 else math.inf,
        (1 - target) / (1 - model_acc) if model_acc < 1 else math.inf,
    )
    if agreement > limit + 1e-12:
        raise BodySceneError(
            f"--agreement {agreement:g} cannot give accuracy {target:g} when the model is {model_acc:.3f} "
            f"accurate; use --agreement <= {limit:.3f} or a target nearer the model's accuracy"
        )
    if agreement >= 1.0:
        return target  # never used: every trial copies the model (and target == model_acc here)
    return min(1.0, max(0.0, (target - agreement * model_acc) / (1 - agreement)))


def simulate_responses(
    stimuli: str | Path, out: str | Path, cfg: SimulateConfig | None = None, run: str | Path | None = None
) -> dict:
    """Write `out` (responses CSV) and `out.json` (the sidecar); return the sidecar's content. `cfg` holds the
    settings (the config's `simulate:` section); `run` the scores whose errors are copied when agreement > 0."""
    cfg = cfg or SimulateConfig()
    if cfg.agreement > 0 and run is None:
        raise BodySceneError("--agreement > 0 needs --run RUN and --model NAME (whose errors to copy)")
    stim = load_stimulus_set(stimuli)
    if not any(split == "test" for split in stim.splits.values()):
        raise BodySceneError(f"{stim.source}: no test stimuli; prepare the stimulus set with a test split")
    n_choices = resolve_choices(cfg.choices, len(stim.classes))
    rng = np.random.default_rng(cfg.seed)
    planned = plan_trials(stim, cfg, n_choices, rng)
    model_ok, model_acc = model_correctness(stim, planned, run, cfg.model) if cfg.agreement > 0 else ({}, {})
    p_independent = {c: independent_accuracy(cfg.accuracy[c], model_acc.get(c, 0.0), cfg.agreement) for c in CONDITIONS}
    rows = answer_trials(stim, planned, cfg, model_ok, p_independent, rng)
    out = Path(out)
    write_csv(out, rows, ["participant", "stimulus_id", "condition", "label", "response", "trial", "choices",
                          "kind", "unit"])  # fmt: skip
    sidecar = {
        "simulated": True,
        "generator": "bodyscene simulate-humans",
        "generative_model": "correct = model's correctness with prob. agreement, else Bernoulli(b_c); "
        "b_c = (a_c - agreement * q_c) / (1 - agreement) keeps the marginal accuracy at a_c; "
        "a wrong answer is a uniformly random foil among the trial's options",
        "stimuli": str(stimuli),
        "run": str(run) if run is not None else None,
        "model": cfg.model if cfg.agreement > 0 else None,
        "participants": cfg.participants,
        "design": cfg.design,
        "unit": cfg.unit,
        "choices_per_trial": n_choices,
        "target_accuracy": cfg.accuracy,
        "agreement": cfg.agreement,
        "model_accuracy": model_acc or None,
        "independent_accuracy": p_independent,
        "seed": cfg.seed,
        "trials": len(rows),
    }
    write_json(out.with_name(out.name + ".json"), sidecar)
    return sidecar


def plan_trials(stim: StimulusLabels, cfg: SimulateConfig, n_choices: int, rng: np.random.Generator) -> list[Trial]:
    """Who sees what, in which order, with which options (the design of the module docstring)."""
    test = sorted(s for s, split in stim.splits.items() if split == "test")
    clips = sorted({stim.clips[s] for s in test})
    clip_index = {clip: i for i, clip in enumerate(clips)}
    items_of = clips if cfg.unit == "clip" else test
    label_of = stim.clip_labels if cfg.unit == "clip" else stim.labels
    clip_of = (lambda x: x) if cfg.unit == "clip" else stim.clips.__getitem__
    width = max(2, len(str(cfg.participants)))
    planned: list[Trial] = []
    for p in range(cfg.participants):
        pid = f"sim{p + 1:0{width}d}"
        if cfg.design == "full":
            items = [(s, c) for s in items_of for c in CONDITIONS]
        else:  # Latin-square rotation: clip i is shown to participant p in condition (i + p) mod 3
            items = [(s, CONDITIONS[(clip_index[clip_of(s)] + p) % len(CONDITIONS)]) for s in items_of]
        for trial, k in enumerate(rng.permutation(len(items)), start=1):
            sid, cond = items[k]
            label = label_of[sid]
            options = tuple(choice_set(label, stim.classes, n_choices, rng))
            planned.append(Trial(pid, sid, cond, label, label, trial=trial, choices=options))
    return planned


def model_correctness(
    stim: StimulusLabels, planned: list[Trial], run: str | Path, model: str
) -> tuple[dict[int, bool], dict[str, float]]:
    """The model's correctness on exactly the planned trials, asked as the participant was, and its accuracy per
    condition over them (q_c)."""
    from bodyscene.humans.compare import model_answers
    from bodyscene.readout import Scores

    scores = Scores.load(Path(run) / SCORES_FILE)
    if model not in scores.models:
        raise BodySceneError(f"{scores.source}: no model '{model}'; use one of {', '.join(scores.models)}")
    answers = model_answers(scores, model, COMBINED, planned, stim)
    missing = [t for i, t in enumerate(planned) if i not in answers]
    if missing:
        raise BodySceneError(
            f"{scores.source}: no {model} logits for {missing[0].stimulus_id} ({missing[0].condition}); "
            f"evaluate the run on the stimulus set {stim.source}"
        )
    model_ok = {i: answers[i] == t.label for i, t in enumerate(planned)}
    model_acc = {
        c: float(np.mean([model_ok[i] for i, t in enumerate(planned) if t.condition == c])) for c in CONDITIONS
    }
    return model_ok, model_acc


def answer_trials(
    stim: StimulusLabels,
    planned: list[Trial],
    cfg: SimulateConfig,
    model_ok: dict[int, bool],
    p_independent: dict[str, float],
    rng: np.random.Generator,
) -> list[dict]:
    """The responses CSV rows: each trial copies the model with P(agreement), else is right with P(b_c)."""
    rows = []
    for i, t in enumerate(planned):
        if cfg.agreement > 0 and rng.random() < cfg.agreement:
            correct = model_ok[i]
        else:
            correct = rng.random() < p_independent[t.condition]
        foils = [c for c in (t.choices or stim.classes) if c != t.label]
        response = t.label if correct or not foils else str(rng.choice(foils))
        offered = "" if len(t.choices or ()) == len(stim.classes) else CHOICE_SEPARATOR.join(t.choices or ())
        rows.append(dict(participant=t.participant, stimulus_id=t.stimulus_id, condition=t.condition, label=t.label,
                         response=response, trial=t.trial, choices=offered, kind="stimulus", unit=cfg.unit))  # fmt: skip
    return rows
