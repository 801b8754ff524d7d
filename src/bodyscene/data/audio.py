"""Soundtracks in and out with PyAV: read a clip's audio as mono at one sample rate; add a waveform to a video.

Any container and codec FFmpeg decodes is read (AAC in MP4, Opus/Vorbis in WebM, PCM in WAV/MOV, ...). Every
channel layout and sample rate is converted by FFmpeg's resampler (`av.AudioResampler`: downmix to mono, then
resample), so a stereo 44.1 kHz track and a mono 8 kHz one come out as the same kind of array. The common ways a
file has no usable sound are one BodySceneError line each, which `prepare` records per clip (never a crash).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from bodyscene.errors import BodySceneError

AAC_FRAME = 1024  # samples per AAC frame: the encoder takes whole frames (the last one may be short)


def _reason(e: Exception) -> str:
    return " ".join(str(getattr(e, "strerror", None) or e).split())[:120]


def read_audio(path: str | Path, rate: int) -> np.ndarray:
    """The first audio stream of `path` as mono float32 samples in [-1, 1] at `rate` Hz (1-D).

    Raises BodySceneError naming the file when it has no audio stream, cannot be decoded, or decodes to nothing.
    """
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise BodySceneError(f"{path}: not a readable file ({_reason(e)}); re-encode or remove it") from e
    try:
        if not container.streams.audio:
            raise BodySceneError(f"{path}: no audio stream (a silent video); its clips are heard as silence")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)  # packed float32, 1 channel
        parts = []
        for frame in container.decode(stream):
            parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]  # what the resampler still holds
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise BodySceneError(f"{path}: cannot decode its audio ({_reason(e)}); re-encode or remove the file") from e
    finally:
        container.close()
    samples = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
    if not len(samples):
        raise BodySceneError(f"{path}: the audio stream decodes to no samples; re-encode the clip's sound")
    return samples


def add_audio_stream(container, rate: int, codec: str = "aac"):
    """Add a mono audio stream (AAC: what MP4 players expect) to a container opened for writing."""
    stream = container.add_stream(codec, rate=rate)
    stream.layout = "mono"
    return stream


def write_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    """Encode mono float samples (1-D, [-1, 1]) into `stream` of `container`, frame by frame, and flush."""
    wave = np.clip(np.asarray(samples, np.float32), -1.0, 1.0)
    for start in range(0, len(wave), AAC_FRAME):
        chunk = np.ascontiguousarray(wave[None, start : start + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
