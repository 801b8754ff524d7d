"""Models built from a ModelConfig: `build_model(cfg, num_classes)`."""

from __future__ import annotations

from torch import nn

from bodyscene.config import ModelConfig
from bodyscene.models.backbones import BACKBONES, create_backbone
from bodyscene.models.baseline import Baseline
from bodyscene.models.domainnet import DomainNet
from bodyscene.models.fusion import MultiStreamNet


def build_model(cfg: ModelConfig, num_classes: int) -> nn.Module:
    if cfg.kind == "baseline":
        return Baseline(create_backbone(cfg.backbone, num_classes, cfg.pretrained))
    if cfg.kind == "domainnet" and cfg.fusion == "sum":
        return DomainNet(
            create_backbone(cfg.backbone, num_classes, cfg.pretrained),
            create_backbone(cfg.backbone, num_classes, cfg.pretrained),
        )
    # Learned fusion, or a third (optical-flow) stream: models/fusion.py.
    names = ("body", "background", "flow") if cfg.kind == "domainnet-flow" else ("body", "background")
    streams = {name: create_backbone(cfg.backbone, num_classes, cfg.pretrained) for name in names}
    return MultiStreamNet(streams, cfg.fusion, BACKBONES[cfg.backbone][1], num_classes)


__all__ = ["BACKBONES", "Baseline", "DomainNet", "MultiStreamNet", "build_model", "create_backbone"]
