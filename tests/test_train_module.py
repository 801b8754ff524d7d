"""ActionModule: on-device input preparation (one shared affine, in-place normalisation), channels_last, weights."""

import sys

import pytest
import torch
import torch.nn.functional as F

from bodyscene.cli import main
from bodyscene.train.module import IMAGENET_MEAN, IMAGENET_STD, ActionModule, random_affine

CLASSES = ["a", "b", "c"]
MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def module(kind="domainnet", **train):
    return ActionModule({"kind": kind, "backbone": "resnet18"}, {"image_size": 16, "seed": 3, **train}, CLASSES)


def uint8_batch(names, n=4, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    batch = {k: torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8) for k in names}
    batch["label"] = torch.zeros(n, dtype=torch.long)
    return batch


def test_evaluation_inputs_are_imagenet_normalised_in_channels_last():
    m = module("baseline").eval()
    batch = uint8_batch(("image",))
    original = batch["image"].clone()
    out = m.on_after_batch_transfer(batch, 0)
    reference = (batch["image"].float() / 255 - MEAN) / STD
    assert torch.allclose(out["image"], reference, atol=1e-5)
    assert out["image"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch["image"], original)  # the loader's batch is not modified in place
    flat = module("baseline", channels_last=False).eval()
    assert not flat.net.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert m.net.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    flat_out = flat.on_after_batch_transfer(batch, 0)["image"]
    assert flat_out.is_contiguous() and torch.allclose(flat_out, out["image"])


def test_training_inputs_share_one_random_affine_and_pad_with_black():
    m = module().train()
    batch = uint8_batch(("body", "background"))
    batch["background"] = batch["body"].clone()
    m.on_train_epoch_start()  # seeds the augmentation generator for (seed, epoch 0, rank 0)
    out = m.on_after_batch_transfer(batch, 0)
    assert torch.equal(out["body"], out["background"])  # the same transform for both streams of a stimulus
    theta = random_affine(4, torch.Generator().manual_seed((3 * 1_000_003 + 0) * 65_537 + 0))
    grid = F.affine_grid(theta, [4, 3, 16, 16], align_corners=False)
    reference = (F.grid_sample(batch["body"].float() / 255, grid, align_corners=False) - MEAN) / STD
    assert torch.allclose(out["body"], reference, atol=1e-4)  # the reference order: resample, then normalise
    assert not torch.allclose(out["body"], (batch["body"].float() / 255 - MEAN) / STD)  # it did augment


def test_pretrained_weights_reach_both_streams_and_the_head_fits_the_classes(tmp_path):
    from torchvision.models import resnet18

    torch.manual_seed(1)
    state = resnet18(num_classes=1000).state_dict()
    torch.save(state, tmp_path / "r18.pth")
    m = ActionModule(
        {"kind": "domainnet", "backbone": "resnet18", "pretrained": str(tmp_path / "r18.pth")}, {}, CLASSES
    )
    for stream in (m.net.body, m.net.background):
        assert torch.equal(stream.conv1.weight, state["conv1.weight"])
        assert torch.equal(stream.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])
        assert stream.fc.out_features == 3


def test_safetensors_weights_load_too(tmp_path):
    from safetensors.torch import save_file
    from torchvision.models import resnet18

    state = {k: v.contiguous() for k, v in resnet18(num_classes=1000).state_dict().items()}
    save_file(state, str(tmp_path / "r18.safetensors"))
    m = ActionModule(
        {"kind": "baseline", "backbone": "resnet18", "pretrained": str(tmp_path / "r18.safetensors")}, {}, CLASSES
    )
    assert torch.equal(m.net.backbone.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])


def test_train_with_a_wrong_pretrained_file_is_one_line_and_exit_2(tiny_stimuli, tmp_path, monkeypatch, capsys):
    torch.save({"conv1.weight": torch.zeros(3)}, tmp_path / "other.pth")
    args = ["train", "--stimuli", str(tiny_stimuli), "--model", "baseline", "--run", str(tmp_path / "r"),
            "--backbone", "resnet18", "--pretrained", str(tmp_path / "other.pth")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["bodyscene", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "other.pth: weights do not match resnet18" in err
    assert "Traceback" not in err
