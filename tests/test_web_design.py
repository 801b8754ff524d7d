"""The counterbalanced design of the human experiment (pure Python, no browser, no jsPsych)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bodyscene.config import CONDITIONS
from bodyscene.humans.study_design import StudyClip, build_design, choice_set, participant_seed

CLASSES = ["clap", "jump", "run", "wave"]


def clips(per_class: int = 3, frames: int = 1) -> list[StudyClip]:
    out = []
    for li, name in enumerate(CLASSES):
        for k in range(per_class):
            cid = f"{name}_{k}"
            fr = tuple(
                {"stimulus_id": f"{cid}_f{f:04d}", **{c: f"{c}/{cid}_{f}.png" for c in CONDITIONS}}
                for f in range(frames)
            )
            out.append(StudyClip(cid, name, li, fr))
    return out


def stimulus_trials(plist: dict) -> list[dict]:
    return [t for t in plist["trials"] if t["kind"] == "stimulus"]


def test_latin_each_participant_sees_each_clip_once_and_conditions_balance():
    design = build_design(clips(), CLASSES, participants=6, kind="latin", attention_checks=0)
    for plist in design:
        trials = stimulus_trials(plist)
        assert sorted(t["clip_id"] for t in trials) == sorted(c.clip_id for c in clips())  # once each
        # 12 clips: 4 per condition, and within every class each condition exactly once (3 clips per class)
        assert Counter(t["condition"] for t in trials) == dict.fromkeys(CONDITIONS, 4)
        for name in CLASSES:
            assert sorted(t["condition"] for t in trials if t["label"] == name) == sorted(CONDITIONS)
        for t in trials:
            assert t["image"] == f"{t['condition']}/{t['clip_id']}_0.png"  # the image of its condition


def test_latin_full_rotation_shows_every_clip_in_every_condition():
    design = build_design(clips(), CLASSES, participants=3, kind="latin", attention_checks=0)
    seen: dict[str, set[str]] = {}
    for plist in design:
        for t in stimulus_trials(plist):
            seen.setdefault(t["clip_id"], set()).add(t["condition"])
    assert all(conds == set(CONDITIONS) for conds in seen.values())
    assert len(seen) == 12


def test_full_design_shows_every_clip_in_all_conditions_to_everyone():
    design = build_design(clips(frames=2), CLASSES, participants=2, kind="full", attention_checks=0)
    for plist in design:
        pairs = Counter((t["stimulus_id"], t["condition"]) for t in stimulus_trials(plist))
        assert len(pairs) == 12 * 2 * 3 and set(pairs.values()) == {1}


def test_order_is_shuffled_per_participant_and_reproducible_from_the_seed():
    a = build_design(clips(), CLASSES, participants=3, seed=7)
    b = build_design(clips(), CLASSES, participants=3, seed=7)
    c = build_design(clips(), CLASSES, participants=3, seed=8)
    assert a == b
    order = [[t.get("stimulus_id") for t in p["trials"]] for p in a]
    assert order != [[t.get("stimulus_id") for t in p["trials"]] for p in c]
    seeds = [p["seed"] for p in a]
    assert seeds == [participant_seed(7, p) for p in (1, 2, 3)] and len(set(seeds)) == 3
    for plist in a:
        assert [t["trial"] for t in stimulus_trials(plist)] == list(range(1, 13))
    # the same clips in a different order for participants 1 and 4 (same Latin row, different seed)
    d = build_design(clips(), CLASSES, participants=4, seed=7)
    same_row = [sorted((t["stimulus_id"], t["condition"]) for t in stimulus_trials(d[i])) for i in (0, 3)]
    assert same_row[0] == same_row[1]
    assert [t["stimulus_id"] for t in stimulus_trials(d[0])] != [t["stimulus_id"] for t in stimulus_trials(d[3])]


def test_attention_checks_are_spread_and_never_first_or_last():
    design = build_design(clips(), CLASSES, participants=3, attention_checks=3)
    for plist in design:
        kinds = [t["kind"] for t in plist["trials"]]
        assert kinds.count("attention") == 3 and kinds.count("stimulus") == 12
        assert kinds[0] == "stimulus" and kinds[-1] == "stimulus"
        assert "attention,attention" not in ",".join(kinds)
        for t in plist["trials"]:
            if t["kind"] == "attention":
                assert t["target"] in t["choices"]


@pytest.mark.parametrize("n", [2, 3])
def test_fewer_choices_hold_the_true_label_and_distinct_distractors(n):
    rng = np.random.default_rng(0)
    for _ in range(50):
        options = choice_set("run", CLASSES, n, rng)
        assert len(options) == n and len(set(options)) == n and "run" in options
        assert set(options) <= set(CLASSES)
    firsts = {choice_set("run", CLASSES, n, rng)[0] for _ in range(50)}
    assert len(firsts) > 1  # the true label is not always in the same place


def test_all_choices_keep_the_class_order():
    design = build_design(clips(), CLASSES, participants=2)
    assert all(t["choices"] == CLASSES for p in design for t in p["trials"])
