"""Every experiment end to end at a tiny size (the conftest data set, resnet18 at 32 px, 1 epoch, 1 seed): the
table, the figure, ordinary run folders, and the report page that shows them."""

import json
import sys

import pytest
import yaml

from bodyscene.cli import main
from bodyscene.config import CONDITIONS
from bodyscene.experiments import run_experiment
from bodyscene.experiments.runner import read_table
from bodyscene.files import read_csv

pytestmark = pytest.mark.slow


def tiny(data, **more):
    """Overrides that shrink any experiment to seconds: the fixture's data, 1 epoch at 32 px, resnet18."""
    models = [{"kind": "baseline", "backbone": "resnet18"}, {"kind": "domainnet", "backbone": "resnet18"}]
    return {
        "data": str(data),
        "train": {"epochs": 1, "image_size": 32, "batch_size": 16},
        "evaluate": {"bootstrap": 0},
        "models": models,
        **more,
    }


def check_outputs(out, name, rows, n_rows):
    assert len(rows) == n_rows
    assert (out / "table.csv").is_file() and (out / f"{name}.png").stat().st_size > 1000
    assert {r["condition"] for r in rows} == set(CONDITIONS)
    assert all(0 <= r["mean"] <= 1 and r["seeds"] == 1 and r["ci95_low"] == "" for r in rows)
    table = read_table(out)
    assert [float(r["mean"]) for r in table] == [r["mean"] for r in rows]


def accuracy_in(results_json, model, condition):
    return json.loads(results_json.read_text())["models"][model][condition]["accuracy"]


