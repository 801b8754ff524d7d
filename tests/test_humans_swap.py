"""Swap trials in the human study: both actions offered, and compare's body bias of humans and models."""

import numpy as np
import pytest

from bodyscene.config import CONDITIONS, PrepareConfig, SwapConfig
from bodyscene.humans.compare import compare
from bodyscene.humans.study_design import StudyClip, build_design
from bodyscene.readout import Scores, manifest_digest
from bodyscene.stimuli.make import prepare
from bodyscene.stimuli.manifest import read_stimulus_set

CLASSES = ["wave", "jump", "squat", "kick"]


def test_a_swap_trials_choices_always_hold_the_body_and_the_scene_action():
    clips = [
        StudyClip(f"c{i}", CLASSES[i % 4], i % 4, ({"stimulus_id": f"s{i}", "original": "o", "body": "b", "background": "g",
                                               "swap": f"w{i}", "swap_scene": CLASSES[(i + 1) % 4]},))
        for i in range(12)
    ]  # fmt: skip
    for lst in build_design(clips, CLASSES, participants=6, n_choices=2, attention_checks=0, seed=3):
        swaps = [t for t in lst["trials"] if t["condition"] == "swap"]
        assert len(swaps) == 12
        assert all({t["label"], t["scene"]} == set(t["choices"]) for t in swaps)
        assert sum(t["condition"] in CONDITIONS for t in lst["trials"]) == 12  # the Latin square is unchanged


@pytest.fixture(scope="module")
def swap_world(tiny_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("hswap")
    stim = root / "stim"
    prepare(tiny_data, stim, PrepareConfig(swap=SwapConfig()))
    rows = read_stimulus_set(stim).split("test")
    labels = np.array([CLASSES.index(r["class"]) for r in rows])
    scene = np.array([CLASSES.index(r["swap_background_label"]) for r in rows])
    run = root / "run"
    scores = Scores([r["stimulus_id"] for r in rows], [r["clip_id"] for r in rows], CLASSES, labels,
                    manifest_digest(stim), swap_scene=scene)  # fmt: skip
    for condition, answers in (*((c, labels) for c in CONDITIONS), ("swap", labels)):  # the model: always the body
        scores.logits[("body-model", "combined", condition)] = np.eye(4, dtype=np.float32)[answers] * 5
    scores.logits[("scene-model", "combined", "original")] = np.eye(4, dtype=np.float32)[labels] * 5
    for condition in ("body", "background"):
        scores.logits[("scene-model", "combined", condition)] = np.eye(4, dtype=np.float32)[labels] * 5
    scores.logits[("scene-model", "combined", "swap")] = np.eye(4, dtype=np.float32)[scene] * 5
    run.mkdir()
    scores.save(run / "scores.npz")
    lines = ["participant,stimulus_id,condition,label,response,choices"]
    for p in ("1", "2", "3"):
        for r in rows:
            lines.append(f"{p},{r['stimulus_id']},original,{r['class']},{r['class']},")
            # participants 1 and 2 answer the body, participant 3 the scene
            response = r["class"] if p != "3" else r["swap_background_label"]
            lines.append(
                f"{p},{r['stimulus_id']},swap,{r['class']},{response},{r['class']}|{r['swap_background_label']}"
            )
    (root / "humans.csv").write_text("\n".join(lines) + "\n")
    return root / "humans.csv", run, stim


def test_compare_gives_human_and_model_body_bias_with_a_paired_test(swap_world):
    humans, run, stim = swap_world
    result = compare(humans, run, stimuli=stim, n_boot=200, figures=False)
    swap = result["swap"]
    assert swap["humans"]["body_bias"] == pytest.approx(2 / 3)
    assert swap["humans"]["per_participant"] == {"1": 1.0, "2": 1.0, "3": 0.0}
    assert swap["humans"]["n_participants"] == 3 and len(swap["humans"]["ci95"]) == 2
    assert swap["models"]["body-model"]["body_bias"] == 1.0
    assert swap["models"]["scene-model"]["body_bias"] == 0.0
    test = swap["models"]["body-model"]["paired_test"]
    assert test["n_participants"] == 3 and test["mean_difference"] == pytest.approx(-1 / 3)
    # the three conditions are read as before: swap trials do not enter human accuracy
    assert result["humans"]["original"]["n_trials"] == 3 * 8


def test_a_swap_trial_on_a_stimulus_without_a_swap_is_one_line(swap_world, tmp_path):
    from bodyscene.errors import BodySceneError

    humans, run, stim = swap_world
    train = next(r for r in read_stimulus_set(stim).rows if r["split"] == "train")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"participant,stimulus_id,condition,label,response\n1,{train['stimulus_id']},swap,"
                   f"{train['class']},{train['class']}\n")  # fmt: skip
    with pytest.raises(BodySceneError, match="has no swap"):
        compare(bad, run, stimuli=stim, n_boot=0, figures=False)
