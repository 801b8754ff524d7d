"""The experiments' building blocks, without training: mask noise, optical flow, fusion variants, ViT, statistics,
experiment configs."""

import math

import cv2
import numpy as np
import pytest
import torch

from bodyscene.config import MaskNoiseConfig, ModelConfig, PrepareConfig
from bodyscene.errors import BodySceneError
from bodyscene.experiments import EXPERIMENTS
from bodyscene.experiments.runner import load_experiment, summarise
from bodyscene.files import read_csv
from bodyscene.models import create_backbone, create_model
from bodyscene.models.fusion import MultiStreamNet
from bodyscene.stimuli.flow import dense_flow, flow_to_rgb, partner_index
from bodyscene.stimuli.frontend import model_inputs
from bodyscene.stimuli.noise import applies_to, boundary_band, boundary_shift_px, corrupt_mask


def disc_mask(size=64, radius=12):
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (size // 2, size // 2), radius, 1, -1)
    return mask.astype(bool)


# --- mask noise -----------------------------------------------------------------------------------------------


def test_erode_and_dilate_move_the_boundary_by_the_level_times_the_radius():
    mask = disc_mask(radius=20)
    k = boundary_shift_px(mask, 0.1)
    assert k == round(0.1 * math.sqrt(mask.sum() / math.pi)) == 2
    eroded = corrupt_mask(mask, MaskNoiseConfig(kind="erode", level=0.1), "x")
    dilated = corrupt_mask(mask, MaskNoiseConfig(kind="dilate", level=0.1), "x")
    assert (eroded <= mask).all() and (dilated >= mask).all()
    # a disc of radius r shrinks / grows to radius r -+ k: areas pi (r-k)^2 and pi (r+k)^2
    assert eroded.sum() == pytest.approx(math.pi * 18**2, rel=0.06)
    assert dilated.sum() == pytest.approx(math.pi * 22**2, rel=0.06)


def test_flip_changes_about_level_of_the_band_and_nothing_outside_it():
    mask = disc_mask(radius=20)
    band = boundary_band(mask, 3)
    noisy = corrupt_mask(mask, MaskNoiseConfig(kind="flip", level=0.2, band_px=3), "stim")
    changed = noisy ^ mask
    assert not (changed & ~band).any()
    assert changed.sum() / band.sum() == pytest.approx(0.2, abs=0.05)
    again = corrupt_mask(mask, MaskNoiseConfig(kind="flip", level=0.2, band_px=3), "stim")
    assert np.array_equal(noisy, again)  # a pure function of settings and stimulus id


def test_drop_empties_about_level_of_the_masks_and_keeps_the_rest_exactly():
    mask = disc_mask()
    cfg = MaskNoiseConfig(kind="drop", level=0.2)
    outs = [corrupt_mask(mask, cfg, f"clip{i}") for i in range(500)]
    dropped = sum(not o.any() for o in outs)
    assert dropped / 500 == pytest.approx(0.2, abs=0.05)
    assert all(np.array_equal(o, mask) for o in outs if o.any())


def test_level_zero_and_other_splits_are_untouched():
    mask = disc_mask()
    for kind in ("erode", "dilate", "flip", "drop"):
        assert np.array_equal(corrupt_mask(mask, MaskNoiseConfig(kind=kind, level=0.0), "a"), mask)
    cfg = MaskNoiseConfig(kind="drop", level=0.5, splits=["test"])
    assert applies_to(cfg, "test") and not applies_to(cfg, "train") and not applies_to(None, "test")


def test_prepare_with_mask_noise_writes_the_corrupted_mask_and_stimuli_from_it(tiny_data, tmp_path):
    from bodyscene.stimuli.make import prepare

    noise = MaskNoiseConfig(kind="drop", level=1.0, splits=["test"])
    prepare(tiny_data, tmp_path, PrepareConfig(mask_noise=noise))
    rows = read_csv(tmp_path / "manifest.csv")
    for row in rows:
        mask = cv2.imread(str(tmp_path / row["mask"]), cv2.IMREAD_GRAYSCALE)
        body = cv2.imread(str(tmp_path / row["body"]))
        if row["split"] == "test":  # every test mask dropped: body-only is black, background-only is the frame
            assert mask.max() == 0 and body.max() == 0 and row["status"] == "ok"
            original = cv2.imread(str(tmp_path / row["original"]))
            assert np.array_equal(cv2.imread(str(tmp_path / row["background"])), original)
        else:
            assert mask.max() == 255 and body.max() > 0


# --- optical flow ---------------------------------------------------------------------------------------------


def moving_square(dx: int, dy: int, size=64):
    rng = np.random.default_rng(0)
    texture = (rng.random((20, 20, 3)) * 255).astype(np.uint8)
    a = np.full((size, size, 3), 40, np.uint8)
    b = a.copy()
    a[20:40, 20:40] = texture
    b[20 + dy : 40 + dy, 20 + dx : 40 + dx] = texture
    return a, b


def test_dis_flow_recovers_the_motion_of_a_textured_square():
    a, b = moving_square(3, -2)
    flow = dense_flow(a, b)
    inside = flow[24:36, 24:36].reshape(-1, 2)
    assert np.median(inside[:, 0]) == pytest.approx(3, abs=0.6)
    assert np.median(inside[:, 1]) == pytest.approx(-2, abs=0.6)
    assert np.allclose(dense_flow(a, b, forward=False), -flow)


def test_flow_image_is_black_without_motion_and_bright_where_it_moves():
    a, b = moving_square(3, 0)
    rgb = flow_to_rgb(dense_flow(a, b))
    assert rgb[:4, :4].max() < 30  # the still corner
    assert rgb[26:34, 26:34].max(axis=2).mean() > 100
    assert partner_index(3, 8) == 4 and partner_index(7, 8) == 6 and partner_index(0, 1) == 0


def test_prepare_with_flow_writes_three_flow_images_per_stimulus(tiny_data, tmp_path):
    from bodyscene.stimuli.make import prepare

    prepare(tiny_data, tmp_path, PrepareConfig(flow=True))
    rows = read_csv(tmp_path / "manifest.csv", required=("flow_original", "flow_body", "flow_background"))
    for row in rows[:6]:
        flow_body = cv2.imread(str(tmp_path / row["flow_body"]))
        mask = cv2.imread(str(tmp_path / row["mask"]), cv2.IMREAD_GRAYSCALE) > 0
        assert flow_body.shape == (64, 64, 3) and flow_body[~mask].max() == 0  # body-only flow: zero off the body
        assert cv2.imread(str(tmp_path / row["flow_original"]))[mask].max() > 0  # the person moves in the fixture
    assert model_inputs("domainnet-flow", "body")["flow"] == "flow_body"


# --- models ---------------------------------------------------------------------------------------------------


def test_weighted_fusion_starts_as_the_sum_and_learns_its_weights():
    torch.manual_seed(0)
    net = create_model(ModelConfig(kind="domainnet", backbone="resnet18", fusion="weighted"), 4).eval()
    b, g = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    out = net(b, g)
    assert torch.allclose(out["combined"], out["body"] + out["background"], atol=1e-6)
    net.stream_weights.data = torch.tensor([2.0, -0.5])
    out = net(b, g)
    assert torch.allclose(out["combined"], 2 * out["body"] - 0.5 * out["background"], atol=1e-5)
    out["combined"].sum().backward()
    assert net.stream_weights.grad is not None


def test_concat_fusion_keeps_each_streams_logits_and_fuses_features():
    torch.manual_seed(0)
    net = create_model(ModelConfig(kind="domainnet", backbone="resnet18", fusion="concat"), 5).eval()
    assert isinstance(net, MultiStreamNet) and net.mlp[0].in_features == 2 * 512
    b, g = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    out = net(b, g)
    assert {k: v.shape for k, v in out.items()} == {k: (2, 5) for k in ("body", "background", "combined")}
    assert torch.allclose(out["body"], net.heads["body"](net.streams["body"](b)))
    assert not torch.allclose(out["combined"], out["body"] + out["background"])
    streams = [{id(p) for p in net.streams[n].parameters()} for n in ("body", "background")]
    assert streams[0].isdisjoint(streams[1])


def test_the_flow_model_has_a_third_stream_that_sees_only_the_flow_input():
    torch.manual_seed(0)
    net = create_model(ModelConfig(kind="domainnet-flow", backbone="resnet18"), 3).eval()
    assert net.inputs == ("body", "background", "flow")
    x = [torch.randn(1, 3, 32, 32) for _ in range(3)]
    out = net(*x)
    assert torch.allclose(out["combined"], out["body"] + out["background"] + out["flow"], atol=1e-5)
    assert torch.allclose(out["flow"], net.streams["flow"](x[2]))


@pytest.mark.parametrize("size", [32, 64])
def test_vit_tiny_runs_at_any_multiple_of_its_patch_and_matches_torchvision_at_its_own_size(size):
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    vit = create_backbone("vit_tiny", 4).eval()
    assert vit(torch.randn(2, 3, size, size)).shape == (2, 4)
    if size == 64:
        ref = VisionTransformer(64, 8, 12, 3, 192, 768, num_classes=4).eval()
        ref.load_state_dict(vit.state_dict())
        x = torch.randn(1, 3, 64, 64)
        assert torch.allclose(vit(x), ref(x), atol=1e-5)


# --- statistics and configs -------------------------------------------------------------------------------------


def test_summarise_groups_seeds_per_variant_model_and_condition():
    records = [
        {"loss": v, "model": "m", "condition": c, "metric": "accuracy", "seed": s, "value": x}
        for v, base in (("a", 0.2), ("b", 0.6))
        for c in ("original", "body")
        for s, x in ((0, base), (1, base + 0.1))
    ]
    rows = summarise(records, ("loss",))
    assert len(rows) == 4
    first = rows[0]
    assert (first["loss"], first["condition"], first["mean"], first["seeds"]) == ("a", "original", 0.25, 2)
    assert first["per_seed"] == "0.2000 0.3000" and first["ci95_low"] < 0.25 < first["ci95_high"]


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_packaged_experiment_config_validates(name):
    exp, cfg = load_experiment(name, None)
    EXPERIMENTS[name].Params.model_validate(exp.params)
    assert exp.experiment == name and cfg.train.epochs >= 1


def test_set_overrides_reach_the_run_config_or_the_experiment_level():
    exp, cfg = load_experiment("seg-noise", None, {"train": {"epochs": 2}, "params": {"levels": [0, 0.5]}, "seeds": 4})
    assert cfg.train.epochs == 2 and exp.params["levels"] == [0, 0.5] and exp.seeds == 4


def test_a_config_of_another_experiment_or_an_unknown_key_is_one_clear_error(tmp_path):
    from bodyscene.config import CONFIG_DIR

    with pytest.raises(BodySceneError, match="is the config of experiment 'fusion'"):
        load_experiment("flow", CONFIG_DIR / "experiments" / "fusion.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment: flow\nrun:\n  train: {epochz: 3}\n")
    with pytest.raises(BodySceneError, match="epochz"):
        load_experiment("flow", bad)


def test_a_flow_model_on_a_set_without_flow_images_says_how_to_make_them(tiny_stimuli):
    from bodyscene.stimuli.manifest import read_stimulus_set
    from bodyscene.train.datamodule import FrameCache

    with pytest.raises(BodySceneError, match=r"no 'flow_original' image .*prepare.flow: true"):
        FrameCache(read_stimulus_set(tiny_stimuli), 32).images("train", "flow_original")


def test_an_unknown_experiment_is_a_one_line_error(monkeypatch, capsys):
    import sys

    from bodyscene.cli import main

    monkeypatch.setattr(sys, "argv", ["bodyscene", "experiment", "nope"])
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 2 and "unknown experiment 'nope'; choose one of paper-table" in err
