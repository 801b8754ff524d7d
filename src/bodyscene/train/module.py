"""The LightningModule: the model, its loss, the optimiser, and on-device normalisation and augmentation."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.models import build_model
from bodyscene.models.loss import total_loss
from bodyscene.train.datamodule import epoch_seed

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


class ActionModule(L.LightningModule):
    def __init__(self, model: dict[str, Any], train: dict[str, Any], classes: list[str]):
        super().__init__()
        self.save_hyperparameters()  # plain dicts, so checkpoints load with torch.load(weights_only=True)
        self.model_cfg = ModelConfig(**model)
        self.train_cfg = TrainConfig(**train)
        self.classes = classes
        self.net = build_model(self.model_cfg, len(classes))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._augment_rng = torch.Generator().manual_seed(self.train_cfg.seed)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.net(*[batch[name] for name in self.net.inputs])

    def on_train_epoch_start(self) -> None:
        # Augmentation drawn from (seed, epoch), not one stream: a resumed run augments epoch e as an unbroken run does.
        self._augment_rng.manual_seed(epoch_seed(self.train_cfg.seed, self.current_epoch, 1))

    def on_after_batch_transfer(self, batch: dict[str, torch.Tensor], dataloader_idx: int) -> dict[str, torch.Tensor]:
        """uint8 -> normalised float on the device; in training, one random affine per sample shared by its inputs."""
        out = dict(batch)
        theta = None
        if self.training and self.train_cfg.augment:
            n = batch["label"].shape[0]
            theta = random_affine(n, self._augment_rng).to(self.device)
        for name in self.net.inputs:
            x = batch[name].float().div_(255)
            if theta is not None:
                grid = F.affine_grid(theta, list(x.shape), align_corners=False)
                x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
            out[name] = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        return out

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        outputs = self(batch)
        loss, parts = total_loss(outputs, batch["label"], self.model_cfg.loss_weights)
        acc = (outputs["combined"].argmax(1) == batch["label"]).float().mean()
        n = batch["label"].shape[0]
        self.log("train/loss", loss, prog_bar=True, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("train/acc", acc, prog_bar=True, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        for name, part in parts.items():
            if len(parts) > 1:
                self.log(f"train/loss_{name}", part, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        outputs = self(batch)
        loss, _ = total_loss(outputs, batch["label"], self.model_cfg.loss_weights)
        acc = (outputs["combined"].argmax(1) == batch["label"]).float().mean()
        n = batch["label"].shape[0]
        self.log("val/loss", loss, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("val/acc", acc, prog_bar=True, on_epoch=True, batch_size=n, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        cfg = self.train_cfg
        return torch.optim.SGD(self.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
