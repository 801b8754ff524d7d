"""train.store: tar shards of encoded frames (and the files themselves) give the cache's images and draws."""

import shutil
import tarfile
import warnings

import numpy as np
import pytest
import torch

from bodyscene.errors import BodySceneError
from bodyscene.stimuli.images import jpeg_luma_rms_bound
from bodyscene.train.datamodule import StimulusDataModule
from bodyscene.train.store import ShardFrames, choose_store


@pytest.fixture
def stimuli(tiny_stimuli, tmp_path):
    return shutil.copytree(tiny_stimuli, tmp_path / "stimuli", ignore=shutil.ignore_patterns("cache"))


def module(stimuli, store, **kw):
    return StimulusDataModule(stimuli, kind="domainnet", image_size=32, batch_size=4, store=store, **kw)


def everything(dm, split, column):
    frames = dm.frames_of(split, column)
    return frames.read(np.arange(len(frames)))


@pytest.mark.parametrize("store", ["shards", "files"])
def test_the_store_yields_exactly_the_cache_images(stimuli, store):
    cache, other = module(stimuli, "cache"), module(stimuli, store, shard_mb=1)
    cache.prepare_data()
    other.prepare_data()
    for split in ("train", "val"):
        for column in ("body", "background"):
            a, b = everything(cache, split, column), everything(other, split, column)
            assert a.shape == b.shape and a.shape[0] > 0 and np.array_equal(a, b)


def test_shards_are_webdataset_tars_and_the_balanced_draws_are_the_caches(stimuli):
    cache, shards = module(stimuli, "cache"), module(stimuli, "shards", shard_mb=1, num_workers=2)
    cache.prepare_data()
    shards.prepare_data()
    index = shards.shards.index_file("train", "body")
    tars = sorted(index.parent.glob(index.stem + "-*.tar"))
    assert len(tars) >= 1
    with tarfile.open(tars[0]) as tar:  # <key>.<column>.<ext>: what webdataset groups into samples
        names = tar.getnames()
    assert names[0] == "000000000.body.png" and all(n.endswith(".body.png") for n in names)
    for epoch in (0, 1):
        a, b = cache.train_dataloader(), shards.train_dataloader()  # decoded in 2 worker processes
        a.sampler.set_epoch(epoch)
        b.sampler.set_epoch(epoch)
        drawn_a, drawn_b = list(a), list(b)
        assert len(drawn_a) == len(drawn_b) > 0
        for x, y in zip(drawn_a, drawn_b, strict=True):
            assert all(torch.equal(x[k], y[k]) for k in ("index", "label", "body", "background"))


def test_a_truncated_shard_is_named_in_one_line_and_rebuilt(stimuli):
    dm = module(stimuli, "shards")
    dm.prepare_data()
    index = dm.shards.index_file("train", "body")
    frames = ShardFrames(index)
    expected = everything(dm, "train", "body")
    shard = index.parent / frames.shards[-1]
    with open(shard, "r+b") as f:  # as a kill during a copy would leave it
        f.truncate(shard.stat().st_size // 2)
    with pytest.raises(BodySceneError, match="shard truncated") as err:
        frames.read(np.arange(len(frames)))
    assert "\n" not in str(err.value) and "rebuild" in str(err.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module(stimuli, "shards").prepare_data()
    assert any("cut short" in str(w.message) and shard.name in str(w.message) for w in caught)
    assert np.array_equal(everything(module(stimuli, "shards"), "train", "body"), expected)


def test_jpeg_shards_stay_within_the_quality_bound(stimuli):
    cache, jpg = module(stimuli, "cache"), module(stimuli, "shards", shard_format="jpg", shard_quality=90)
    a = everything(cache, "train", "body").astype(np.float64)
    b = everything(jpg, "train", "body").astype(np.float64)
    luma = np.array([0.299, 0.587, 0.114])[None, :, None, None]
    rms = np.sqrt(np.mean(((a - b) * luma).sum(axis=1) ** 2))
    assert 0 < rms <= jpeg_luma_rms_bound(90)


def test_auto_picks_the_cache_while_it_fits_in_memory():
    assert choose_store("auto", 1000, 2, 224) == "cache"
    assert choose_store("auto", 10**9, 3, 224) == "shards"
    assert choose_store("files", 10**9, 3, 224) == "files"
    with pytest.raises(BodySceneError, match="train.store"):
        choose_store("lmdb", 1, 1, 32)


def test_a_resume_may_change_the_store_but_not_to_lossy_shards(tmp_path):
    from bodyscene.config import ModelConfig, TrainConfig, dump_config
    from bodyscene.train.run import _Saved, same_recipe

    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(_Saved(model=ModelConfig(), train=TrainConfig(store="cache"))))
    assert same_recipe(saved, ModelConfig(), TrainConfig(store="shards", shard_mb=8))
    assert not same_recipe(saved, ModelConfig(), TrainConfig(store="shards", shard_format="jpg"))
