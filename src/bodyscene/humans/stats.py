"""Statistics for the comparison: bootstrap CIs, paired tests between conditions, McNemar, Holm.

Every test returns a dict naming itself (`test`), so each p-value in comparison.json says where it came from.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

TTEST = "paired t-test over participants (scipy.stats.ttest_rel, two-sided)"
WILCOXON = "Wilcoxon signed-rank test over participants (scipy.stats.wilcoxon, two-sided)"
MCNEMAR = "McNemar's exact test on discordant items (scipy.stats.binomtest, p=0.5, two-sided)"


def bootstrap_ci(
    values: Sequence[float], weights: Sequence[float] | None = None, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap CI of the (weighted) mean, resampling the units (participants or items).

    Deterministic under `seed` (scipy.stats.bootstrap with a seeded Generator). Undefined (nan, nan) with
    fewer than two units or n_boot = 0; [v, v] when every unit has the same value.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.size < 2 or n_boot <= 0:
        return (math.nan, math.nan)
    if np.ptp(x) == 0:
        return (float(x[0]), float(x[0]))

    def wmean(v: np.ndarray, wt: np.ndarray, axis: int = -1) -> np.ndarray:
        return (v * wt).sum(axis=axis) / wt.sum(axis=axis)

    res = stats.bootstrap(
        (x, w), wmean, n_resamples=n_boot, paired=True, vectorized=True, method="percentile",
        rng=np.random.default_rng(seed),
    )  # fmt: skip
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (Holm 1979): the k-th smallest of m is multiplied by (m - k + 1),
    then made monotone from the smallest up and capped at 1. nan p-values pass through and are not counted."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m, running = len(order), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return [float(v) for v in out]


def paired_condition_tests(per_participant: Mapping[str, Mapping[str, float]]) -> list[dict]:
    """Each pair of conditions compared over the participants who did both (per-participant accuracies).

    The reported `p` is the paired t-test's, Holm-corrected over the condition pairs (`p_holm`); the Wilcoxon
    signed-rank test is given beside it as the distribution-free check, with its own Holm correction.
    `per_participant` maps condition -> {participant: accuracy}.
    """
    rows = []
    for a, b in itertools.combinations(list(per_participant), 2):
        ids = sorted(set(per_participant[a]) & set(per_participant[b]))
        x = np.array([per_participant[a][p] for p in ids])
        y = np.array([per_participant[b][p] for p in ids])
        row: dict = {"a": a, "b": b, "n_participants": len(ids)}
        d = x - y
        row["mean_difference"] = float(d.mean()) if len(ids) else math.nan
        row["cohens_dz"] = float(d.mean() / d.std(ddof=1)) if len(ids) > 1 and d.std(ddof=1) > 0 else math.nan
        t = stats.ttest_rel(x, y) if len(ids) > 1 and np.any(d != 0) else None
        row["t_test"] = {
            "test": TTEST,
            "statistic": float(t.statistic) if t else math.nan,
            "df": len(ids) - 1,
            "p": float(t.pvalue) if t else math.nan,
        }
        w = stats.wilcoxon(x, y) if np.count_nonzero(d) > 0 else None
        row["wilcoxon"] = {
            "test": WILCOXON,
            "statistic": float(w.statistic) if w else math.nan,
            "p": float(w.pvalue) if w else math.nan,
        }
        rows.append(row)
    for key in ("t_test", "wilcoxon"):
        adjusted = holm([r[key]["p"] for r in rows])
        for r, p in zip(rows, adjusted, strict=True):
            r[key]["p_holm"] = p
            r[key]["correction"] = f"Holm over {len(rows)} condition pairs"
    for r in rows:
        r["test"], r["p"], r["p_holm"] = TTEST, r["t_test"]["p"], r["t_test"]["p_holm"]
    return rows


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> dict:
    """McNemar's exact test: do two classifiers differ in accuracy on the same items?

    Only discordant items carry information: b01 = A right & B wrong, b10 = A wrong & B right. Under H0 each
    discordant item is a fair coin, so p = two-sided binomial test of b01 out of b01 + b10 (McNemar 1947;
    exact form as in Edwards 1948 / Fagerland et al. 2013). p = 1 when there are no discordant items.
    """
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = a_only + b_only
    p = float(stats.binomtest(a_only, n, 0.5).pvalue) if n else 1.0
    return {
        "test": MCNEMAR,
        "n_items": int(a.size),
        "a_only_correct": a_only,
        "b_only_correct": b_only,
        "p": p,
    }


# How each number of comparison.json is made; the report prints it (stored in the file under provenance.methods).
METHODS = {
    "human_accuracy": "mean over participants of per-participant accuracy; "
    "95% CI = percentile bootstrap over participants (scipy.stats.bootstrap)",
    "model_accuracy": "accuracy on the trials humans saw, each answered by the argmax of the model's logits over "
    "the options that trial offered (all classes without a choices column), on the trial's frame or on its clip "
    "(mean logits over the clip's evaluated frames); 95% CI = percentile bootstrap over clips, weighted by how "
    "many trials showed each clip",
    "chance": "per condition, the mean over its trials of 1 / number of options offered; "
    "above_chance = accuracy - chance",
    "error_consistency": "Cohen's kappa of correct/incorrect on the same trials, "
    "(c_obs - c_exp) / (1 - c_exp), c_exp = p_m p_h + (1 - p_m)(1 - p_h) "
    "(Geirhos, Meding & Wichmann, NeurIPS 2020); "
    "per participant and condition, averaged over conditions, then over participants",
    "pattern_correlation": "Pearson r (and Spearman rho) between model and human pooled accuracy "
    "across condition x class cells",
    "accuracy_difference": "mean over conditions of |model accuracy - human accuracy|",
    "human_conditions": "paired t-test over participants' per-condition accuracies (reported p), "
    "Wilcoxon signed-rank beside it; Holm-corrected over the 3 condition pairs",
    "model_vs_model": "McNemar's exact test (binomial test on discordant clips) per condition on the clips humans "
    "saw, each model answering over all classes on the clip's mean logits; Holm-corrected over all model pairs x "
    "conditions",
}
