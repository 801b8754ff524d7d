"""Every interval, test and metric the package reports, and the METHODS text the report prints.

One place for the numbers' meaning (model-vs-human's metrics module is the model: small pure functions, papers
cited). Used by `evaluate` (accuracy CIs), `compare` (human/model accuracy, error consistency, tests) and the
experiments (t-interval over seeds, ECE).

- `bootstrap_ci`: THE bootstrap. Percentile CI of a (weighted) mean over resampled units; with `groups` the units
  are groups (a cluster bootstrap: a clip's frames are resampled together, its mean is pooled over them).
  Resamples are `default_rng(seed).integers(0, units, (n_boot, units))` (the draws scipy.stats.bootstrap makes),
  the bounds `np.quantile` (linear). Undefined, (nan, nan), with fewer than two units or n_boot = 0; (v, v) when
  every unit has the same value. Same numbers as the former `evaluate.bootstrap_ci` bit for bit, and as the
  former `humans.stats.bootstrap_ci` (scipy.stats.bootstrap, percentile) to 1 ulp (scipy's own quantile).
- `t_interval`: mean +- t * sd / sqrt(K), the experiments' CI over seeds.
- `expected_calibration_error`; `consistency` / `error_consistency` (observed, expected, Cohen's kappa; undefined
  kappa dropped or counted as 1), `accuracy_gap`, `squared_accuracy_difference` (model-vs-human's),
  `pattern_correlation`; `paired_condition_tests` (t-test + Wilcoxon, Holm), `paired_model_differences` (which model
  is closer to humans, paired over participants), `mcnemar_exact`, `holm`.
- `swap_outcomes`, `swap_rates`: body bias on cue-conflict (swap) trials, body / (body + scene) decisions; answers
  naming neither action are `other_rate`, outside the index (Geirhos et al., ICLR 2019's shape bias, for actions).
- `expected_calibration_error`; `error_consistency` (Cohen's kappa), `accuracy_difference`, `pattern_correlation`;
  `paired_condition_tests` (t-test + Wilcoxon, Holm), `mcnemar_exact`, `holm`.
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
ECE_BINS = 15  # equal-width confidence bins of the expected calibration error (Guo et al. 2017)


def bootstrap_ci(
    values: Sequence[float],
    weights: Sequence[float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    groups: Sequence | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the weighted mean of `values`, resampling units with replacement.

    A unit is one value (weight `weights[i]`, default 1), or with `groups` one group: its weighted sum over its
    summed weight, so a resample's mean is pooled over the items of the groups drawn. Deterministic under `seed`.
    Undefined (nan, nan) with fewer than two units or n_boot <= 0; (v, v) when every unit has the same value.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    num, den = x * w, w
    if groups is not None:
        _, which = np.unique(np.asarray(groups), return_inverse=True)
        num, den = np.bincount(which, weights=num), np.bincount(which, weights=den)
    if num.size < 2 or n_boot <= 0:
        return (math.nan, math.nan)
    unit = num / den
    if np.ptp(unit) == 0:
        return (float(unit[0]), float(unit[0]))
    draw = np.random.default_rng(seed).integers(0, num.size, size=(n_boot, num.size))
    means = num[draw].sum(axis=1) / den[draw].sum(axis=1)
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t-interval, mean +- t_{(1+level)/2, K-1} * sd / sqrt(K) (the experiments' CI over K seeds);
    (mean, nan, nan) for a single value, (mean, mean, mean) when every value is the same."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    sem = float(x.std(ddof=1) / math.sqrt(len(x)))
    if sem == 0:
        return mean, mean, mean
    low, high = stats.t.interval(level, len(x) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error (Guo et al., ICML 2017): items binned by confidence into `bins` equal-width bins
    (bin b holds (b/B, (b+1)/B]), ECE = sum_b (n_b / n) |accuracy_b - mean confidence_b|; nan with no items."""
    if len(confidence) == 0:
        return float("nan")
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # bin b holds (b/B, (b+1)/B]
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - confidence[sel].mean())
    return float(ece)


