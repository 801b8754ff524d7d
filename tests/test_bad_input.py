"""Bad input: one line naming the file and the fix, exit status 2; a bad item among many is skipped and recorded.

Kinds covered elsewhere (not repeated here): a frame with no person and an undecodable video
(tests/test_prepare.py), malformed YAML and an unknown key given with --set (tests/test_cli.py), a weights file that
is not a state dict or is for another architecture (tests/test_models.py), a humans CSV with missing columns or
unknown stimulus ids (tests/test_humans_responses.py), malicious checkpoints and YAML tags
(tests/test_safe_loading.py).
"""

from __future__ import annotations

import csv
import errno
import os
import shutil
import sys
import tracemalloc

import cv2
import numpy as np
import pytest
import torch

from bodyscene import files
from bodyscene.cli import main
from bodyscene.config import PrepareConfig
from bodyscene.data.video import write_video
from bodyscene.errors import BodySceneError
from bodyscene.stimuli.make import MIN_FRAME_PX, as_rgb, make_stimuli, prepare
from bodyscene.stimuli.manifest import read_stimulus_set
from bodyscene.stimuli.masks import dilate_mask
from helpers_seg import write_audio_only


def skipped_rows(stim) -> list[dict[str, str]]:
    with open(stim / "skipped.csv", newline="") as f:
        return list(csv.DictReader(f))


# --- frames: grayscale, RGBA, tiny, huge ---


