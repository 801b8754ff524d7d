"""Importing human responses: a valid file loads; each mistake is one line naming file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bodyscene.errors import BodySceneError
from bodyscene.humans.responses import load_responses, load_stimulus_set
from helpers_humans import make_stimuli

HEADER = "participant,stimulus_id,condition,label,response,rt_ms,trial"
GOOD = [
    "p01,jump_test000_f0000,original,jump,jump,812,1",
    "p01,run_test000_f0000,body,run,wave,640.5,2",
    "p02,jump_test000_f0000,background,jump,jump,,",
]


@pytest.fixture(scope="module")
def stim(tmp_path_factory):
    return load_stimulus_set(make_stimuli(tmp_path_factory.mktemp("resp"), test_clips=2))


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "responses.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_valid_file_loads_with_optional_columns(tmp_path, stim):
    trials = load_responses(write(tmp_path, GOOD), stim)
    assert [t.correct for t in trials] == [True, False, True]
    assert trials[1].rt_ms == 640.5 and trials[1].trial == 2
    assert trials[2].rt_ms is None and trials[2].trial is None
    # the optional columns may be absent altogether
    short = [",".join(line.split(",")[:5]) for line in GOOD]
    assert len(load_responses(write(tmp_path, short, ",".join(HEADER.split(",")[:5])), stim)) == 3


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("p03,nope_f0000,original,jump,jump,,", "unknown stimulus_id 'nope_f0000'; use a stimulus_id or clip_id from"),
        (
            "p03,jump_test001_f0000,scene,jump,jump,,",
            "condition 'scene' is not one of original, body, background",
        ),
        ("p03,jump_test001_f0000,body,jump,dance,,", "unknown class 'dance' in 'response'; use a class name"),
        ("p03,jump_test001_f0000,body,dance,jump,,", "unknown class 'dance' in 'label'"),
        ("p03,jump_test001_f0000,body,run,jump,,", "label 'run' but jump_test001_f0000 is class 'jump'"),
        (
            "p01,jump_test000_f0000,original,jump,run,,",
            "duplicate trial: participant p01 saw jump_test000_f0000",
        ),
        (
            "p01,wave_test000_f0000,original,wave,wave,,1",
            "duplicate trial: participant p01 trial 1 already on line 2",
        ),
        ("p03,jump_test001_f0000,body,jump,jump,fast,", "rt_ms 'fast' is not a number"),
        ("p03,jump_test001_f0000,body,jump,jump,,x", "trial 'x' is not an integer"),
        (",jump_test001_f0000,body,jump,jump,,", "empty 'participant'"),
    ],
)
def test_each_mistake_names_file_line_and_fix(tmp_path, stim, bad_line, expected):
    path = write(tmp_path, [*GOOD, bad_line])
    with pytest.raises(BodySceneError) as e:
        load_responses(path, stim)
    msg = str(e.value)
    assert msg.startswith(f"{path}:5: ")  # header is line 1, the bad row the 4th data row
    assert expected in msg
    assert "\n" not in msg and ";" in msg  # one line, with the fix after the semicolon


def test_missing_column_and_more_problems_are_counted(tmp_path, stim):
    path = write(tmp_path, ["p01,jump_test000_f0000,original,jump"], "participant,stimulus_id,condition,label")
    with pytest.raises(BodySceneError, match=r"responses.csv: missing column\(s\) response"):
        load_responses(path, stim)
    path = write(tmp_path, [*GOOD, "p9,x,original,jump,jump,,", "p9,y,original,jump,jump,,"])
    with pytest.raises(BodySceneError, match=r":5: unknown stimulus_id 'x'.*\(1 more problem\(s\) in this file\)"):
        load_responses(path, stim)


def test_empty_and_missing_files(tmp_path, stim):
    with pytest.raises(BodySceneError, match="no trials"):
        load_responses(write(tmp_path, []), stim)
    with pytest.raises(BodySceneError, match="file not found"):
        load_responses(tmp_path / "absent.csv", stim)
