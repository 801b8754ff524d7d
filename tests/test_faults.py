"""kill -9 in the middle of `prepare` and `train`, rerun, and compare with a run that was never interrupted.

The kills are real: the CLI runs as a subprocess (`python -m bodyscene`) and gets SIGKILL at a point chosen by
polling its output folder (a seeded number of finished clips; the first epoch's checkpoint and metrics), never by
sleeping a fixed time.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
import torch

SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"}


def bodyscene(*args: object) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bodyscene", *map(str, args)]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, err


def kill_when(proc: subprocess.Popen, condition: Callable[[], bool], timeout: float = 1200) -> bool:
    """SIGKILL `proc` as soon as `condition()` holds; False if it finished first (then there was nothing to kill)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.002)  # polling interval of a condition, not a wait for something to happen
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def files_and_pixels(root: Path) -> dict[str, str]:
    """Every file under root (hidden progress records included) -> hash of its content (PNG: of its pixels)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        if path.suffix == ".png":
            out[rel] = hashlib.sha256(cv2.imread(str(path), cv2.IMREAD_UNCHANGED).tobytes()).hexdigest()
        elif path.name != "stimuli.json":  # holds the absolute data path; compared through its counts below
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def reference_prepare(tiny_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prepare-ref") / "stim"
    finish(bodyscene("prepare", "--data", tiny_data, "--out", out, "--frames-per-clip", "2"))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prepare_killed_at_random_points_then_rerun_equals_an_uninterrupted_run(
    tiny_data, reference_prepare, tmp_path, seed
):
    out = tmp_path / "stim"
    n_clips = len(list((reference_prepare / ".progress").glob("*.json")))
    rng = random.Random(seed)
    kills = sorted(rng.sample(range(1, n_clips), 2))  # two kills per run, after this many finished clips
    for done in kills:
        proc = bodyscene("prepare", "--data", tiny_data, "--out", out, "--frames-per-clip", "2")
        killed = kill_when(proc, lambda done=done: len(list((out / ".progress").glob("*.json"))) >= done)
        assert killed, "prepare finished before the kill point; the data set is too small for this test"
        assert not (out / "manifest.csv").exists()  # the manifest is written only at the end
    finish(bodyscene("prepare", "--data", tiny_data, "--out", out, "--frames-per-clip", "2"))

    assert (out / "manifest.csv").read_bytes() == (reference_prepare / "manifest.csv").read_bytes()
    assert files_and_pixels(out) == files_and_pixels(reference_prepare)  # same files, same pixels, nothing extra
    assert not [p for p in out.rglob("*.tmp")]
    import json

    summary = {k: v for k, v in json.loads((out / "stimuli.json").read_text()).items() if k != "settings"}
    assert summary == {
        k: v for k, v in json.loads((reference_prepare / "stimuli.json").read_text()).items() if k != "settings"
    }


def test_prepare_rerun_removes_the_temp_file_a_kill_left_mid_write(tiny_data, reference_prepare, tmp_path):
    import shutil

    out = tmp_path / "stim"
    shutil.copytree(reference_prepare, out)
    first = sorted((out / ".progress").glob("*.json"))[0]
    first.unlink()  # this clip was in flight ...
    stale = out / "original" / "train" / "wave" / ".wave_train_000_f0001.png.k9x2.tmp"
    stale.write_bytes(b"\x89PNG half")  # ... and the kill came in the middle of writing one of its images
    (out / "manifest.csv").unlink()
    finish(bodyscene("prepare", "--data", tiny_data, "--out", out, "--frames-per-clip", "2"))
    assert not stale.exists()
    assert files_and_pixels(out) == files_and_pixels(reference_prepare)


TRAIN = ["--model", "baseline", "--backbone", "resnet18", "--image-size", "32", "--batch-size", "8", "--epochs", "2"]
DETERMINISTIC = ["--set", "train.deterministic=true", "--set", "train.accelerator=cpu", "--seed", "3"]


def _epoch0_done(model_dir: Path) -> bool:
    """last.ckpt of epoch 0 is on disk and so is epoch 0's training-metrics row: we are inside epoch 1."""
    metrics = model_dir / "metrics.csv"
    if not (model_dir / "checkpoints" / "last.ckpt").is_file() or not metrics.is_file():
        return False
    with metrics.open(newline="") as f:
        return any(r["epoch"] == "0" and r.get("train/loss") for r in csv.DictReader(f))


