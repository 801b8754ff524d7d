"""Where training frames come from when the uint8 cache is too big: tar shards of encoded frames, or the files.

`train.store`:
  cache   one memory-mapped N x 3 x S x S uint8 .npy per split x column (datamodule.FrameCache): no decoding at
          all while training, but 150 KB a frame at 224 px: ~110 GB per column for HAA500's ~750k frames.
  shards  the frames resized to S once and encoded (PNG, lossless, or JPEG at `shard_quality`), packed in tar
          files of ~`shard_mb` MB: ~15-50 KB a frame. Decoded in the DataLoader workers, so it scales with
          `num_workers`.
  files   the stimulus files themselves, decoded and resized at every read (no extra disk; slowest).
  auto    cache when the training inputs' cache fits in a quarter of this machine's memory, else shards.

Why tar: a tar written by Python's `tarfile` (POSIX ustar, stdlib) is the WebDataset format (members
`<key>.<column>.png` grouped by key), readable by `webdataset`, `tar` and every language, and appendable in one
sequential write. We do not stream it as WebDataset does: exact class-balanced sampling, a bit-identical resume
and disjoint DDP ranks all come from the index samplers in datamodule.py, so each shard has an index (the byte
offset and length of every member) and a worker reads a member with one `os.pread`, random access at the cost of
one small read; the page cache and read-ahead serve the rest. The index is written last, atomically: a shard set
without its index is an unfinished build and is rebuilt; a shard shorter than its index says (a kill or a copy cut
short) is named in one line and rebuilt.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_text, commit, temp_beside
from bodyscene.stimuli.images import decode_image, encode_image

STORES = ("auto", "cache", "shards", "files")
SHARD_VERSION = 1
AUTO_MEMORY_SHARE = 0.25  # auto: cache while the cache fits in this share of the machine's memory


def memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def choose_store(store: str, n_frames: int, n_columns: int, size: int) -> str:
    """`auto` as cache or shards by the size the cache would have; other choices as given."""
    if store not in STORES:
        raise BodySceneError(f"train.store={store!r}; choose one of {', '.join(STORES)}")
    if store != "auto":
        return store
    cache_bytes = n_frames * n_columns * 3 * size * size
    return "cache" if cache_bytes <= AUTO_MEMORY_SHARE * memory_bytes() else "shards"


class FileFrames:
    """The stimulus files, decoded and resized at each read (`load`: datamodule.load_image)."""

    def __init__(self, paths: list[Path], size: int, resize: str, load):
        self.paths, self.size, self.resize, self.load = paths, size, resize, load

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, idx: np.ndarray) -> np.ndarray:
        out = np.empty((len(idx), 3, self.size, self.size), np.uint8)
        for j, i in enumerate(idx):
            out[j] = self.load(self.paths[i], self.size, self.resize).transpose(2, 0, 1)
        return out


class ShardFrames:
    """One split x column read from its shards: index arrays in memory, shard files opened lazily per process
    (a DataLoader worker opens its own descriptors; pickling carries only the index)."""

    def __init__(self, index_file: Path):
        index = json.loads(index_file.read_text())
        self.index_file, self.dir = index_file, index_file.parent
        self.size = int(index["size"])
        self.shards: list[str] = index["shards"]
        self.shard_bytes: list[int] = index["shard_bytes"]
        member = np.asarray(index["members"], dtype=np.int64).reshape(-1, 3)  # shard, offset, length
        self.shard_of, self.offset, self.length = member[:, 0], member[:, 1], member[:, 2]
        self._fds: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.offset)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_fds"} | {"_fds": {}}

    def check(self) -> str | None:
        """None when every shard has the length its index says, else one line naming the first that has not."""
        for name, expected in zip(self.shards, self.shard_bytes, strict=True):
            path = self.dir / name
            actual = path.stat().st_size if path.is_file() else -1
            if actual != expected:
                got = "missing" if actual < 0 else f"{actual} of {expected} bytes"
                return f"{path}: shard {got} (cut short by a kill or a copy)"
        return None

    def _fd(self, shard: int) -> int:
        if shard not in self._fds:
            self._fds[shard] = os.open(self.dir / self.shards[shard], os.O_RDONLY)
        return self._fds[shard]

    def read_bytes(self, i: int) -> bytes:
        shard, offset, length = int(self.shard_of[i]), int(self.offset[i]), int(self.length[i])
        data = os.pread(self._fd(shard), length, offset)
        if len(data) != length:
            raise BodySceneError(
                f"{self.dir / self.shards[shard]}: shard truncated (member {i} ends past the file); "
                f"delete {self.index_file.name} and rerun to rebuild the shards"
            )
        return data

    def read(self, idx: np.ndarray) -> np.ndarray:
        out = np.empty((len(idx), 3, self.size, self.size), np.uint8)
        for j, i in enumerate(idx):
            source = f"{self.dir / self.shards[int(self.shard_of[i])]} member {int(i)}"
            out[j] = decode_image(self.read_bytes(int(i)), source).transpose(2, 0, 1)
        return out


def build_shards(
    paths: list[Path],
    index_file: Path,
    size: int,
    resize: str,
    load,
    image_format: str = "png",
    quality: int = 95,
    shard_mb: int = 1024,
    column: str = "image",
    threads: int | None = None,
) -> Path:
    """Resize each image to size x size, encode it, and append it to tar shards next to `index_file`
    (`<stem>-00000.tar`, ...); the index, written last and atomically, marks the set complete. `load(path, size,
    resize)` gives the resized RGB frame (datamodule.load_image: the cache's own decoding, so PNG shards equal it)."""

    stem, folder = index_file.name.removesuffix(".json"), index_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"png": "png", "jpg": "jpg"}.get(image_format)
    if ext is None:
        raise BodySceneError(f"train.shard_format={image_format!r}; choose png or jpg")
    limit = shard_mb << 20
    shards, shard_bytes, members = [], [], []

    def encoded(path: Path) -> bytes:
        rgb = load(path, size, resize)
        return encode_image(rgb, image_format, quality)

    tar, tmp = None, None

    def close_shard() -> None:
        tar.close()  # (writes the end-of-archive blocks)
        shard_bytes.append(commit(tmp, folder / shards[-1]).stat().st_size)

    threads = threads or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(threads) as pool:  # OpenCV decodes and encodes without the GIL
        for i, data in enumerate(pool.map(encoded, paths)):
            if tar is None or tar.offset + len(data) > limit:
                if tar is not None:
                    close_shard()
                shards.append(f"{stem}-{len(shards):05d}.tar")
                tmp = temp_beside(folder / shards[-1])
                tar = tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115 - closed in close_shard
            info = tarfile.TarInfo(f"{i:09d}.{column}.{ext}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            # (addfile copies the TarInfo, so the data's offset is computed: this header's length past the end)
            start = tar.offset + len(info.tobuf(tarfile.USTAR_FORMAT, tar.encoding, tar.errors))
            tar.addfile(info, io.BytesIO(data))
            members.append((len(shards) - 1, start, len(data)))
    if tar is not None:
        close_shard()
    index = {
        "version": SHARD_VERSION, "size": size, "resize": resize, "format": image_format, "quality": quality,
        "shards": shards, "shard_bytes": shard_bytes, "members": [v for m in members for v in m],
    }  # fmt: skip
    atomic_write_text(index_file, json.dumps(index))
    return index_file


class ShardStore:
    """Shards for each (split, column) of a stimulus set, named after the frame cache's key (the sources' digest,
    size and resize) plus the encoding, in `cache_dir` (default STIM/cache)."""

    def __init__(self, cache, load, image_format: str = "png", quality: int = 95, shard_mb: int = 1024):
        self.cache, self.load, self.image_format, self.quality, self.shard_mb = (
            cache,
            load,
            image_format,
            quality,
            shard_mb,
        )
        self._frames: dict[tuple[str, str], ShardFrames] = {}

    def index_file(self, split: str, column: str) -> Path:
        key = self.cache.file(split, column).stem
        enc = self.image_format if self.image_format == "png" else f"{self.image_format}{self.quality}"
        return self.cache.dir / "shards" / f"{key}-{enc}.json"

    def build(self, split: str, column: str) -> Path | None:
        paths = self.cache.paths(split, column)
        if not paths:
            return None
        index = self.index_file(split, column)
        if index.is_file():
            problem = ShardFrames(index).check()
            if problem is None:
                return index
            warnings.warn(f"{problem}; rebuilding the {split}/{column} shards", stacklevel=2)
            index.unlink()
        stem = index.name.removesuffix(".json")
        for stale in [*index.parent.glob(f"{stem}-*.tar"), *index.parent.glob(f".{stem}-*.tar.*.tmp")]:
            stale.unlink(missing_ok=True)  # an unfinished build's shards (no index: never read)
        return build_shards(
            paths, index, self.cache.size, self.cache.resize, self.load, self.image_format, self.quality,
            self.shard_mb, column,
        )  # fmt: skip

    def frames(self, split: str, column: str) -> ShardFrames:
        key = (split, column)
        if key not in self._frames:
            index = self.build(split, column)
            if index is None:
                raise BodySceneError(f"{self.cache.stimuli.root}: the {split} split is empty")
            self._frames[key] = ShardFrames(index)
        return self._frames[key]