def _person_frame(h: int = 64, w: int = 64):
    frame = np.full((h, w, 3), (40, 120, 200), np.uint8)
    mask = np.zeros((h, w), bool)
    mask[h // 4 : 3 * h // 4, w // 3 : w // 2] = True
    frame[mask] = (230, 60, 40)
    return frame, mask


def test_grayscale_and_rgba_frames_become_rgb_with_the_same_stimuli():
    rgb, mask = _person_frame()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    cfg = PrepareConfig()
    expected = make_stimuli(rgb, mask, cfg)
    from_rgba = make_stimuli(rgba, mask, cfg)
    for condition, image in expected.items():
        assert (from_rgba[condition] == image).all()  # alpha dropped, colours untouched
    for frame in (gray, gray[..., None]):
        out = make_stimuli(frame, mask, cfg)
        assert out["original"].shape == (64, 64, 3)
        assert (out["original"] == gray[..., None]).all()  # grey repeated in the three channels
        assert (out["body"][~mask] == 0).all()
        region = dilate_mask(mask, cfg.dilation, cfg.margin_px)
        assert (out["background"][~region] == out["original"][~region]).all()


def test_frames_that_are_not_8bit_images_get_one_line():
    with pytest.raises(BodySceneError, match=r"clip.mp4 frame 3: float32 pixels; convert .* to 8-bit"):
        as_rgb(np.zeros((64, 64, 3), np.float32), "clip.mp4 frame 3")
    with pytest.raises(BodySceneError, match=r"shape \(64, 64, 2\) is not an image"):
        as_rgb(np.zeros((64, 64, 2), np.uint8))
    frame, mask = _person_frame()
    with pytest.raises(BodySceneError, match=r"mask is \(32, 32\) but the frame is \(64, 64\)"):
        make_stimuli(frame, mask[:32, :32], PrepareConfig())


@pytest.mark.parametrize("shape", [(31, 200), (200, 16, 3), (8, 8)])
def test_tiny_frames_are_refused_with_their_size(shape):
    with pytest.raises(BodySceneError, match=rf"below {MIN_FRAME_PX} px; use a larger video"):
        as_rgb(np.zeros(shape, np.uint8), "x.mp4 frame 0")


def test_a_tiny_clip_among_many_is_skipped_with_its_reason_and_the_rest_is_prepared(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    small = np.full((24, 24, 3), 128, np.uint8)
    write_video(data / "videos" / "kick" / "kick_test_000.mp4", [small] * 4)
    out = tmp_path / "stim"
    prepare(data, out, PrepareConfig())
    skipped = skipped_rows(out)
    assert [s["clip_id"] for s in skipped] == ["kick_test_000"]
    assert "kick_test_000.mp4 frame 2: frame is 24x24 px, below 32 px" in skipped[0]["reason"]
    assert len(read_stimulus_set(out).split("test")) == 7  # the other 7 test clips are there


def test_an_8k_frame_is_handled_with_memory_a_small_multiple_of_the_frame():
    h, w = 4320, 7680
    frame = np.full((h, w, 3), (40, 120, 200), np.uint8)
    mask = np.zeros((h, w), bool)
    mask[1500:2900, 3500:4100] = True  # a person
    mask[1000:1010, 2000:2010] = True  # and a speck elsewhere: a second region
    frame[mask] = (230, 60, 40)
    tracemalloc.start()
    try:
        out = make_stimuli(frame, mask, PrepareConfig())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * frame.nbytes, f"peak {peak / 1e6:.0f} MB for a {frame.nbytes / 1e6:.0f} MB frame"
    assert (out["body"][~mask] == 0).all() and (out["body"][mask] == frame[mask]).all()
    region = dilate_mask(mask, 1.2, 2)
    assert (out["background"][~region] == frame[~region]).all()
    body_left = np.abs(out["background"][mask].astype(int) - (230, 60, 40)).max(axis=1)
    assert body_left.min() > 50  # no pixel of the red body is left


# --- configs ---


def test_an_unknown_or_misspelt_key_in_a_yaml_file_names_the_file_and_key(run_cli, tmp_path, monkeypatch, capsys):
    config = tmp_path / "my.yaml"
    config.write_text("train:\n  epochs: 2\n  learning_rate: 0.1\n")
    code, err = run_cli("synth", "--out", tmp_path / "s", "--config", config, one_line=True)
    assert code == 2 and f"{config}: unknown key 'train.learning_rate'; remove it or check the spelling" in err
    config.write_text("train:\n  epochs: many\n")
    code, err = run_cli("synth", "--out", tmp_path / "s", "--config", config, one_line=True)
    assert code == 2 and f"{config}: 'train.epochs'" in err and "'many'" in err
    config.write_text("- train\n- prepare\n")
    code, err = run_cli("synth", "--out", tmp_path / "s", "--config", config, one_line=True)
    assert code == 2 and f"{config}: top level must be a mapping" in err


# --- a trained checkpoint for another architecture ---


def test_a_checkpoint_for_another_architecture_is_one_line(run_cli, tmp_path, monkeypatch, capsys, tiny_stimuli):
    import json

    from bodyscene.config import ModelConfig, TrainConfig
    from bodyscene.train.module import ActionModule

    classes = read_stimulus_set(tiny_stimuli).classes
    cfg = {"model": ModelConfig(kind="baseline", backbone="resnet18").model_dump(mode="json")}
    cfg["train"] = TrainConfig(image_size=32).model_dump(mode="json")
    other = ActionModule({**cfg["model"], "backbone": "resnet34"}, cfg["train"], classes)
    model_dir = tmp_path / "run" / "baseline"
    ckpt = model_dir / "checkpoints" / "best.ckpt"
    ckpt.parent.mkdir(parents=True)
    # hyper-parameters say resnet18, the weights are resnet34's
    torch.save({"epoch": 0, "hyper_parameters": {**cfg, "classes": classes}, "state_dict": other.state_dict()}, ckpt)
    info = {"name": "baseline", "kind": "baseline", "classes": classes, "stimuli": str(tiny_stimuli), "image_size": 32}
    (model_dir / "model.json").write_text(json.dumps(info))
    code, err = run_cli("evaluate", "--run", tmp_path / "run", one_line=True)
    assert code == 2
    assert f"{ckpt}: not a bodyscene checkpoint (RuntimeError: Error(s) in loading state_dict" in err
    assert "retrain the model" in err


# --- where outputs go: not writable, disk full ---


def test_an_output_folder_that_cannot_be_created_names_it(
    run_cli, tmp_path, monkeypatch, capsys, tiny_data, tiny_stimuli
):
    """Root ignores chmod, so the folder is made impossible another way: its parent is a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, err = run_cli("prepare", "--data", tiny_data, "--out", blocker / "stim", one_line=True)
    assert code == 2 and f"{blocker / 'stim'}: cannot write here" in err and "choose a writable --out" in err
    code, err = run_cli("synth", "--out", blocker / "data", "--classes", "2", one_line=True)
    assert code == 2 and f"{blocker / 'data'}" in err and "Not a directory; check the path" in err
    args = ["--model", "baseline", "--backbone", "resnet18", "--image-size", "32"]
    code, err = run_cli("train", "--stimuli", tiny_stimuli, "--run", blocker / "run", *args, one_line=True)
    assert code == 2 and f"{blocker / 'run' / 'baseline'}: cannot write here" in err


def test_outputs_get_the_mode_open_would_give_not_mkstemps_0600(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = files.write_json(tmp_path / "results.json", {"a": 1})
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # 0644 under the usual umask 022
    assert 0o666 & ~umask == files._NEW_FILE_MODE


def _fail_fsync_after(monkeypatch, n_ok: int) -> None:
    """os.fsync succeeds n_ok times, then fails as a full disk does (ENOSPC)."""
    real, calls = os.fsync, {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > n_ok:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)


def test_a_full_disk_leaves_the_previous_file_intact_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    files.write_json(path, {"accuracy": 0.5})
    before = path.read_bytes()
    _fail_fsync_after(monkeypatch, 0)
    with pytest.raises(BodySceneError, match=r"results.json: write failed \(No space left on device\); free space"):
        files.write_json(path, {"accuracy": 0.9})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_prepare_on_a_full_disk_stops_with_one_line_keeps_finished_clips_and_resumes(
    run_cli, tiny_data, tiny_stimuli, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "stim"
    _fail_fsync_after(monkeypatch, 40)  # stimuli.json, then about 8 clips of 4 images and a record each
    code, err = run_cli("prepare", "--data", tiny_data, "--out", out, "--frames-per-clip", "2", one_line=True)
    assert code == 2 and "write failed (No space left on device)" in err
    done = sorted(p.name for p in (out / ".progress").glob("*.json"))
    assert 0 < len(done) < 28 and not (out / "manifest.csv").exists()
    records = {name: (out / ".progress" / name).read_bytes() for name in done}
    monkeypatch.undo()  # space is free again: the rerun does the rest
    prepare(tiny_data, out, PrepareConfig(frames_per_clip=2))
    assert all((out / ".progress" / name).read_bytes() == data for name, data in records.items())
    assert (out / "manifest.csv").read_bytes() == (tiny_stimuli / "manifest.csv").read_bytes()
    assert not list(out.rglob("*.tmp"))  # a temp left by a writer thread racing the failure is cleaned up


# --- videos and lists (after the seg branch: data/video.py, data/readers.py; unit tests in test_video.py) ---


def _zero_length(path):
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        container.start_encoding()


def test_broken_videos_among_many_are_skipped_recorded_and_the_run_goes_on(tiny_data, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    videos = data / "videos"
    (videos / "wave" / "wave_test_000.mp4").write_bytes(b"")  # empty file
    whole = (videos / "jump" / "jump_test_000.mp4").read_bytes()
    (videos / "jump" / "jump_test_000.mp4").write_bytes(whole[: len(whole) // 3])  # truncated
    write_audio_only(videos / "squat" / "squat_test_000.mp4")  # no video stream
    _zero_length(videos / "kick" / "kick_test_000.mp4")  # zero-length clip
    out = tmp_path / "stim"
    monkeypatch.setattr(sys, "argv", ["bodyscene", "prepare", "--data", str(data), "--out", str(out)])
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), capsys.readouterr().err
    errors = {r["clip_id"]: r["reason"] for r in files.read_csv(out / "errors.csv")}
    assert set(errors) == {"wave_test_000", "jump_test_000", "squat_test_000", "kick_test_000"}
    assert "wave_test_000.mp4: empty file" in errors["wave_test_000"]
    assert "squat_test_000.mp4: no video stream" in errors["squat_test_000"]
    assert "kick_test_000.mp4: " in errors["kick_test_000"]
    assert all("\n" not in r and ";" in r for r in errors.values())  # one line each, with the fix
    assert {r["clip_id"] for r in skipped_rows(out)} >= set(errors)
    stim = read_stimulus_set(out)
    assert len(stim.split("test")) == 4 and len(stim.split("train")) == 16  # every other clip is there


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "videos/wave/wave_train_000.mp4 0",
            "splits/test.txt:9: clip 'wave_train_000' listed twice (also in train.txt)",
        ),
        ("videos/dance/dance_000.mp4 7", "splits/test.txt:9: label 7 is not a class index 0..3 of classes.txt"),
        ("videos/dance/dance_000.mp4 dance", "splits/test.txt:9: expected 'relative/path label'"),
    ],
)
def test_list_mistakes_stop_before_any_work_with_file_and_line(
    run_cli, tiny_data, tmp_path, monkeypatch, capsys, line, expected
):
    """A bad annotation line is fatal, not skipped: caught in a second, before hours of work, and a skipped line
    would silently change the data set."""
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    with open(data / "splits" / "test.txt", "a") as f:
        f.write(line + "\n")
    code, err = run_cli("prepare", "--data", data, "--out", tmp_path / "stim", one_line=True)
    assert code == 2 and expected in err
    assert not (tmp_path / "stim").exists()


def test_a_class_folder_with_no_clips_is_named(run_cli, tmp_path, monkeypatch, capsys):
    root = tmp_path / "folders"
    frames = [np.full((64, 64, 3), 100, np.uint8)] * 4
    for name in ("run", "walk"):
        for i in range(3):
            write_video(root / name / f"{name}_{i}.mp4", frames)
    (root / "swim").mkdir()  # a download that never arrived
    args = ["prepare", "--data", root, "--out", tmp_path / "stim", "--layout", "folders", "--segmenter", "mediapipe"]
    code, err = run_cli(*args, one_line=True)
    assert code == 2 and f"{root / 'swim'}: class folder with no videos; add its clips, remove it" in err
    from bodyscene.data.readers import read_folders

    classes, clips = read_folders(root, classes=["run", "walk"])  # choosing the classes leaves it out
    assert classes == ["run", "walk"] and len(clips) == 6
