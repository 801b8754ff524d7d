"""Model kinds by name: `@register_model(name, inputs=..., heads=...)` on a builder, `create_model(cfg, classes)`.

Each kind declares what it reads (`inputs`, in the order its forward takes them; each input name is a rule of the
front end, stimuli/frontend.py) and what it answers (`heads`). The front end, the training module, the experiments
and the readout ask the registry (`model_kind(name)`), never compare kind strings; a new kind registered here is
picked up by all of them and by the tests parametrised over `MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bodyscene.errors import BodySceneError

if TYPE_CHECKING:
    from torch import nn

    from bodyscene.config import ModelConfig


@dataclass(frozen=True)
class ModelKind:
    name: str
    inputs: tuple[str, ...]  # the model's inputs, in the order of its forward's arguments
    heads: tuple[str, ...]  # the outputs it returns; "combined" is its answer
    build: Callable[[ModelConfig, int], nn.Module]

    @property
    def single_image(self) -> bool:
        """Sees the stimulus itself (one `image` input), so it is trained on one condition (`ModelConfig.condition`)."""
        return self.inputs == ("image",)

    @property
    def stream_dropout(self) -> bool:
        """Has a body and a background stream, so training can black out one of them (`train.stream_dropout`)."""
        return {"body", "background"} <= set(self.inputs)


MODELS: dict[str, ModelKind] = {}


def register_model(name: str, inputs: tuple[str, ...], heads: tuple[str, ...]) -> Callable:
    def deco(build: Callable[[ModelConfig, int], nn.Module]) -> Callable[[ModelConfig, int], nn.Module]:
        if name in MODELS:
            raise ValueError(f"model kind {name!r} is registered twice")
        MODELS[name] = ModelKind(name, tuple(inputs), tuple(heads), build)
        return build

    return deco


def model_kind(name: str) -> ModelKind:
    if name not in MODELS:
        raise BodySceneError(f"unknown model kind {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def create_model(cfg: ModelConfig, num_classes: int) -> nn.Module:
    """The model of `cfg.kind`, built by its registered builder; its `inputs` are the kind's."""
    kind = model_kind(cfg.kind)
    net = kind.build(cfg, num_classes)
    assert tuple(net.inputs) == kind.inputs, f"{kind.name}: built inputs {net.inputs} != declared {kind.inputs}"
    return net
