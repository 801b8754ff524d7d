"""Other ways to fuse DomainNet's streams than summing logits, and the streams themselves, by name.

DomainNet (arXiv 2512.07729) sums the two streams' logits. The fusion experiment asks whether a learned fusion
does better; every variant keeps each stream's own classifier, so the isolated losses (loss.py) still apply:

- `sum`:      combined = sum of the streams' logits (the paper; the same as models/domainnet.py).
- `weighted`: combined = sum_i w_i * logits_i, one learned scalar per stream, initialised to 1 (= `sum` at start).
- `concat`:   combined = MLP(concatenation of the streams' penultimate features); each stream's own head still
              gives its isolated logits.

`kind: domainnet-flow` adds a third stream that sees optical flow (stimuli/flow.py), `kind: domainnet-audio` one
that hears the clip's log-mel spectrogram (models/audio.py), fused the same way.
"""

from __future__ import annotations

import torch
from torch import nn


def split_head(backbone: nn.Module, head_path: str) -> tuple[nn.Module, nn.Linear]:
    """Detach the classifier head: the backbone then returns penultimate features, the head maps them to logits."""
    parent_path, _, attr = head_path.rpartition(".")
    parent = backbone.get_submodule(parent_path) if parent_path else backbone
    head = getattr(parent, attr)
    setattr(parent, attr, nn.Identity())
    return backbone, head


class MultiStreamNet(nn.Module):
    """Named streams with no shared parameters, each with its own logits, fused into `combined`."""

    def __init__(self, streams: dict[str, nn.Module], fusion: str, head_path: str | dict[str, str], num_classes: int):
        """`head_path`: the classifier's attribute path in every stream, or per stream name (streams of two kinds)."""
        super().__init__()
        head_paths = head_path if isinstance(head_path, dict) else dict.fromkeys(streams, head_path)
        if fusion not in ("sum", "weighted", "concat"):
            raise ValueError(f"unknown fusion {fusion!r}")
        self.inputs = tuple(streams)
        self.fusion = fusion
        self.streams = nn.ModuleDict(streams)
        if fusion == "concat":
            heads = {}
            for name in streams:
                self.streams[name], heads[name] = split_head(self.streams[name], head_paths[name])
            self.heads = nn.ModuleDict(heads)
            width = sum(h.in_features for h in heads.values())
            hidden = max(h.in_features for h in heads.values())
            self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes))
        if fusion == "weighted":
            self.stream_weights = nn.Parameter(torch.ones(len(streams)))

    def forward(self, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        out, features = {}, []
        for (name, stream), x in zip(self.streams.items(), inputs, strict=True):
            if self.fusion == "concat":
                features.append(stream(x))
                out[name] = self.heads[name](features[-1])
            else:
                out[name] = stream(x)
        logits = torch.stack([out[name] for name in self.inputs])  # S x N x C
        if self.fusion == "sum":
            out["combined"] = logits.sum(0)
        elif self.fusion == "weighted":
            out["combined"] = (self.stream_weights.view(-1, 1, 1) * logits).sum(0)
        else:
            out["combined"] = self.mlp(torch.cat(features, dim=1))
        return out
