"""domainnet-learned: the mask network learns from every loss term, and no mask or segmented image is ever read."""

import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.errors import BodySceneError
from bodyscene.models import create_model
from bodyscene.models.learned import mask_regularisers
from bodyscene.train.run import train_model


def _net():
    torch.manual_seed(0)
    return create_model(ModelConfig(kind="domainnet-learned", backbone="resnet18", mask={"width": 4}), 4).train()


def _grads(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("term", ["body", "background", "combined"])
def test_the_mask_network_gets_gradients_from_each_loss_term(term):
    net = _net()
    x, y = torch.randn(3, 3, 32, 32), torch.tensor([0, 1, 2])
    out = net(x)
    assert set(out) == {"body", "background", "combined"} and net.last_mask.shape == (3, 1, 32, 32)
    F.cross_entropy(out[term], y).backward()
    assert _grads(net.mask_net) > 0  # the split itself is trained by this term alone
    if term == "body":  # the isolated terms still train one stream only
        assert _grads(net.body) > 0 and _grads(net.background) == 0
    if term == "background":
        assert _grads(net.background) > 0 and _grads(net.body) == 0


def test_the_mask_splits_the_frame_in_pixel_space():
    """A mask of 1 gives the body stream the frame and the background stream a black frame (raw 0), and back."""
    net = _net().eval()
    seen = {}
    net.body.register_forward_hook(lambda m, i, o: seen.__setitem__("body", i[0]))
    net.background.register_forward_hook(lambda m, i, o: seen.__setitem__("background", i[0]))
    x = torch.randn(2, 3, 16, 16)
    net.mask_net.out.bias.data.fill_(50.0)  # sigmoid ~ 1 everywhere
    net.mask_net.out.weight.data.zero_()
    net(x)
    assert torch.allclose(seen["body"], x, atol=1e-4)
    assert torch.allclose(seen["background"], net.black.expand_as(x), atol=1e-4)


def test_regularisers_prefer_the_target_area_and_smooth_crisp_masks():
    target = 0.1
    blob = torch.zeros(1, 1, 20, 20)
    blob[..., 5:9, 5:15] = 1.0  # area 0.1, one compact region
    specks = torch.zeros(1, 1, 20, 20)
    specks[..., ::3, ::3] = 1.0  # about the same area, scattered
    half = torch.full((1, 1, 20, 20), 0.5)
    a, b, c = (mask_regularisers(m, target) for m in (blob, specks, half))
    assert a["area"] < 1e-6 and c["area"] > 0.1
    assert a["smooth"] < b["smooth"]
    assert a["crisp"] == 0 and c["crisp"] == pytest.approx(0.25)


def test_training_never_reads_a_mask_or_a_segmented_image(tiny_stimuli, tmp_path):
    """Every mask and every body-only / background-only image deleted: the learned kind still trains (it reads
    originals only) and writes its mask snapshots; DomainNet, which needs them, cannot."""
    stim = tmp_path / "originals-only"
    shutil.copytree(tiny_stimuli, stim, ignore=shutil.ignore_patterns("cache"))
    for folder in ("masks", "body", "background"):
        shutil.rmtree(stim / folder)
    train = TrainConfig(epochs=2, batch_size=8, image_size=32, lr=0.01, seed=0, channels_last=False)
    model = ModelConfig(kind="domainnet-learned", backbone="resnet18", mask={"width": 4})
    out = train_model(stim, tmp_path / "run", model, train, progress=False)
    snaps = sorted((out / "masks").glob("epoch*.npz"))
    assert [p.name for p in snaps] == ["epoch000.npz", "epoch001.npz"]
    with np.load(snaps[-1]) as z:
        assert z["mask"].shape == (len(z["index"]), 32, 32) and z["mask"].dtype == np.uint8
    metrics = (out / "metrics.csv").read_text()
    assert "train/mask_area" in metrics and "train/loss_body" in metrics
    with pytest.raises(BodySceneError, match="missing"):
        train_model(stim, tmp_path / "run", ModelConfig(kind="domainnet", backbone="resnet18"), train, progress=False)


def test_mask_iou_over_epochs_scores_snapshots_against_the_true_masks(tiny_stimuli, tmp_path):
    """A snapshot equal to the true masks scores 1, its complement 0; the figure draws from the files."""
    from bodyscene.experiments.segregation import IOU_COLUMNS, mask_iou_over_epochs, true_masks, write_examples
    from bodyscene.files import write_csv
    from bodyscene.report.segregation import plot_segregation

    truth = true_masks(tiny_stimuli, "val", 32)
    assert truth.any() and not truth.all()
    model = tmp_path / "run" / "domainnet-learned"
    (model / "masks").mkdir(parents=True)
    index = np.arange(len(truth))
    np.savez(model / "masks" / "epoch000.npz", index=index, mask=(~truth).astype(np.uint8) * 255)
    np.savez(model / "masks" / "epoch001.npz", index=index[::-1], mask=truth[::-1].astype(np.uint8) * 255)
    rows = mask_iou_over_epochs(model, tiny_stimuli, 32)
    assert [(r["epoch"], r["mask_iou"], r["soft_iou"]) for r in rows] == [(0, 0.0, 0.0), (1, 1.0, 1.0)]
    assert rows[1]["mask_area"] == rows[1]["true_area"]
    out = tmp_path / "exp"
    write_examples({"learned": (model, None)}, tiny_stimuli, 32, 3, out / "seed0" / "mask_examples.npz")
    write_csv(out / "mask_iou.csv", [{"model": "domainnet-learned", "seed": 0, **r} for r in rows], IOU_COLUMNS)
    table = [{"model": m, "condition": c, "metric": "accuracy", "mean": 0.5, "ci95_low": "", "ci95_high": ""}
             for m in ("baseline", "domainnet-learned") for c in ("original", "body", "background")]  # fmt: skip
    write_csv(out / "table.csv", table, list(table[0]))
    assert plot_segregation(out, out / "segregation.png").stat().st_size > 10_000


def test_the_motion_cue_credits_the_moving_pixels_and_skips_frames_without_motion():
    from bodyscene.models.learned import motion_cue

    motion = torch.zeros(2, 1, 8, 8)
    motion[0, :, 2:4, 2:4] = 1.0  # sample 1: nothing moved
    on = torch.full((2, 1, 8, 8), 0.1)
    on[:, :, 2:4, 2:4] = 0.9  # the mask covers what moved
    off = torch.full((2, 1, 8, 8), 0.1)
    still_torso = on.clone()
    still_torso[:, :, 4:7, 2:4] = 0.9  # ... and a still part beside it: no cost for `inside`, a cost for `agree`
    assert motion_cue(on, motion) < motion_cue(off, motion)
    assert motion_cue(still_torso, motion) == pytest.approx(float(motion_cue(on, motion)))
    assert motion_cue(still_torso, motion, "agree") > motion_cue(on, motion, "agree")
    changed = on.clone()
    changed[1] = 0.7  # the frame without motion does not count
    assert motion_cue(changed, motion) == motion_cue(on, motion)
    none = torch.full((1, 1, 8, 8), 0.5, requires_grad=True)
    loss = motion_cue(none, torch.zeros(1, 1, 8, 8))
    loss.backward()
    assert loss.item() == 0 and none.grad is not None and none.grad.abs().sum() == 0


@pytest.fixture(scope="module")
def motion_stimuli(tiny_data, tmp_path_factory):
    """The tiny data set prepared by the weight-free motion segmenter, every frame kept (the cue's training set)."""
    from bodyscene.config import PrepareConfig
    from bodyscene.stimuli.make import prepare

    out = tmp_path_factory.mktemp("motion-stimuli")
    options = {"refine": "none", "radius": 1}
    prepare(tiny_data, out, PrepareConfig(frames_per_clip=2, segmenter="motion", segmenter_options=options,
                                          min_mask_fraction=0.0))  # fmt: skip
    return out


CUE = {"width": 4, "motion_weight": 1.0}


def test_the_motion_cue_reads_masks_only_from_a_motion_segmenter_set(tiny_stimuli, tmp_path):
    from bodyscene.train.run import training_cues

    train = TrainConfig(epochs=1, batch_size=8, image_size=32, seed=0, channels_last=False)
    model = ModelConfig(kind="domainnet-learned", backbone="resnet18", mask=CUE)
    with pytest.raises(BodySceneError, match="segmenter motion"):  # true masks: never, not even as a cue
        train_model(tiny_stimuli, tmp_path / "run", model, train, progress=False)
    assert training_cues(tiny_stimuli, ModelConfig(kind="domainnet-learned")) == {}  # weight 0: no mask read


def test_the_motion_cue_trains_the_mask_from_motion_masks_moved_with_the_frame(motion_stimuli, tmp_path):
    """On a motion set with every segmented image deleted: the batches carry the motion masks, shifted and flipped
    exactly as the frame is, the term is logged, and only the mask network gets its gradient."""
    from bodyscene.train.module import ActionModule
    from bodyscene.train.run import build_data

    stim = tmp_path / "motion-masks-only"
    shutil.copytree(motion_stimuli, stim, ignore=shutil.ignore_patterns("cache"))
    for folder in ("body", "background"):
        shutil.rmtree(stim / folder)
    train = TrainConfig(epochs=1, batch_size=8, image_size=32, lr=0.01, seed=0, channels_last=False,
                        augment_colour=False)  # fmt: skip
    model = ModelConfig(kind="domainnet-learned", backbone="resnet18", mask=CUE)
    data = build_data(stim, model, train)
    data.prepare_data()
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"image", "motion", "label", "index"}
    module = ActionModule(model.model_dump(mode="json"), train.model_dump(mode="json"), data.classes).train()
    raw = batch["image"].clone()
    batch["image"] = batch["motion"].clone()  # the mask as the image: after augmentation both must still match
    moved = module.on_after_batch_transfer(batch, 0)
    image = (moved["image"] + module.shift) / module.scale  # back to 0..255: the same affine, no colour change
    assert torch.allclose(image[:, :1] / 255, moved["motion"], atol=1e-4)
    assert moved["motion"].amax() > 0.5  # the tiny box moved: the cue is not empty
    batch["image"] = raw
    moved = module.on_after_batch_transfer(batch, 0)
    module.net(moved["image"])
    from bodyscene.models.learned import motion_cue

    motion_cue(module.net.last_mask, moved["motion"]).backward()
    assert _grads(module.net.mask_net) > 0 and _grads(module.net.body) == 0 and _grads(module.net.background) == 0
    out = train_model(stim, tmp_path / "run", model, train, progress=False)
    assert "train/mask_motion" in (out / "metrics.csv").read_text()
