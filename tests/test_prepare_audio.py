"""`prepare --audio`: one spectrogram per clip, clips without usable sound recorded (never fatal), bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bodyscene.config import MelConfig, PrepareConfig
from bodyscene.data.video import read_frames, write_video
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv, read_json
from bodyscene.stimuli.make import prepare
from bodyscene.stimuli.sound import mel_centres, spectrogram_shape


def test_each_clip_gets_one_spectrogram_shared_by_its_rows(sound_stimuli):
    rows = read_csv(sound_stimuli / "manifest.csv")
    assert "audio" in rows[0] and all(r["audio"] == f"audio/{r['split']}/{r['class']}/{r['clip_id']}.npy" for r in rows)
    spec = np.load(sound_stimuli / rows[0]["audio"])
    assert spec.shape == spectrogram_shape(MelConfig()) and spec.dtype == np.float32
    info = read_json(sound_stimuli / "stimuli.json")["audio"]
    assert info == {"clips": len({r["clip_id"] for r in rows}), "silent_clips": 0, "shape": list(spec.shape)}
    # the fixture's class tone (400 * 1.5^label Hz) is the loudest band
    for r in rows[:: max(1, len(rows) // 6)]:
        freq = 400 * 1.5 ** int(r["label"])
        peak = np.load(sound_stimuli / r["audio"]).mean(1).argmax()
        assert peak == int(np.argmin(np.abs(mel_centres(MelConfig()) - freq)))


def test_a_clip_without_audio_and_a_silent_one_are_recorded_and_keep_their_frames(sound_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sound_data, data)
    mute, silent = data / "videos/wave/wave_train_000.mp4", data / "videos/jump/jump_test_001.mp4"
    for path, audio in ((mute, None), (silent, np.zeros(8000, np.float32))):
        frames = read_frames(path)
        write_video(path, [frames[i] for i in sorted(frames)], audio=audio)
    out = tmp_path / "stim"
    summary = prepare(data, out, PrepareConfig(audio=True))
    skipped = {r["clip_id"]: r for r in read_csv(out / "skipped.csv")}
    assert "no audio stream" in skipped["wave_train_000"]["reason"] and skipped["wave_train_000"]["frame_index"] == ""
    assert "silent audio track (digital silence" in skipped["jump_test_001"]["reason"]
    rows = {r["clip_id"]: r for r in read_csv(out / "manifest.csv")}
    assert rows["wave_train_000"]["audio"] == "" and rows["jump_test_001"]["audio"] == ""  # frames kept, no sound
    assert all(r["audio"] for c, r in rows.items() if c not in skipped)
    assert summary["audio"]["silent_clips"] == 2 and summary["stimuli"] == len(rows)
    assert not (out / "audio/train/wave/wave_train_000.npy").exists()


def test_audio_on_a_data_set_without_any_sound_exits_2_with_one_line(run_cli, tiny_data, tmp_path):
    out = tmp_path / "stim"
    code, err = run_cli("prepare", "--data", tiny_data, "--out", out, "--audio")
    assert code == 2, err
    assert "--audio, but none of the 28 clips has a usable soundtrack (28 x 'no audio stream" in err
    assert len(read_csv(out / "skipped.csv")) == 28  # the files that explain it are written
    assert read_csv(out / "manifest.csv")[0]["audio"] == ""


def test_mel_settings_that_cannot_work_stop_before_any_clip(sound_data, tmp_path):
    with pytest.raises(BodySceneError, match="fmax 9000 Hz is above half the sample rate"):
        prepare(sound_data, tmp_path / "a", PrepareConfig(audio=True, mel=MelConfig(fmax=9000)))
    with pytest.raises(BodySceneError, match="shorter than n_fft=4096"):
        prepare(sound_data, tmp_path / "b", PrepareConfig(audio=True, mel=MelConfig(seconds=0.1, n_fft=4096)))
    assert not (tmp_path / "a" / "manifest.csv").exists()


def test_folders_made_before_the_audio_options_existed_still_resume(tiny_data, tiny_stimuli, tmp_path):
    import json

    import yaml

    from bodyscene.config import ModelConfig, RunConfig, SynthConfig, TrainConfig
    from bodyscene.demo import make_data
    from bodyscene.train.run import same_recipe

    stim = tmp_path / "stim"
    shutil.copytree(tiny_stimuli, stim)
    meta = json.loads((stim / "stimuli.json").read_text())
    for key in ("audio", "mel"):  # as an older version wrote it
        del meta["settings"]["prepare"][key]
    (stim / "stimuli.json").write_text(json.dumps(meta))
    assert prepare(tiny_data, stim, PrepareConfig(frames_per_clip=2))["stimuli"] > 0
    with pytest.raises(BodySceneError, match="other settings"):  # a real change is still refused
        prepare(tiny_data, stim, PrepareConfig(frames_per_clip=3))
    data = tmp_path / "data"
    data.mkdir()
    old = {k: v for k, v in SynthConfig().model_dump(mode="json").items() if not k.startswith(("audio", "test_audio"))}
    (data / "synth.json").write_text(json.dumps({"config": old}))
    make_data(RunConfig(), data)  # accepted: nothing generated, nothing refused
    assert not (data / "videos").exists()
    saved = tmp_path / "config.yaml"
    model = ModelConfig().model_dump(mode="json")
    del model["loss_weights"]["audio"]
    saved.write_text(yaml.safe_dump({"model": model, "train": TrainConfig().model_dump(mode="json")}))
    assert same_recipe(saved, ModelConfig(), TrainConfig())
    assert not same_recipe(saved, ModelConfig(kind="baseline"), TrainConfig())
