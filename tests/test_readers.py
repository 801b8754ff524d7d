"""Data-set readers: HAA500 as released (its 16/1/3 split by clip number), folders per class, mmaction2 lists."""

from collections import Counter
from pathlib import Path

import pytest

from bodyscene.data.readers import read_clips, read_folders, read_haa500
from bodyscene.errors import BodySceneError

ACTIONS = ["archery", "backflip", "yoga_tree"]  # names with underscores, as in HAA500


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")  # readers only list files; nothing is decoded


@pytest.fixture
def haa500(tmp_path) -> Path:
    root = tmp_path / "haa500_v1_1"
    for action in ACTIONS:
        for n in range(20):
            touch(root / "video" / action / f"{action}_{n:03d}.mp4")
    return root


def test_haa500_official_split(haa500):
    classes, clips = read_haa500(haa500)
    assert classes == ACTIONS
    assert len(clips) == 60
    for action in ACTIONS:
        mine = {c.clip_id: c.split for c in clips if c.class_name == action}
        assert Counter(mine.values()) == {"train": 16, "val": 1, "test": 3}
        assert mine[f"{action}_015"] == "train" and mine[f"{action}_016"] == "val"
        assert {k for k, v in mine.items() if v == "test"} == {f"{action}_{n:03d}" for n in (17, 18, 19)}
    assert {c.label for c in clips if c.class_name == "yoga_tree"} == {2}


def test_haa500_flat_folder_and_class_subset(tmp_path):
    for action in ACTIONS:
        for n in range(20):
            touch(tmp_path / f"{action}_{n:03d}.mp4")
    classes, clips = read_clips(tmp_path, "haa500", classes=["yoga_tree", "archery"])
    assert classes == ["yoga_tree", "archery"]
    assert {(c.class_name, c.label) for c in clips} == {("yoga_tree", 0), ("archery", 1)}
    assert len(clips) == 40


def test_haa500_errors(haa500, tmp_path):
    with pytest.raises(BodySceneError, match="no class swimming"):
        read_haa500(haa500, ["swimming"])
    touch(haa500 / "video" / "archery" / "archery_020.mp4")
    with pytest.raises(BodySceneError, match="archery_020.mp4: clip number 20"):
        read_haa500(haa500)
    with pytest.raises(BodySceneError, match="no <action>"):
        read_haa500(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def folders(tmp_path: Path, per_class: int = 10) -> Path:
    root = tmp_path / "data"
    for name in ("jump", "run"):
        for i in range(per_class):
            touch(root / name / f"{name}{i}.avi")
    return root


def test_folders_seeded_split_is_reproducible(tmp_path):
    root = folders(tmp_path)
    classes, a = read_folders(root, seed=3, val_fraction=0.1, test_fraction=0.3)
    _, b = read_folders(root, seed=3, val_fraction=0.1, test_fraction=0.3)
    _, c = read_folders(root, seed=4, val_fraction=0.1, test_fraction=0.3)
    assert classes == ["jump", "run"]
    assert [(x.clip_id, x.split) for x in a] == [(x.clip_id, x.split) for x in b]
    assert [(x.clip_id, x.split) for x in a] != [(x.clip_id, x.split) for x in c]
    for name in classes:
        assert Counter(x.split for x in a if x.class_name == name) == {"train": 6, "val": 1, "test": 3}


def test_folders_split_file(tmp_path):
    root = folders(tmp_path, per_class=3)
    split_file = tmp_path / "split.csv"
    split_file.write_text("path,split\njump/jump0.avi,train\nrun/run2.avi,test\n")
    _, clips = read_folders(root, split_file=split_file)
    assert [(c.rel, c.split, c.label) for c in clips] == [("jump/jump0.avi", "train", 0), ("run/run2.avi", "test", 1)]
    split_file.write_text("path,split\njump/jump0.avi,holdout\n")
    with pytest.raises(BodySceneError, match=r"split.csv:2: split 'holdout'"):
        read_folders(root, split_file=split_file)


def test_list_layout_subset_relabels(tmp_path):
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "train.txt").write_text("videos/a/x.mp4 0\nvideos/c/y.mp4 2\nvideos/b/z.mp4 1\n")
    classes, clips = read_clips(tmp_path, "list", classes=["c"])
    assert classes == ["c"] and [(c.clip_id, c.label) for c in clips] == [("y", 0)]
    with pytest.raises(BodySceneError, match="unknown layout"):
        read_clips(tmp_path, "kinetics")
