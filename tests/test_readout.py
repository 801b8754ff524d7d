"""The readout: restricted argmax, clip aggregation, chance, clip-level CIs, and `compare` asking models as humans
were asked (the offered choices, the clip), with its bad-input lines."""

import numpy as np
import pytest

from bodyscene.errors import BodySceneError
from bodyscene.humans.compare import compare
from bodyscene.readout import Scores, answer, chance, choice_mask, clip_logits
from helpers_humans import CLASSES, make_run, make_stimuli


def test_restricted_argmax_picks_the_best_offered_class():
    logits = np.array([[5.0, 1.0, 3.0, 0.0], [0.0, 2.0, 1.0, 9.0]])
    assert answer(logits).tolist() == [0, 3]
    mask = choice_mask([[1, 2], None], 4)
    assert answer(logits, mask).tolist() == [2, 3]
    with pytest.raises(ValueError):
        answer(logits, np.zeros_like(logits, dtype=bool))


def test_chance_is_the_mean_of_one_over_the_options():
    assert chance([5, 5, 5]) == pytest.approx(0.2)
    assert chance([2, 4]) == pytest.approx((0.5 + 0.25) / 2)


def test_clip_logits_are_the_mean_over_each_clips_frames():
    logits = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 2.0], [4.0, 0.0]])
    clips, mean = clip_logits(logits, ["b", "a", "b", "a"])
    assert clips == ["b", "a"]
    assert mean.tolist() == [[1.5, 1.0], [2.0, 1.5]]


@pytest.fixture
def world(tmp_path):
    stim = make_stimuli(tmp_path, test_clips=10)
    return stim, make_run(tmp_path, stim)


def responses(path, rows, header="participant,stimulus_id,condition,label,response,choices"):
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def test_models_answer_over_the_trials_choices(world, tmp_path):
    """With two options per trial, a model's accuracy is an independent restricted argmax on scores.npz, and
    differs from its all-class accuracy on trials built so that its top class is never offered."""
    stim, run = world
    scores = Scores.load(run / "scores.npz")
    logits = scores.get("baseline", "combined", "body")
    top = logits.argmax(1)
    rows, expected = [], []
    for i, sid in enumerate(scores.stimulus_ids):
        label = int(scores.labels[i])
        # offer the label and a class that is not the model's top choice (when it can be)
        foil = next(c for c in range(len(CLASSES)) if c not in (label, top[i]))
        offered = [label, foil]
        rows.append(["p1", sid, "body", CLASSES[label], CLASSES[label], "|".join(CLASSES[c] for c in offered)])
        expected.append(offered[int(np.argmax(logits[i, offered]))] == label)
    cmp = compare(responses(tmp_path / "r.csv", rows), run, figures=False, out=tmp_path / "c.json", n_boot=50)
    body = cmp["models"]["baseline"]["body"]
    assert body["accuracy"] == pytest.approx(np.mean(expected))
    all_class = float(np.mean(top == scores.labels))
    assert body["accuracy"] != pytest.approx(all_class)  # the baseline's fixture accuracy on body is 0.3
    assert body["chance"] == pytest.approx(0.5) and cmp["humans"]["body"]["chance"] == pytest.approx(0.5)
    assert body["above_chance"] == pytest.approx(body["accuracy"] - 0.5)
    assert cmp["provenance"]["choices"].startswith("per trial")


