"""Video in and out with PyAV: sample a few frames of a clip, write frames as a clip."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from bodyscene.data.audio import add_audio_stream, write_audio
from bodyscene.errors import BodySceneError


def sample_indices(n_frames: int, n: int | None = None, every: int | None = None) -> list[int]:
    """Frame indices to sample from a clip of `n_frames`: `n` spread evenly (the middle of each of n equal parts),
    or every `every`-th frame starting at 0 (when `every` is given)."""
    if n_frames <= 0:
        return []
    if every is not None:
        if every < 1:
            raise BodySceneError(f"every={every}: sample every k-th frame with k >= 1")
        return list(range(0, n_frames, every))
    if n is None or n < 1:
        raise BodySceneError(f"n={n}: sample at least one frame per clip")
    n = min(n, n_frames)
    return sorted({int((i + 0.5) * n_frames / n) for i in range(n)})


def _open(path: Path):
    """Open a video container; the common ways a file is not a usable video each get one clear line."""
    if not path.is_file():
        raise BodySceneError(f"{path}: video not found; fix the path in the clip list")
    if path.stat().st_size == 0:
        raise BodySceneError(f"{path}: empty file (0 bytes); re-download or remove it")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise BodySceneError(f"{path}: not a readable video ({_reason(e)}); re-encode or remove it") from e
    if not container.streams.video:
        container.close()
        raise BodySceneError(f"{path}: no video stream (audio or data only); re-export the clip as a video")
    return container


def _reason(e: Exception) -> str:
    return " ".join(str(getattr(e, "strerror", None) or e).split())[:120]


def _index_of(frame: av.VideoFrame, stream, start: int) -> int | None:
    """A decoded frame's index from its timestamp (constant frame rate), or None when it has no timestamp."""
    if frame.pts is None or not stream.average_rate:
        return None
    return round(float((frame.pts - start) * stream.time_base * stream.average_rate))


@dataclass
class DecodeStats:
    """What a read cost: frames decoded and seeks made (a test holds `read_frames` to one pass in order)."""

    decoded: int = 0
    seeks: int = 0
    indices: list[int] = field(default_factory=list)  # every decoded frame's index, in decoding order


def _decode_all(container, stream, wanted: set[int] | None, stats: DecodeStats) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    last = max(wanted) if wanted else None
    for i, frame in enumerate(container.decode(stream)):
        stats.decoded += 1
        stats.indices.append(i)
        if wanted is None or i in wanted:
            frames[i] = frame.to_ndarray(format="rgb24")
        if last is not None and i >= last:
            break
    return frames


def keyframe_indices(container, stream) -> list[int] | None:
    """Indices of the keyframes, from the packets alone (demuxing reads the file but decodes nothing); None when
    packets carry no timestamps."""
    start = stream.start_time or 0
    keys = []
    for packet in container.demux(stream):
        if packet.is_keyframe:
            if packet.pts is None:
                return None
            keys.append(round(float((packet.pts - start) * stream.time_base * stream.average_rate)))
    return sorted(keys) or None


def _decode_seeking(container, stream, wanted: list[int], stats: DecodeStats) -> dict[int, np.ndarray] | None:
    """One pass in order that skips what no wanted frame needs: each wanted frame needs the frames from the keyframe
    before it; from one wanted frame the decoder goes on to the next unless a keyframe lies between them, in which
    case it seeks forward to the last such keyframe. No frame is decoded twice. None if timestamps are unusable."""
    keys = keyframe_indices(container, stream)
    if keys is None or keys[0] > wanted[0]:
        return None
    start = stream.start_time or 0
    rate = stream.average_rate * stream.time_base
    frames: dict[int, np.ndarray] = {}
    todo = list(wanted)
    decoder, sought, last = None, None, -1
    while todo:
        target = todo[0]
        if decoder is None or (sought != target and keys[bisect.bisect_right(keys, target) - 1] > last + 1):
            container.seek(start + int(target / rate), stream=stream, backward=True, any_frame=False)
            stats.seeks += 1
            decoder, sought = iter(container.decode(stream)), target
        frame = next(decoder, None)
        if frame is None:
            break
        index = _index_of(frame, stream, start)
        if index is None or index <= last or index > target:
            return None  # no timestamps, or a seek that went back or past its target: decode in order instead
        stats.decoded += 1
        stats.indices.append(index)
        last = index
        if index == target:
            frames[index] = frame.to_ndarray(format="rgb24")
            todo.pop(0)
    return frames if not todo else None


