"""configs/paper.yaml, Trainer settings under torchrun, precision 'auto', and what a resume may change."""

import pytest
import torch
import yaml

from bodyscene.config import (
    CONFIG_DIR,
    ModelConfig,
    RunConfig,
    TrainConfig,
    TrainRecipe,
    TrainRuntime,
    dump_config,
    load_config,
)
from bodyscene.errors import BodySceneError
from bodyscene.train.distributed import launched_by_torchrun, trainer_settings
from bodyscene.train.run import _Saved, resolve_precision, same_recipe


def test_paper_yaml_is_a_valid_run_config_holding_the_papers_recipe():
    raw = yaml.safe_load((CONFIG_DIR / "paper.yaml").read_text())
    cfg = RunConfig.model_validate(raw)  # StrictModel: a misspelt key would fail here
    assert cfg == load_config("paper")  # and `--config paper` finds the packaged file
    t = cfg.train
    assert (t.epochs, t.lr, t.momentum, t.image_size, t.balanced) == (100, 0.001, 0.9, 224, True)
    assert t.batch_size == 64 and t.precision == "auto" and t.channels_last
    assert cfg.model_for("domainnet").backbone == "resnet50" and cfg.model_for("domainnet-flow").pretrained is None
    assert [(m.kind, m.backbone) for m in cfg.models] == [("baseline", "resnet50"), ("domainnet", "resnet50")]
    assert cfg.prepare.dilation == 1.2 and cfg.prepare.frames_per_clip == 1


TORCHRUN_2x4 = {"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "RANK": "5"}


def test_trainer_settings_come_from_torchrun_when_left_at_auto():
    assert launched_by_torchrun(TORCHRUN_2x4) and not launched_by_torchrun({"WORLD_SIZE": "8"})
    assert trainer_settings(TrainConfig(), TORCHRUN_2x4) == {"devices": 4, "num_nodes": 2, "strategy": "ddp"}
    assert trainer_settings(TrainConfig(), {}) == {"devices": "auto", "num_nodes": 1, "strategy": "auto"}
    one = {"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}
    assert trainer_settings(TrainConfig(), one) == {"devices": 1, "num_nodes": 1, "strategy": "auto"}
    mine = TrainConfig(strategy="ddp_find_unused_parameters_true", devices=4, num_nodes=2)
    assert trainer_settings(mine, TORCHRUN_2x4)["strategy"] == "ddp_find_unused_parameters_true"


def test_settings_that_contradict_torchrun_are_one_clear_error():
    with pytest.raises(BodySceneError, match="WORLD_SIZE=8; leave both at auto"):
        trainer_settings(TrainConfig(devices=2), TORCHRUN_2x4)


def test_precision_auto_picks_bf16_where_the_gpu_supports_it(monkeypatch):
    assert resolve_precision("16-mixed") == "16-mixed"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_precision("auto") == "32-true"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto") == "bf16-mixed"
    assert resolve_precision("auto", accelerator="cpu") == "32-true"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto") == "16-mixed"
    with pytest.raises(ValueError):
        TrainConfig(precision="bf17")


def test_a_resume_may_move_to_other_hardware_but_not_change_the_recipe(tmp_path):
    saved = tmp_path / "config.yaml"
    model = ModelConfig()
    saved.write_text(dump_config(_Saved(model=model, train=TrainConfig())))
    moved = TrainConfig(devices=8, num_nodes=2, strategy="ddp", num_workers=8, cache_dir=tmp_path, epochs=200)
    assert same_recipe(saved, model, moved)
    assert not same_recipe(saved, model, TrainConfig(lr=0.01))
    assert not same_recipe(saved, model, TrainConfig(precision="bf16-mixed"))
    assert not same_recipe(saved, ModelConfig(backbone="resnet18"), TrainConfig())


def test_every_train_key_is_either_recipe_or_runtime_and_the_yaml_stays_flat():
    recipe, runtime = set(TrainRecipe.model_fields), set(TrainRuntime.model_fields)
    assert not recipe & runtime and recipe | runtime == set(TrainConfig.model_fields)
    cfg = load_config(overrides={"train": {"num_workers": 4, "lr": 0.5}})  # one flat `train:` mapping, as before
    assert cfg.train.runtime().num_workers == 4 and cfg.train.recipe().lr == 0.5
    assert "num_workers" not in cfg.train.recipe().model_dump() and "lr" not in cfg.train.runtime().model_dump()


def test_an_old_run_folder_whose_config_holds_runtime_keys_still_resumes(tmp_path):
    saved = tmp_path / "config.yaml"
    old = TrainConfig(num_workers=2, log_draws=True).model_dump(mode="json")
    saved.write_text(yaml.safe_dump({"model": ModelConfig().model_dump(mode="json"), "train": old}))
    assert same_recipe(saved, ModelConfig(), TrainConfig(num_workers=0))
