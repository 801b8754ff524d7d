"""`bodyscene export --format model-vs-human`: the files are model-vs-human's raw-data format, and model-vs-human's
own formulas, run on the exported files, give bodyscene's figures (error consistency with --undefined-kappa one,
the squared accuracy difference)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bodyscene.cli import app
from bodyscene.config import SimulateConfig
from bodyscene.humans.compare import compare
from bodyscene.humans.simulate import simulate_responses
from helpers_humans import make_run, make_stimuli

HEADER = "subj,session,trial,rt,object_response,category,condition,imagename"
TARGET = {"original": 0.8, "body": 0.7, "background": 0.5}


# --- bethgelab/model-vs-human, modelvshuman/plotting/analyses.py and helper/plotting_helper.py, transcribed from
# pandas to plain Python (same steps: filter by subj and condition, accuracy = object_response == category,
# sort both by image_id, c_obs over the aligned trials, kappa with their c_obs == 1 -> 1.0 rule) ---------------
def get_short_imagename(imagename: str) -> str:
    splits = imagename.split("_")
    if len(splits) > 1:
        name = splits[-2:]
        name = name[0] + "_" + name[1] if name[0].startswith("n0") else name[1]
    else:
        name = splits[0]
    return name


def mvh_error_consistency(expected_consistency: float, observed_consistency: float) -> float:
    if observed_consistency == 1.0:
        return 1.0
    return (observed_consistency - expected_consistency) / (1.0 - expected_consistency)


def mvh_accuracy(df: list[dict]) -> float:
    return len([r for r in df if r["object_response"] == r["category"]]) / len(df)


def mvh_ec_analysis(df1: list[dict], df2: list[dict]) -> float:
    assert len(df1) == len(df2)
    p1, p2 = mvh_accuracy(df1), mvh_accuracy(df2)
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    df1 = sorted(df1, key=lambda r: r["image_id"])
    df2 = sorted(df2, key=lambda r: r["image_id"])
    assert [r["image_id"] for r in df1] == [r["image_id"] for r in df2]
    observed = sum(
        (a["object_response"] == a["category"]) == (b["object_response"] == b["category"])
        for a, b in zip(df1, df2, strict=True)
    ) / len(df1)
    return mvh_error_consistency(expected, observed)


def read_experiment(folder: Path) -> list[dict]:
    df = []
    for f in sorted(folder.glob("*.csv")):
        with f.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        df += [{k.lower(): v for k, v in r.items()} | {"image_id": get_short_imagename(r["imagename"])} for r in rows]
    return df


# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    stim = make_stimuli(root, test_clips=8)
    run = make_run(root, stim)
    humans = root / "humans.csv"
    sim = SimulateConfig(accuracy=TARGET, participants=5, agreement=0.5, model="domainnet", design="full", seed=2)
    simulate_responses(stim, humans, sim, run=run)
    cmp = compare(humans, run, n_boot=0, figures=False, out=root / "c.json", undefined_kappa="one")
    out = root / "raw-data" / "bodyscene"
    res = CliRunner().invoke(app, ["export", "--format", "model-vs-human", "--run", str(run), "--humans",
                                   str(humans), "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    return out, cmp


def test_files_are_named_and_shaped_as_model_vs_human_raw_data(exported):
    out, _ = exported
    names = sorted(p.name for p in out.glob("*.csv"))
    assert "bodyscene_subject-sim01_session_1.csv" in names and "bodyscene_domainnet_session_1.csv" in names
    assert len(names) == 5 + 2
    for p in out.glob("*.csv"):
        assert p.read_text().splitlines()[0] == HEADER
    df = read_experiment(out)
    assert {r["condition"] for r in df} == {"original", "body", "background"}
    humans = {r["subj"] for r in df if r["subj"].startswith("subject-")}
    assert len(humans) == 5  # model-vs-human finds humans by the subject- prefix
    assert len({r["image_id"] for r in df}) == 24  # every stimulus keeps its own id through get_short_imagename


def test_model_vs_human_formulas_on_the_export_give_bodyscene_figures(exported):
    out, cmp = exported
    df = read_experiment(out)
    humans = sorted({r["subj"] for r in df if r["subj"].startswith("subject-")})
    for model in ("baseline", "domainnet"):
        kappas, sq = defaultdict(list), []
        for c in ("original", "body", "background"):
            m = [r for r in df if r["subj"] == model and r["condition"] == c]
            for h in humans:
                hd = [r for r in df if r["subj"] == h and r["condition"] == c]
                kappas[c].append(mvh_ec_analysis(m, hd))
                sq.append(np.square(mvh_accuracy(m) - mvh_accuracy(hd)))  # SixteenClassAccuracyDifference
        mvh_ec = np.mean([np.mean(v) for v in kappas.values()])  # their lineplot: mean over humans per condition
        sec = cmp["models"][model]
        assert sec["error_consistency"]["mean"] == pytest.approx(mvh_ec, abs=1e-12)
        assert sec["squared_accuracy_difference"]["mean"] == pytest.approx(np.mean(sq), abs=1e-12)
    assert cmp["models"]["domainnet"]["error_consistency"]["mean"] > 0.2  # the figure is not trivially 0


def test_bad_format_and_name_are_one_line(exported, tmp_path):
    out, _ = exported
    run = out.parents[1] / "run"
    res = CliRunner().invoke(app, ["export", "--format", "csv", "--run", str(run), "--out", str(tmp_path)])
    assert res.exit_code != 0 and "model-vs-human" in str(res.exception)
    res = CliRunner().invoke(app, ["export", "--run", str(run), "--out", str(tmp_path), "--name", "my_study"])
    assert res.exit_code != 0 and "splits file names at '_'" in str(res.exception)