UNDEFINED_KAPPA = ("drop", "one")


def consistency(a: Sequence[bool], b: Sequence[bool], undefined: str = "drop") -> dict[str, float]:
    """Observed, expected and error consistency of two observers' correct/incorrect on the same trials
    (Geirhos, Meding & Wichmann, NeurIPS 2020; the three columns of bethgelab/model-vs-human).

    observed c_obs = share of trials where both are right or both are wrong;
    expected c_exp = p_a p_b + (1 - p_a)(1 - p_b), the overlap two independent observers with these accuracies
    would reach by chance; kappa = (c_obs - c_exp) / (1 - c_exp). 0 = errors no more aligned than chance, 1 = the
    same trials wrong. Kappa is undefined when c_exp = 1 (both observers always right, or both always wrong):
    `undefined="drop"` gives nan (bodyscene's default: left out of every mean); `"one"` gives 1.0, as
    model-vs-human's `ErrorConsistency.error_consistency` does (it returns 1.0 whenever c_obs = 1).
    """
    if undefined not in UNDEFINED_KAPPA:
        raise ValueError(f"undefined={undefined!r}: use one of {', '.join(UNDEFINED_KAPPA)}")
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"error_consistency: {a.shape} vs {b.shape} trials; pass the same trials for both")
    if a.size == 0:
        return {"observed": math.nan, "expected": math.nan, "kappa": math.nan}
    c_obs = float(np.mean(a == b))
    p_a, p_b = float(a.mean()), float(b.mean())
    c_exp = p_a * p_b + (1 - p_a) * (1 - p_b)
    undefined_value = 1.0 if undefined == "one" else math.nan
    kappa = undefined_value if c_exp >= 1.0 else (c_obs - c_exp) / (1 - c_exp)
    return {"observed": c_obs, "expected": c_exp, "kappa": kappa}


def error_consistency(a: Sequence[bool], b: Sequence[bool], undefined: str = "drop") -> float:
    """Cohen's kappa of two observers' correct/incorrect on the same trials (see `consistency`)."""
    return consistency(a, b, undefined)["kappa"]


def accuracy_gap(model: Mapping[str, float], human: Mapping[str, float]) -> float:
    """bodyscene's accuracy gap: mean over conditions of |model accuracy - mean human accuracy|.

    Not model-vs-human's accuracy difference (that one is `squared_accuracy_difference`, per participant)."""
    keys = [k for k in human if k in model and not _isnan(model[k]) and not _isnan(human[k])]
    if not keys:
        return math.nan
    return float(np.mean([abs(model[k] - human[k]) for k in keys]))


def squared_accuracy_difference(model: Mapping[str, float], participant: Mapping[str, float]) -> float:
    """model-vs-human's accuracy difference for one participant: mean over conditions of
    (model accuracy - that participant's accuracy)^2 (`SixteenClassAccuracyDifference`, norm=np.square; the
    benchmark then averages over participants). Conditions missing on either side are left out."""
    keys = [k for k in participant if k in model and not _isnan(model[k]) and not _isnan(participant[k])]
    if not keys:
        return math.nan
    return float(np.mean([(model[k] - participant[k]) ** 2 for k in keys]))


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
    "observed_consistency": "share of trials where model and participant are both right or both wrong (c_obs of "
    "Geirhos et al. 2020); per participant and condition, averaged over conditions, then over participants",
    "squared_accuracy_difference": "model-vs-human's accuracy difference: per participant, the mean over "
    "conditions of (model accuracy on that participant's trials - the participant's accuracy)^2; mean over "
    "participants (bethgelab/model-vs-human, SixteenClassAccuracyDifference with norm=np.square)",
    "accuracy_gap": "bodyscene's accuracy gap (not model-vs-human's): mean over conditions of "
    "|model accuracy - mean human accuracy|",
    "human_likeness": "per model pair, per participant the difference in error consistency (and in squared "
    "accuracy difference) between the two models; mean, 95% percentile bootstrap CI over participants, paired "
    "t-test p (Wilcoxon beside it), Holm over model pairs; 'closer' names the model nearer humans at p_holm < 0.05",
    "exclusions": "participants whose share of passed attention checks is below min_attention are left out of "
    "everything; participants without attention rows are kept",
    "human_conditions": "paired t-test over participants' per-condition accuracies (reported p), "
    "Wilcoxon signed-rank beside it; Holm-corrected over the 3 condition pairs",
    "model_vs_model": "McNemar's exact test (binomial test on discordant clips) per condition on the clips humans "
    "saw, each model answering over all classes on the clip's mean logits; Holm-corrected over all model pairs x "
    "conditions",
}


