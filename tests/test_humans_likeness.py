""" "More human-like", tested: the paired per-participant test between two models finds the model humans share
errors with, does not find a difference where there is none (at about the nominal rate), and is reported."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bodyscene.analysis import nanmean, paired_model_differences
from bodyscene.config import SimulateConfig
from bodyscene.humans.compare import model_answers, per_participant_agreement
from bodyscene.humans.responses import load_responses, load_stimulus_set
from bodyscene.humans.simulate import simulate_responses
from bodyscene.readout import Scores
from helpers_humans import make_run, make_stimuli

TARGET = {"original": 0.75, "body": 0.75, "background": 0.5}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("likeness")
    stim = make_stimuli(root, test_clips=30)
    run = make_run(root, stim)
    return stim, run, load_stimulus_set(stim), Scores.load(run / "scores.npz")


def likeness(world, tmp_path, agreement: float, seed: int) -> dict:
    """28 simulated participants sharing `agreement` of domainnet's errors (baseline: none) -> the paired test."""
    stim, run, s, scores = world
    out = tmp_path / f"sim{seed}.csv"
    sim = SimulateConfig(accuracy=TARGET, participants=28, agreement=agreement, model="domainnet", seed=seed)
    simulate_responses(stim, out, sim, run=run)
    trials = load_responses(out, s)
    per = {}
    for m in ("domainnet", "baseline"):
        answers = model_answers(scores, m, "combined", trials, s)
        cells = per_participant_agreement(trials, {i: answers[i] == trials[i].label for i in answers})
        per[m] = {p: nanmean([v["kappa"] for v in c.values()]) for p, c in cells.items()}
    (row,) = paired_model_differences(per, "error_consistency", True, n_boot=200 if seed == 0 else 0, seed=seed)
    return row


def test_domainnet_sharing_half_the_errors_is_found_closer(world, tmp_path):
    row = likeness(world, tmp_path, agreement=0.5, seed=0)
    assert row["a"] == "baseline" and row["b"] == "domainnet" and row["n_participants"] == 28
    assert row["closer"] == "domainnet" and row["p"] < 0.05 and row["p_holm"] < 0.05
    lo, hi = row["ci95"]
    assert lo < row["mean_difference"] < hi < 0  # baseline - domainnet: clearly negative
    assert "domainnet is closer to humans than baseline" in row["verdict"]


def test_no_shared_errors_gives_no_difference_at_about_the_nominal_rate(world, tmp_path):
    p = np.array([likeness(world, tmp_path, agreement=0.0, seed=seed)["p"] for seed in range(1, 41)])
    assert not np.isnan(p).any()
    assert np.mean(p < 0.05) <= 0.15  # nominal 0.05; 40 draws: 0.15 is ~3 standard errors above it
    assert 0.35 < p.mean() < 0.65  # p-values under H0 are uniform: an anti-conservative test has them near 0


def test_paired_differences_direction_holm_and_missing_values():
    per = {
        "a": {"p1": 0.5, "p2": 0.6, "p3": 0.55, "p4": math.nan},
        "b": {"p1": 0.1, "p2": 0.15, "p3": 0.2, "p4": 0.3},
        "c": {"p1": 0.5, "p2": 0.6, "p3": 0.55, "p4": 0.1},
    }
    rows = {(r["a"], r["b"]): r for r in paired_model_differences(per, "error_consistency", True, n_boot=100)}
    ab = rows[("a", "b")]
    assert ab["n_participants"] == 3  # p4 has no defined value for a
    assert ab["mean_difference"] == pytest.approx(np.mean([0.4, 0.45, 0.35]))
    assert ab["closer"] == "a" and ab["p_holm"] >= ab["p"]
    assert math.isnan(rows[("a", "c")]["p"]) and rows[("a", "c")]["closer"] is None  # identical: no test
    # lower is closer (squared accuracy difference): the same numbers name the other model
    rows = {(r["a"], r["b"]): r for r in paired_model_differences(per, "squared_accuracy_difference", False, 0)}
    assert rows[("a", "b")]["closer"] == "b"


def test_min_attention_excludes_and_lists_participants(world, tmp_path):
    import csv

    from typer.testing import CliRunner

    from bodyscene.cli import app
    from bodyscene.humans.compare import compare

    stim, run, s, _ = world
    out = tmp_path / "att.csv"
    simulate_responses(stim, out, SimulateConfig(accuracy=TARGET, participants=4, seed=5))
    rows = list(csv.DictReader(out.open()))
    fields = list(rows[0])
    for p, passed in (("sim01", [True, True]), ("sim02", [True, False]), ("sim03", [False, False])):
        for k, ok in enumerate(passed, start=1):
            rows.append({**dict.fromkeys(fields, ""), "participant": p, "stimulus_id": f"attention-{k}",
                         "label": "run", "response": "run" if ok else "jump", "kind": "attention"})  # fmt: skip
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(rows)
    cmp = compare(out, run, n_boot=0, figures=False, out=tmp_path / "c.json")  # default: every check passed
    ex = cmp["exclusions"]
    assert [e["participant"] for e in ex["excluded"]] == ["sim02", "sim03"]
    assert "passed 1 of 2 attention checks" in ex["excluded"][0]["reason"]
    assert ex["participants_after"] == 2 and ex["without_attention_checks"] == 1  # sim04 had none: kept
    assert cmp["provenance"]["participants"] == 2
    assert set(cmp["models"]["domainnet"]["error_consistency"]["per_participant"]) == {"sim01", "sim04"}
    cmp = compare(out, run, n_boot=0, figures=False, out=tmp_path / "c.json", min_attention=0.5)
    assert [e["participant"] for e in cmp["exclusions"]["excluded"]] == ["sim03"]
    # the config key, from the command line
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "--humans",
            str(out),
            "--run",
            str(run),
            "--out",
            str(tmp_path / "d.json"),
            "--bootstrap",
            "0",
            "--set",
            "compare.min_attention=0",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "4 of 4 participants kept" in res.output.replace("\n", " ")
