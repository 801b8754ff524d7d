"""Segregation that is learned: DomainNet whose body/background split comes from a small mask network.

`kind: domainnet-learned`. The model sees only the original frame x. A small U-Net (Ronneberger et al. 2015,
three scales) gives a soft mask m in [0, 1] per pixel; the body stream sees x * m, the background stream
x * (1 - m) (in pixel space: what the mask removes is black, as in DomainNet's body-only and background-only
stimuli); their logits are summed. Trained end to end with DomainNet's three-term loss (models/loss.py) plus the
regularisers of `ModelConfig.mask` (MaskConfig):

- area prior: mean over samples of (mean(m) - area_target)^2, so the body stream gets a small part of the frame
  (a person fills 2-15% of the embedded benchmark's frames) and the split is not "everything to one stream";
- smoothness: total variation of m (mean absolute difference of neighbouring pixels), for compact regions;
- crispness: mean m (1 - m), pushing each pixel to one stream rather than half to both.

No segmenter and no ground-truth mask is read, at training or test time: the data module gives this kind the
original frame only (stimuli/frontend.py; tests/test_learned.py trains with every mask and segmented image
deleted). What the network is told is only that body and background must each classify on their own.

Optionally (`mask.motion_weight > 0`) a fourth term, the "Spelke" cue (Spelke 1990: an object is what moves
together): agreement with the mask of the weight-free motion segmenter (segment/motion.py), read from the `mask`
column of a stimulus set prepared with `--segmenter motion` only (train/run.py refuses any other set, whose masks
would be a trained segmenter's or the truth). `motion_mode: inside` (default) reads motion as one-sided evidence:
what moved against the scene is body (mean -log m over the moving pixels), while a pixel that did not move may be a
still torso and is left to the other terms; `agree` is the per-pixel cross-entropy with the motion mask. Frames in
which nothing moved carry no cue either way and are left out of the term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MaskNet(nn.Module):
    """Image (N x 3 x H x W, normalised) -> mask logits (N x 1 x H x W): a three-scale U-Net of `width` channels."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.enc1, self.enc2, self.enc3 = _block(3, w), _block(w, 2 * w), _block(2 * w, 4 * w)
        self.dec2, self.dec1 = _block(6 * w, 2 * w), _block(3 * w, w)
        self.out = nn.Conv2d(w, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([F.interpolate(e3, size=e2.shape[-2:], mode="bilinear"), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="bilinear"), e1], 1))
        return self.out(d1)


def mask_regularisers(mask: torch.Tensor, area_target: float) -> dict[str, torch.Tensor]:
    """The three regularisers of a soft mask batch (N x 1 x H x W), unweighted."""
    area = mask.mean((1, 2, 3))
    tv = (mask[..., 1:, :] - mask[..., :-1, :]).abs().mean() + (mask[..., :, 1:] - mask[..., :, :-1]).abs().mean()
    return {"area": ((area - area_target) ** 2).mean(), "smooth": tv, "crisp": (mask * (1 - mask)).mean()}


def motion_cue(mask: torch.Tensor, motion: torch.Tensor, mode: str = "inside", eps: float = 1e-6) -> torch.Tensor:
    """The motion cue's loss for soft masks m and motion masks t in [0, 1] (both N x 1 x H x W), over the samples
    whose motion mask is not empty (0 when none is): `inside`: sum t * -log m / sum t; `agree`: the mean binary
    cross-entropy of m against t."""
    moved = motion.flatten(1).amax(1) > 0.5
    if not bool(moved.any()):
        return mask.sum() * 0.0  # keeps the graph (and DDP's gradient hooks) whole
    m, t = mask[moved].float().clamp(eps, 1 - eps), motion[moved].float()  # float32 also under AMP
    if mode == "inside":
        return (-torch.log(m) * t).sum() / t.sum().clamp_min(1.0)
    if mode == "agree":  # written out: F.binary_cross_entropy refuses to run under autocast
        return -(t * torch.log(m) + (1 - t) * torch.log(1 - m)).mean()
    raise ValueError(f"unknown motion_mode {mode!r}; choose inside or agree")


class LearnedSegregationNet(nn.Module):
    """Mask network + body stream + background stream; `forward(image)` returns each stream's logits and
    `combined`, and keeps the soft mask of the last call in `last_mask` (for the regularisers and snapshots)."""

    inputs = ("image",)

    def __init__(
        self, body: nn.Module, background: nn.Module, black: torch.Tensor, width: int = 16, area_target: float = 0.1
    ):
        super().__init__()
        if any(p is q for p in body.parameters() for q in background.parameters()):
            raise ValueError("the body and background streams must not share parameters")
        self.mask_net = MaskNet(width)
        # start at the prior's area (sigmoid(b) = area_target), not at 0.5: both streams would see half-dim frames
        nn.init.constant_(self.mask_net.out.bias, float(torch.logit(torch.tensor(area_target))))
        self.body, self.background = body, background
        self.register_buffer("black", black.view(1, 3, 1, 1).clone(), persistent=False)  # raw 0 after normalising
        self.last_mask: torch.Tensor | None = None

    def soft_mask(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mask_net(image))

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        m = self.soft_mask(image)
        self.last_mask = m
        black = self.black.to(image.dtype)
        body_in = black + (image - black) * m  # x * m in pixel space
        background_in = black + (image - black) * (1 - m)
        body_logits, background_logits = self.body(body_in), self.background(background_in)
        return {"body": body_logits, "background": background_logits, "combined": body_logits + background_logits}