def paired_model_differences(
    per_participant: Mapping[str, Mapping[str, float]],
    metric: str,
    higher_is_closer: bool,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """Which of two models is closer to humans, tested over participants (the paper's "more human-like").

    `per_participant` maps model -> {participant: value of `metric` between that model and that participant}
    (error consistency: higher is closer; squared accuracy difference: lower is closer). For each model pair
    (a, b), d_p = value_a(p) - value_b(p) over the participants both have a defined value for; reported: the mean
    of d, its 95% percentile bootstrap CI over participants (bootstrap_ci), the paired t-test's p (Holm over the
    model pairs; the Wilcoxon signed-rank test beside it) and which model is closer when p_holm < 0.05.
    Participants are the unit: the same people judged both models, so the test is paired.
    """
    rows = []
    for a, b in itertools.combinations(sorted(per_participant), 2):
        ids = sorted(
            p for p in set(per_participant[a]) & set(per_participant[b])
            if not (math.isnan(per_participant[a][p]) or math.isnan(per_participant[b][p]))
        )  # fmt: skip
        d = np.array([per_participant[a][p] - per_participant[b][p] for p in ids])
        t = stats.ttest_1samp(d, 0.0) if d.size > 1 and np.any(d != d[0]) else None
        w = stats.wilcoxon(d) if np.count_nonzero(d) > 0 else None
        rows.append(
            {
                "metric": metric,
                "a": a,
                "b": b,
                "n_participants": len(ids),
                "mean_difference": float(d.mean()) if d.size else math.nan,
                "ci95": list(bootstrap_ci(d.tolist(), n_boot=n_boot, seed=seed)),
                "higher_is_closer": higher_is_closer,
                "test": TTEST,
                "statistic": float(t.statistic) if t else math.nan,
                "df": len(ids) - 1,
                "p": float(t.pvalue) if t else math.nan,
                "wilcoxon": {"test": WILCOXON, "p": float(w.pvalue) if w else math.nan},
            }
        )
    for r, p in zip(rows, holm([r["p"] for r in rows]), strict=True):
        r["p_holm"], r["correction"] = p, f"Holm over {len(rows)} model pairs ({metric})"
        sign = r["mean_difference"] if higher_is_closer else -r["mean_difference"]
        r["closer"] = (r["a"] if sign > 0 else r["b"]) if not math.isnan(p) and p < 0.05 else None
        r["verdict"] = _verdict(r)
    return rows


def _verdict(r: dict) -> str:
    """One sentence for the report: which model is closer to humans on this metric, and how sure that is."""
    ci = ", ".join("nan" if math.isnan(x) else f"{x:+.3f}" for x in r["ci95"])
    detail = (
        f"mean per-participant difference {r['a']} - {r['b']} = {r['mean_difference']:+.3f} [{ci}], "
        f"paired t-test p = {r['p']:.2g}, Holm p = {r['p_holm']:.2g}, n = {r['n_participants']}"
    )
    if r["closer"] is None:
        return f"{r['metric']}: no reliable difference between {r['a']} and {r['b']} ({detail})"
    other = r["b"] if r["closer"] == r["a"] else r["a"]
    return f"{r['metric']}: {r['closer']} is closer to humans than {other} ({detail})"


# Body bias on swap stimuli (stimuli/swap.py: the body of action A on the scene of action B != A):
#   body_rate = share naming A, scene_rate = share naming B, other_rate = the rest,
#   body_bias = body_rate / (body_rate + scene_rate), None when every answer is other.
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
