"""Checkpoint files that survive a kill and cannot run code when read back.

Lightning's own `TorchCheckpointIO` writes through an fsspec transaction (temp file, then move) but never fsyncs,
so a power cut can leave an empty `last.ckpt`; and its load uses whatever `weights_only` the caller passes. This
plugin writes with `files.atomic_write_bytes` (temp file in the same folder, fsync, rename) and always reads with
`torch.load(weights_only=True)`, so `--resume` from a doctored `last.ckpt` is refused like `evaluate` refuses one.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint

from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes


def load_checkpoint_file(path: str | Path) -> dict[str, Any]:
    """A checkpoint's contents via torch.load(weights_only=True): plain tensors and containers, never pickled code."""
    path = Path(path)
    if not path.is_file():
        raise BodySceneError(f"{path}: checkpoint not found; train without --resume first")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is the same user error
        raise BodySceneError(
            f"{path}: not a safe, readable checkpoint ({type(e).__name__}); delete it and train with --overwrite"
        ) from e
    if not isinstance(state, dict) or "state_dict" not in state:
        raise BodySceneError(
            f"{path}: not a Lightning checkpoint (no state_dict); delete it and train with --overwrite"
        )
    return state


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning CheckpointIO: atomic, fsynced saves; loads only with weights_only=True."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load_checkpoint(self, path, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint_file(path)


class EpochCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that writes `last.ckpt` at the end of every `every`-th epoch and of the final one, and only
    there; `best.ckpt` holds the weights alone.

    This Lightning saves `last` only in an epoch where `best` improved, and fills the gap with a re-save in
    `on_train_end` whose recorded `epoch` is one higher than the same state saved at the epoch's end; whether that
    happens depended on the validation scores, so two identical trainings could write different files.

    Sizes: a full checkpoint is weights + optimizer state (SGD momentum: as large again), fsynced. Written at every
    epoch of both demo models, last + best came to 10.6 GB per `make demo`. `best.ckpt` is only ever read for its
    weights (evaluate), so it is saved without the optimizer (half the bytes); `last.ckpt` keeps everything a
    bit-identical resume needs, at the cadence `train.checkpoint_every` sets (a resume redoes at most that many
    epochs).
    """

    _last_step_written: int = -1

    def __init__(self, *args: Any, every: int = 1, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.every = every

    def _last_due(self, trainer) -> bool:
        epoch = trainer.current_epoch + 1  # the epoch that is ending, counted from 1
        return epoch % self.every == 0 or epoch >= (trainer.max_epochs or epoch)

    def _save_last_checkpoint(self, trainer, monitor_candidates) -> None:
        if not self._last_due(trainer):
            return
        super()._save_last_checkpoint(trainer, monitor_candidates)
        self._last_step_written = trainer.global_step

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        if Path(filepath).stem != self.CHECKPOINT_NAME_LAST:  # best.ckpt: the weights (and hyper-parameters) only
            trainer.save_checkpoint(filepath, weights_only=True)
            self._last_global_step_saved = trainer.global_step
            self._last_checkpoint_saved = filepath
            return
        super()._save_checkpoint(trainer, filepath)

    def _ensure_last(self, trainer) -> None:
        if self.save_last and not self._should_skip_last(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def _should_skip_last(self, trainer) -> bool:
        return (
            self._last_step_written == trainer.global_step
            or trainer.sanity_checking
            or bool(trainer.fast_dev_run)
            or trainer.state.fn != "fit"
        )

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._ensure_last(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._ensure_last(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        return None
