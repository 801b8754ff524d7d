"""One list of models (`models:`): `train --model K` picks one, `--set models.K.key=v` changes it, and an old
config's `model:` section is read into every entry with a note."""

from __future__ import annotations

import pytest
import yaml

from bodyscene.config import RunConfig, load_config
from bodyscene.errors import BodySceneError


def test_the_run_config_has_one_list_of_models_and_no_model_section():
    assert "model" not in RunConfig.model_fields
    assert [m.kind for m in RunConfig().models] == ["baseline", "domainnet"]


def test_train_picks_the_entry_of_its_kind_else_the_first_entry_with_that_kind():
    cfg = load_config("demo")
    assert cfg.model_for("domainnet") is cfg.models[1] and cfg.models[1].backbone == "resnet18"
    flow = cfg.model_for("domainnet-flow")  # not listed: the first entry's settings, only the kind changed
    assert flow.kind == "domainnet-flow" and flow.backbone == "resnet18"
    with pytest.raises(BodySceneError, match="--model 'resnet'"):
        cfg.model_for("resnet")


def test_set_names_an_entry_by_kind_or_index_and_a_new_kind_joins_the_list():
    cfg = load_config("demo", {"models": {"domainnet": {"fusion": "concat"}, "0": {"backbone": "resnet34"}}})
    assert [(m.kind, m.backbone, m.fusion) for m in cfg.models] == [
        ("baseline", "resnet34", "sum"),
        ("domainnet", "resnet18", "concat"),
    ]
    grown = load_config(None, {"models": {"domainnet-flow": {"backbone": "resnet18"}}})
    assert [m.kind for m in grown.models] == ["baseline", "domainnet", "domainnet-flow"]
    assert grown.model_for("domainnet-flow").backbone == "resnet18"
    with pytest.raises(BodySceneError, match="models.5: the list has 2 entries"):
        load_config(None, {"models": {"5": {"backbone": "resnet18"}}})


def test_an_old_model_section_fills_in_every_entry_with_a_note(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump({"model": {"kind": "domainnet", "backbone": "resnet18", "fusion": "weighted"},
                                   "models": [{"kind": "baseline"}, {"kind": "domainnet", "backbone": "resnet34"}]}))  # fmt: skip
    with pytest.warns(FutureWarning, match="`model:` section is deprecated.*backbone, fusion"):
        cfg = load_config(old)
    # the entry's own settings win; what it leaves open comes from `model:`
    assert [(m.kind, m.backbone, m.fusion) for m in cfg.models] == [
        ("baseline", "resnet18", "weighted"),
        ("domainnet", "resnet34", "weighted"),
    ]
    alone = tmp_path / "alone.yaml"  # no `models:`: the default models get the settings
    alone.write_text("model:\n  backbone: resnet18\n")
    with pytest.warns(FutureWarning):
        assert load_config(alone).model_for("domainnet-flow").backbone == "resnet18"


def test_the_shown_config_loads_back_without_a_note(recwarn):
    cfg = load_config("paper")
    again = RunConfig.model_validate(yaml.safe_load(yaml.safe_dump(cfg.model_dump(mode="json"))))
    assert again == cfg and not [w for w in recwarn if issubclass(w.category, FutureWarning)]
