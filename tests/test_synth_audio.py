"""`synth --audio`: class sound events timed to the figure's movement, the correlation dial, scene ambience."""

from __future__ import annotations

import numpy as np
import pytest

from bodyscene.config import MelConfig, SynthConfig
from bodyscene.data import synth
from bodyscene.data.audio import read_audio
from bodyscene.data.synth_audio import class_pitch, movement_events, soundtrack
from bodyscene.data.video import read_frames
from bodyscene.files import read_csv, read_json
from bodyscene.stimuli.sound import log_mel, mel_centres

TINY = dict(classes=3, scene_types=2, train_clips=2, val_clips=0, test_clips=1, frames=8, size=32)


def test_sound_events_are_timed_by_the_draws_that_move_the_figure(monkeypatch):
    seen = []
    real = synth.sample_movement

    def spy(rng):
        seen.append(real(rng))
        return seen[-1]

    monkeypatch.setattr(synth, "sample_movement", spy)
    cfg = SynthConfig(**TINY, audio=True)
    synth.make_clip(cfg, "train", 1, 0)
    synth.make_clip_sound(cfg, "train", 1, 0)
    assert len(seen) == 2 and seen[0] == seen[1]  # the sound replays the picture's speed and phase
    speed, phase0 = seen[0]
    events = movement_events(phase0, speed, cfg.frames, cfg.fps)
    phases = phase0 + 2 * np.pi * speed * events * cfg.fps / cfg.frames
    assert len(events) >= 1 and np.allclose(np.sin(phases), 0, atol=1e-9)  # the swing's middle
    assert np.all((events >= 0) & (events < cfg.frames / cfg.fps))


def test_events_sit_at_their_times_over_a_quieter_ambience():
    rate = 16000
    wave = soundtrack(4, 0, np.array([0.2, 0.7]), 1.0, rate, np.random.default_rng(0))
    loud = np.abs(wave) > 0.15  # the ambience's RMS is 0.03: it rarely reaches 0.15
    onsets = np.flatnonzero(loud)
    assert onsets.min() / rate == pytest.approx(0.2, abs=0.03)
    assert np.any(np.abs(onsets / rate - 0.7) < 0.03)
    assert not loud[int(0.35 * rate) : int(0.65 * rate)].any()  # nothing between the events but ambience


@pytest.mark.parametrize("cls", [0, 7, 19])
def test_each_class_sounds_at_its_own_pitch(cls):
    cfg = MelConfig()
    wave = soundtrack(cls, 0, np.array([0.1, 0.4, 0.7]), 1.0, cfg.sample_rate, np.random.default_rng(cls))
    spec = log_mel(wave, cfg)
    loudest = spec.max(1).argmax()
    assert abs(np.log2(mel_centres(cfg)[loudest] / class_pitch(cls))) < 0.35  # within a third of an octave


def test_the_correlation_dial_says_whose_sound_a_clip_makes():
    def own(corr):
        cfg = SynthConfig(**{**TINY, "classes": 5}, audio=True, audio_correlation=corr)
        return [synth.make_clip_sound(cfg, "train", c, i)[0] == c for c in range(5) for i in range(8)]

    assert all(own(1.0)) and not any(own(0.0))
    assert 0.3 < np.mean(own(0.5)) < 0.7


def test_synth_audio_writes_a_soundtrack_per_clip_and_the_same_frames(tmp_path):
    cfg = SynthConfig(**TINY, audio=True, audio_correlation=0.5)
    summary = synth.generate(cfg, tmp_path / "a")
    synth.generate(cfg, tmp_path / "b")
    synth.generate(SynthConfig(**TINY), tmp_path / "mute")
    rows = read_csv(tmp_path / "a" / "clips.csv")
    assert {"sound_class", "class_sound"} <= set(rows[0]) and "class_sound_rate" in summary
    assert read_json(tmp_path / "a" / "synth.json")["class_sound_rate"]["train"] == summary["class_sound_rate"]["train"]
    rel = "videos/wave/wave_train_000.mp4"
    sound = read_audio(tmp_path / "a" / rel, cfg.audio_rate)
    assert abs(len(sound) - cfg.audio_rate * cfg.frames / cfg.fps) < 1100  # 1 s (+ the AAC frame's padding)
    assert np.array_equal(sound, read_audio(tmp_path / "b" / rel, cfg.audio_rate))  # deterministic by seed
    with_sound, without = read_frames(tmp_path / "a" / rel), read_frames(tmp_path / "mute" / rel)
    assert all(np.array_equal(with_sound[i], without[i]) for i in without)  # the picture is untouched
