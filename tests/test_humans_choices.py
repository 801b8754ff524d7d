"""Offered choices end to end: the design draws them (seeded foils), the page's rows carry them, the server and
`collect` check them against the design, `simulate-humans` honours them and `compare` scores models over them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bodyscene.config import SimulateConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import write_csv
from bodyscene.humans.collect import collect
from bodyscene.humans.compare import compare
from bodyscene.humans.responses import load_stimulus_set, load_study
from bodyscene.humans.simulate import simulate_responses
from bodyscene.humans.study import FIELDS
from bodyscene.humans.study_design import build_design, resolve_choices
from bodyscene.readout import Scores
from helpers_humans import make_run, make_stimuli
from helpers_web import build, make_stimulus_set, post_json, running_server, token_of, valid_submission
from test_web_design import clips

SRC = Path(__file__).resolve().parents[1] / "src"
EIGHT = [f"c{i}" for i in range(8)]


def test_five_choices_are_the_label_and_four_seeded_foils():
    design = build_design(clips(), EIGHT, participants=4, n_choices=resolve_choices(None, 8), attention_checks=1)
    again = build_design(clips(), EIGHT, participants=4, n_choices=5, attention_checks=1)
    assert design == again  # drawn from the design seed: the same study twice
    trials = [t for p in design for t in p["trials"]]
    assert all(len(t["choices"]) == 5 and len(set(t["choices"])) == 5 for t in trials)
    assert all(t.get("label", t.get("target")) in t["choices"] for t in trials)
    firsts = {tuple(t["choices"]) for t in trials if t["kind"] == "stimulus"}
    assert len(firsts) > 10  # foils are drawn per trial, not once per class
    assert resolve_choices("all", 8) == 8 and resolve_choices(None, 4) == 4  # 4 classes: every class


def test_more_choices_than_classes_is_one_line_naming_the_option(tmp_path):
    with pytest.raises(BodySceneError, match=r"--choices 9: more options than the 8 classes tested; lower it"):
        resolve_choices(9, 8)
    stim = make_stimulus_set(tmp_path / "stim")  # 4 classes
    env = os.environ | {"PYTHONPATH": str(SRC)}
    res = subprocess.run(
        [sys.executable, "-m", "bodyscene", "human-experiment", "--stimuli", str(stim), "--out",
         str(tmp_path / "exp"), "--choices", "5"], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0, res.stderr
    assert "--choices 5: more options than the 4 classes" in res.stderr


@pytest.fixture
def served_subset(tmp_path):
    folder, design = build(tmp_path, choices=2)
    return folder, design


def test_server_saves_the_choices_and_refuses_other_ones(served_subset):
    folder, design = served_subset
    with running_server(folder) as url:
        sub = valid_submission(design, "1")
        bad = json.loads(json.dumps(sub))
        row = bad["rows"][0]
        row["choices"] = "|".join(reversed(row["choices"].split("|")))  # not what the design drew
        status, reply = post_json(url, bad)
        assert status == 400 and "choices differ" in reply["error"]
        status, _ = post_json(url, {**sub, "token": token_of(folder, "1")})
        assert status == 200
    saved = next((folder / "responses").glob("*.csv"))
    rows = list(csv.DictReader(saved.open()))
    plan = {(t["stimulus_id"], t["condition"]): t for t in design["participants"][0]["trials"] if "condition" in t}
    assert all(r["choices"].split("|") == plan[(r["stimulus_id"], r["condition"])]["choices"] for r in rows)
    assert all(len(r["choices"].split("|")) == 2 for r in rows)


def _rows_with_checks(design: dict, participant: str) -> list[dict]:
    """What the page writes: practice rows, trials, attention rows (one check failed)."""
    plan = next(p for p in design["participants"] if p["participant"] == participant)
    rows = [
        {"participant": participant, "stimulus_id": t["stimulus_id"], "condition": "original", "label": t["label"],
         "response": t["choices"][0], "rt_ms": 900, "trial": "", "choices": "|".join(t["choices"]),
         "kind": "practice", "unit": "frame"}
        for t in design["practice"]
    ]  # fmt: skip
    rows += valid_submission(design, participant)["rows"]
    for t in plan["trials"]:
        if t["kind"] == "attention":
            wrong = next(c for c in t["choices"] if c != t["target"])
            rows.append({"participant": participant, "stimulus_id": f"attention-{t['check']}", "condition": "",
                         "label": t["target"], "response": wrong, "rt_ms": 700, "trial": "",
                         "choices": "|".join(t["choices"]), "kind": "attention", "unit": ""})  # fmt: skip
    return rows


def test_collect_keeps_choices_attention_and_practice(served_subset, tmp_path):
    folder, design = served_subset
    write_csv(folder / "responses" / "a-p1.csv", _rows_with_checks(design, "1"), FIELDS)
    summary = collect(folder, tmp_path / "merged.csv")
    assert summary["skipped"] == [] and summary["rows"] == 12
    assert summary["checks"] == 1 and summary["practice"] == 2
    trials, unscored = load_study(tmp_path / "merged.csv", load_stimulus_set(folder.parent / "stim"))
    assert all(t.choices is not None and len(t.choices) == 2 for t in trials)
    assert sorted(t.kind for t in unscored) == ["attention", "practice", "practice"]
    attention = next(t for t in unscored if t.kind == "attention")
    assert attention.response != attention.label  # the failed check reaches the data


def test_downloaded_csv_without_choices_is_skipped_with_the_fix_then_filled(served_subset, tmp_path):
    folder, design = served_subset
    old = ["participant", "stimulus_id", "condition", "label", "response", "rt_ms", "trial"]
    rows = [{k: r[k] for k in old} for r in valid_submission(design, "2")["rows"]]
    write_csv(folder / "responses" / "download-p2.csv", rows, old)
    with pytest.raises(
        BodySceneError, match=r"none of the 1 files .*download-p2.csv: no .choices. column.*--choices-from-design"
    ):
        collect(folder, tmp_path / "m.csv")
    write_csv(folder / "responses" / "ok-p1.csv", valid_submission(design, "1")["rows"], FIELDS)
    summary = collect(folder, tmp_path / "m.csv")
    (name, reason), = summary["skipped"]  # fmt: skip
    assert name == "download-p2.csv" and "no 'choices' column" in reason and "--choices-from-design" in reason
    summary = collect(folder, tmp_path / "m.csv", choices_from_design=True)
    assert summary["skipped"] == [] and summary["participants"] == 2
    merged = [r for r in csv.DictReader((tmp_path / "m.csv").open()) if r["participant"] == "2"]
    plan = {(t["stimulus_id"], t["condition"]): t["choices"] for t in design["participants"][1]["trials"]
            if t["kind"] == "stimulus"}  # fmt: skip
    assert all(r["choices"].split("|") == plan[(r["stimulus_id"], r["condition"])] for r in merged)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("choices")
    stim = make_stimuli(root, test_clips=12)
    return stim, make_run(root, stim)


def test_simulated_clip_trials_offer_two_choices_and_wrong_answers_are_foils(world, tmp_path):
    stim, run = world
    out = tmp_path / "sim.csv"
    target = {"original": 0.5, "body": 0.5, "background": 0.5}
    sim = SimulateConfig(accuracy=target, participants=6, choices=2, unit="clip", seed=3, agreement=0.4)
    simulate_responses(stim, out, sim, run=run)
    rows = list(csv.DictReader(out.open()))
    s = load_stimulus_set(stim)
    test_clips = {s.clips[x] for x, split in s.splits.items() if split == "test"}
    assert {r["stimulus_id"] for r in rows} == test_clips and len(rows) == 6 * len(test_clips)  # one per clip
    assert all(r["unit"] == "clip" for r in rows)
    for r in rows:
        options = r["choices"].split("|")
        assert len(options) == 2 and r["label"] in options and r["response"] in options
    # compare scores each model by its argmax over the same two options on the clip's mean logits
    cmp = compare(out, run, n_boot=0, figures=False, out=tmp_path / "c.json")
    scores = Scores.load(run / "scores.npz")
    for model in ("domainnet", "baseline"):
        hits = []
        for r in rows:
            if r["condition"] != "body":
                continue
            logits = scores.item_logits(model, "combined", "body", r["stimulus_id"], "clip")
            options = r["choices"].split("|")
            pick = options[int(np.argmax([logits[s.classes.index(c)] for c in options]))]
            hits.append(pick == r["label"])
        assert cmp["models"][model]["body"]["accuracy"] == pytest.approx(np.mean(hits))
        assert cmp["models"][model]["body"]["chance"] == pytest.approx(0.5)


def test_clip_design_refuses_clips_with_too_few_frames(tmp_path):
    from bodyscene.humans.study import StudyConfig, build_study

    stim = make_stimulus_set(tmp_path / "stim")  # one frame per clip, as `prepare` samples by default
    with pytest.raises(BodySceneError, match=r"has 1 sampled frame\(s\), fewer than --clip-min-frames 4.*"
                       r"--eval-frames-per-clip all.*--unit frame"):  # fmt: skip
        build_study(stim, tmp_path / "exp", StudyConfig(unit="clip"))
    assert not (tmp_path / "exp").exists()


def test_clip_practice_plays_a_clip_when_the_practice_clip_has_the_frames(tmp_path):
    folder, design = build(tmp_path, stim_options={"frames": 4, "train_frames": 4}, unit="clip", practice=2)
    assert [t["unit"] for t in design["practice"]] == ["clip", "clip"]
    for t in design["practice"] + [t for t in design["participants"][0]["trials"] if t["kind"] == "stimulus"]:
        assert (folder / t["video"]).read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # an EBML (WebM) file
