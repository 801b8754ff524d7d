"""DomainNet's loss: L = w_body CE(body) + w_background CE(background) + w_combined CE(body + background).

The isolated terms make each stream classify on its own (arXiv 2512.07729); a baseline has only `combined`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bodyscene.config import LossWeights


def stream_losses(outputs: dict[str, torch.Tensor], target: torch.Tensor) -> dict[str, torch.Tensor]:
    return {name: F.cross_entropy(logits, target) for name, logits in outputs.items()}


def total_loss(
    outputs: dict[str, torch.Tensor], target: torch.Tensor, weights: LossWeights
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    parts = stream_losses(outputs, target)
    w = weights.model_dump()
    total = sum(w[name] * loss for name, loss in parts.items())
    return total, parts
