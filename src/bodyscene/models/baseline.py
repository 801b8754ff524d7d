"""The baseline: one backbone on one kind of frame (originals, in the paper)."""

from __future__ import annotations

import torch
from torch import nn


class Baseline(nn.Module):
    inputs = ("image",)

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"combined": self.backbone(image)}
