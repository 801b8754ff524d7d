"""`bodyscene human-experiment` (the folder it writes) and `bodyscene collect` (merging responses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv, write_csv
from bodyscene.humans.collect import collect
from bodyscene.humans.study import FIELDS, JSPSYCH_FILES, StudyConfig, build_study
from helpers_web import CLASSES, MANIFEST_FIELDS, build, make_stimulus_set, need_jspsych, valid_submission

SRC = Path(__file__).resolve().parents[1] / "src"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bodyscene", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC), **(env or {})},
        timeout=120,
    )


def test_folder_is_self_contained(tmp_path):
    folder, design = build(tmp_path)
    for name in ("index.html", "experiment.js", "style.css", "design.json", "design.js"):
        assert (folder / name).is_file()
    for name in JSPSYCH_FILES.values():
        assert (folder / "lib" / name).stat().st_size > 1000
    html = (folder / "index.html").read_text()
    assert "http" not in html.replace("http-equiv", "")  # no CDN: every script is a local file
    js = (folder / "design.js").read_text()
    assert json.loads(js.removeprefix("window.BODYSCENE_DESIGN = ").rstrip().rstrip(";")) == design
    stim = tmp_path / "stim"
    for plist in design["participants"]:
        for t in plist["trials"]:
            if t["kind"] == "stimulus":
                copied = folder / t["image"]
                assert copied.read_bytes() == (stim / t["image"].removeprefix("stimuli/")).read_bytes()
                assert f"/{t['condition']}/test/" in f"/{t['image']}"
    # practice: original frames of clips the main trials never show (here: the train split)
    main_clips = {s["clip_id"] for s in design["stimuli"].values()}
    assert len(design["practice"]) == 2
    for t in design["practice"]:
        assert t["image"].startswith("stimuli/original/train/") and t["stimulus_id"].split("_f")[0] not in main_clips
    assert design["classes"] == list(CLASSES) and design["settings"]["participants"] == 3


def test_subset_choices_and_clips_per_class(tmp_path):
    folder, design = build(tmp_path, classes=["jump", "run", "wave"], choices=2, clips_per_class=2, practice=1)
    trials = [t for p in design["participants"] for t in p["trials"] if t["kind"] == "stimulus"]
    assert {t["label"] for t in trials} == {"jump", "run", "wave"}
    assert len(trials) == 3 * 3 * 2  # 3 participants x 3 classes x 2 clips
    assert all(len(t["choices"]) == 2 and t["label"] in t["choices"] for t in trials)
    assert all(set(t["choices"]) <= {"jump", "run", "wave"} for t in trials)


def test_missing_images_are_skipped_and_recorded(tmp_path):
    need_jspsych()
    stim = make_stimulus_set(tmp_path / "stim")
    (stim / "body/test/run/run_test1_f0000.png").unlink()
    summary = build_study(stim, tmp_path / "exp", StudyConfig(participants=3, unit="frame"))
    assert summary["skipped"] == 1
    skipped = read_csv(tmp_path / "exp" / "skipped.csv")
    assert skipped[0]["stimulus_id"] == "run_test1_f0000" and "image missing" in skipped[0]["reason"]
    design = json.loads((tmp_path / "exp" / "design.json").read_text())
    assert "run_test1_f0000" not in design["stimuli"]


def test_manifest_path_outside_the_set_is_refused(tmp_path):
    need_jspsych()
    stim = make_stimulus_set(tmp_path / "stim")
    rows = read_csv(stim / "manifest.csv")
    rows[0]["body"] = "../../etc/passwd"
    write_csv(stim / "manifest.csv", rows, MANIFEST_FIELDS)
    with pytest.raises(BodySceneError, match=r"manifest.csv:2: image path"):
        build_study(stim, tmp_path / "exp", StudyConfig(unit="frame"))


def test_cli_without_jspsych_fails_with_one_line(tmp_path):
    stim = make_stimulus_set(tmp_path / "stim")
    res = cli("human-experiment", "--stimuli", str(stim), "--out", str(tmp_path / "exp"), "--unit", "frame",
              env={"BODYSCENE_WEB_MODULES": str(tmp_path / "empty")})  # fmt: skip
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "run `make install` (needs npm)" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "exp").exists()


def test_cli_builds_then_collects(tmp_path):
    need_jspsych()
    stim = make_stimulus_set(tmp_path / "stim")
    out = tmp_path / "exp"
    res = cli("human-experiment", "--stimuli", str(stim), "--out", str(out), "--unit", "frame", "--participants", "6",
              "--participants-design", "full", "--attention-checks", "0")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "6 participants x 36 trials" in res.stderr
    design = json.loads((out / "design.json").read_text())
    _save(out, "a-p1.csv", valid_submission(design, "1")["rows"])
    res = cli("collect", str(out), "--out", str(tmp_path / "merged.csv"))
    assert res.returncode == 0, res.stderr
    assert len(read_csv(tmp_path / "merged.csv", required=FIELDS)) == 36


def _save(folder: Path, name: str, rows: list[dict]) -> None:
    write_csv(folder / "responses" / name, rows, FIELDS)


def test_collect_merges_and_skips_malformed_files(tmp_path):
    folder, design = build(tmp_path)
    good1, good2 = valid_submission(design, "1")["rows"], valid_submission(design, "2")["rows"]
    _save(folder, "01-p1.csv", good1)
    _save(folder, "02-p2.csv", good2)
    _save(folder, "03-p1.csv", good1)  # the same participant again (page reloaded)
    (folder / "responses" / "04-bad.csv").write_text("participant,stimulus_id\n1,x\n")  # missing columns
    _save(folder, "05-p3.csv", [{**good1[0], "participant": "3", "condition": "scene"}])
    _save(folder, "06-p3.csv", [{**good1[0], "participant": "3", "stimulus_id": "ghost_f0000"}])
    (folder / "responses" / "07-empty.csv").write_text(",".join(FIELDS) + "\n")
    summary = collect(folder)
    assert summary["rows"] == 24 and summary["participants"] == 2 and summary["files"] == 7
    reasons = dict(summary["skipped"])
    assert set(reasons) == {"03-p1.csv", "04-bad.csv", "05-p3.csv", "06-p3.csv", "07-empty.csv"}
    assert "already collected" in reasons["03-p1.csv"] and "missing column" in reasons["04-bad.csv"]
    assert "line 2" in reasons["05-p3.csv"] and "condition" in reasons["05-p3.csv"]
    assert "not in design.json" in reasons["06-p3.csv"]
    merged = read_csv(summary["out"], required=FIELDS)
    assert summary["out"] == folder.parent / "experiment-responses.csv"  # outside the served folder
    assert [r["stimulus_id"] for r in merged] == [r["stimulus_id"] for r in good1 + good2]


def test_collect_without_responses_is_one_clear_error(tmp_path):
    with pytest.raises(BodySceneError, match="no response files"):
        collect(tmp_path)
