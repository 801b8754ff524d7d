"""Stimulus images as uint8 batches for training and evaluation, with class-balanced sampling.

Decoding PNGs every epoch is far slower than a GPU trains (README, "Paper-scale training"), so each split x image
column is decoded and resized once into one memory-mapped .npy (N x 3 x S x S uint8) under STIM/cache/, keyed by
the image size and the source files. Later runs, DDP ranks and DataLoader workers all map the same file; the page
cache keeps it in RAM. A batch is one fancy-indexed read of the map (`__getitems__`), no per-item stacking.
Normalisation and augmentation happen on the batch, on the training device (module.py).
Sets too big for that cache (all frames of HAA500: ~110 GB a column) read from tar shards of encoded frames or from
the files instead (`train.store`, train/store.py); the samplers below are the same whatever the store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler
from torch.utils.data._utils.collate import default_collate

from bodyscene.errors import BodySceneError
from bodyscene.files import commit, temp_beside
from bodyscene.stimuli.frontend import SOUND_INPUTS, model_inputs
from bodyscene.stimuli.manifest import StimulusSet, read_stimulus_set
from bodyscene.train.spectrograms import Spectrograms
from bodyscene.train.store import FileFrames, ShardStore, choose_store

CACHE_VERSION = 1  # bump when the cached layout changes


RESIZES = ("squash", "letterbox")


def fit_square(image: np.ndarray, size: int, resize: str = "squash") -> np.ndarray:
    """`image` as size x size: stretched (`squash`), or scaled to fit and padded with black bars, centred
    (`letterbox`, as the prototype turned 16:9 HAA500 frames into 224x224: Aglinskas/BC-actionpred-seg, notebook 10)."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    if resize == "squash":
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    if resize != "letterbox":
        raise BodySceneError(f"train.resize={resize!r}; choose one of {', '.join(RESIZES)}")
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    inter = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.zeros((size, size, *image.shape[2:]), image.dtype)
    y, x = (size - nh) // 2, (size - nw) // 2
    out[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=inter)
    return out


def load_image(path: Path, size: int, resize: str = "squash") -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise BodySceneError(f"{path}: missing or unreadable image; rerun `bodyscene prepare` on this stimulus set")
    return cv2.cvtColor(fit_square(image, size, resize), cv2.COLOR_BGR2RGB)


def decode_into(
    out: np.ndarray, paths: list[Path], size: int, threads: int | None = None, resize: str = "squash"
) -> None:
    """Decode `paths` into out[i] (3 x S x S); OpenCV releases the GIL, so threads decode in parallel."""
    threads = threads or min(16, os.cpu_count() or 1)
    with ThreadPoolExecutor(threads) as pool:
        for i, image in enumerate(pool.map(partial(load_image, size=size, resize=resize), paths)):
            out[i] = image.transpose(2, 0, 1)


class Frames:
    """One split x column as an N x 3 x S x S uint8 array: a memory-mapped .npy opened lazily in each process
    (a pickled np.memmap would copy the whole array into every DataLoader worker), or an in-memory array."""

    def __init__(self, path: Path | None = None, array: np.ndarray | None = None):
        self.path, self._array = path, array

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def __len__(self) -> int:
        return len(self.array)

    def read(self, idx: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.array[idx])

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_array": None if self.path is not None else self._array}


