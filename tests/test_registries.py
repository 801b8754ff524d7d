"""Tests parametrised over the registries: registering a model kind, segmenter or experiment tests it here
(backbones: tests/test_models.py, over BACKBONES)."""

from __future__ import annotations

import typing

import pytest
import torch

from bodyscene.config import ModelConfig
from bodyscene.errors import BodySceneError
from bodyscene.experiments import EXPERIMENTS
from bodyscene.models import MODELS, create_model, model_kind
from bodyscene.models.loss import total_loss
from bodyscene.segment import Segmenter, get_segmenter
from bodyscene.segment.base import SEGMENTERS
from bodyscene.stimuli.frontend import INPUT_COLUMNS, SOUND_INPUTS, model_inputs


def example_input(name: str) -> torch.Tensor:
    """A tiny batch of one model input: an RGB image, or for a sound input a 1-channel spectrogram (dB)."""
    return torch.randn(2, 1, 32, 32) * 20 - 50 if name in SOUND_INPUTS else torch.randn(2, 3, 32, 32)


def test_the_config_accepts_exactly_the_registered_kinds():
    assert set(typing.get_args(ModelConfig.model_fields["kind"].annotation)) == set(MODELS)


@pytest.mark.parametrize("fusion", ["sum", "weighted", "concat"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_runs_forward_and_backward_at_a_tiny_size(name, fusion):
    kind = model_kind(name)
    if len(kind.inputs) < 2 and fusion != "sum":
        pytest.skip("fusion applies to models with several streams")
    torch.manual_seed(0)
    net = create_model(ModelConfig(kind=name, backbone="resnet18", fusion=fusion), 3)
    assert tuple(net.inputs) == kind.inputs
    out = net(*[example_input(name) for name in kind.inputs])
    assert set(out) == set(kind.heads) and all(v.shape == (2, 3) for v in out.values())
    loss, _ = total_loss(out, torch.tensor([0, 2]), ModelConfig().loss_weights)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_has_a_front_end_and_stream_dropout_where_it_has_both_streams(name):
    kind = model_kind(name)
    assert set(kind.inputs) <= set(INPUT_COLUMNS)
    for condition in ("original", "body", "background"):
        assert list(model_inputs(name, condition)) == list(kind.inputs)
    assert kind.stream_dropout == ({"body", "background"} <= set(kind.inputs))
    if name.startswith("domainnet") and not kind.single_image:
        # domainnet-flow included (it was silently off once); domainnet-learned splits one image itself, so it
        # has no body or background input to black out
        assert kind.stream_dropout


def test_an_unknown_kind_is_one_line_naming_the_kinds():
    with pytest.raises(BodySceneError, match="unknown model kind 'resnet'; choose one of baseline"):
        model_kind("resnet")


@pytest.mark.parametrize("name", sorted(SEGMENTERS))
def test_every_registered_segmenter_builds_or_says_what_it_needs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no weights file lies around
    try:
        segmenter = get_segmenter(name)
    except BodySceneError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert isinstance(segmenter, Segmenter)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_registered_experiment_has_params_keys_and_a_seed_function(name):
    module = EXPERIMENTS[name]
    assert callable(module.run_seed) and isinstance(module.KEYS, tuple)
    module.Params()  # every setting has a default


def test_the_experiments_template_is_chosen_by_declared_inputs_not_by_the_kind_name(monkeypatch):
    from bodyscene.config import RunConfig
    from bodyscene.experiments.runner import domainnet_template
    from bodyscene.models.registry import ModelKind

    weighted = ModelConfig(kind="domainnet", fusion="weighted")
    cfg = RunConfig(models=[ModelConfig(kind="baseline"), ModelConfig(kind="domainnet-flow"), weighted])
    assert domainnet_template(cfg) == weighted  # the flow model has a third stream: not the template
    only_baseline = RunConfig(models=[ModelConfig(kind="baseline", backbone="x")])  # from its settings, kind changed
    assert domainnet_template(only_baseline).model_dump() == {
        **only_baseline.models[0].model_dump(),
        "kind": "domainnet",
    }
    # a newly registered two-stream kind is picked up without anyone naming it
    monkeypatch.setitem(MODELS, "two-stream-x", ModelKind("two-stream-x", ("body", "background"), ("combined",), None))
    other = ModelConfig.model_construct(**{**ModelConfig().model_dump(), "kind": "two-stream-x"})
    assert domainnet_template(RunConfig.model_construct(models=[ModelConfig(kind="baseline"), other])) is other
