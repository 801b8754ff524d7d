"""The prototype's training data options: letterbox, a fixed number of samples per epoch, colour jitter + blur."""

import json

import numpy as np
import pytest
import torch

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.train.datamodule import StimulusDataModule, fit_square
from bodyscene.train.module import colour_augment, colour_params


def square_extent(image: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(image[..., 0] > 127)
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def test_letterbox_keeps_the_aspect_ratio_and_squash_does_not():
    frame = np.zeros((180, 320, 3), np.uint8)  # 16:9, as HAA500
    frame[40:140, 100:200] = 255  # a 100 x 100 square
    frame[:, :3] = 60  # marks the left edge of the content
    boxed = fit_square(frame, 64, "letterbox")
    w, h = square_extent(boxed)
    assert boxed.shape == (64, 64, 3) and abs(w - h) <= 1  # still a square
    rows = np.nonzero(boxed.any(axis=(1, 2)))[0]
    assert rows.min() == 14 and rows.max() == 49  # 36 content rows (180 * 64 / 320), centred: 14 black above
    assert not boxed[:14].any() and not boxed[50:].any()
    w, h = square_extent(fit_square(frame, 64, "squash"))
    assert h > 1.5 * w  # stretched tall
    assert (fit_square(boxed, 64, "letterbox") == boxed).all()  # already square: unchanged


def test_samples_per_epoch_fixes_the_epoch_whatever_the_set_size(tiny_stimuli, tmp_path):
    for balanced in (True, False):
        data = StimulusDataModule(tiny_stimuli, "baseline", image_size=32, batch_size=8, balanced=balanced,
                                  samples_per_epoch=20, cache_dir=tmp_path)  # fmt: skip
        loader = data.train_dataloader()
        assert sum(len(b["label"]) for b in loader) == 20
    default = StimulusDataModule(tiny_stimuli, "baseline", image_size=32, batch_size=8, cache_dir=tmp_path)
    assert sum(len(b["label"]) for b in default.train_dataloader()) == 32  # the training set's size


def test_colour_augment_changes_colours_keeps_black_and_is_shared_by_the_inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 24, 24, generator=g) * 255
    x[:, :, :8] = 0  # a black surround, as a body-only frame has
    params = colour_params(6, torch.Generator().manual_seed(1))
    a, b = colour_augment(x.clone(), params), colour_augment(x.clone(), params)
    assert torch.equal(a, b)  # the same draw for the same sample: both DomainNet inputs change alike
    assert (a[:, :, :8] == 0).all() and a.min() >= 0 and a.max() <= 255
    assert (a[:, :, 12:] - x[:, :, 12:]).abs().mean() > 5
    still = {"brightness": torch.ones(6), "contrast": torch.ones(6), "saturation": torch.ones(6),
             "hue": torch.zeros(6), "sigma": torch.full((6,), 0.1)}  # fmt: skip
    assert torch.allclose(colour_augment(x.clone(), still), x, atol=0.05)  # no jitter: the image itself


@pytest.mark.slow
def test_a_letterboxed_jittered_run_records_its_resize_for_evaluation(tiny_stimuli, tmp_path):
    from bodyscene.train.run import train_model

    train = TrainConfig(epochs=1, batch_size=8, image_size=32, accelerator="cpu", resize="letterbox",
                        augment_colour=True, samples_per_epoch=16, cache_dir=tmp_path / "cache")  # fmt: skip
    out = train_model(tiny_stimuli, tmp_path / "run", ModelConfig(kind="domainnet", backbone="resnet18"), train,
                      progress=False)  # fmt: skip
    assert json.loads((out / "model.json").read_text())["resize"] == "letterbox"
    metrics = (out / "metrics.csv").read_text()
    assert "train/loss" in metrics


def test_the_cache_key_holds_the_resize(tiny_stimuli, tmp_path):
    from bodyscene.stimuli.manifest import read_stimulus_set
    from bodyscene.train.datamodule import FrameCache

    stim = read_stimulus_set(tiny_stimuli)
    squash, box = (FrameCache(stim, 32, tmp_path, r).file("train", "original") for r in ("squash", "letterbox"))
    assert squash != box