class FrameCache:
    """Decoded, resized frames of one stimulus set, one .npy per (split, image column, size) in `cache_dir`."""

    def __init__(self, stimuli: StimulusSet, size: int, cache_dir: str | Path | None = None, resize: str = "squash"):
        self.stimuli, self.size, self.resize = stimuli, size, resize
        self.dir = Path(cache_dir) if cache_dir is not None else stimuli.root / "cache"
        self._frames: dict[tuple[str, str], Frames] = {}

    def paths(self, split: str, column: str) -> list[Path]:
        return [self.stimuli.path(r, column) for r in self.stimuli.split(split)]

    def file(self, split: str, column: str) -> Path:
        """The cache file's name holds a digest of the sources (path, size, mtime): a rerun `prepare` invalidates it."""
        # (squash keeps the key it always had, so existing caches stay valid)
        mode = "" if self.resize == "squash" else f" {self.resize}"
        digest = hashlib.sha1(f"v{CACHE_VERSION} {self.size}{mode}".encode())
        for path in self.paths(split, column):
            try:
                st = path.stat()
            except OSError as e:
                raise BodySceneError(f"{path}: missing image; rerun `bodyscene prepare` on this stimulus set") from e
            digest.update(f"\n{path.relative_to(self.stimuli.root)} {st.st_size} {st.st_mtime_ns}".encode())
        return self.dir / f"{split}-{column}-{self.size}px-{digest.hexdigest()[:16]}.npy"

    def build(self, split: str, column: str) -> Path | None:
        """Write the cache file unless it exists (atomically: temp file, then rename); None if the folder is
        read-only. Safe when several processes build at once: each renames a complete file over the same name."""
        paths = self.paths(split, column)
        if not paths:
            return None
        target = self.file(split, column)
        if target.is_file():
            return target
        try:
            tmp = temp_beside(target)  # files.py's atomic write: mode as open() gives, fsync, rename
        except OSError:
            return None
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths), 3, self.size, self.size))
            decode_into(out, paths, self.size, resize=self.resize)
            out.flush()
            del out
            commit(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        for stale in self.dir.glob(f"{split}-{column}-{self.size}px-*.npy"):
            if stale != target:
                stale.unlink(missing_ok=True)
        return target

    def frames(self, split: str, column: str) -> Frames:
        key = (split, column)
        if key not in self._frames:
            path = self.build(split, column)
            if path is not None:
                self._frames[key] = Frames(path)
            else:  # empty split, or a read-only stimulus folder without train.cache_dir: decode into memory
                paths = self.paths(split, column)
                if paths:
                    warnings.warn(f"{self.dir}: not writable; decoding {split}/{column} into memory", stacklevel=2)
                array = np.empty((len(paths), 3, self.size, self.size), np.uint8)
                decode_into(array, paths, self.size, resize=self.resize)
                self._frames[key] = Frames(array=array)
        return self._frames[key]

    def images(self, split: str, column: str) -> torch.Tensor:
        """All frames of a split x column as one uint8 tensor (N x 3 x S x S), e.g. for inspection."""
        return torch.from_numpy(np.array(self.frames(split, column).array))


class StimulusDataset(Dataset):
    """Items are dicts: one uint8 image per model input (a float32 spectrogram per sound input), `label`, and
    `index` (row in the split).

    `__getitems__` (used by DataLoader for whole batches) reads each input's rows in one indexing operation;
    pair it with `collate` below.
    """

    def __init__(
        self,
        cache: FrameCache,
        split: str,
        kind: str,
        condition: str,
        frames_of=None,
        sound: bool = True,
        cues: dict[str, str] | None = None,
    ):
        self.rows = cache.stimuli.split(split)
        self.size = cache.size
        self.labels = torch.tensor([int(r["label"]) for r in self.rows], dtype=torch.long)
        frames_of = frames_of or cache.frames  # (split, column) -> Frames, or store.ShardFrames / FileFrames
        self.inputs: dict[str, Any] = {
            name: Spectrograms(cache.stimuli, self.rows, column)  # (silence where column is None)
            if name in SOUND_INPUTS
            else frames_of(split, column)
            if column is not None
            else None  # None: a black frame
            for name, column in model_inputs(kind, condition, sound).items()
        }
        # training targets that are not model inputs (e.g. the motion cue's masks: name -> manifest column)
        self.inputs.update({name: frames_of(split, column) for name, column in (cues or {}).items()})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.__getitems__([i]).items()}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        idx = np.asarray(indices, dtype=np.int64)
        batch = {}
        for name, frames in self.inputs.items():
            if frames is None:
                batch[name] = torch.zeros((len(idx), 3, self.size, self.size), dtype=torch.uint8)
            else:
                batch[name] = torch.from_numpy(frames.read(idx))
        batch["label"] = self.labels[idx]
        batch["index"] = torch.from_numpy(idx)
        return batch


def collate(batch: Any) -> Any:
    """A batch from `StimulusDataset.__getitems__` is already collated; anything else goes to the default."""
    return batch if isinstance(batch, dict) else default_collate(batch)


class BalancedSampler(Sampler[int]):
    """Draws every class equally often in expectation, whatever the class sizes (weight 1 / class count), with
    replacement. The stream depends only on (seed, epoch): every DDP rank draws the same stream, which Lightning's
    DistributedSamplerWrapper deals out to the ranks without overlap, and a resumed run redraws the same epochs."""

    def __init__(self, labels: torch.Tensor, num_classes: int, seed: int, num_samples: int | None = None):
        counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).double()
        self.weights = (1.0 / counts)[labels]
        self.num_samples = num_samples if num_samples is not None else len(labels)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.multinomial(self.weights, self.num_samples, replacement=True, generator=generator).tolist())


