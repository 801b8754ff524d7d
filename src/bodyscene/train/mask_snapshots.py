"""RUN/<name>/masks/epoch<k>.npz: the learned soft masks of the validation frames after each epoch.

For `kind: domainnet-learned` only (models/learned.py). Training never reads a true mask; these snapshots are what
a later stage (experiments/segregation.py, `mask_iou_over_epochs`) compares with the true masks, so the mask IoU
over epochs is measured without the training run ever touching them. Each file holds `index` (rows of the
validation split, manifest order) and `mask` (N x S x S uint8, 255 = body stream), written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import lightning as L
import numpy as np

from bodyscene.files import atomic_write_bytes


class MaskSnapshots(L.Callback):
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._index: list[np.ndarray] = []
        self._masks: list[np.ndarray] = []

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._index, self._masks = [], []

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        mask = getattr(pl_module.net, "last_mask", None)
        if mask is not None:
            self._index.append(batch["index"].cpu().numpy())
            self._masks.append((mask[:, 0].float().clamp(0, 1) * 255).round().byte().cpu().numpy())

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not self._masks or trainer.sanity_checking or not trainer.is_global_zero:
            return
        buf = io.BytesIO()
        np.savez_compressed(buf, index=np.concatenate(self._index), mask=np.concatenate(self._masks))
        atomic_write_bytes(self.folder / f"epoch{trainer.current_epoch:03d}.npz", buf.getvalue())
