"""The embedded benchmark's soundtracks (`synth.audio`): class sound events timed to the movement, over ambience.

Each clip's sound has two parts, built like its picture:
- *events*, the body's sound: a short chirp each time the figure's movement passes the middle of its swing (its
  phase crosses a multiple of pi: 1-3 times a clip at the benchmark's 0.6-1.4 cycles per clip). The chirp says
  the class: class c's pitch is 250 * 16^(c / 19) Hz (250 Hz to 4 kHz, 2.6 semitones apart over the 20 classes),
  gliding up by 15% for even classes and down for odd ones, with a second partial for classes c % 4 in (2, 3).
  With probability `audio_correlation` the events are the clip's own class's, else a uniformly random other
  class's (the dial that `scene_correlation` is for the scene);
- *ambience*, the scene's sound: noise whose spectrum is a bump one octave wide (Gaussian in log frequency) at
  200 * 25^(k / 19) Hz for scene type k, so the ambience says what the scene says (and is as class-linked).
Per clip: pitch +-3%, event length 60-100 ms, level and ambience level jittered. Every draw comes from the clip's
audio stream, SeedSequence([seed, split, class, index, 1]), apart from the picture's, so `synth --audio`
writes the same frames as `synth`.
"""

from __future__ import annotations

import numpy as np

N_SOUNDS = 20  # one sound per class of the benchmark (CLASS_NAMES)
GLIDE = 1.15
AMBIENCE_RMS = 0.03  # about -30 dB re full scale; events peak near -10 dB


def class_pitch(cls: int) -> float:
    """Class c's chirp start frequency, Hz."""
    return 250.0 * 16.0 ** (cls / (N_SOUNDS - 1))


def scene_band(scene_type: int) -> float:
    """Scene type k's ambience centre frequency, Hz."""
    return 200.0 * 25.0 ** (min(scene_type, 19) / 19)


def choose_sound(cls: int, classes: int, correlation: float, rng: np.random.Generator) -> int:
    """The class whose sound a clip of class `cls` makes: its own with probability `correlation`, else a uniformly
    random other class."""
    if classes == 1 or rng.random() < correlation:
        return cls
    return int([k for k in range(classes) if k != cls][rng.integers(classes - 1)])


def movement_events(phase0: float, speed: float, frames: int, fps: int) -> np.ndarray:
    """Times (s) at which the movement's phase phase0 + 2 pi speed t / frames crosses a multiple of pi, in the clip."""
    duration = frames / fps
    first, last = np.ceil(phase0 / np.pi), np.floor((phase0 + 2 * np.pi * speed * (1 - 1e-9)) / np.pi)
    k = np.arange(first, last + 1)
    return (k * np.pi - phase0) / (2 * np.pi * speed) * duration


def chirp(pitch: float, glide: float, seconds: float, rate: int, partial: bool) -> np.ndarray:
    """A Hann-windowed chirp from `pitch` to `pitch * glide` (exponential sweep), peak 1."""
    t = np.arange(max(2, round(seconds * rate))) / rate
    phase = 2 * np.pi * pitch * seconds * (glide ** (t / seconds) - 1) / np.log(glide)
    wave = np.sin(phase) + (0.4 * np.sin(2 * phase) if partial else 0)
    return (wave * np.hanning(len(t)) / (1.4 if partial else 1.0)).astype(np.float32)


def ambience(scene_type: int, n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with an octave-wide spectral bump at the scene type's band, RMS 1."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    octaves = np.log2(np.maximum(freqs, 1.0) / scene_band(scene_type))
    wave = np.fft.irfft(spectrum * np.exp(-0.5 * (octaves / 0.5) ** 2), n)
    return (wave / max(float(np.sqrt(np.mean(wave**2))), 1e-12)).astype(np.float32)


def soundtrack(
    sound_class: int, scene_type: int, events: np.ndarray, seconds: float, rate: int, rng: np.random.Generator
) -> np.ndarray:
    """A clip's mono soundtrack (float32 in [-1, 1], `seconds` long): `sound_class`'s chirps at `events` (s) over
    the ambience of `scene_type`."""
    n = round(seconds * rate)
    pitch = class_pitch(sound_class) * rng.uniform(0.97, 1.03)
    length = rng.uniform(0.06, 0.10)
    glide = GLIDE if sound_class % 2 == 0 else 1 / GLIDE
    event = chirp(pitch, glide, length, rate, partial=sound_class % 4 >= 2) * rng.uniform(0.25, 0.4)
    wave = ambience(scene_type, n, rate, rng) * AMBIENCE_RMS * rng.uniform(0.7, 1.3)
    for time in events:  # each event starts at its time (the swing's middle), cut at the clip's end
        start = int(round(time * rate))
        stop = min(start + len(event), n)
        if 0 <= start < n:
            wave[start:stop] += event[: stop - start]
    return np.clip(wave, -1.0, 1.0)
