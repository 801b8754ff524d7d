"""backbone: ResNet-18 / ResNet-50 vs a vision transformer (models/vit.py: `vit_b_16`, or `vit_tiny` for CPUs),
each as the baseline and as both DomainNet streams. `train` may change training settings per backbone (e.g. a
smaller learning rate for a ViT)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bodyscene.config import StrictModel, TrainConfig, validate
from bodyscene.errors import BodySceneError
from bodyscene.experiments.runner import Workspace, accuracy_records, standard_models
from bodyscene.models.backbones import BACKBONES

KEYS: tuple[str, ...] = ("backbone",)


class Params(StrictModel):
    backbones: list[str] = Field(["resnet18", "resnet50", "vit_tiny"])
    train: dict[str, dict[str, Any]] = Field(default_factory=dict, description="backbone -> train settings changed")


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    stimuli = ws.stimuli()
    records = []
    for backbone in params.backbones:
        if backbone not in BACKBONES:
            raise BodySceneError(f"params.backbones: unknown backbone {backbone!r}; choose from {', '.join(BACKBONES)}")
        models = {n: m.model_copy(update={"backbone": backbone}) for n, m in standard_models(ws.cfg).items()}
        train = validate(TrainConfig, {**ws.cfg.train.model_dump(), **params.train.get(backbone, {})}, "params.train")
        sub = Workspace(ws.root, ws.cfg.model_copy(update={"train": train}), ws.seed, ws.data)
        records += accuracy_records(sub.evaluate(sub.train(stimuli, f"backbone-{backbone}", models)), backbone=backbone)
    return records
