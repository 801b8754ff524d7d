"""Simulated participants: a responses CSV with chosen accuracy per condition and agreement with a model.

For tests, demos and power analysis, never as data: participant ids are `sim01, sim02, ...` and a sidecar
`<out>.json` records `"simulated": true` with every setting.

Generative model (per trial of participant p on stimulus s in condition c):
  * with probability `agreement` (alpha) the participant copies the model's correctness m(s, c);
  * otherwise they are correct independently with probability b_c.
  b_c is chosen so the marginal accuracy equals the target a_c:  alpha * q_c + (1 - alpha) * b_c = a_c,
  i.e. b_c = (a_c - alpha * q_c) / (1 - alpha), q_c being the model's accuracy on the condition's test items.
  This needs 0 <= b_c <= 1, i.e. alpha <= min(a_c / q_c, (1 - a_c) / (1 - q_c)); a larger alpha is an error.
  A correct trial answers the true class; a wrong one a uniformly random other class.
With alpha = 0 the simulated errors are independent of the model's, so its expected error consistency is 0.

Designs: `counterbalanced` (the browser experiment's): each participant sees each test clip once, in one
condition, rotated over participants like a Latin square (clip i -> condition (i + p) mod 3), in random order;
`full`: every participant sees every test stimulus in all three conditions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bodyscene.config import CONDITIONS
from bodyscene.errors import BodySceneError
from bodyscene.files import write_csv, write_json
from bodyscene.humans.responses import load_stimulus_set, model_correctness, read_predictions

DESIGNS = ("counterbalanced", "full")


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
    stimuli: str | Path,
    out: str | Path,
    accuracy: dict[str, float],
    participants: int = 28,
    agreement: float = 0.0,
    run: str | Path | None = None,
    model: str | None = None,
    design: str = "counterbalanced",
    seed: int = 0,
) -> dict:
    """Write `out` (responses CSV) and `out.json` (the sidecar); return the sidecar's content."""
    if design not in DESIGNS:
        raise BodySceneError(f"--design {design!r}: use one of {', '.join(DESIGNS)}")
    if participants < 1:
        raise BodySceneError(f"--participants {participants}: need at least 1")
    if not 0.0 <= agreement <= 1.0:
        raise BodySceneError(f"--agreement {agreement}: must be between 0 and 1")
    stim = load_stimulus_set(stimuli)
    test = sorted(s for s, split in stim.splits.items() if split == "test")
    if not test:
        raise BodySceneError(f"{stim.source}: no test stimuli; prepare the stimulus set with a test split")

    model_ok: dict[tuple[str, str], bool] = {}
    model_acc: dict[str, float] = {}
    if agreement > 0:
        if run is None or model is None:
            raise BodySceneError("--agreement > 0 needs --run RUN and --model NAME (whose errors to copy)")
        by_model = model_correctness(read_predictions(run))
        if model not in by_model:
            raise BodySceneError(f"{run}/predictions.csv: no model '{model}'; use one of {', '.join(by_model)}")
        model_ok = by_model[model]
        for c in CONDITIONS:
            missing = [s for s in test if (c, s) not in model_ok]
            if missing:
                raise BodySceneError(
                    f"{run}/predictions.csv: no {model} prediction for {missing[0]} ({c}); "
                    f"evaluate the run on the stimulus set {stimuli}"
                )
            model_acc[c] = float(np.mean([model_ok[(c, s)] for s in test]))
    p_independent = {c: independent_accuracy(accuracy[c], model_acc.get(c, 0.0), agreement) for c in CONDITIONS}

    clips = sorted({stim.clips[s] for s in test})
    clip_index = {clip: i for i, clip in enumerate(clips)}
    rng = np.random.default_rng(seed)
    width = max(2, len(str(participants)))
    rows = []
    for p in range(participants):
        pid = f"sim{p + 1:0{width}d}"
        if design == "full":
            items = [(s, c) for s in test for c in CONDITIONS]
        else:  # Latin-square rotation: clip i is shown to participant p in condition (i + p) mod 3
            items = [(s, CONDITIONS[(clip_index[stim.clips[s]] + p) % len(CONDITIONS)]) for s in test]
        for trial, k in enumerate(rng.permutation(len(items)), start=1):
            sid, cond = items[k]
            label = stim.labels[sid]
            if agreement > 0 and rng.random() < agreement:
                correct = model_ok[(cond, sid)]
            else:
                correct = rng.random() < p_independent[cond]
            wrong = [c for c in stim.classes if c != label]
            response = label if correct or not wrong else str(rng.choice(wrong))
            rows.append(dict(participant=pid, stimulus_id=sid, condition=cond, label=label, response=response,
                             trial=trial))  # fmt: skip
    out = Path(out)
    write_csv(out, rows, ["participant", "stimulus_id", "condition", "label", "response", "trial"])
    sidecar = {
        "simulated": True,
        "generator": "bodyscene simulate-humans",
        "generative_model": "correct = model's correctness with prob. agreement, else Bernoulli(b_c); "
        "b_c = (a_c - agreement * q_c) / (1 - agreement) keeps the marginal accuracy at a_c",
        "stimuli": str(stimuli),
        "run": str(run) if run is not None else None,
        "model": model if agreement > 0 else None,
        "participants": participants,
        "design": design,
        "target_accuracy": accuracy,
        "agreement": agreement,
        "model_accuracy": model_acc or None,
        "independent_accuracy": p_independent,
        "seed": seed,
        "trials": len(rows),
    }
    write_json(out.with_name(out.name + ".json"), sidecar)
    return sidecar
