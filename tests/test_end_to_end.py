"""Train, evaluate and report at a tiny size, through the CLI, and check what the files hold."""

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bodyscene.cli import main
from bodyscene.config import CONDITIONS, PrepareConfig
from bodyscene.schema import PREDICTION_COLUMNS

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


def test_predictions_csv_has_one_row_per_model_head_condition_and_stimulus(trained_run):
    with open(trained_run / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == PREDICTION_COLUMNS
    assert len(rows) == (1 + 3) * 3 * 8  # baseline: combined; DomainNet: combined, body, background
    results = json.loads((trained_run / "results.json").read_text())
    for model, head in (("baseline", "combined"), ("domainnet", "combined"), ("domainnet", "body")):
        for condition in CONDITIONS:
            mine = [r for r in rows if r["model"] == model and r["head"] == head and r["condition"] == condition]
            acc = sum(r["label"] == r["predicted"] for r in mine) / len(mine)
            sec = results["models"][model]
            expected = sec[condition] if head == "combined" else sec["streams"][head][condition]
            assert acc == pytest.approx(expected["accuracy"])


def test_stream_accuracy_is_the_argmax_of_that_heads_logits_in_the_scores_file(trained_run):
    with np.load(trained_run / "scores.npz", allow_pickle=False) as z:
        labels, keys = z["labels"], set(z.files)
        assert list(z["classes"]) == ["wave", "jump", "squat", "kick"] and len(z["stimulus_ids"]) == 8
        assert "baseline/body/original" not in keys and z["domainnet/background/body"].dtype == np.float32
        results = json.loads((trained_run / "results.json").read_text())
        for head in ("body", "background"):
            for condition in CONDITIONS:
                acc = (z[f"domainnet/{head}/{condition}"].argmax(1) == labels).mean()
                assert acc == pytest.approx(results["models"]["domainnet"]["streams"][head][condition]["accuracy"])
        fused = z["domainnet/body/original"] + z["domainnet/background/original"]
        assert np.allclose(z["domainnet/combined/original"], fused, atol=1e-4)  # summed fusion


def test_changing_only_the_background_head_changes_only_the_background_stream(trained_run, tmp_path, monkeypatch):
    """Overwrite the background stream's classifier so it always answers class 0: streams.background moves to
    class 0's share, streams.body stays exactly as it was."""
    run = tmp_path / "run"
    shutil.copytree(trained_run / "domainnet", run / "domainnet")
    for name in ("best", "last"):
        ckpt = run / "domainnet" / "checkpoints" / f"{name}.ckpt"
        state = torch.load(ckpt, weights_only=True)
        state["state_dict"]["net.background.fc.weight"].zero_()
        state["state_dict"]["net.background.fc.bias"].copy_(torch.tensor([5.0, 0.0, 0.0, 0.0]))
        torch.save(state, ckpt)
    cli(monkeypatch, "evaluate", "--run", run, "--set", "evaluate.bootstrap=0")
    before = json.loads((trained_run / "results.json").read_text())["models"]["domainnet"]["streams"]
    after = json.loads((run / "results.json").read_text())["models"]["domainnet"]["streams"]
    assert after["body"] == {c: {**before["body"][c], "ci95": after["body"][c]["ci95"]} for c in CONDITIONS}
    assert all(after["background"][c]["accuracy"] == pytest.approx(0.25) for c in CONDITIONS)  # 2 of 8 are class 0
    with np.load(trained_run / "scores.npz") as old, np.load(run / "scores.npz") as new:
        for c in CONDITIONS:  # the body logits are untouched; the background head now answers class 0 everywhere
            assert np.array_equal(old[f"domainnet/body/{c}"], new[f"domainnet/body/{c}"])
            assert (new[f"domainnet/background/{c}"].argmax(1) == 0).all()
            assert not np.allclose(old[f"domainnet/background/{c}"], new[f"domainnet/background/{c}"])


def test_evaluate_from_the_files_gives_the_caches_scores_and_builds_no_cache(trained_run, tmp_path, monkeypatch):
    """evaluate.store=files: test frames decoded as they are read (for test sets too large to cache)."""
    run = tmp_path / "run"
    for model in ("baseline", "domainnet"):
        shutil.copytree(trained_run / model, run / model)
    cache = Path(json.loads((run / "domainnet" / "model.json").read_text())["stimuli"]) / "cache"
    before = sorted(cache.glob("test-*.npy"))
    for f in before:  # hidden, so a read through the cache would have to build them again
        f.rename(f.with_suffix(".hidden"))
    try:
        cli(monkeypatch, "evaluate", "--run", run, "--set", "evaluate.bootstrap=0", "--set", "evaluate.store=files")
        assert not list(cache.glob("test-*.npy"))
    finally:
        for f in before:
            f.with_suffix(".hidden").rename(f)
    with np.load(trained_run / "scores.npz") as old, np.load(run / "scores.npz") as new:
        keys = [k for k in old.files if k.count("/") == 2]
        assert keys and all(np.allclose(old[k], new[k], atol=1e-5) for k in keys)


def test_evaluate_auto_reads_files_when_the_cache_would_not_fit(monkeypatch):
    from bodyscene import evaluate
    from bodyscene.train import store

    assert evaluate.test_store("auto", 1000, 224) == "cache"
    monkeypatch.setattr(store, "memory_bytes", lambda: 1 << 20)
    assert evaluate.test_store("auto", 1000, 224) == "files"
    assert evaluate.test_store("cache", 1000, 224) == "cache"


def test_clip_readout_is_the_argmax_of_the_mean_logits_over_the_clips_frames(
    trained_run, tiny_data, tmp_path, monkeypatch
):
    from bodyscene.stimuli.make import prepare

    stim, run = tmp_path / "stim4", tmp_path / "run"
    prepare(tiny_data, stim, PrepareConfig(frames_per_clip=1, eval_frames_per_clip=4))
    for model in ("baseline", "domainnet"):
        shutil.copytree(trained_run / model, run / model)
    cli(monkeypatch, "evaluate", "--run", run, "--stimuli", stim, "--unit", "clip", "--set", "evaluate.bootstrap=200")
    results = json.loads((run / "results.json").read_text())
    assert results["unit"] == "clip" and results["frames_per_clip"] == 4
    with np.load(run / "scores.npz", allow_pickle=False) as z:
        clips, labels = z["clip_ids"], z["labels"]
        assert len(clips) == 32 and len(set(clips)) == 8
        for model in ("baseline", "domainnet"):
            for condition in CONDITIONS:
                logits = z[f"{model}/combined/{condition}"]
                right = [logits[clips == c].mean(0).argmax() == labels[clips == c][0] for c in sorted(set(clips))]
                sec = results["models"][model]
                assert sec[condition]["accuracy"] == pytest.approx(np.mean(right)) and sec[condition]["n"] == 8
                assert sec["units"]["clip"][condition]["accuracy"] == pytest.approx(np.mean(right))
                frames = (logits.argmax(1) == labels).mean()
                assert sec["units"]["frame"][condition]["accuracy"] == pytest.approx(frames)
                assert sec["units"]["frame"][condition]["n"] == 32


def test_drop_fuses_only_the_present_stream(trained_run, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(trained_run / "domainnet", run / "domainnet")
    cli(monkeypatch, "evaluate", "--run", run, "--set", "evaluate.absent_stream=drop", "--set", "evaluate.bootstrap=0")
    with np.load(run / "scores.npz", allow_pickle=False) as z:
        assert np.array_equal(z["domainnet/combined/body"], z["domainnet/body/body"])
        assert np.array_equal(z["domainnet/combined/background"], z["domainnet/background/background"])
        fused = z["domainnet/body/original"] + z["domainnet/background/original"]
        assert np.allclose(z["domainnet/combined/original"], fused, atol=1e-4)
    assert json.loads((run / "results.json").read_text())["absent_stream"] == "drop"


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


def test_swap_stimuli_give_each_model_and_stream_a_body_bias(trained_run, tiny_data, tmp_path, monkeypatch):
    from bodyscene.config import SwapConfig
    from bodyscene.files import read_csv
    from bodyscene.stimuli.make import prepare

    stim, run = tmp_path / "swap", tmp_path / "run"
    prepare(tiny_data, stim, PrepareConfig(frames_per_clip=2, swap=SwapConfig()))
    for model in ("baseline", "domainnet"):
        shutil.copytree(trained_run / model, run / model)
    cli(monkeypatch, "evaluate", "--run", run, "--stimuli", stim, "--set", "evaluate.bootstrap=50")
    cli(monkeypatch, "report", "--run", run)
    results = json.loads((run / "results.json").read_text())
    rows = [r for r in read_csv(stim / "manifest.csv") if r["split"] == "test"]
    classes = results["class_names"]
    with np.load(run / "scores.npz", allow_pickle=False) as z:
        assert z["swap_scene"].tolist() == [classes.index(r["swap_background_label"]) for r in rows]
        for model, heads in (("baseline", ["combined"]), ("domainnet", ["combined", "body", "background"])):
            for head in heads:
                pred = z[f"{model}/{head}/swap"].argmax(1)
                body, scene = z["labels"], z["swap_scene"]
                sec = results["models"][model]["swap"]
                sec = sec if head == "combined" else sec["streams"][head]
                assert sec["n"] == 8 and sec["body_rate"] == pytest.approx((pred == body).mean())
                assert sec["scene_rate"] == pytest.approx((pred == scene).mean())
                assert sec["other_rate"] == pytest.approx(1 - sec["body_rate"] - sec["scene_rate"])
                assert len(sec["ci95"]) == 2
    assert "Body against scene" in (run / "report.html").read_text()
    with open(run / "predictions.csv") as f:
        assert sum(r["condition"] == "swap" for r in csv.DictReader(f)) == 8 * (1 + 3)
