"""Humans and models on the same swap trials: body bias with CIs over participants, and a paired test.

A swap trial (condition `swap`) shows the body of action A (the trial's `label`) on the scene of action B (the
stimulus's `swap_background_label`), with both among the offered choices. Per participant: body bias = body /
(body + scene) answers (analysis.swap_rates; Geirhos et al. 2019's shape bias). Each model is asked the same trials as the
participant was (over the trial's choices, `compare.model_answers`), so it gets a body bias per participant too, and
the paired test compares the two over participants (analysis.py: paired t-test, Wilcoxon beside it).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from bodyscene.analysis import bootstrap_ci, paired_condition_tests, swap_rates
from bodyscene.humans.responses import StimulusLabels, Trial
from bodyscene.schema import SWAP_CONDITION


def per_participant_bias(
    trials: list[Trial], answers: dict[int, str], stim: StimulusLabels
) -> dict[str, dict[str, float | int | None]]:
    """participant -> swap_rates of `answers` (trial index -> class name) on that participant's swap trials."""
    index = {c: i for i, c in enumerate(stim.classes)}
    by: dict[str, list[int]] = defaultdict(list)
    for i in answers:
        by[trials[i].participant].append(i)
    out = {}
    for participant, items in by.items():
        pred = np.array([index[answers[i]] for i in items])
        body = np.array([index[trials[i].label] for i in items])
        scene = np.array([index[stim.swap_scenes[trials[i].stimulus_id]] for i in items])
        out[participant] = swap_rates(pred, body, scene)
    return out


def summary(per: dict[str, dict], n_boot: int, seed: int) -> dict:
    """Pooled rates and the mean over participants' body bias with its 95% CI over participants (weighted by each
    participant's decided answers)."""
    decided = {p: v for p, v in per.items() if v["body_bias"] is not None}
    values = [v["body_bias"] for v in decided.values()]
    weights = [v["n_decided"] for v in decided.values()]
    n = sum(v["n"] for v in per.values())
    body = sum(v["body_rate"] * v["n"] for v in per.values())
    scene = sum(v["scene_rate"] * v["n"] for v in per.values())
    return {
        "body_bias": float(np.average(values, weights=weights)) if values else None,
        "ci95": list(bootstrap_ci(values, weights, n_boot=n_boot, seed=seed)),
        "body_rate": body / n if n else math.nan,
        "scene_rate": scene / n if n else math.nan,
        "other_rate": 1 - (body + scene) / n if n else math.nan,
        "n_trials": n,
        "n_participants": len(per),
        "per_participant": {p: v["body_bias"] for p, v in per.items()},
    }


def swap_comparison(trials: list[Trial], model_answers: dict[str, dict[int, str]], stim: StimulusLabels,
                    n_boot: int, seed: int) -> dict | None:  # fmt: skip
    """comparison.json `swap`: humans' and each model's body bias on the humans' swap trials, and the paired test
    of each model against the humans over participants; None when no trial is a swap trial."""
    swaps = {i for i, t in enumerate(trials) if t.condition == SWAP_CONDITION}
    if not swaps:
        return None
    humans = per_participant_bias(trials, {i: trials[i].response for i in swaps}, stim)
    out: dict = {"humans": summary(humans, n_boot, seed), "models": {}}
    for model, answers in model_answers.items():
        mine = per_participant_bias(trials, {i: a for i, a in answers.items() if i in swaps}, stim)
        sec = summary(mine, n_boot, seed)
        both = {"humans": {p: v["body_bias"] for p, v in humans.items() if v["body_bias"] is not None},
                model: {p: v["body_bias"] for p, v in mine.items() if v["body_bias"] is not None}}  # fmt: skip
        sec["paired_test"] = paired_condition_tests(both)[0]
        out["models"][model] = sec
    return out
