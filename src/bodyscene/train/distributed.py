"""Training on several processes: Trainer settings from torchrun's environment, what each rank drew, and a check
that every rank ends with the same weights.

`torchrun --nproc_per_node N [--nnodes M --rdzv-endpoint HOST:PORT] -m bodyscene train ...` starts N processes per
node and sets WORLD_SIZE, LOCAL_WORLD_SIZE, RANK, LOCAL_RANK and TORCHELASTIC_RUN_ID. Lightning detects that
launch (TorchElasticEnvironment) and joins the process group itself, but requires devices x num_nodes == WORLD_SIZE,
so `devices`/`num_nodes` left at "auto" are read from the environment here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from bodyscene.config import TrainRuntime
from bodyscene.errors import BodySceneError
from bodyscene.files import write_csv


def launched_by_torchrun(env: Mapping[str, str] = os.environ) -> bool:
    """The test torch.distributed.is_torchelastic_launched() makes, on a given environment."""
    return "TORCHELASTIC_RUN_ID" in env


def trainer_settings(cfg: TrainRuntime, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """`devices`, `num_nodes`, `strategy` for L.Trainer: the config's, with "auto" filled in from torchrun."""
    devices, num_nodes, strategy = cfg.devices, cfg.num_nodes, cfg.strategy
    if launched_by_torchrun(env):
        world, local = int(env["WORLD_SIZE"]), int(env["LOCAL_WORLD_SIZE"])
        devices = local if devices == "auto" else devices
        num_nodes = world // local if num_nodes == "auto" else num_nodes
        if isinstance(devices, int) and devices * num_nodes != world:
            raise BodySceneError(
                f"train.devices={devices} x train.num_nodes={num_nodes} does not match torchrun's WORLD_SIZE={world};"
                " leave both at auto when launching with torchrun"
            )
        if strategy == "auto" and world > 1:
            strategy = "ddp"
    elif num_nodes == "auto":
        num_nodes = 1
    return {"devices": devices, "num_nodes": num_nodes, "strategy": strategy}


def parameter_digest(named: Iterable[tuple[str, torch.Tensor]]) -> str:
    """SHA-256 of parameter names and exact bytes (any dtype, any memory layout)."""
    h = hashlib.sha256()
    for name, t in named:
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class RankDigests(Callback):
    """At the end of training, every rank's parameter digest, gathered (rank order). DDP all-reduces gradients, so
    they must all be equal, and equal to the checkpoint's; BatchNorm running statistics are not compared: DDP
    broadcasts rank 0's buffers before each forward, and the checkpoint holds rank 0's."""

    def __init__(self) -> None:
        self.digests: list[str] = []

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        digest = parameter_digest(pl_module.named_parameters())
        mine = torch.tensor(list(bytes.fromhex(digest)), dtype=torch.int32, device=pl_module.device)
        gathered = pl_module.all_gather(mine).reshape(-1, len(mine)).cpu()
        self.digests = [bytes(row.tolist()).hex() for row in gathered]


class DrawLog(Callback):
    """Writes FOLDER/rank<r>.csv (epoch, index, label): the training items this rank drew, in order, in this launch.

    For checking sampling under DDP (`--set train.log_draws=true`): the ranks' draws of an epoch together are the
    balanced sampler's stream for that epoch, dealt out without overlap."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.rows: list[dict[str, int]] = []

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        epoch = trainer.current_epoch
        for index, label in zip(batch["index"].tolist(), batch["label"].tolist(), strict=True):
            self.rows.append({"epoch": epoch, "index": index, "label": label})

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        write_csv(self.folder / f"rank{trainer.global_rank}.csv", self.rows, ("epoch", "index", "label"))
