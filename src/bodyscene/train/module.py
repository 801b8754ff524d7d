"""The LightningModule: the model, its loss, the optimiser, and on-device normalisation and augmentation."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.models import create_model, model_kind
from bodyscene.models.backbones import IMAGENET_MEAN, IMAGENET_STD
from bodyscene.models.learned import mask_regularisers, motion_cue
from bodyscene.models.loss import total_loss
from bodyscene.stimuli.frontend import SOUND_INPUTS


def random_affine(batch_size: int, generator: torch.Generator, max_shift: float = 0.1, max_zoom: float = 0.1):
    """Per-sample horizontal flip, shift and zoom, as affine matrices for F.affine_grid (N x 2 x 3)."""
    flip = torch.where(torch.rand(batch_size, generator=generator) < 0.5, -1.0, 1.0)
    zoom = 1.0 + (torch.rand(batch_size, generator=generator) * 2 - 1) * max_zoom
    shift = (torch.rand(batch_size, 2, generator=generator) * 2 - 1) * max_shift * 2
    theta = torch.zeros(batch_size, 2, 3)
    theta[:, 0, 0] = flip / zoom
    theta[:, 1, 1] = 1.0 / zoom
    theta[:, :, 2] = shift
    return theta


# RGB -> YIQ and back: hue turns as a rotation of the (I, Q) chroma plane, luma (Y) unchanged
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_RGB = torch.linalg.inv(_YIQ)


def colour_params(n: int, generator: torch.Generator, strength: float = 0.3) -> dict[str, torch.Tensor]:
    """Per-sample draws for `colour_augment`: the prototype's ColorJitter(0.3, 0.3, 0.3, hue=0.3) and
    GaussianBlur(kernel (5, 9), sigma 0.1-2.0) (Aglinskas/BC-actionpred-seg, notebook 11)."""

    def u():
        return torch.rand(n, generator=generator) * 2 - 1

    return {
        "brightness": 1 + strength * u(), "contrast": 1 + strength * u(), "saturation": 1 + strength * u(),
        "hue": strength * u() * 2 * torch.pi, "sigma": 0.1 + 1.9 * torch.rand(n, generator=generator),
    }  # fmt: skip


def _blur(x: torch.Tensor, sigma: torch.Tensor, kx: int = 5, ky: int = 9) -> torch.Tensor:
    """Separable Gaussian blur with one sigma per sample (a grouped convolution over samples x channels)."""
    n, c, h, w = x.shape

    def kernel(k: int) -> torch.Tensor:
        t = torch.arange(k, device=x.device, dtype=x.dtype) - (k - 1) / 2
        g = torch.exp(-(t[None] ** 2) / (2 * sigma.to(x)[:, None] ** 2))
        return (g / g.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n * c) x k

    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (kx // 2, kx // 2, 0, 0), mode="reflect"), kernel(kx)[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, ky // 2, ky // 2), mode="reflect"), kernel(ky)[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def colour_augment(x: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Brightness, contrast, saturation, hue, then blur, on a float 0..255 batch (N x 3 x H x W), in that fixed
    order (torchvision's ColorJitter shuffles it). Pixels black in all channels stay black, so the black
    surround of a body-only frame, and a black frame, still mean "nothing here" to the network."""
    black = (x == 0).all(1, keepdim=True)
    view = (-1, 1, 1, 1)
    x = x * p["brightness"].to(x).view(view)
    grey = torch.einsum("c,nchw->nhw", _YIQ[0].to(x), x)[:, None]
    mean = grey.mean((2, 3), keepdim=True)
    x = (x - mean) * p["contrast"].to(x).view(view) + mean
    grey = torch.einsum("c,nchw->nhw", _YIQ[0].to(x), x)[:, None]
    x = grey + (x - grey) * p["saturation"].to(x).view(view)
    cos, sin = torch.cos(p["hue"]), torch.sin(p["hue"])
    rot = torch.zeros(len(cos), 3, 3)
    rot[:, 0, 0], rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = 1, cos, -sin, sin, cos
    m = (_RGB @ rot @ _YIQ).to(x)  # N x 3 x 3
    x = torch.einsum("nij,njhw->nihw", m, x).clamp_(0, 255)
    x = _blur(x, p["sigma"])
    return x.masked_fill_(black, 0)


