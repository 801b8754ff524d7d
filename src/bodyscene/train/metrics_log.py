"""RUN/<model>/metrics.csv that a resume continues instead of wiping.

Lightning's CSVLogger deletes an existing metrics.csv when it starts (so `--resume` lost every earlier epoch), keeps
rows in memory for 100 steps before writing (so a kill lost the last epochs), and appends in place. This logger
writes the whole file atomically at every log call and, on resume, keeps exactly the rows of the epochs the
checkpoint holds (epoch <= its epoch): rows of the epoch that was cut short are dropped, so none is duplicated.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from bodyscene.files import write_csv


class _Writer(ExperimentWriter):
    def __init__(self, log_dir: str, keep_through_epoch: int | None):
        self.keep_through_epoch = keep_through_epoch
        self.rows: list[dict[str, Any]] = []
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:  # called by __init__: keep the resumed epochs instead of deleting
        path = Path(self.metrics_file_path)
        if self.keep_through_epoch is None or not path.is_file():
            return
        with path.open(newline="") as f:
            self.rows = [r for r in csv.DictReader(f) if r.get("epoch") and int(r["epoch"]) <= self.keep_through_epoch]

    def save(self) -> None:
        if not self.metrics:
            return
        self.rows += self.metrics
        self.metrics = []
        keys = sorted({k for row in self.rows for k in row}, key=lambda k: (k not in ("epoch", "step"), k))
        write_csv(self.metrics_file_path, self.rows, keys)


class ResumableCSVLogger(CSVLogger):
    """CSVLogger(save_dir, name, version="") that flushes every log call and continues a resumed run's file."""

    def __init__(self, save_dir: str | Path, name: str, keep_through_epoch: int | None = None):
        super().__init__(save_dir=save_dir, name=name, version="", flush_logs_every_n_steps=1)
        self.keep_through_epoch = keep_through_epoch

    @property
    def experiment(self) -> _Writer:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _Writer(self.log_dir, self.keep_through_epoch)
        return self._experiment