@pytest.mark.slow
def test_train_killed_mid_epoch_then_resumed_equals_an_uninterrupted_run(tiny_stimuli, tmp_path):
    reference, killed = tmp_path / "ref", tmp_path / "killed"
    finish(bodyscene("train", "--stimuli", tiny_stimuli, "--run", reference, *TRAIN, *DETERMINISTIC))

    proc = bodyscene("train", "--stimuli", tiny_stimuli, "--run", killed, *TRAIN, *DETERMINISTIC)
    assert kill_when(proc, lambda: _epoch0_done(killed / "baseline")), "training ended before the kill"
    last = killed / "baseline" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0  # killed during epoch 1, before its checkpoint
    finish(bodyscene("train", "--stimuli", tiny_stimuli, "--run", killed, *TRAIN, *DETERMINISTIC, "--resume"))

    for name in ("last.ckpt", "best.ckpt"):
        a = torch.load(reference / "baseline" / "checkpoints" / name, weights_only=True)
        b = torch.load(killed / "baseline" / "checkpoints" / name, weights_only=True)
        assert a["epoch"] == b["epoch"] and a["global_step"] == b["global_step"]
        assert a["state_dict"].keys() == b["state_dict"].keys()
        for key, value in a["state_dict"].items():
            assert torch.equal(value, b["state_dict"][key]), f"{name}: {key} differs after resume"
        if name == "best.ckpt":  # weights only: evaluate reads nothing else, resume reads last.ckpt
            assert "optimizer_states" not in a and "optimizer_states" not in b
            continue
        states_a, states_b = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
        assert states_a.keys() == states_b.keys()
        for k in states_a:
            assert torch.equal(states_a[k]["momentum_buffer"], states_b[k]["momentum_buffer"])
    # every epoch's metrics, once each, with the same numbers
    assert (killed / "baseline" / "metrics.csv").read_text() == (reference / "baseline" / "metrics.csv").read_text()
    assert not list((killed / "baseline").rglob("*.tmp"))


def test_a_resumed_metrics_log_keeps_the_checkpointed_epochs_and_drops_the_cut_short_one(tmp_path):
    """Unit check of the rule the kill test relies on, at the one place where timing decides what is on disk:
    the killed run flushed epoch 1's validation row, but died before epoch 1's checkpoint."""
    from bodyscene.train.metrics_log import ResumableCSVLogger

    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "metrics.csv").write_text(
        "epoch,step,train/loss,val/acc\n0,3,,0.25\n0,3,1.2,\n1,7,,0.5\n"  # the last row: epoch 1, cut short
    )
    logger = ResumableCSVLogger(tmp_path, "baseline", keep_through_epoch=0)
    logger.log_metrics({"epoch": 1, "val/acc": 0.75}, step=7)
    logger.log_metrics({"epoch": 1, "train/loss": 0.9}, step=7)
    assert (folder / "metrics.csv").read_text() == (
        "epoch,step,train/loss,val/acc\n0,3,,0.25\n0,3,1.2,\n1,7,,0.75\n1,7,0.9,\n"
    )
    fresh = ResumableCSVLogger(tmp_path, "baseline")  # not resuming: a new run starts a new file
    fresh.log_metrics({"epoch": 0, "val/acc": 0.5}, step=3)
    assert (folder / "metrics.csv").read_text() == "epoch,step,val/acc\n0,3,0.5\n"
