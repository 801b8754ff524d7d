"""report.html: self-contained (embedded images, no URLs), holds the numbers, needs only results.json."""

from __future__ import annotations

import base64
import json
import re
import shutil

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from bodyscene.cli import app
from bodyscene.config import CONDITIONS, SimulateConfig
from bodyscene.errors import BodySceneError
from bodyscene.humans.compare import compare
from bodyscene.humans.simulate import simulate_responses
from bodyscene.report.figures_humans import plot_accuracy_by_condition
from bodyscene.report.html import render_report, write_report
from helpers_humans import CLASSES, make_run, make_stimuli

PNG_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def assert_self_contained(text: str) -> None:
    assert not re.search(r"https?://", text)
    # every src/href points inside the page: embedded images only, no files, no network
    for attr in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert attr.startswith("data:image/png;base64,"), attr[:60]


@pytest.fixture
def world(tmp_path):
    stim = make_stimuli(tmp_path, test_clips=2, images=True, size=200)
    return stim, make_run(tmp_path, stim)


def test_results_only_report_holds_the_table_and_triplets(world):
    stim, run = world
    path = write_report(run)
    assert path == run / "report.html"
    text = path.read_text()
    assert_self_contained(text)
    results = json.loads((run / "results.json").read_text())
    for model, sec in results["models"].items():
        assert f"<td>{model}</td>" in text
        for c in CONDITIONS:
            acc, (lo, hi) = sec[c]["accuracy"], sec[c]["ci95"]
            assert f"{acc:.3f} [{lo:.3f}, {hi:.3f}]" in text
    assert "Humans beside the models" not in text  # no comparison.json yet
    # one original/body/background triplet per class, downscaled from 200 px to 160 px
    images = PNG_URI.findall(text)
    assert len(images) == 3 * len(CLASSES)
    thumb = cv2.imdecode(np.frombuffer(base64.b64decode(images[0]), np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[:2] == (160, 160)
    original = cv2.imread(str(stim / "original/test/jump/jump_test000_f0000.png"))
    expected = cv2.resize(original, (160, 160), interpolation=cv2.INTER_AREA)
    assert np.array_equal(thumb, expected)  # the right image, not just any image
    for name in ("torchvision", "lightning", "opencv", "python", "bodyscene"):
        assert f"<td>{name}</td>" in text
    assert "model:\n  kind: domainnet" in text  # the config, verbatim
    assert "bodyscene evaluate --run" in text and "1000 resamples, seed 0, percentile, over stimuli" in text


def test_report_with_comparison_and_experiment_tables(world):
    stim, run = world
    responses = run.parent / "responses.csv"
    simulate_responses(stim, responses, SimulateConfig(participants=6))
    cmp = compare(responses, run, n_boot=100)
    plot_accuracy_by_condition(cmp, run / "accuracy.png")  # stands in for evaluate's figure
    exp = run / "experiments" / "scene_correlation"
    exp.mkdir(parents=True)
    (exp / "table.csv").write_text("scene_correlation,model,body\n0.5,domainnet,0.731\n0.9,<b>net</b>,0.618\n")
    shutil.copy(run / "accuracy.png", exp / "figure.png")
    text = write_report(run).read_text()
    assert_self_contained(text)
    assert "Humans beside the models" in text and "Simulated participants" in text
    h = cmp["humans"]["body"]
    assert f"{h['accuracy']:.3f} [{h['ci95'][0]:.3f}, {h['ci95'][1]:.3f}]" in text
    assert f"{cmp['models']['domainnet']['pattern_correlation']:.3f}" in text
    assert "scipy.stats.ttest_rel" in text and "McNemar" in text and "Holm" in text
    assert cmp["provenance"]["command"] in text
    # experiments: every table.csv as a table, cells escaped, its PNG embedded
    assert "experiments/scene_correlation" in text and "<td>0.731</td>" in text
    assert "&lt;b&gt;net&lt;/b&gt;" in text and "<b>net</b>" not in text
    n_images = len(PNG_URI.findall(text))
    assert n_images == 3 * len(CLASSES) + 1 + 2 + 1  # triplets, accuracy.png, 2 comparison figures, experiment


def test_experiment_folder_without_results_json(tmp_path):
    run = tmp_path / "exp"
    run.mkdir()
    (run / "table.csv").write_text("dilation,accuracy\n1.0,0.61\n1.2,0.66\n")
    text = render_report(run)
    assert "<td>0.66</td>" in text and "Model accuracy" not in text
    assert_self_contained(text)
    with pytest.raises(BodySceneError, match="results.json: file not found; run `bodyscene evaluate"):
        render_report(tmp_path / "empty")


def test_cli_report(world):
    _, run = world
    res = CliRunner().invoke(app, ["report", "--run", str(run)])
    assert res.exit_code == 0, res.output
    assert (run / "report.html").is_file()
