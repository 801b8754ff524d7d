"""bodyscene.analysis: every interval, metric and test against a small case computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bodyscene.analysis import (
    TTEST,
    WILCOXON,
    accuracy_gap,
    bootstrap_ci,
    consistency,
    error_consistency,
    expected_calibration_error,
    holm,
    mcnemar_exact,
    nanmean,
    paired_condition_tests,
    pattern_correlation,
    squared_accuracy_difference,
    t_interval,
)


def table(both: int, a_only: int, b_only: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Two observers' correct/incorrect from a 2x2 table of counts."""
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    return a, b


def test_error_consistency_of_known_tables():
    # c_obs = 8/10, p_a = p_b = 0.5 -> c_exp = 0.5 -> kappa = 0.3 / 0.5
    assert error_consistency(*table(4, 1, 1, 4)) == pytest.approx(0.6)
    # c_obs = 0.8, p_a = 0.8, p_b = 0.6 -> c_exp = 0.48 + 0.08 = 0.56 -> kappa = 0.24 / 0.44 = 6/11
    assert error_consistency(*table(6, 2, 0, 2)) == pytest.approx(6 / 11)
    # errors exactly where chance puts them -> 0; same errors -> 1; opposite -> -1
    assert error_consistency(*table(1, 1, 1, 1)) == pytest.approx(0.0)
    assert error_consistency(*table(3, 0, 0, 2)) == pytest.approx(1.0)
    assert error_consistency(*table(0, 2, 2, 0)) == pytest.approx(-1.0)


def test_error_consistency_is_undefined_without_chance_level():
    assert math.isnan(error_consistency([True, True], [True, True]))  # c_exp = 1
    assert math.isnan(error_consistency([], []))
    with pytest.raises(ValueError):
        error_consistency([True], [True, False])


def test_accuracy_gap_squared_difference_and_nanmean():
    model = {"original": 0.8, "body": 0.6, "background": 0.5}
    human = {"original": 0.7, "body": 0.8, "background": 0.5}
    assert accuracy_gap(model, human) == pytest.approx((0.1 + 0.2 + 0.0) / 3)
    assert accuracy_gap(model | {"body": math.nan}, human) == pytest.approx(0.05)
    # model-vs-human's: squared, so one large gap weighs more than two small ones
    assert squared_accuracy_difference(model, human) == pytest.approx((0.01 + 0.04 + 0.0) / 3)
    assert squared_accuracy_difference({"original": 0.5}, {"original": 0.2, "body": 0.1}) == pytest.approx(0.09)
    assert nanmean([0.2, math.nan, 0.4]) == pytest.approx(0.3)
    assert math.isnan(nanmean([math.nan]))


def test_pattern_correlation_pearson_and_spearman():
    human = [0.9, 0.8, 0.5, 0.3, 0.1]
    assert pattern_correlation([2 * h + 1 for h in human], human)["pearson"] == pytest.approx(1.0)
    assert pattern_correlation([-h for h in human], human)["spearman"] == pytest.approx(-1.0)
    monotone = pattern_correlation([h**4 for h in human], human)  # same ranking, not linear
    assert monotone["spearman"] == pytest.approx(1.0)
    assert monotone["pearson"] < 0.99
    assert "pearsonr" in monotone["test"] and 0 <= monotone["spearman_p"] < 0.05
    # nan cells are left out; a constant side has no correlation
    with_gap = pattern_correlation([0.9, math.nan, 0.5, 0.3, 0.1], human)
    assert with_gap["n_cells"] == 4 and with_gap["pearson"] > 0.9
    assert math.isnan(pattern_correlation([0.5] * 5, human)["pearson"])


def test_holm_on_known_p_values():
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone: 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    out = holm([0.02, math.nan, 0.04])  # nan passes through and does not count towards m
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)


def test_mcnemar_exact_on_known_table():
    # 5 concordant, A alone right on 1 item, B alone right on 6: p = 2 * P(X <= 1 | n=7, 1/2) = 2 * 8/128
    a, b = table(3, 1, 6, 2)
    out = mcnemar_exact(a, b)
    assert (out["a_only_correct"], out["b_only_correct"], out["n_items"]) == (1, 6, 12)
    assert out["p"] == pytest.approx(0.125)
    assert "McNemar" in out["test"]
    assert mcnemar_exact(*table(3, 0, 0, 2))["p"] == 1.0  # no discordant items


def test_bootstrap_ci_is_deterministic_and_matches_the_normal_approximation():
    x = [0.0] * 50 + [1.0] * 50
    lo, hi = bootstrap_ci(x, n_boot=4000, seed=3)
    # the mean of 100 fair coins: sd = sqrt(0.25 / 100) = 0.05 -> 0.5 -/+ 1.96 * 0.05
    assert lo == pytest.approx(0.402, abs=0.015) and hi == pytest.approx(0.598, abs=0.015)
    rng = np.random.default_rng(0)
    y = rng.random(20).tolist()
    assert bootstrap_ci(y, n_boot=500, seed=1) == bootstrap_ci(y, n_boot=500, seed=1)
    assert bootstrap_ci(y, n_boot=500, seed=1) != bootstrap_ci(y, n_boot=500, seed=2)
    # two units 0 and 1: resampled means are 0, 0.5, 1 with prob 1/4, 1/2, 1/4 -> CI [0, 1]
    assert bootstrap_ci([0.0, 1.0], n_boot=2000, seed=0) == (0.0, 1.0)
    assert bootstrap_ci([0.7, 0.7, 0.7]) == (0.7, 0.7)
    assert all(math.isnan(v) for v in bootstrap_ci([0.7]))