def test_without_choices_models_answer_over_all_classes(world, tmp_path):
    stim, run = world
    scores = Scores.load(run / "scores.npz")
    rows = [["p1", sid, "original", CLASSES[int(y)], CLASSES[int(y)], ""]
            for sid, y in zip(scores.stimulus_ids, scores.labels, strict=True)]  # fmt: skip
    cmp = compare(responses(tmp_path / "r.csv", rows), run, figures=False, out=tmp_path / "c.json", n_boot=50)
    logits = scores.get("domainnet", "combined", "original")
    sec = cmp["models"]["domainnet"]["original"]
    assert sec["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == scores.labels))
    assert sec["chance"] == pytest.approx(1 / 3)


def test_a_clip_trial_is_answered_on_the_clips_mean_logits(tmp_path):
    stim = make_stimuli(tmp_path, test_clips=4)
    run = make_run(tmp_path, stim)
    scores = Scores.load(run / "scores.npz")
    clip = scores.clip_ids[0]
    label = CLASSES[int(scores.labels[0])]
    path = responses(tmp_path / "r.csv", [["p1", clip, "original", label, label, ""]])
    cmp = compare(path, run, figures=False, out=tmp_path / "c.json", n_boot=0)
    mean = scores.get("domainnet", "combined", "original")[[i for i, c in enumerate(scores.clip_ids) if c == clip]]
    right = CLASSES[int(mean.mean(0).argmax())] == label
    assert cmp["models"]["domainnet"]["original"]["accuracy"] == float(right)
    assert cmp["models"]["domainnet"]["original"]["n_clips"] == 1


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ("jump|dance", "name 'dance', which is not a class"),
        ("run|wave", "omit the trial's label 'jump'"),
        ("jump|jump", "list a class twice"),
        ("jump", "a forced choice needs 2 or more"),
    ],
)
def test_malformed_choices_are_one_line_with_file_and_line(world, tmp_path, choices, message):
    stim, run = world
    path = responses(tmp_path / "r.csv", [["p1", "jump_test000_f0000", "body", "jump", "jump", choices]])
    with pytest.raises(BodySceneError) as e:
        compare(path, run, figures=False, out=tmp_path / "c.json")
    assert "r.csv:2: choices" in str(e.value) and message in str(e.value)
    assert "leave 'choices' empty" in str(e.value)


def test_a_choice_set_without_the_response_is_refused(world, tmp_path):
    stim, run = world
    path = responses(tmp_path / "r.csv", [["p1", "jump_test000_f0000", "body", "jump", "run", "jump|wave"]])
    with pytest.raises(BodySceneError, match="omit the trial's response 'run'"):
        compare(path, run, figures=False, out=tmp_path / "c.json")


def test_scores_from_another_stimulus_set_are_refused(world, tmp_path):
    stim, run = world
    other = make_stimuli(tmp_path / "other", test_clips=9)
    path = responses(tmp_path / "r.csv", [["p1", "jump_test000_f0000", "body", "jump", "jump", ""]])
    with pytest.raises(BodySceneError, match=r"scores.npz: made from another stimulus set .*rerun `bodyscene evaluate"):
        compare(path, run, stimuli=other, figures=False, out=tmp_path / "c.json")


def test_unknown_head_and_unit_are_one_line_exit_2(run_cli, world, tmp_path, monkeypatch, capsys):
    stim, run = world
    path = responses(tmp_path / "r.csv", [["p1", "jump_test000_f0000", "body", "jump", "jump", ""]])
    code, err = run_cli("compare", "--humans", path, "--run", run, "--head", "torso")
    assert code == 2 and "unknown head 'torso'; choose one of combined, body, background" in err
    assert len(err.strip().splitlines()) == 1
    code, err = run_cli("compare", "--humans", path, "--run", run, "--head", "flow")
    assert code == 2 and "no model has a 'flow' head" in err
    code, err = run_cli("evaluate", "--run", run, "--unit", "scene")
    assert code == 2 and "evaluate.unit" in err and "'frame' or 'clip'" in err


def test_compare_scores_a_stream_alone_with_head(world, tmp_path):
    """--head body: only models with a body head answer (the fixture's models have none: one line)."""
    stim, run = world
    path = responses(tmp_path / "r.csv", [["p1", "jump_test000_f0000", "body", "jump", "jump", ""]])
    with pytest.raises(BodySceneError, match="no model has a 'body' head; use --head combined"):
        compare(path, run, figures=False, out=tmp_path / "c.json", head="body")
