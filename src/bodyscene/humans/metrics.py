"""Model-vs-human metrics: small pure functions over correct/incorrect arrays, each with its source.

Follows bethgelab/model-vs-human (Geirhos et al., "Partial success in closing the gap between human and
machine vision", NeurIPS 2021) and Geirhos, Meding & Wichmann, "Beyond accuracy: quantifying trial-by-trial
behaviour of CNNs and humans by measuring error consistency", NeurIPS 2020.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats


def error_consistency(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two observers' correct/incorrect on the same trials (Geirhos et al., NeurIPS 2020).

    c_obs = share of trials where both are right or both are wrong;
    c_exp = p_a p_b + (1 - p_a)(1 - p_b), the overlap two independent observers with these accuracies would
    reach by chance; kappa = (c_obs - c_exp) / (1 - c_exp). 0 = errors no more aligned than chance, 1 = the
    same trials wrong. Undefined (nan) with no trials or when c_exp = 1 (one observer always right, the other
    always right too, or both always wrong): there is no chance-level to correct against.
    """
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"error_consistency: {a.shape} vs {b.shape} trials; pass the same trials for both")
    if a.size == 0:
        return math.nan
    c_obs = float(np.mean(a == b))
    p_a, p_b = float(a.mean()), float(b.mean())
    c_exp = p_a * p_b + (1 - p_a) * (1 - p_b)
    if c_exp >= 1.0:
        return math.nan
    return (c_obs - c_exp) / (1 - c_exp)


def accuracy_difference(model: Mapping[str, float], human: Mapping[str, float]) -> float:
    """Mean absolute difference of per-condition accuracies over the conditions both have."""
    keys = [k for k in human if k in model and not _isnan(model[k]) and not _isnan(human[k])]
    if not keys:
        return math.nan
    return float(np.mean([abs(model[k] - human[k]) for k in keys]))


PATTERN_TESTS = (
    "pearson_p: scipy.stats.pearsonr, spearman_p: scipy.stats.spearmanr (both two-sided, H0: no correlation)"
)


def pattern_correlation(model_cells: Sequence[float], human_cells: Sequence[float]) -> dict[str, float | int | str]:
    """Pearson and Spearman correlation between model and human accuracy across condition x class cells.

    Pearson r measures whether the model is good and bad on the same condition-class cells as humans, in
    linear units of accuracy; Spearman rho only asks for the same ranking. Cells missing on either side (nan)
    are left out; with fewer than 3 cells or a constant side the correlation is undefined (nan).
    """
    m, h = np.asarray(model_cells, dtype=float), np.asarray(human_cells, dtype=float)
    keep = ~(np.isnan(m) | np.isnan(h))
    m, h = m[keep], h[keep]
    out: dict[str, float | int | str] = {"n_cells": int(keep.sum()), "test": PATTERN_TESTS}
    if m.size < 3 or np.ptp(m) == 0 or np.ptp(h) == 0:
        return out | {
            "pearson": math.nan,
            "pearson_p": math.nan,
            "spearman": math.nan,
            "spearman_p": math.nan,
        }
    pr, sr = stats.pearsonr(m, h), stats.spearmanr(m, h)
    return out | {
        "pearson": float(pr.statistic),
        "pearson_p": float(pr.pvalue),
        "spearman": float(sr.statistic),
        "spearman_p": float(sr.pvalue),
    }


def nanmean(values: Sequence[float]) -> float:
    """Mean of the defined values (nan when none): an undefined kappa is left out, not counted as 0."""
    v = [x for x in values if not _isnan(x)]
    return float(np.mean(v)) if v else math.nan


def _isnan(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))
