"""Imports that never crash (issue 14): compare and collect read what Excel and participants produce, or refuse
it in one line naming the file; what they write cannot run as a spreadsheet formula."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bodyscene.errors import BodySceneError
from bodyscene.files import escape_formula, read_csv, write_csv
from bodyscene.humans.collect import collect
from bodyscene.humans.compare import participant_pairs
from bodyscene.humans.responses import load_responses, load_stimulus_set
from bodyscene.humans.study import FIELDS
from helpers_humans import make_stimuli
from helpers_web import build, valid_submission

HEADER = "participant,stimulus_id,condition,label,response,rt_ms,trial"
ROWS = ["p01,jump_test000_f0000,original,jump,jump,812,1", "p01,run_test000_f0000,body,run,wave,640.5,2"]
TEXT = "\n".join([HEADER, *ROWS]) + "\n"


@pytest.fixture(scope="module")
def stim(tmp_path_factory):
    return load_stimulus_set(make_stimuli(tmp_path_factory.mktemp("imp"), test_clips=2))


def test_compare_reads_excel_utf8_with_bom(tmp_path, stim):
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    assert len(load_responses(path, stim)) == 2


@pytest.mark.parametrize(
    "data",
    [
        TEXT.replace("jump,jump", "jump,jump").encode("utf-16"),
        (TEXT + "p02,jump_test000_f0000,original,jump,jump,1,3,é\n").encode("latin-1"),
        b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 20,
        (HEADER + "\n" + "p01,jump_test000_f0000,original,jump,jump,812,²\n").encode(),
        (HEADER + "\n" + 'p01,"' + "x" * 140000 + '",original,jump,jump,1,1\n').encode(),
    ],
    ids=["utf-16", "latin-1", "binary", "superscript-trial", "huge-field"],
)
def test_compare_refuses_bad_files_in_one_line(tmp_path, stim, data):
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    with pytest.raises(BodySceneError) as e:
        load_responses(path, stim)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_cli_compare_on_latin1_is_exit_2_without_traceback(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + "\nmüller,a,original,b,c,1,1\n").encode("latin-1"))
    (tmp_path / "run").mkdir()
    write_csv(tmp_path / "run" / "predictions.csv", [{"model": "m", "condition": "original", "stimulus_id": "a",
              "label": "b", "predicted": "b"}], ["model", "condition", "stimulus_id", "label", "predicted"])  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-m", "bodyscene", "compare", "--humans", str(path), "--run", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr and "UTF-8" in res.stderr


def test_formula_cells_are_escaped_numbers_kept():
    assert escape_formula('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert escape_formula("@SUM(A1)") == "'@SUM(A1)"
    assert escape_formula("-1.5") == "-1.5" and escape_formula("jump") == "jump" and escape_formula(3) == 3


def test_collect_bom_trims_ids_refuses_duplicates_and_escapes(tmp_path):
    folder, design = build(tmp_path)
    rows = valid_submission(design, "1")["rows"]
    responses = folder / "responses"
    responses.mkdir()
    write_csv(responses / "a.csv", [{**r, "participant": " 1"} for r in rows], FIELDS)
    (responses / "a.csv").write_bytes(b"\xef\xbb\xbf" + (responses / "a.csv").read_bytes())  # Excel's CSV UTF-8
    write_csv(responses / "b.csv", [{**r, "participant": "1"} for r in rows], FIELDS)  # same person, untrimmed
    rows2 = valid_submission(design, "2")["rows"]
    write_csv(responses / "c.csv", rows2 + rows2[:1], FIELDS)  # a duplicated trial
    write_csv(responses / "d.csv", [{**rows2[0], "participant": "=HYPERLINK(1)"}], FIELDS)
    (responses / "e.csv").write_bytes(("\n".join([",".join(FIELDS), "é,x,y,z,w,1,1"]) + "\n").encode("latin-1"))
    summary = collect(folder)
    reasons = dict(summary["skipped"])
    assert summary["participants"] == 1 and summary["rows"] == 12
    assert "already collected" in reasons["b.csv"] and "twice" in reasons["c.csv"]
    assert "participant" in reasons["d.csv"] and "UTF-8" in reasons["e.csv"]
    merged = read_csv(summary["out"], required=FIELDS)
    assert {r["participant"] for r in merged} == {"1"}
    assert not summary["out"].is_relative_to(folder)


def test_pairs_are_all_below_the_threshold_and_a_seeded_sample_above():
    people = [f"p{i}" for i in range(300)]
    all_pairs, sampled = participant_pairs(people[:50], 20000, seed=0)
    assert not sampled and len(all_pairs) == 50 * 49 // 2
    a, sampled = participant_pairs(people, 1000, seed=1)
    assert sampled and len(a) == len(set(a)) == 1000 and all(p < q or p != q for p, q in a)
    assert a == participant_pairs(people, 1000, seed=1)[0] and a != participant_pairs(people, 1000, seed=2)[0]