def test_weighted_bootstrap_centres_on_the_weighted_mean():
    values, weights = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0], [3, 1, 3, 1, 3, 3]  # weighted mean 12/14
    lo, hi = bootstrap_ci(values, weights, n_boot=2000, seed=0)
    assert lo < 12 / 14 < hi and hi == 1.0 and lo > 0.4


def test_paired_condition_tests_hand_computed_t():
    per = {
        "original": {"p1": 0.8, "p2": 0.9, "p3": 0.7, "p4": 0.6},
        "body": {"p1": 0.6, "p2": 0.8, "p3": 0.5, "p4": 0.6},
        "background": {"p1": 0.3, "p2": 0.4, "p3": 0.2, "p4": 0.5, "p5": 0.1},  # p5 has no pair
    }
    rows = {(r["a"], r["b"]): r for r in paired_condition_tests(per)}
    ob = rows[("original", "body")]
    # d = [.2, .1, .2, 0]: mean .125, sd = sqrt(.0275 / 3) -> t = .125 / (sd / 2) = 2.611
    assert ob["mean_difference"] == pytest.approx(0.125)
    assert ob["t_test"]["statistic"] == pytest.approx(0.125 / (math.sqrt(0.0275 / 3) / 2), rel=1e-6)
    assert ob["t_test"]["df"] == 3 and ob["n_participants"] == 4
    assert rows[("original", "background")]["n_participants"] == 4
    assert ob["test"] == TTEST and ob["wilcoxon"]["test"] == WILCOXON
    raw = [r["t_test"]["p"] for r in rows.values()]
    assert [r["t_test"]["p_holm"] for r in rows.values()] == pytest.approx(holm(raw))
    assert ob["p_holm"] == ob["t_test"]["p_holm"] >= ob["p"]


def test_t_interval_is_the_t_interval_over_seeds():
    values = [0.5, 0.6, 0.7, 0.65]
    mean, low, high = t_interval(values)
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert (
        mean == pytest.approx(0.6125) and low == pytest.approx(0.6125 - half) and high == pytest.approx(0.6125 + half)
    )
    assert math.isnan(t_interval([0.4])[1])


def test_ece_by_hand():
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([1.0, 0.0, 1.0, 1.0])
    # bins: {0.95, 0.95}: acc 0.5, conf 0.95 -> 0.45; {0.55, 0.55}: acc 1, conf 0.55 -> 0.45; weights 1/2 each
    assert expected_calibration_error(conf, correct) == pytest.approx(0.45)
    assert expected_calibration_error(np.array([0.8] * 5), np.array([1, 1, 1, 1, 0.0])) == pytest.approx(0.0)


def test_clip_bootstrap_is_wider_than_frame_bootstrap_on_correlated_frames():
    """20 clips of 8 frames each, every frame of a clip right or wrong together: the frames carry the
    information of 20 items, not 160, and the clip-resampling interval says so."""
    rng = np.random.default_rng(0)
    per_clip = rng.random(20) < 0.5
    correct = np.repeat(per_clip, 8).astype(float)
    groups = np.repeat([f"clip{i}" for i in range(20)], 8)
    naive = bootstrap_ci(correct, n_boot=2000, seed=1)
    clustered = bootstrap_ci(correct, n_boot=2000, seed=1, groups=groups)
    assert clustered[1] - clustered[0] > 1.8 * (naive[1] - naive[0])
    same = bootstrap_ci(correct[::8], n_boot=2000, seed=1)  # one frame per clip: the plain bootstrap over clips
    assert clustered[1] - clustered[0] == pytest.approx(same[1] - same[0], abs=0.06)


def test_one_bootstrap_for_evaluate_and_compare():
    """The cluster bootstrap is the weighted bootstrap over the clips' pooled accuracies (weight: frames), and the
    resamples are scipy.stats.bootstrap's: the former two implementations agree with this one."""
    rng = np.random.default_rng(4)
    correct = (rng.random(60) < 0.6).astype(float)
    groups = rng.integers(0, 15, 60)
    hits = np.bincount(groups, weights=correct)
    sizes = np.bincount(groups).astype(float)
    keep = sizes > 0
    pooled = bootstrap_ci(hits[keep] / sizes[keep], sizes[keep], n_boot=500, seed=2)
    assert bootstrap_ci(correct, n_boot=500, seed=2, groups=groups) == pytest.approx(pooled, abs=1e-12)
    x = rng.random(25)
    res = stats.bootstrap((x,), np.mean, n_resamples=500, method="percentile", rng=np.random.default_rng(5))
    expected = (res.confidence_interval.low, res.confidence_interval.high)
    assert bootstrap_ci(x, n_boot=500, seed=5) == pytest.approx(expected, abs=1e-12)
    # undefined without resamples or with one unit (evaluate then reports the point; see evaluate.accuracy_ci)
    assert all(math.isnan(v) for v in bootstrap_ci(x, n_boot=0))
    assert all(math.isnan(v) for v in bootstrap_ci(correct, groups=np.zeros(60)))


def test_undefined_kappa_drop_or_one_and_observed_consistency():
    right = [True] * 4
    assert math.isnan(error_consistency(right, right))  # c_exp = 1: no chance level to correct against
    assert error_consistency(right, right, undefined="one") == 1.0  # model-vs-human's convention
    assert error_consistency([False] * 3, [False] * 3, undefined="one") == 1.0
    assert error_consistency(right, [False] * 4, undefined="one") == 0.0  # c_exp = 0: defined, no rule needed
    c = consistency([True, True, False, False], [True, False, False, True])
    assert c["observed"] == pytest.approx(0.5) and c["expected"] == pytest.approx(0.5) and c["kappa"] == 0.0
    with pytest.raises(ValueError, match="undefined"):
        error_consistency(right, right, undefined="zero")
