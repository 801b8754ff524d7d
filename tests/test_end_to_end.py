"""Train, evaluate and report at a tiny size, through the CLI, and check what the files hold."""

import csv
import json
import sys

import pytest
import torch

from bodyscene.cli import main
from bodyscene.config import CONDITIONS

pytestmark = pytest.mark.slow


def cli(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["bodyscene", *map(str, args)])
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), f"bodyscene {' '.join(map(str, args))} exited {e.code}"


@pytest.fixture(scope="module")
def trained_run(tiny_stimuli, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    small = ["--backbone", "resnet18", "--epochs", "1", "--image-size", "32", "--batch-size", "8"]
    for model in ("baseline", "domainnet"):
        cli(mp, "train", "--stimuli", tiny_stimuli, "--model", model, "--run", run, *small)
    cli(mp, "evaluate", "--run", run, "--set", "evaluate.bootstrap=50")
    cli(mp, "report", "--run", run)
    mp.undo()
    return run


def test_results_json_has_the_documented_shape(trained_run):
    results = json.loads((trained_run / "results.json").read_text())
    assert results["classes"] == 4 and results["chance"] == pytest.approx(0.25)
    assert set(results["models"]) == {"baseline", "domainnet"}
    for model in results["models"].values():
        for condition in CONDITIONS:
            r = model[condition]
            assert 0 <= r["ci95"][0] <= r["accuracy"] <= r["ci95"][1] <= 1
            assert r["n"] == 8
            assert sum(map(sum, r["confusion"])) == 8


def test_predictions_csv_has_one_row_per_model_condition_and_stimulus(trained_run):
    with open(trained_run / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["model", "condition", "stimulus_id", "label", "predicted", "confidence"]
    assert len(rows) == 2 * 3 * 8
    results = json.loads((trained_run / "results.json").read_text())
    for model in ("baseline", "domainnet"):
        for condition in CONDITIONS:
            mine = [r for r in rows if r["model"] == model and r["condition"] == condition]
            acc = sum(r["label"] == r["predicted"] for r in mine) / len(mine)
            assert acc == pytest.approx(results["models"][model][condition]["accuracy"])


def test_checkpoints_are_plain_data_and_the_report_is_self_contained(trained_run):
    state = torch.load(trained_run / "domainnet" / "checkpoints" / "last.ckpt", weights_only=True)
    assert any(k.startswith("net.body.") for k in state["state_dict"])
    assert any(k.startswith("net.background.") for k in state["state_dict"])
    page = (trained_run / "report.html").read_text()
    assert "data:image/png;base64," in page and "http://" not in page and "https://" not in page
    assert (trained_run / "accuracy.png").stat().st_size > 1000
    with open(trained_run / "domainnet" / "metrics.csv") as f:
        assert "train/loss_body" in f.readline()


def test_resume_continues_to_more_epochs_and_refuses_other_settings(tiny_stimuli, tmp_path, monkeypatch, capsys):
    small = ["--backbone", "resnet18", "--image-size", "32", "--batch-size", "8"]
    cli(
        monkeypatch,
        "train",
        "--stimuli",
        tiny_stimuli,
        "--model",
        "baseline",
        "--run",
        tmp_path,
        "--epochs",
        "1",
        *small,
    )
    ckpt = tmp_path / "baseline" / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["epoch"] == 0
    cli(
        monkeypatch,
        "train",
        "--stimuli",
        tiny_stimuli,
        "--model",
        "baseline",
        "--run",
        tmp_path,
        "--epochs",
        "2",
        "--resume",
        *small,
    )
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1
    monkeypatch.setattr(sys, "argv", ["bodyscene", "train", "--stimuli", str(tiny_stimuli), "--model", "baseline",
                                      "--run", str(tmp_path), "--epochs", "3", "--resume", "--lr", "0.1", *small])  # fmt: skip
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2 and "other settings" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["bodyscene", "train", "--stimuli", str(tiny_stimuli), "--model", "baseline",
                                      "--run", str(tmp_path), "--epochs", "1", *small])  # fmt: skip
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2 and "--resume" in capsys.readouterr().err
