"""Soundtracks: PyAV reading any layout and rate, the log-mel spectrogram (stimuli/sound.py) against its definition."""

from __future__ import annotations

import av
import numpy as np
import pytest

from bodyscene.config import MelConfig
from bodyscene.data.audio import read_audio
from bodyscene.data.video import read_frames, write_video
from bodyscene.errors import BodySceneError
from bodyscene.stimuli.sound import (
    FLOOR_DB,
    clip_spectrogram,
    fit_window,
    hz_to_mel,
    log_mel,
    mel_centres,
    mel_filterbank,
    spectrogram_shape,
)

FRAMES = [np.full((32, 32, 3), 90, np.uint8)] * 8


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)).astype(np.float32)


def write_track(path, samples: np.ndarray, rate: int, layout: str = "mono", codec: str = "pcm_s16le", fmt="wav"):
    """An audio-only file of `samples` (1-D; repeated on every channel of `layout`) in any codec PyAV writes."""
    channels = {"mono": 1, "stereo": 2}[layout]
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = layout
        planar = np.repeat(samples[None], channels, 0).astype(np.float32)
        size = 1024
        for start in range(0, planar.shape[1], size):
            chunk = planar[:, start : start + size]
            if codec == "pcm_s16le":
                data = np.ascontiguousarray((chunk * 32767).astype(np.int16).T.reshape(1, -1))
                frame = av.AudioFrame.from_ndarray(data, format="s16", layout=layout)
            else:
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_the_htk_mel_scale_and_the_filterbank_follow_their_definition():
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.05)  # HTK's scale is anchored so that 1 kHz ~ 1000 mel
    cfg = MelConfig()
    fb = mel_filterbank(cfg)
    assert fb.shape == (cfg.n_fft // 2 + 1, cfg.n_mels) and fb.min() >= 0 and fb.max() <= 1
    centres = mel_centres(cfg)
    assert np.all(np.diff(hz_to_mel(centres)) == pytest.approx(np.diff(hz_to_mel(centres))[0]))  # equal in mel
    freqs = np.linspace(0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    assert np.all(np.abs(freqs[fb.argmax(0)] - centres) <= cfg.sample_rate / cfg.n_fft)  # peaks within a bin
    # neighbouring triangles share their edges: between the first and the last centre the weights sum to 1
    inside = (freqs >= centres[0]) & (freqs <= centres[-1])
    assert fb[inside].sum(1) == pytest.approx(np.ones(inside.sum()))
    assert fb[freqs > cfg.sample_rate / 2 - 1e-9].sum() == pytest.approx(0)  # fmax is the last band's upper edge


def test_a_1khz_tone_written_with_pyav_peaks_in_the_band_centred_nearest_1khz(tmp_path):
    cfg = MelConfig()
    path = write_video(tmp_path / "tone.mp4", FRAMES, fps=8, audio=tone(1000, 16000), sample_rate=16000)
    spec = clip_spectrogram(path, cfg)
    assert spec.shape == spectrogram_shape(cfg) == (64, 101) and spec.dtype == np.float32
    expected = int(np.argmin(np.abs(mel_centres(cfg) - 1000)))
    assert np.bincount(spec.argmax(0)).argmax() == expected  # the commonest per-frame peak
    assert spec.mean(1).argmax() == expected
    # a 0.5-amplitude sine holds power 0.0625 (-12 dB) in its bins; AAC keeps it within a dB or so
    assert -16 < spec[expected].mean() < -9
    # the frames still decode as before (the soundtrack is a second stream)
    assert len(read_frames(path)) == 8


@pytest.mark.parametrize("freq", [300.0, 2500.0])
def test_other_tones_move_the_peak_to_their_own_band(freq):
    cfg = MelConfig()
    spec = log_mel(tone(freq, cfg.sample_rate), cfg)
    assert spec.mean(1).argmax() == int(np.argmin(np.abs(mel_centres(cfg) - freq)))


def test_stereo_44k_and_mono_8k_tracks_come_out_as_the_same_shape_and_tone(tmp_path):
    cfg = MelConfig(fmax=4000)  # both tracks hold 0..4 kHz
    stereo = write_track(tmp_path / "stereo.wav", tone(1000, 44100), 44100, "stereo")
    mono = write_track(tmp_path / "mono.wav", tone(1000, 8000), 8000, "mono")
    webm = write_track(tmp_path / "opus.webm", tone(1000, 48000), 48000, "stereo", "libopus", "webm")
    specs = [clip_spectrogram(p, cfg) for p in (stereo, mono, webm)]
    assert {s.shape for s in specs} == {spectrogram_shape(cfg)}
    expected = int(np.argmin(np.abs(mel_centres(cfg) - 1000)))
    assert [s.mean(1).argmax() for s in specs] == [expected] * 3
    samples = read_audio(stereo, 16000)
    assert samples.ndim == 1 and abs(len(samples) - 16000) < 400  # 1 s at the target rate, one channel


def test_a_video_without_sound_and_a_silent_track_are_one_line_each(tmp_path):
    cfg = MelConfig()
    mute = write_video(tmp_path / "mute.mp4", FRAMES, fps=8)
    with pytest.raises(BodySceneError, match=r"mute\.mp4: no audio stream") as e:
        clip_spectrogram(mute, cfg)
    assert "\n" not in str(e.value)
    silent = write_video(tmp_path / "silent.mp4", FRAMES, fps=8, audio=np.zeros(16000, np.float32))
    with pytest.raises(BodySceneError, match=r"silent\.mp4: silent audio track"):
        clip_spectrogram(silent, cfg)
    hum = write_track(tmp_path / "hum.wav", tone(100, 16000, amplitude=0.0005), 16000)  # -69 dB RMS
    with pytest.raises(BodySceneError, match="RMS -69 dB"):
        clip_spectrogram(hum, cfg)
    assert clip_spectrogram(hum, MelConfig(silence_db=-80)).max() > FLOOR_DB  # a lower threshold keeps it


def test_the_window_is_centred_and_padded_with_silence():
    x = np.arange(10, dtype=np.float32)
    assert fit_window(x, 1, 4).tolist() == [3, 4, 5, 6]
    assert fit_window(x, 1, 4, centre_s=1).tolist() == [0, 0, 1, 2]
    assert fit_window(x, 1, 14).tolist() == [0, 0] + list(range(10)) + [0, 0]
