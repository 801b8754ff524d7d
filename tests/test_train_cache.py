"""The on-disk frame cache: decoded once, memory-mapped, keyed by size and sources, atomic, shared by workers."""

import os
import pickle
import shutil

import cv2
import numpy as np
import pytest
import torch

from bodyscene.train import datamodule
from bodyscene.train.datamodule import StimulusDataModule, load_image


@pytest.fixture
def stimuli(tiny_stimuli, tmp_path):
    """A private copy: these tests rewrite images and fill STIM/cache."""
    return shutil.copytree(tiny_stimuli, tmp_path / "stimuli", ignore=shutil.ignore_patterns("cache"))


def cache_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_each_split_and_column_is_decoded_once_into_one_memory_mapped_npy(stimuli):
    dm = StimulusDataModule(stimuli, kind="domainnet", image_size=32)
    dm.prepare_data()
    names = cache_files(stimuli / "cache")
    assert [n.rsplit("-", 1)[0] for n in names] == [
        "train-background-32px", "train-body-32px", "val-background-32px", "val-body-32px",
    ]  # fmt: skip
    rows = dm.stimuli.split("train")
    arr = np.load(dm.cache.file("train", "body"), mmap_mode="r")
    assert isinstance(arr, np.memmap) and arr.shape == (len(rows), 3, 32, 32) and arr.dtype == np.uint8
    for i, row in enumerate(rows):  # exactly what decoding the PNG gives, channels first
        assert np.array_equal(arr[i], load_image(stimuli / row["body"], 32).transpose(2, 0, 1))


def test_a_second_run_reuses_the_cache_without_decoding(stimuli, monkeypatch):
    StimulusDataModule(stimuli, kind="baseline", image_size=32).prepare_data()
    before = {p: p.stat().st_mtime_ns for p in (stimuli / "cache").iterdir()}

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache exists")

    monkeypatch.setattr(datamodule, "load_image", no_decoding)
    dm = StimulusDataModule(stimuli, kind="baseline", image_size=32)
    dm.prepare_data()
    batch = dm.dataset("train").__getitems__([0, 1])
    assert batch["image"].shape == (2, 3, 32, 32)
    assert {p: p.stat().st_mtime_ns for p in (stimuli / "cache").iterdir()} == before


def test_the_cache_is_keyed_by_image_size_and_by_the_source_files(stimuli):
    dm32 = StimulusDataModule(stimuli, kind="baseline", image_size=32)
    dm24 = StimulusDataModule(stimuli, kind="baseline", image_size=24)
    assert dm24.dataset("train").__getitems__([0])["image"].shape == (1, 3, 24, 24)
    old = dm32.cache.build("train", "original")
    assert old.is_file() and dm24.cache.file("train", "original").is_file()  # both sizes kept side by side

    row = dm32.stimuli.split("train")[0]
    path = stimuli / row["original"]
    cv2.imwrite(str(path), np.full((64, 64, 3), 200, np.uint8))  # `prepare` rerun: new content, new mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    new = dm32.cache.build("train", "original")
    assert new != old and not old.exists()  # rebuilt; the stale file removed
    assert (np.load(new)[0] == 200).all()


def test_an_interrupted_build_leaves_neither_a_cache_nor_a_temp_file(stimuli, monkeypatch):
    calls = []

    def fail_on_third(path, size, **options):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return load_image(path, size, **options)

    monkeypatch.setattr(datamodule, "load_image", fail_on_third)
    with pytest.raises(KeyboardInterrupt):
        StimulusDataModule(stimuli, kind="baseline", image_size=32).prepare_data()
    assert cache_files(stimuli / "cache") == []


def test_a_read_only_cache_location_falls_back_to_memory(stimuli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="not writable"):
        ds = StimulusDataModule(stimuli, kind="baseline", image_size=32, cache_dir=blocker / "cache").dataset("val")
    reference = StimulusDataModule(stimuli, kind="baseline", image_size=32).dataset("val")
    assert torch.equal(ds.__getitems__([0, 1])["image"], reference.__getitems__([0, 1])["image"])


def test_a_batch_read_equals_the_items_and_black_frames_stand_for_a_missing_stream(stimuli):
    ds = StimulusDataModule(stimuli, kind="domainnet", image_size=32).dataset("train", "body")
    batch = ds.__getitems__([3, 0, 3])
    for name in ("body", "background", "label", "index"):
        assert torch.equal(batch[name], torch.stack([ds[i][name] for i in (3, 0, 3)]))
    assert batch["background"].sum() == 0 and batch["body"].sum() > 0
    assert batch["index"].tolist() == [3, 0, 3]


def test_workers_map_the_file_instead_of_receiving_a_copy(stimuli):
    dm = StimulusDataModule(stimuli, kind="domainnet", image_size=32, batch_size=4, num_workers=2)
    dm.prepare_data()
    ds = dm.dataset("train")
    ds.__getitems__([0])  # opens the maps in this process
    frames_bytes = sum(f.array.nbytes for f in ds.inputs.values())
    assert len(pickle.dumps(ds)) < frames_bytes / 4  # what a worker receives: paths, not pixels
    serial = list(
        StimulusDataModule(stimuli, kind="domainnet", image_size=32, batch_size=4).loader("train", "original")
    )
    parallel = list(dm.loader("train", "original"))
    assert len(serial) == len(parallel) == len(ds) // 4
    for a, b in zip(serial, parallel, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_cache_is_written_by_files_atomic_write_with_the_mode_open_gives(stimuli):
    """Through files.temp_beside/commit: readable by the group a shared cache serves (not mkstemp's 0600)."""
    from bodyscene.files import _NEW_FILE_MODE

    dm = StimulusDataModule(stimuli, kind="baseline", image_size=32)
    dm.prepare_data()
    path = dm.cache.file("train", "original")
    assert path.is_file() and (path.stat().st_mode & 0o777) == _NEW_FILE_MODE
    assert not list((stimuli / "cache").glob(".*.tmp"))  # no temp file left behind
