"""Video in and out with PyAV: sample a few frames of a clip, write frames as a clip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from bodyscene.errors import BodySceneError


def sample_indices(n_frames: int, n: int) -> list[int]:
    """`n` frame indices spread evenly over a clip of `n_frames` (the middle of each of n equal parts)."""
    if n_frames <= 0:
        return []
    n = min(n, n_frames)
    return sorted({int((i + 0.5) * n_frames / n) for i in range(n)})


def read_frames(path: str | Path, indices: Sequence[int] | None = None) -> dict[int, np.ndarray]:
    """Decode the wanted frames (all when `indices` is None) as RGB uint8 arrays, keyed by frame index."""
    path = Path(path)
    wanted = None if indices is None else set(indices)
    frames: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BodySceneError(f"{path}: no video stream; re-export the clip as a video file")
            stream = container.streams.video[0]
            last = max(wanted) if wanted else None
            for i, frame in enumerate(container.decode(stream)):
                if wanted is None or i in wanted:
                    frames[i] = frame.to_ndarray(format="rgb24")
                if last is not None and i >= last:
                    break
    except (av.error.FFmpegError, OSError) as e:
        raise BodySceneError(f"{path}: cannot decode video ({e}); re-encode or remove the file") from e
    return frames


def count_frames(path: str | Path) -> int:
    """Number of decodable frames (container metadata is often missing or wrong, so decode to count)."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BodySceneError(f"{path}: no video stream; re-export the clip as a video file")
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            return sum(1 for _ in container.decode(stream))
    except (av.error.FFmpegError, OSError) as e:
        raise BodySceneError(f"{path}: cannot decode video ({e}); re-encode or remove the file") from e


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: int = 8, crf: int = 12) -> Path:
    """Write RGB uint8 frames as an H.264 MP4 (yuv444p at low CRF, so colours stay close to the drawing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    h, w = frames[0].shape[:2]
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv444p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)
    return path
