"""Stimulus images as tensors for training and evaluation, with class-balanced sampling.

Images are decoded and resized once into uint8 tensors (N x 3 x S x S) per split and condition, kept in memory;
normalisation and augmentation happen on the batch, on the training device (see module.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, WeightedRandomSampler

from bodyscene.errors import BodySceneError
from bodyscene.stimuli.frontend import model_inputs
from bodyscene.stimuli.manifest import StimulusSet, read_stimulus_set


def load_image(path: Path, size: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BodySceneError(f"{path}: missing or unreadable image; rerun `bodyscene prepare` on this stimulus set")
    if image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class FrameCache:
    """Decoded, resized frames of one stimulus set, loaded on first use per (split, image column)."""

    def __init__(self, stimuli: StimulusSet, size: int):
        self.stimuli, self.size = stimuli, size
        self._cache: dict[tuple[str, str], torch.Tensor] = {}

    def images(self, split: str, column: str) -> torch.Tensor:
        key = (split, column)
        if key not in self._cache:
            rows = self.stimuli.split(split)
            arr = np.stack([load_image(self.stimuli.path(r, column), self.size) for r in rows]) if rows else None
            if arr is None:
                arr = np.zeros((0, self.size, self.size, 3), np.uint8)
            self._cache[key] = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
        return self._cache[key]


class StimulusDataset(Dataset):
    """Items are dicts: one uint8 image per model input, `label`, and `index` (row in the split)."""

    def __init__(self, cache: FrameCache, split: str, kind: str, condition: str):
        self.rows = cache.stimuli.split(split)
        self.labels = torch.tensor([int(r["label"]) for r in self.rows], dtype=torch.long)
        self.inputs = {}
        black = torch.zeros(3, cache.size, cache.size, dtype=torch.uint8)
        for name, column in model_inputs(kind, condition).items():
            self.inputs[name] = cache.images(split, column) if column is not None else black

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {name: (t if t.dim() == 3 else t[i]) for name, t in self.inputs.items()}
        item["label"] = self.labels[i]
        item["index"] = torch.tensor(i)
        return item


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed for one epoch of one random stream (0: sampling order, 1: augmentation), mixed by SeedSequence."""
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1, np.uint32)[0])


class _EpochSeeded:
    """Lightning calls sampler.set_epoch(e) before every epoch. Reseeding from (seed, e) there makes epoch e draw
    the same order whether the run went straight through or was resumed from a checkpoint (one long stream would
    restart at epoch 0's order after a resume)."""

    seed: int
    generator: torch.Generator

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(epoch_seed(self.seed, epoch, 0))


class EpochWeightedSampler(_EpochSeeded, WeightedRandomSampler):
    def __init__(self, weights: torch.Tensor, seed: int):
        super().__init__(weights, num_samples=len(weights), replacement=True, generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)


class EpochRandomSampler(_EpochSeeded, RandomSampler):
    def __init__(self, data: Dataset, seed: int):
        super().__init__(data, generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)


def balanced_sampler(labels: torch.Tensor, num_classes: int, seed: int) -> WeightedRandomSampler:
    """Draws every class equally often in expectation, whatever the class sizes (weight 1 / class count)."""
    counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).double()
    return EpochWeightedSampler((1.0 / counts)[labels], seed)


class StimulusDataModule(L.LightningDataModule):
    def __init__(
        self,
        stimuli: str | Path,
        kind: str,
        condition: str = "original",
        image_size: int = 224,
        batch_size: int = 32,
        balanced: bool = True,
        num_workers: int = 0,
        seed: int = 0,
    ):
        super().__init__()
        self.stimuli = read_stimulus_set(stimuli)
        self.classes = self.stimuli.classes
        self.kind, self.condition = kind, condition
        self.batch_size, self.balanced, self.num_workers, self.seed = batch_size, balanced, num_workers, seed
        self.cache = FrameCache(self.stimuli, image_size)

    def dataset(self, split: str, condition: str | None = None) -> StimulusDataset:
        return StimulusDataset(self.cache, split, self.kind, condition or self.condition)

    def _loader(self, dataset: StimulusDataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        data = self.dataset("train")
        if len(data) == 0:
            raise BodySceneError(f"{self.stimuli.root}: the train split is empty; prepare a set with training clips")
        if self.balanced:
            return self._loader(data, sampler=balanced_sampler(data.labels, len(self.classes), self.seed))
        return self._loader(data, sampler=EpochRandomSampler(data, self.seed))

    def val_dataloader(self) -> DataLoader | list:
        data = self.dataset("val")
        return self._loader(data, shuffle=False) if len(data) else []

    def loader(self, split: str, condition: str) -> DataLoader:
        return self._loader(self.dataset(split, condition), shuffle=False)
