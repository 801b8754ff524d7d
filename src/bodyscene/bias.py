"""The body-bias index on cue-conflict (action-swap) trials: which cue wins when body and scene disagree.

Geirhos et al. (ICLR 2019, bethgelab/model-vs-human) define shape bias on shape-texture conflict images as
shape decisions / (shape + texture decisions); answers naming neither class are left out of the ratio. The action
analogue on swap stimuli (stimuli/swap.py: the body of action A on the scene of action B != A):

    body_rate  = share of answers naming A        scene_rate = share naming B        other_rate = the rest
    body_bias  = body_rate / (body_rate + scene_rate)     (undefined, None, when every answer is "other")

Pure functions on arrays of class indices; the intervals are the callers' (evaluate: clips, compare: participants).
"""

from __future__ import annotations

import math

import numpy as np


def swap_outcomes(pred: np.ndarray, body: np.ndarray, scene: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(answer names the body's action, answer names the scene's action) per trial, as 0/1 floats."""
    pred, body, scene = (np.asarray(a, dtype=int) for a in (pred, body, scene))
    if (body == scene).any():
        raise ValueError("a swap trial's body and scene actions must differ")
    return (pred == body).astype(float), (pred == scene).astype(float)


def swap_rates(pred: np.ndarray, body: np.ndarray, scene: np.ndarray) -> dict[str, float | int | None]:
    """body_rate, scene_rate, other_rate, body_bias, n (trials) and n_decided (trials naming body or scene)."""
    is_body, is_scene = swap_outcomes(pred, body, scene)
    n, decided = len(is_body), int(is_body.sum() + is_scene.sum())
    nan = math.nan
    return {
        "body_rate": float(is_body.mean()) if n else nan,
        "scene_rate": float(is_scene.mean()) if n else nan,
        "other_rate": float(1.0 - (is_body + is_scene).mean()) if n else nan,
        "body_bias": float(is_body.sum() / decided) if decided else None,
        "n": n,
        "n_decided": decided,
    }
