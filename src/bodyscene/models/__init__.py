"""Models built from a ModelConfig: `build_model(cfg, num_classes)`."""

from __future__ import annotations

from torch import nn

from bodyscene.config import ModelConfig
from bodyscene.models.backbones import BACKBONES, create_backbone
from bodyscene.models.baseline import Baseline
from bodyscene.models.domainnet import DomainNet


def build_model(cfg: ModelConfig, num_classes: int) -> nn.Module:
    if cfg.kind == "baseline":
        return Baseline(create_backbone(cfg.backbone, num_classes, cfg.pretrained))
    return DomainNet(
        create_backbone(cfg.backbone, num_classes, cfg.pretrained),
        create_backbone(cfg.backbone, num_classes, cfg.pretrained),
    )


__all__ = ["BACKBONES", "Baseline", "DomainNet", "build_model", "create_backbone"]