def balanced_sampler(labels: torch.Tensor, num_classes: int, seed: int) -> BalancedSampler:
    return BalancedSampler(labels, num_classes, seed)


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
        cache_dir: str | Path | None = None,
        resize: str = "squash",
        samples_per_epoch: int | None = None,
        store: str = "cache",
        shard_format: str = "png",
        shard_quality: int = 95,
        shard_mb: int = 1024,
        sound: bool = True,
        cues: dict[str, str] | None = None,
    ):
        super().__init__()
        self.sound = sound  # False: sound inputs hear silence (evaluate.sound)
        self.cues = dict(cues or {})  # batch name -> manifest image column, in training batches only
        self.stimuli = read_stimulus_set(stimuli)
        self.classes = self.stimuli.classes
        self.kind, self.condition = kind, condition
        self.batch_size, self.balanced, self.num_workers, self.seed = batch_size, balanced, num_workers, seed
        self.samples_per_epoch = samples_per_epoch  # fixed, so an epoch is the same work at any frames per clip
        self.cache = FrameCache(self.stimuli, image_size, cache_dir, resize)
        inputs = model_inputs(kind, condition)
        self.columns = [c for n, c in inputs.items() if c is not None and n not in SOUND_INPUTS]  # image inputs
        columns = self.columns + list(self.cues.values())
        n_frames = len(self.stimuli.split("train")) + len(self.stimuli.split("val"))
        self.store = choose_store(store, n_frames, len(columns), image_size)  # train/store.py
        self.shards = ShardStore(self.cache, load_image, shard_format, shard_quality, shard_mb)

    def frames_of(self, split: str, column: str):
        """One split x column from the chosen store; empty splits come from the cache (an empty array)."""
        if self.store == "cache" or not self.cache.paths(split, column):
            return self.cache.frames(split, column)
        if self.store == "shards":
            return self.shards.frames(split, column)
        return FileFrames(self.cache.paths(split, column), self.cache.size, self.cache.resize, load_image)

    def prepare_data(self) -> None:
        """Lightning calls this on one process per node before the others start: build the caches there once."""
        if self.store not in ("cache", "shards"):
            return
        store = self.cache if self.store == "cache" else self.shards
        for column in self.columns + list(self.cues.values()):
            store.build("train", column)
        for column in self.columns:
            store.build("val", column)

    def dataset(self, split: str, condition: str | None = None, cues: bool = False) -> StimulusDataset:
        """A split seen as `condition` (default: the training condition); `cues`: with the training targets too."""
        return StimulusDataset(
            self.cache, split, self.kind, condition or self.condition, self.frames_of, self.sound,
            self.cues if cues else None,
        )  # fmt: skip

    def _loader(self, dataset: StimulusDataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            collate_fn=collate,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        data = self.dataset("train", cues=True)
        if len(data) == 0:
            raise BodySceneError(f"{self.stimuli.root}: the train split is empty; prepare a set with training clips")
        if self.balanced:
            sampler = BalancedSampler(data.labels, len(self.classes), self.seed, self.samples_per_epoch)
            return self._loader(data, sampler=sampler)
        generator = torch.Generator().manual_seed(self.seed)
        if self.samples_per_epoch is not None:  # permutations end to end, then cut: each item once before repeats
            sampler = RandomSampler(data, num_samples=self.samples_per_epoch, generator=generator)
            return self._loader(data, sampler=sampler)
        return self._loader(data, shuffle=True, generator=generator)

    def val_dataloader(self) -> DataLoader | list:
        data = self.dataset("val")  # (the training targets are for the training loss only)
        return self._loader(data, shuffle=False) if len(data) else []

    def loader(self, split: str, condition: str) -> DataLoader:
        return self._loader(self.dataset(split, condition), shuffle=False)

    def swap_rows(self, split: str) -> list[dict[str, str]]:
        """The split's stimuli that have a swap image (prepare.swap), in manifest order."""
        return [r for r in self.stimuli.split(split) if r.get("swap")]

    def swap_loader(self, split: str) -> DataLoader:
        """The swap stimuli of a split (only rows that have one), in `swap_rows` order."""
        view = dataclasses.replace(self.stimuli, rows=[r for r in self.stimuli.rows if r.get("swap")])
        cache = FrameCache(view, self.cache.size, self.cache.dir, self.cache.resize)
        frames_of = cache.frames
        if self.store == "files":

            def frames_of(split: str, column: str) -> FileFrames:
                return FileFrames(cache.paths(split, column), cache.size, cache.resize, load_image)

        return self._loader(StimulusDataset(cache, split, self.kind, "swap", frames_of, self.sound), shuffle=False)
