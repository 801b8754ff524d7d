"""train_model on one process with the fast-path options: bf16 autocast, DataLoader workers, channels_last."""

import json

import pytest
import torch

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.train.run import train_model

pytestmark = pytest.mark.slow


def test_bf16_mixed_precision_with_workers_trains_and_records_how(tiny_stimuli, tmp_path):
    train = TrainConfig(
        epochs=1, batch_size=16, image_size=32, precision="bf16-mixed", num_workers=2, accelerator="cpu",
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    out = train_model(tiny_stimuli, tmp_path / "run", ModelConfig(kind="baseline", backbone="resnet18"), train,
                      progress=False)  # fmt: skip
    info = json.loads((out / "model.json").read_text())["training"]
    assert info["precision"] == "bf16-mixed" and info["world_size"] == 1 and info["ranks_agree"]
    state = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    weight = state["state_dict"]["net.backbone.conv1.weight"]
    assert weight.dtype == torch.float32  # mixed precision: bf16 compute, fp32 master weights
    assert state["hyper_parameters"]["train"]["precision"] == "bf16-mixed"
    assert len(list((tmp_path / "cache").glob("train-original-32px-*.npy"))) == 1


def test_resuming_a_finished_run_keeps_its_training_record_and_warns_of_nothing(tiny_stimuli, tmp_path):
    """Experiments resume every finished model on a rerun: Lightning then runs no loop (no on_train_end, so no
    digests), which once overwrote model.json's record with an empty one and warned of DDP ranks that disagree."""
    import warnings

    train = TrainConfig(epochs=1, batch_size=16, image_size=32, accelerator="cpu")
    model = ModelConfig(kind="baseline", backbone="resnet18")
    out = train_model(tiny_stimuli, tmp_path / "run", model, train, progress=False)
    first = json.loads((out / "model.json").read_text())["training"]
    assert first["ranks_agree"] and len(first["parameter_digests"]) == 1
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*different weights.*")
        train_model(tiny_stimuli, tmp_path / "run", model, train, resume=True, progress=False)
    assert json.loads((out / "model.json").read_text())["training"] == first