def read_frames(
    path: str | Path, indices: Sequence[int] | None = None, seek: bool | None = None, stats: DecodeStats | None = None
) -> dict[int, np.ndarray]:
    """Decode the wanted frames (all when `indices` is None) as RGB uint8 arrays, keyed by frame index.

    The clip is decoded once, in order: frames between wanted ones are decoded only when they share a group of
    pictures with a wanted frame (they must be, to decode it); whole groups with no wanted frame are skipped by a
    forward seek (`seek=None`: whenever the wanted frames leave a gap; False: decode every frame up to the last).
    If timestamps do not allow seeking (no frame rate, variable timing) it falls back to decoding in order, so the
    result is the same.
    A frame that is wanted but cannot be decoded (a truncated file) is an error naming the file.
    """
    path = Path(path)
    wanted = None if indices is None else sorted(set(indices))
    if wanted is not None and not wanted:
        return {}
    if wanted is not None and wanted[0] < 0:
        raise BodySceneError(f"{path}: frame index {wanted[0]} is negative")
    stats = stats if stats is not None else DecodeStats()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = None
        gaps = wanted is not None and (wanted[-1] + 1) > len(wanted)
        if wanted is not None and (seek if seek is not None else gaps) and stream.average_rate:
            frames = _decode_seeking(container, stream, wanted, stats)
            if frames is None:
                container.seek(0, stream=stream)
                stats.decoded, stats.indices = 0, []
        if frames is None:
            frames = _decode_all(container, stream, None if wanted is None else set(wanted), stats)
    except (av.error.FFmpegError, OSError) as e:
        raise BodySceneError(f"{path}: cannot decode video ({_reason(e)}); re-encode or remove the file") from e
    finally:
        container.close()
    if wanted is not None:
        missing = [i for i in wanted if i not in frames]
        if missing:
            got = f"decodes to frame {max(frames)}" if frames else "decodes to no frame"
            raise BodySceneError(f"{path}: truncated? it {got}, frame {missing[0]} was wanted; re-encode or remove it")
    elif not frames:
        raise BodySceneError(f"{path}: the clip has no frames (zero-length); remove it from the lists")
    return frames


def count_frames(path: str | Path) -> int:
    """Number of frames: the container's count when it has one, else its video packets, counted by demuxing without
    decoding (one frame per packet; Matroska/WebM and streamed MP4 often carry no count)."""
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)  # (the flush packet is empty)
    except (av.error.FFmpegError, OSError) as e:
        raise BodySceneError(f"{path}: cannot decode video ({_reason(e)}); re-encode or remove the file") from e
    finally:
        container.close()


def write_video(
    path: str | Path,
    frames: Sequence[np.ndarray],
    fps: int = 8,
    crf: int = 12,
    gop: int | None = None,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> Path:
    """Write RGB uint8 frames as an H.264 MP4 (yuv444p at low CRF, so colours stay close to the drawing); with
    `audio` (mono float samples at `sample_rate`), an AAC soundtrack too (data/audio.py)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    h, w = frames[0].shape[:2]
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv444p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        if gop is not None:  # keyframe interval: short ones make seeking cheap (and are used to test it)
            stream.codec_context.gop_size = gop
        sound = add_audio_stream(container, sample_rate) if audio is not None else None  # (before any packet)
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            write_audio(container, sound, audio, sample_rate)
    tmp.replace(path)
    return path


def write_webm(path: str | Path, frames: Sequence[np.ndarray], fps: float = 8.0, crf: int = 20) -> Path:
    """Write RGB uint8 frames as a VP9 WebM (yuv420p): the browser experiment's clips. Debian's chromium (and
    every current browser) plays VP9/WebM without proprietary codecs; H.264 it may not. Odd sizes are padded
    by one black row/column (yuv420p needs even ones). Written to a temporary name, then renamed."""
    from fractions import Fraction

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.webm")
    h, w = frames[0].shape[:2]
    H, W = h + h % 2, w + w % 2
    with av.open(str(tmp), mode="w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8"}
        for arr in frames:
            padded = np.zeros((H, W, 3), np.uint8)
            padded[:h, :w] = arr[..., :3]
            for packet in stream.encode(av.VideoFrame.from_ndarray(padded, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)
    return path
