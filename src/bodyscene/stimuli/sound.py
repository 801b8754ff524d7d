"""A clip's soundtrack as a log-mel spectrogram: the audio stream's input (`prepare.audio`, `kind: domainnet-audio`).

Pipeline (settings: `prepare.mel`, MelConfig):
1. decode the clip's first audio stream with PyAV, downmixed to mono and resampled to `sample_rate`
   (data/audio.py; any layout and rate in);
2. a window of `seconds` centred on the middle of the clip's video (the sound that goes with the frames), cropped
   or padded with silence (zeros) at either end, so every spectrogram of a stimulus set has one shape;
3. power STFT: periodic Hann window of `n_fft`, hop `hop`, frames centred with reflect padding (torch.stft's
   `center=True`), |X|^2 divided by (sum of the window)^2, so a full-scale sine reads 0.25 (-6 dB) in its bin;
4. mel filterbank: the HTK mel scale m = 2595 log10(1 + f / 700) (Young et al., The HTK Book), `n_mels`
   triangles with peak 1 whose centres are equally spaced in mel between `fmin` and `fmax`: torchaudio's
   `melscale_fbanks(..., norm=None, mel_scale="htk")`, i.e. torchaudio's MelSpectrogram defaults;
5. 10 log10(max(power, 1e-10)): decibels re full scale, floored at FLOOR_DB (-100 dB), which is also what silence
   is (`silence`), stored as float32 [n_mels, frames] in a .npy (lossless).

Numpy, not a library: torchaudio needs its own matching torch build (not installable beside the one here) and
librosa pulls numba, scipy, soundfile and more for what is 30 lines; the filterbank is tested against its
definition (tests/test_audio.py: a 1 kHz tone peaks in the band whose centre is nearest 1 kHz).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from bodyscene.config import MelConfig
from bodyscene.data.audio import read_audio
from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes
from bodyscene.schema import SILENCE_DB

FLOOR_DB = SILENCE_DB  # the log's floor: 10 log10(1e-10); silence, and what a silenced audio input is


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def _band_edges(cfg: MelConfig) -> np.ndarray:
    """n_mels + 2 frequencies (Hz) equally spaced in mel: band k rises from edge k, peaks at k+1, falls to k+2."""
    fmax = cfg.fmax if cfg.fmax is not None else cfg.sample_rate / 2
    return mel_to_hz(np.linspace(hz_to_mel(cfg.fmin), hz_to_mel(fmax), cfg.n_mels + 2))


def mel_centres(cfg: MelConfig) -> np.ndarray:
    """Each mel band's centre frequency (Hz), where its triangle peaks."""
    return _band_edges(cfg)[1:-1]


def mel_filterbank(cfg: MelConfig) -> np.ndarray:
    """[n_fft // 2 + 1, n_mels] triangular weights of each FFT bin in each band (peak 1, no area norm)."""
    freqs = np.linspace(0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    edges = _band_edges(cfg)
    width = np.diff(edges)
    slopes = edges[None, :] - freqs[:, None]  # [bins, n_mels + 2]
    down = -slopes[:, :-2] / width[:-1]
    up = slopes[:, 2:] / width[1:]
    return np.maximum(0.0, np.minimum(down, up))


def check_mel(cfg: MelConfig, source: str = "prepare.mel") -> None:
    """One line for settings that cannot make a spectrogram."""
    nyquist = cfg.sample_rate / 2
    fmax = cfg.fmax if cfg.fmax is not None else nyquist
    if fmax > nyquist:
        raise BodySceneError(f"{source}: fmax {fmax:g} Hz is above half the sample rate ({nyquist:g}); lower it")
    if cfg.fmin >= fmax:
        raise BodySceneError(f"{source}: fmin {cfg.fmin:g} Hz must be below fmax {fmax:g} Hz")
    if window_samples(cfg) <= cfg.n_fft:
        raise BodySceneError(f"{source}: a {cfg.seconds:g} s window is shorter than n_fft={cfg.n_fft}; lengthen it")


def window_samples(cfg: MelConfig) -> int:
    return round(cfg.seconds * cfg.sample_rate)


def spectrogram_shape(cfg: MelConfig) -> tuple[int, int]:
    """(n_mels, frames) of every spectrogram made with `cfg` (frames centred: 1 + samples // hop)."""
    return cfg.n_mels, 1 + window_samples(cfg) // cfg.hop


def silence(cfg: MelConfig) -> np.ndarray:
    """The spectrogram of silence: FLOOR_DB everywhere."""
    return np.full(spectrogram_shape(cfg), FLOOR_DB, np.float32)


def fit_window(samples: np.ndarray, rate: int, seconds: float, centre_s: float | None = None) -> np.ndarray:
    """`seconds` of `samples` centred at `centre_s` (default: the track's middle), zeros where the track has none."""
    n = round(seconds * rate)
    centre = len(samples) / 2 if centre_s is None else centre_s * rate
    start = int(round(centre)) - n // 2
    out = np.zeros(n, np.float32)
    lo, hi = max(start, 0), min(start + n, len(samples))
    if hi > lo:
        out[lo - start : hi - start] = samples[lo:hi]
    return out


def rms_db(samples: np.ndarray) -> float:
    """Root mean square level in dB re full scale (a full-scale sine: -3 dB); -inf for all zeros."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(rms) if rms > 0 else -np.inf


def power_spectrogram(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """[n_fft // 2 + 1, frames] |STFT|^2 / (sum of the window)^2, frames centred (reflect padding)."""
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann, as torch.hann_window's default
    padded = np.pad(samples.astype(np.float64), n_fft // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    spectrum = np.fft.rfft(frames * window, axis=1)
    return (np.abs(spectrum) ** 2 / window.sum() ** 2).T


def log_mel(samples: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """float32 [n_mels, frames]: the log-mel spectrogram (dB re full scale, floored at FLOOR_DB) of mono samples
    at `cfg.sample_rate`."""
    mel = mel_filterbank(cfg).T @ power_spectrogram(samples, cfg.n_fft, cfg.hop)
    return (10 * np.log10(np.maximum(mel, 10 ** (FLOOR_DB / 10)))).astype(np.float32)


def clip_spectrogram(path: str | Path, cfg: MelConfig, centre_s: float | None = None) -> np.ndarray:
    """The log-mel spectrogram of a clip's soundtrack over the window `cfg` says, centred at `centre_s` seconds
    (the middle of its video; None: of its audio). No audio stream, an undecodable one, or a silent track (RMS
    below `cfg.silence_db`) is a BodySceneError naming the file, which prepare records."""
    samples = read_audio(path, cfg.sample_rate)
    level = rms_db(samples)
    if level < cfg.silence_db:
        shown = "digital silence" if np.isinf(level) else f"RMS {level:.0f} dB"
        raise BodySceneError(
            f"{path}: silent audio track ({shown}, below prepare.mel.silence_db={cfg.silence_db:g}); "
            "its clips are heard as silence"
        )
    return log_mel(fit_window(samples, cfg.sample_rate, cfg.seconds, centre_s), cfg)


def write_spectrogram(path: Path, spectrogram: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(spectrogram, np.float32))
    atomic_write_bytes(path, buf.getvalue())


def read_spectrogram(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A spectrogram written by prepare, checked against the stimulus set's shape."""
    try:
        spec = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise BodySceneError(f"{path}: missing or unreadable spectrogram; rerun `bodyscene prepare --audio`") from e
    if spec.shape != tuple(shape):
        raise BodySceneError(f"{path}: spectrogram of shape {spec.shape}, the set's is {tuple(shape)}; rerun prepare")
    return spec.astype(np.float32, copy=False)
