"""Training progress in a log file: a Lightning progress bar that prints plain lines (bodyscene.progress)."""

from __future__ import annotations

from typing import Any, TextIO

from lightning.pytorch.callbacks import ProgressBar

from bodyscene.progress import PlainProgress


class PlainTrainingProgress(ProgressBar):
    """Lightning progress for logs: training steps over all epochs, with the epoch and the last train loss."""

    def __init__(self, label: str, interval: float | None = None, stream: TextIO | None = None):
        super().__init__()
        self.label, self.interval_s, self.stream = label, interval, stream
        self._enabled = True
        self._bar: PlainProgress | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer, pl_module) -> None:
        if not (self._enabled and trainer.is_global_zero):
            return
        per_epoch = int(trainer.num_training_batches) if trainer.num_training_batches != float("inf") else 0
        # steps still to do in this run: a resumed run starts at its checkpoint's epoch
        total = per_epoch * (int(trainer.max_epochs or 1) - trainer.current_epoch)
        epoch = f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
        self._bar = PlainProgress(self.label, total, "steps", self.interval_s, self.stream, extra=epoch)

    def on_train_batch_end(self, trainer, pl_module, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._bar is not None:
            loss = trainer.callback_metrics.get("train/loss")
            extra = f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
            if loss is not None:
                extra += f", train/loss {float(loss):.3f}"
            self._bar.update(1, extra)

    def on_train_end(self, trainer, pl_module) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
