"""Progress in a log file (plain lines at a bounded interval), loggers, and what training writes how often."""

from __future__ import annotations

import io
import re

import pytest
import torch

from bodyscene.config import ModelConfig, TrainConfig
from bodyscene.errors import BodySceneError
from bodyscene.progress import PlainProgress, plain_wanted, progress_line, track
from bodyscene.train import checkpoint as checkpoint_module
from bodyscene.train.run import train_model

LINE = re.compile(r"^(?P<label>.+): (?:.*, )?(?P<n>\d+)/(?P<total>\d+) \w+ \(\d+%\), [\d.]+ \w+/s, .+ elapsed, ETA .+$")


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_come_at_most_once_per_interval_with_count_rate_and_eta():
    clock, out = FakeClock(), io.StringIO()
    bar = PlainProgress("prepare", 1000, "clips", interval=30, stream=out, clock=clock)
    for _ in range(1000):  # 1000 clips over 100 simulated seconds
        clock.t += 0.1
        bar.update()
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 100 // 30 + 1  # one per 30 s, then the end
    assert all(LINE.match(line) for line in lines), lines
    assert lines[-1].startswith("prepare: 1000/1000 clips (100%), 10.00 clips/s") and lines[-1].endswith("ETA 0 s")
    first = LINE.match(lines[0])
    assert 299 <= int(first["n"]) <= 301 and "ETA 1 min 10 s" in lines[0]  # 300 done at 10/s: 700 left = 70 s


def test_progress_line_with_nothing_done_has_no_eta():
    assert progress_line("train x", 0, 10, "steps", 0.0).endswith("ETA ?")


def test_track_prints_plain_lines_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("BODYSCENE_PROGRESS", raising=False)
    assert plain_wanted(io.StringIO())
    assert list(track(range(3), 3, "synth", unit="clips")) == [0, 1, 2]
    err = capsys.readouterr().err.splitlines()
    assert err == [err[-1]] and err[-1].startswith("synth: 3/3 clips (100%)")  # fast: only the closing line


def test_the_environment_forces_one_kind(monkeypatch):
    monkeypatch.setenv("BODYSCENE_PROGRESS", "rich")
    assert not plain_wanted(io.StringIO())
    monkeypatch.setenv("BODYSCENE_PROGRESS", "plain")
    assert plain_wanted()


@pytest.mark.slow
def test_training_logs_progress_tensorboard_and_checkpoints_at_its_cadence(tiny_stimuli, tmp_path, monkeypatch, capfd):
    saves: list[tuple[str, int, bool]] = []
    save = checkpoint_module.AtomicCheckpointIO.save_checkpoint

    def recording_save(self, checkpoint, path, storage_options=None):
        saves.append((str(path).rsplit("/", 1)[-1], checkpoint["epoch"], "optimizer_states" in checkpoint))
        save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(checkpoint_module.AtomicCheckpointIO, "save_checkpoint", recording_save)
    monkeypatch.setenv("BODYSCENE_PROGRESS", "plain")
    monkeypatch.setenv("BODYSCENE_PROGRESS_INTERVAL", "0")
    train = TrainConfig(
        epochs=3, batch_size=16, image_size=32, accelerator="cpu", checkpoint_every=2, loggers=["csv", "tensorboard"]
    )
    out = train_model(tiny_stimuli, tmp_path / "run", ModelConfig(kind="baseline", backbone="resnet18"), train)

    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("train baseline:")]
    assert lines and all(LINE.match(line) for line in lines), lines
    total = int(LINE.match(lines[0])["total"])
    assert lines[0].startswith("train baseline: epoch 1/3, ") and " 1/" in lines[0]
    assert f"{total}/{total} steps" in lines[-1]
    assert any("epoch 3/3" in line and "train/loss" in line for line in lines)

    assert [epoch for name, epoch, _ in saves if name == "last.ckpt"] == [1, 2]  # every 2nd epoch and the final one
    assert all(full == (name == "last.ckpt") for name, _, full in saves)  # best.ckpt: weights only
    best = torch.load(out / "checkpoints" / "best.ckpt", weights_only=True)
    assert "optimizer_states" not in best and best["state_dict"]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "metrics.csv").read_text().count("\n") > 3


def test_loggers_must_keep_csv(tiny_stimuli, tmp_path):
    train = TrainConfig(epochs=1, batch_size=16, image_size=32, accelerator="cpu", loggers=["tensorboard"])
    with pytest.raises(BodySceneError, match="keep csv"):
        train_model(tiny_stimuli, tmp_path / "run", ModelConfig(kind="baseline", backbone="resnet18"), train)
