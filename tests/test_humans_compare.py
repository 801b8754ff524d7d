"""simulate-humans -> compare round trip, the simulation's design, comparison.json's contract, the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bodyscene.cli import app
from bodyscene.config import CONDITIONS, SimulateConfig
from bodyscene.errors import BodySceneError
from bodyscene.humans.compare import compare
from bodyscene.humans.responses import load_responses, load_stimulus_set, model_correctness, read_predictions
from bodyscene.humans.simulate import independent_accuracy, parse_accuracy, simulate_responses
from bodyscene.readout import Scores
from helpers_humans import MODEL_ACCURACY, make_run, make_stimuli

TARGET = {"original": 0.8, "body": 0.85, "background": 0.55}
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("humans")
    stim = make_stimuli(root, test_clips=30)
    return stim, make_run(root, stim)


@pytest.fixture(scope="module")
def round_trip(world, tmp_path_factory):
    stim, run = world
    out = tmp_path_factory.mktemp("rt") / "responses.csv"
    simulate_responses(stim, out, SimulateConfig(accuracy=TARGET, participants=30, agreement=0.5, seed=0), run=run)
    return out, compare(out, run, out=out.with_name("comparison.json"), n_boot=500)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_round_trip_recovers_accuracies_and_error_consistency(round_trip):
    _, cmp = round_trip
    for c in CONDITIONS:
        assert cmp["humans"][c]["accuracy"] == pytest.approx(TARGET[c], abs=0.05)
        assert cmp["humans"][c]["n_participants"] == 30
        lo, hi = cmp["humans"][c]["ci95"]
        assert lo < cmp["humans"][c]["accuracy"] < hi
        # counterbalanced: every test item appears in every condition, so the model scores its full accuracy
        for m in MODEL_ACCURACY:
            assert cmp["models"][m][c]["accuracy"] == pytest.approx(MODEL_ACCURACY[m][c], abs=1e-9)
    dn, bl = cmp["models"]["domainnet"], cmp["models"]["baseline"]
    # humans copy domainnet's correctness on half the trials, baseline's never
    assert dn["error_consistency"]["mean"] > 0.3
    assert abs(bl["error_consistency"]["mean"]) < 0.1
    assert dn["error_consistency"]["mean"] > bl["error_consistency"]["mean"] + 0.25
    assert len(dn["error_consistency"]["per_participant"]) == 30
    # domainnet's pattern (body > original > background) is the humans'; baseline's (body worst) is not
    assert dn["pattern_correlation"] > bl["pattern_correlation"]
    expected = sum(abs(MODEL_ACCURACY["baseline"][c] - cmp["humans"][c]["accuracy"]) for c in CONDITIONS) / 3
    assert bl["accuracy_gap"] == pytest.approx(expected)
    # humans who all copy domainnet share its errors with each other, so their mutual kappa is positive
    assert cmp["human_consistency"]["error_consistency"] > 0.1


def test_comparison_json_is_strict_and_every_p_names_its_test(round_trip):
    out, _ = round_trip
    text = out.with_name("comparison.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    p_values = []

    def walk(node):
        if isinstance(node, dict):
            if "p" in node:
                assert "test" in node, node
                p_values.append(node["p"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data["statistics"])
    # 3 condition pairs (row p + t-test + Wilcoxon each), 1 model pair x 3 conditions, 2 human-likeness metrics
    # x 1 model pair (t-test + Wilcoxon)
    assert len(p_values) == 3 * 3 + 3 + 2 * 2
    (ec,) = data["statistics"]["human_likeness"]["error_consistency"]
    assert ec["closer"] == "domainnet" and ec["p_holm"] < 0.001 and "domainnet is closer" in ec["verdict"]
    # body vs background differ by ~0.3 in 30 participants: the t-test must find it
    bb = next(r for r in data["statistics"]["human_conditions"] if {r["a"], r["b"]} == {"body", "background"})
    assert bb["p_holm"] < 0.001 and "Holm" in bb["t_test"]["correction"]
    # baseline vs domainnet on body: 0.3 vs 0.8 of 90 items -> McNemar must reject
    body = next(r for r in data["statistics"]["model_vs_model"] if r["condition"] == "body")
    assert body["p_holm"] < 0.001 and body["n_items"] == 90
    assert data["provenance"]["simulated"] is True
    assert data["provenance"]["command"].startswith("bodyscene compare --humans")
    for fig in data["figures"].values():
        assert out.with_name(fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_are_redrawn_from_the_comparison_file_alone(round_trip, tmp_path):
    """Only report/ draws, from comparison.json: a copy of the file alone (no responses, no run) gives the figures."""
    out, _ = round_trip
    data = json.loads(out.with_name("comparison.json").read_text())
    (tmp_path / "comparison.json").write_text(out.with_name("comparison.json").read_text())
    result = CliRunner().invoke(app, ["figures", "--run", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for fig in data["figures"].values():
        assert (tmp_path / fig).read_bytes() == out.with_name(fig).read_bytes()  # the same figure, bit for bit
    result = CliRunner().invoke(app, ["figures", "--run", str(tmp_path / "empty")])
    assert result.exit_code != 0


def test_model_accuracy_is_on_exactly_the_trials_humans_saw(world, tmp_path):
    stim, run = world
    ok = model_correctness(read_predictions(run))["domainnet"]
    s1, s2 = "jump_test000_f0000", "run_test001_f0000"
    path = tmp_path / "r.csv"
    path.write_text(
        "participant,stimulus_id,condition,label,response\n"
        f"a,{s1},original,jump,jump\nb,{s1},original,jump,run\na,{s2},original,run,run\na,{s2},body,run,run\n"
    )
    cmp = compare(path, run, n_boot=100, figures=False, out=tmp_path / "c.json")
    sec = cmp["models"]["domainnet"]["original"]
    assert sec["n_trials"] == 3 and sec["n_items"] == 2
    assert sec["accuracy"] == pytest.approx((2 * ok[("original", s1)] + ok[("original", s2)]) / 3)
    assert cmp["humans"]["original"]["per_participant"] == {"a": 1.0, "b": 0.0}
    assert cmp["humans"]["original"]["accuracy"] == 0.5
    assert cmp["humans"]["background"]["accuracy"] is None  # nobody saw it: null, not 0
    assert cmp["models"]["domainnet"]["trials_without_prediction"] == 0


def test_trials_without_a_prediction_are_counted_not_scored(world, tmp_path):
    stim, run = world
    partial = tmp_path / "partial"
    partial.mkdir()
    full = Scores.load(run / "scores.npz")  # the scores without one stimulus (evaluated on fewer frames)
    keep = [i for i, s in enumerate(full.stimulus_ids) if s != "jump_test000_f0000"]
    Scores(
        [full.stimulus_ids[i] for i in keep], [full.clip_ids[i] for i in keep], full.classes, full.labels[keep],
        full.manifest, {k: v[keep] for k, v in full.logits.items()},
    ).save(partial / "scores.npz")  # fmt: skip
    path = tmp_path / "r.csv"
    path.write_text(
        "participant,stimulus_id,condition,label,response\n"
        "a,jump_test000_f0000,body,jump,jump\na,jump_test001_f0000,body,jump,jump\n"
    )
    cmp = compare(path, partial, stimuli=stim, n_boot=100, figures=False, out=tmp_path / "c.json")
    for model in ("baseline", "domainnet"):
        assert cmp["models"][model]["trials_without_prediction"] == 1
        assert cmp["models"][model]["body"]["n_trials"] == 1
    with pytest.raises(BodySceneError, match="manifest.csv: file not found"):
        compare(path, partial, stimuli=tmp_path / "nowhere", figures=False, out=tmp_path / "c.json")


def test_counterbalanced_design_is_a_latin_square(world, tmp_path):
    stim, _ = world
    out = tmp_path / "cb.csv"
    info = simulate_responses(stim, out, SimulateConfig(accuracy=TARGET, participants=6, seed=4))
    rows = read_rows(out)
    assert info["simulated"] is True and json.loads(Path(f"{out}.json").read_text())["simulated"] is True
    assert sorted({r["participant"] for r in rows}) == [f"sim{i:02d}" for i in range(1, 7)]
    test = {s for s, split in load_stimulus_set(stim).splits.items() if split == "test"}
    by_p = defaultdict(list)
    for r in rows:
        by_p[r["participant"]].append(r)
    for trials in by_p.values():
        assert sorted(r["stimulus_id"] for r in trials) == sorted(test)  # each clip once
        assert sorted(int(r["trial"]) for r in trials) == list(range(1, len(test) + 1))
        counts = Counter(r["condition"] for r in trials)
        assert max(counts.values()) - min(counts.values()) <= 1  # conditions balanced within a participant
    seen = defaultdict(set)
    for r in rows[: 3 * len(test)]:  # sim01..sim03 together see every clip in all three conditions
        seen[r["stimulus_id"]].add(r["condition"])
    assert all(v == set(CONDITIONS) for v in seen.values())
    simulate_responses(stim, tmp_path / "again.csv", SimulateConfig(accuracy=TARGET, participants=6, seed=4))
    assert rows == read_rows(tmp_path / "again.csv")  # deterministic under the seed
    assert len(load_responses(out, load_stimulus_set(stim))) == len(rows)  # passes its own validation


def test_full_design_and_wrong_answers(world, tmp_path):
    stim, _ = world
    out = tmp_path / "full.csv"
    accuracy = {"original": 0.0, "body": 1.0, "background": 0.5}
    simulate_responses(stim, out, SimulateConfig(accuracy=accuracy, participants=2, design="full", seed=1))
    rows = read_rows(out)
    assert len(rows) == 2 * 90 * 3
    assert all(r["response"] != r["label"] for r in rows if r["condition"] == "original")
    assert all(r["response"] == r["label"] for r in rows if r["condition"] == "body")
    assert len({r["response"] for r in rows if r["condition"] == "original"}) == 3  # random wrong classes


def test_simulation_settings_are_checked():
    assert parse_accuracy("original=0.8, body=0.85,background=0.55") == TARGET
    with pytest.raises(BodySceneError, match="missing background"):
        parse_accuracy("original=0.8,body=0.85")
    with pytest.raises(BodySceneError, match="expected CONDITION=P"):
        parse_accuracy("scene=0.8")
    # alpha q + (1 - alpha) b = a: 0.5 * 0.4 + 0.5 * b = 0.55 -> b = 0.7
    assert independent_accuracy(0.55, 0.4, 0.5) == pytest.approx(0.7)
    with pytest.raises(BodySceneError, match=r"use --agreement <= 0.250"):
        independent_accuracy(0.1, 0.4, 0.5)  # limit = 0.1 / 0.4


def test_cli_simulate_and_compare(world, tmp_path):
    stim, run = world
    out = tmp_path / "cli.csv"
    args = ["simulate-humans", "--stimuli", str(stim), "--out", str(out), "--participants", "6"]
    args += ["--run", str(run), "--agreement", "0.3", "--model", "domainnet", "--seed", "2"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    cmp_path = tmp_path / "cmp.json"
    res = CliRunner().invoke(
        app,
        ["compare", "--humans", str(out), "--run", str(run), "--out", str(cmp_path), "--bootstrap", "200"],
    )
    assert res.exit_code == 0, res.output
    assert "domainnet" in res.output and cmp_path.is_file()
    assert json.loads(cmp_path.read_text())["provenance"]["bootstrap"] == 200


def test_cli_bad_responses_exit_2_with_one_line(world, tmp_path):
    _, run = world
    bad = tmp_path / "bad.csv"
    bad.write_text("participant,stimulus_id,condition,label,response\np1,nope,original,jump,jump\n")
    env = os.environ | {"PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-m", "bodyscene", "compare", "--humans", str(bad), "--run", str(run)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:2: unknown stimulus_id 'nope'" in " ".join(lines), proc.stderr