class ActionModule(L.LightningModule):
    def __init__(self, model: dict[str, Any], train: dict[str, Any], classes: list[str]):
        super().__init__()
        self.save_hyperparameters()  # plain dicts, so checkpoints load with torch.load(weights_only=True)
        self.model_cfg = ModelConfig(**model)
        self.train_cfg = TrainConfig(**train)
        self.classes = classes
        self.net = create_model(self.model_cfg, len(classes))
        if self.train_cfg.channels_last:  # NHWC lets cuDNN use tensor-core kernels without transposes under AMP
            self.net = self.net.to(memory_format=torch.channels_last)
        # (x / 255 - mean) / std == x * scale - shift, applied in place to the float batch
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("scale", 1.0 / (255.0 * std), persistent=False)
        self.register_buffer("shift", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) / std, persistent=False)
        self._augment_rng = torch.Generator().manual_seed(self.train_cfg.seed)

    def on_train_epoch_start(self) -> None:
        """Augmentation draws depend on (seed, epoch, rank): DDP ranks differ, and a resumed run repeats them."""
        seed = (self.train_cfg.seed * 1_000_003 + self.current_epoch) * 65_537 + self.global_rank
        self._augment_rng.manual_seed(seed)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.net(*[batch[name] for name in self.net.inputs])

    def on_after_batch_transfer(self, batch: dict[str, torch.Tensor], dataloader_idx: int) -> dict[str, torch.Tensor]:
        """uint8 -> normalised float on the device; in training, one random affine per sample shared by its inputs.

        One float copy and (when augmenting) one resampled copy per input; the sampling grid is computed once for
        all inputs (DomainNet's two streams), and normalisation is done in place. Resampling the raw 0..255 values
        is linear per channel, so it commutes with the scale, and its zero padding stays black once normalised.
        """
        out = dict(batch)
        images = [name for name in self.net.inputs if name not in SOUND_INPUTS]
        grid = None
        if self.training and self.train_cfg.augment:
            n = batch["label"].shape[0]
            theta = random_affine(n, self._augment_rng).to(self.device)
            size = batch[images[0]].shape
            grid = F.affine_grid(theta, [n, 3, size[-2], size[-1]], align_corners=False)
        colour = None
        if self.training and self.train_cfg.augment_colour:  # one draw per sample, shared by its inputs
            colour = colour_params(batch["label"].shape[0], self._augment_rng)
        blank = self._blank_streams(batch["label"].shape[0]) if self.training else {}
        fmt = torch.channels_last if self.train_cfg.channels_last else torch.contiguous_format
        for name in SOUND_INPUTS:  # spectrograms in dB: neither normalised nor augmented (models/audio.py scales them)
            if name in self.net.inputs:
                out[name] = batch[name].float()
        for name in images:
            # without resampling, change the layout while still uint8 (4x fewer bytes); .float() keeps it
            x = (batch[name] if grid is not None else batch[name].contiguous(memory_format=fmt)).float()
            if colour is not None:
                x = colour_augment(x, colour).contiguous(memory_format=fmt)
            if name in blank:
                x.mul_(blank[name].view(-1, 1, 1, 1))
            if grid is not None:
                x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
                x = x.contiguous(memory_format=fmt)
            out[name] = x.mul_(self.scale).sub_(self.shift)
        if "motion" in batch:  # the motion cue's masks (train/run.py training_cues): 0..1, moved like the image
            m = batch["motion"][:, :1].float().div_(255)
            out["motion"] = m if grid is None else F.grid_sample(m, grid, mode="bilinear", align_corners=False)
        return out

    def _blank_streams(self, n: int) -> dict[str, torch.Tensor]:
        """Stream dropout: per sample, with probability p/2 each, black out the body or the background input.

        At test time a body-only stimulus reaches the background stream as a black frame (and a background-only
        one the body stream). A stream never trained on black frames answers them with confident, arbitrary logits
        that swamp the other stream's; seeing a few in training teaches it that a black frame carries no evidence.
        Off (0) in the paper's recipe; see README, "The embedded benchmark".
        """
        p = self.train_cfg.stream_dropout
        if p == 0 or not model_kind(self.model_cfg.kind).stream_dropout:  # every kind with both streams
            return {}
        u = torch.rand(n, generator=self._augment_rng).to(self.device)
        return {"body": (u >= p / 2).float(), "background": ((u < p / 2) | (u >= p)).float()}

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        outputs = self(batch)
        loss, parts = total_loss(outputs, batch["label"], self.model_cfg.loss_weights)
        n = batch["label"].shape[0]
        if getattr(self.net, "last_mask", None) is not None:  # domainnet-learned: the mask's regularisers
            m = self.model_cfg.mask
            regs = mask_regularisers(self.net.last_mask, m.area_target)
            weights = {"area": m.area_weight, "smooth": m.smooth_weight, "crisp": m.crisp_weight}
            if "motion" in batch:  # the "Spelke" cue: agreement with the weight-free motion segmenter
                regs["motion"] = motion_cue(self.net.last_mask, batch["motion"], m.motion_mode)
                weights["motion"] = m.motion_weight
            loss = loss + sum(weights[k] * v for k, v in regs.items())
            for k, v in regs.items():
                self.log(f"train/mask_{k}", v, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        acc = (outputs["combined"].argmax(1) == batch["label"]).float().mean()
        self.log("train/loss", loss, prog_bar=True, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("train/acc", acc, prog_bar=True, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        for name, part in parts.items():
            if len(parts) > 1:
                self.log(f"train/loss_{name}", part, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        outputs = self(batch)
        loss, _ = total_loss(outputs, batch["label"], self.model_cfg.loss_weights)
        n = batch["label"].shape[0]
        self.log("val/loss", loss, on_epoch=True, batch_size=n, sync_dist=True)
        for head, logits in outputs.items():  # val/acc is the fused answer; val/acc_<stream> each stream alone
            acc = (logits.argmax(1) == batch["label"]).float().mean()
            name = "val/acc" if head == "combined" else f"val/acc_{head}"
            self.log(name, acc, prog_bar=head == "combined", on_epoch=True, batch_size=n, sync_dist=True)

    def configure_optimizers(self):
        cfg = self.train_cfg
        fused = self.device.type == "cuda"  # one kernel for all parameters instead of one per tensor
        optimizer = torch.optim.SGD(
            self.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, fused=fused or None
        )
        if cfg.schedule == "constant":  # the paper's recipe
            return optimizer
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
