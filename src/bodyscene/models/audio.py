"""The audio stream of `kind: domainnet-audio`: a small 2-D CNN on the clip's log-mel spectrogram.

Input: N x 1 x n_mels x frames, decibels re full scale as `prepare --audio` writes them (stimuli/sound.py), with
silence at SILENCE_DB (-100 dB). The stream maps that to (dB - SILENCE_DB) / 100, so silence is 0 and a full-scale
tone about 1, then four blocks of 3x3 convolution, group norm (4 groups), ReLU and 2x2 max pooling (16, 32, 64,
128 channels at width 16), a global average over frequency and time (any spectrogram size works) and a linear
classifier `fc`. Small on purpose: the benchmark's class sounds are chirps at one pitch per class, and it trains on
CPU beside two ResNets. Group norm rather than batch norm: no running statistics, so a model trained for a few
hundred steps scores in eval mode what it learned (and a batch of silence is normalised like any other). A model whose sound is switched off (`evaluate.sound: false`) gets SILENCE_DB everywhere.
"""

from __future__ import annotations

import torch
from torch import nn

from bodyscene.schema import SILENCE_DB


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(4, cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)
    )


class AudioNet(nn.Module):
    """Log-mel spectrogram (N x 1 x n_mels x frames, dB) -> class logits."""

    def __init__(self, num_classes: int, width: int = 16):
        super().__init__()
        widths = [1, width, 2 * width, 4 * width, 8 * width]
        self.features = nn.Sequential(*(_block(a, b) for a, b in zip(widths, widths[1:], strict=False)))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        x = (spectrogram - SILENCE_DB) / -SILENCE_DB
        return self.fc(self.features(x).mean((2, 3)))
