"""Models built from a ModelConfig by their registered kind: `create_model(cfg, num_classes)` (registry.py)."""

from __future__ import annotations

import torch
from torch import nn

from bodyscene.config import ModelConfig
from bodyscene.models.audio import AudioNet
from bodyscene.models.backbones import BACKBONES, IMAGENET_MEAN, IMAGENET_STD, create_backbone
from bodyscene.models.baseline import Baseline
from bodyscene.models.domainnet import DomainNet
from bodyscene.models.fusion import MultiStreamNet
from bodyscene.models.learned import LearnedSegregationNet
from bodyscene.models.registry import MODELS, ModelKind, create_model, model_kind, register_model


@register_model("baseline", inputs=("image",), heads=("combined",))
def baseline(cfg: ModelConfig, num_classes: int) -> nn.Module:
    return Baseline(create_backbone(cfg.backbone, num_classes, cfg.pretrained))


def _streams(cfg: ModelConfig, num_classes: int, names: tuple[str, ...], audio: bool = False) -> nn.Module:
    if cfg.fusion == "sum" and names == ("body", "background") and not audio:
        return DomainNet(*(create_backbone(cfg.backbone, num_classes, cfg.pretrained) for _ in names))
    # Learned fusion, a third (optical-flow) stream, or an audio stream (its own CNN): models/fusion.py.
    streams = {name: create_backbone(cfg.backbone, num_classes, cfg.pretrained) for name in names}
    heads = dict.fromkeys(names, BACKBONES[cfg.backbone][1])
    if audio:
        streams["audio"], heads["audio"] = AudioNet(num_classes), "fc"
    return MultiStreamNet(streams, cfg.fusion, heads, num_classes)


@register_model("domainnet", inputs=("body", "background"), heads=("body", "background", "combined"))
def domainnet(cfg: ModelConfig, num_classes: int) -> nn.Module:
    return _streams(cfg, num_classes, ("body", "background"))


@register_model(
    "domainnet-flow", inputs=("body", "background", "flow"), heads=("body", "background", "flow", "combined")
)
def domainnet_flow(cfg: ModelConfig, num_classes: int) -> nn.Module:
    return _streams(cfg, num_classes, ("body", "background", "flow"))


@register_model(
    "domainnet-audio",
    inputs=("body", "background", "audio"),
    heads=("body", "background", "audio", "combined"),
)
def domainnet_audio(cfg: ModelConfig, num_classes: int) -> nn.Module:
    """DomainNet plus a stream that hears the clip's log-mel spectrogram (models/audio.py; `prepare --audio`)."""
    return _streams(cfg, num_classes, ("body", "background"), audio=True)


@register_model("domainnet-learned", inputs=("image",), heads=("body", "background", "combined"))
def domainnet_learned(cfg: ModelConfig, num_classes: int) -> nn.Module:
    """The split between the streams is a learned soft mask of the original frame (models/learned.py)."""
    black = -torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)  # raw 0 once normalised
    streams = [create_backbone(cfg.backbone, num_classes, cfg.pretrained) for _ in range(2)]
    return LearnedSegregationNet(*streams, black=black, width=cfg.mask.width, area_target=cfg.mask.area_target)


__all__ = [
    "BACKBONES",
    "AudioNet",
    "MODELS",
    "Baseline",
    "DomainNet",
    "LearnedSegregationNet",
    "ModelKind",
    "MultiStreamNet",
    "create_backbone",
    "create_model",
    "model_kind",
    "register_model",
]
