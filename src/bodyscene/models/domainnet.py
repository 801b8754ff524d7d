"""DomainNet: a body stream and a background stream, no shared parameters, logits summed (arXiv 2512.07729).

The body stream sees body-only input (non-body pixels black); the background stream sees background-only input
(the dilated body region inpainted). Fusion is the sum of the two streams' final logits.
"""

from __future__ import annotations

import torch
from torch import nn


class DomainNet(nn.Module):
    inputs = ("body", "background")

    def __init__(self, body: nn.Module, background: nn.Module):
        super().__init__()
        if any(p is q for p in body.parameters() for q in background.parameters()):
            raise ValueError("the body and background streams must not share parameters")
        self.body = body
        self.background = background

    def forward(self, body: torch.Tensor, background: torch.Tensor) -> dict[str, torch.Tensor]:
        body_logits = self.body(body)
        background_logits = self.background(background)
        return {"body": body_logits, "background": background_logits, "combined": body_logits + background_logits}