def test_paper_table_through_the_cli_and_into_the_report(tiny_data, tmp_path, monkeypatch):
    out = tmp_path / "pt"
    config = tmp_path / "pt.yaml"
    config.write_text(yaml.safe_dump({"experiment": "paper-table", "seeds": 1, "data": str(tiny_data),
                                      "params": {"stream_dropout": [0.0]}}))  # fmt: skip
    sets = ["train.epochs=1", "train.image_size=32", "evaluate.bootstrap=0", "models=[{kind: baseline, backbone: resnet18}, {kind: domainnet, backbone: resnet18}]"]  # fmt: skip
    args = ["bodyscene", "experiment", "paper-table", "--config", str(config), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", args + [a for s in sets for a in ("--set", s)])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code in (0, None)
    table = read_table(out)
    models = ("baseline", "domainnet", "domainnet/body", "domainnet/background")
    assert [(r["model"], r["condition"]) for r in table] == [(m, c) for m in models for c in CONDITIONS]
    assert {r["stream_dropout"] for r in table} == {"none", "0.0"}  # the config's params.stream_dropout: [0.0]
    results = out / "seed0" / "main" / "results.json"  # an ordinary run folder
    assert float(table[4]["mean"]) == pytest.approx(accuracy_in(results, "domainnet", "body"), abs=1e-4)
    stream = json.loads(results.read_text())["models"]["domainnet"]["streams"]["body"]["body"]["accuracy"]
    assert float(table[7]["mean"]) == pytest.approx(stream, abs=1e-4)
    monkeypatch.setattr(sys, "argv", ["bodyscene", "report", "--run", str(out)])
    with pytest.raises(SystemExit) as e:
        main()
    html = (out / "report.html").read_text()
    assert "paper-table.png" in html and "domainnet" in html and "data:image/png;base64" in html


def test_loss_ablation_trains_each_loss_variant(tiny_data, tmp_path):
    # a config file of its own: --set merges into the packaged config's variants, a file replaces them
    config = tmp_path / "ablation.yaml"
    variants = {"combined-only": {"body": 0, "background": 0, "combined": 1}}
    config.write_text(yaml.safe_dump({"experiment": "loss-ablation", "params": {"variants": variants}}))
    rows = run_experiment("loss-ablation", config, out=tmp_path, overrides=tiny(tiny_data))
    check_outputs(tmp_path, "loss-ablation", rows, 9)  # the fused answer and each stream alone
    saved = yaml.safe_load((tmp_path / "seed0" / "loss" / "domainnet-combined-only" / "config.yaml").read_text())
    assert saved["model"]["loss_weights"] == {
        "body": 0.0, "background": 0.0, "combined": 1.0, "flow": 1.0, "audio": 1.0,
    }  # fmt: skip
    assert {r["loss"] for r in rows} == {"combined-only"}
    assert {r["model"] for r in rows} == {"domainnet", "domainnet/body", "domainnet/background"}


def test_fusion_reports_accuracy_and_ece(tiny_data, tmp_path):
    rows = run_experiment("fusion", out=tmp_path, overrides=tiny(tiny_data, params={"variants": ["concat"]}))
    check_outputs(tmp_path, "fusion", rows, 12)  # accuracy of the fused answer and each stream; ECE
    assert sorted({r["metric"] for r in rows}) == ["accuracy", "ece"]
    saved = yaml.safe_load((tmp_path / "seed0" / "fusion" / "domainnet-concat" / "config.yaml").read_text())
    assert saved["model"]["fusion"] == "concat"


def test_paper_table_sweeps_stream_dropout_training_the_baseline_once(tiny_data, tmp_path):
    rows = run_experiment("paper-table", out=tmp_path, overrides=tiny(tiny_data, params={"stream_dropout": [0, 0.5]}))
    assert {(r["model"], r["stream_dropout"]) for r in rows if r["condition"] == "body"} == {
        ("baseline", "none"),
        *((m, p) for m in ("domainnet", "domainnet/body", "domainnet/background") for p in (0, 0.5)),
    }
    assert sorted(p.parent.name for p in (tmp_path / "seed0" / "dropout-0.5").glob("*/model.json")) == ["domainnet"]
    saved = yaml.safe_load((tmp_path / "seed0" / "dropout-0.5" / "domainnet" / "config.yaml").read_text())
    assert saved["train"]["stream_dropout"] == 0.5


def test_every_packaged_experiment_keeps_stream_dropout_off(tmp_path):
    from bodyscene.experiments import EXPERIMENTS
    from bodyscene.experiments.runner import load_experiment

    for name in EXPERIMENTS:
        _, cfg = load_experiment(name, None)
        assert cfg.train.stream_dropout == 0.0, name


def test_flow_trains_a_three_stream_model_on_flow_stimuli(tiny_data, tmp_path):
    rows = run_experiment("flow", out=tmp_path, overrides=tiny(tiny_data, models=[]))
    check_outputs(tmp_path, "flow", rows, 3)
    assert {r["model"] for r in rows} == {"domainnet-flow"}
    assert "flow_background" in (tmp_path / "seed0" / "stimuli-flow" / "manifest.csv").read_text().splitlines()[0]


def test_seg_noise_evaluates_clean_models_on_noisy_test_frames(tiny_data, tmp_path):
    params = {"kinds": ["drop"], "levels": [0.0, 1.0], "where": ["test"]}
    rows = run_experiment("seg-noise", out=tmp_path, overrides=tiny(tiny_data, params=params))
    check_outputs(tmp_path, "seg-noise", rows, 2 * 2 * 3)
    # every test mask dropped: the body-only stimulus is black, so DomainNet's body input is all black
    noisy = tmp_path / "seed0" / "test-drop-100" / "results.json"
    assert json.loads(noisy.read_text())["stimuli"].endswith("stimuli-drop-100")
    row = next(r for r in rows if r["level"] == 1.0 and r["model"] == "domainnet" and r["condition"] == "body")
    assert row["mean"] == pytest.approx(accuracy_in(noisy, "domainnet", "body"), abs=1e-4)
    assert not (tmp_path / "seed0" / "train-drop-100").exists()  # no noisy training needed for `test` alone


def test_backbone_runs_a_vit_as_baseline_and_as_domainnet_streams(tiny_data, tmp_path):
    rows = run_experiment("backbone", out=tmp_path, overrides=tiny(tiny_data, params={"backbones": ["vit_tiny"]}))
    check_outputs(tmp_path, "backbone", rows, 6)
    info = json.loads((tmp_path / "seed0" / "backbone-vit_tiny" / "domainnet" / "model.json").read_text())
    assert info["backbone"] == "vit_tiny"
    saved = yaml.safe_load((tmp_path / "seed0" / "backbone-vit_tiny" / "baseline" / "config.yaml").read_text())
    assert saved["train"]["lr"] == pytest.approx(0.003)  # the per-backbone training change of backbone.yaml


def test_leak_trains_a_background_baseline_per_way_of_making_the_hole(tiny_data, tmp_path):
    params = {"scopes": ["frame", "clip"], "inpaints": ["telea"], "inflates": ["scale"]}
    rows = run_experiment("leak", out=tmp_path, overrides=tiny(tiny_data, params=params))
    assert [(r["scope"], r["inpaint"], r["model"], r["condition"]) for r in rows] == [
        ("frame", "none", "baseline-background", "background"),  # the positive control comes first
        ("frame", "telea", "baseline-background", "background"),
        ("clip", "telea", "baseline-background", "background"),
    ]
    clip = read_csv(tmp_path / "seed0" / "stimuli-clip-telea-scale" / "manifest.csv")
    assert {r["mask_scope"] for r in clip} == {"clip"}
    control = tmp_path / "seed0" / "stimuli-frame-none-scale"
    assert {r["mask_scope"] for r in read_csv(control / "manifest.csv")} == {"frame"}


def test_cue_conflict_reports_body_bias_per_model_stream_and_class_across_the_dial(tmp_path):
    synth = {"classes": 4, "scene_types": 2, "train_clips": 3, "val_clips": 1, "test_clips": 2, "frames": 2, "size": 32}
    overrides = {**tiny(None, synth=synth), "params": {"scene_correlations": [0.5, 1.0]}}
    del overrides["data"]
    rows = run_experiment("cue-conflict", out=tmp_path, overrides=overrides)
    swap = [r for r in rows if r["condition"] == "swap" and r["body_class"] == "all"]
    assert {r["model"] for r in swap} == {"baseline", "domainnet", "domainnet/body", "domainnet/background"}
    assert {r["scene_correlation"] for r in swap} == {0.5, 1.0}
    for r in (r for r in swap if r["metric"] == "body_rate"):
        same = {
            x["metric"]: x["mean"]
            for x in swap
            if (x["model"], x["scene_correlation"]) == (r["model"], r["scene_correlation"])
        }
        assert same["body_rate"] + same["scene_rate"] + same["other_rate"] == pytest.approx(1, abs=1e-3)
    per_class = {r["body_class"] for r in rows if r["condition"] == "swap"} - {"all"}
    assert len(per_class) == 4
    assert (tmp_path / "cue-conflict.png").stat().st_size > 1000
    # across-scene pairing: every swap's background clip shows another scene type than the body's clip
    data = tmp_path / "seed0" / "corr-100" / "data"
    scene = {r["clip_id"]: r["scene_type"] for r in read_csv(data / "clips.csv")}
    manifest = read_csv(tmp_path / "seed0" / "corr-100" / "stimuli-clean" / "manifest.csv")
    by_id = {r["stimulus_id"]: r for r in manifest}
    swaps = [r for r in manifest if r["swap"]]
    assert len(swaps) == 8
    assert all(scene[by_id[r["swap_background_id"]]["clip_id"]] != scene[r["clip_id"]] for r in swaps)


def test_audio_scores_each_model_with_and_without_sound(sound_data, tmp_path):
    rows = run_experiment("audio", seeds=1, out=tmp_path, overrides=tiny(sound_data))
    models = {"baseline", "domainnet", "domainnet/body", "domainnet/background", "domainnet-audio",
              "domainnet-audio/body", "domainnet-audio/background", "domainnet-audio/audio"}  # fmt: skip
    check_outputs(tmp_path, "audio", rows, len(models) * 3 * 2)
    assert {r["model"] for r in rows} == models and {r["sound"] for r in rows} == {"on", "off"}
    mean = {(r["sound"], r["model"], r["condition"]): r["mean"] for r in rows}
    for model in models - {"domainnet-audio", "domainnet-audio/audio"}:  # they do not hear
        assert all(mean[("on", model, c)] == mean[("off", model, c)] for c in CONDITIONS), model
    silent = tmp_path / "seed0" / "audio-silent" / "results.json"
    assert json.loads(silent.read_text())["sound"] is False
    assert mean[("off", "domainnet-audio", "body")] == pytest.approx(accuracy_in(silent, "domainnet-audio", "body"))
    info = json.loads((tmp_path / "seed0" / "audio" / "domainnet-audio" / "model.json").read_text())
    assert info["backbone"] == "resnet18"  # the DomainNet of `models` is the template
    assert "audio" in (tmp_path / "seed0" / "stimuli-audio" / "manifest.csv").read_text().splitlines()[0].split(",")


def test_segregation_with_the_motion_cue_scores_both_learned_masks(tiny_data, tmp_path):
    import numpy as np

    params = {"motion_cue": 1.0, "examples": 2, "motion_options": {"refine": "none", "radius": 1}}
    rows = run_experiment("segregation", out=tmp_path, overrides=tiny(tiny_data, params=params), seeds=1)
    accuracy = [r for r in rows if r["metric"] == "accuracy"]
    models = ("domainnet", "domainnet-learned", "domainnet-learned-motion")
    streams = {f"{m}/{s}" for m in models for s in ("body", "background")}  # each stream alone, too
    assert {r["model"] for r in accuracy} == {"baseline", *models, *streams}
    curves = read_csv(tmp_path / "mask_iou.csv")
    assert {(r["model"], r["epoch"]) for r in curves} == {("domainnet-learned", "0"), ("domainnet-learned-motion", "0")}
    seed = tmp_path / "seed0"
    saved = yaml.safe_load((seed / "segregation-cue" / "domainnet-learned-motion" / "config.yaml").read_text())
    assert saved["model"]["mask"]["motion_weight"] == 1.0 and saved["model"]["kind"] == "domainnet-learned"
    info = json.loads((seed / "segregation-cue" / "domainnet-learned-motion" / "model.json").read_text())
    assert info["stimuli"].endswith("stimuli-motion-cue")  # trained on the motion segmenter's masks, not the truth
    made = json.loads((seed / "stimuli-motion-cue" / "stimuli.json").read_text())["settings"]["prepare"]
    assert made["segmenter"] == "motion" and made["min_mask_fraction"] == 0.0
    clean_train = [r for r in read_csv(seed / "stimuli-clean" / "manifest.csv") if r["split"] == "train"]
    cue_train = [r for r in read_csv(seed / "stimuli-motion-cue" / "manifest.csv") if r["split"] == "train"]
    assert len(cue_train) == len(clean_train)  # the same training frames, moving or not
    results = json.loads((seed / "segregation-cue-on-clean" / "results.json").read_text())
    assert results["stimuli"].endswith("stimuli-clean")  # tested on the true-mask conditions like the others
    cue = {r["metric"]: r["mean"] for r in rows if r["model"] == "motion-cue-masks"}
    assert set(cue) == {"mask_iou", "precision", "mask_area", "moving_share"} and 0 < cue["moving_share"] <= 1
    assert 0 < cue["mask_iou"] <= cue["precision"] <= 1  # the tiny box moves 1 px a frame: the cue finds some of it
    with np.load(seed / "mask_examples.npz") as z:
        assert z["learned_motion"].shape == z["learned"].shape == (2, 32, 32)
