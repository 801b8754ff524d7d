"""PyAV decoding: seeking gives the same frames as decoding in order; bad files are one clear error each."""

from pathlib import Path

import av
import numpy as np
import pytest

from bodyscene.data.video import DecodeStats, count_frames, read_frames, sample_indices, write_video
from bodyscene.errors import BodySceneError
from helpers_seg import write_audio_only


def numbered_frames(n: int) -> list[np.ndarray]:
    """Frame i is a flat grey of level 2*i (so a decoded frame tells which index it is)."""
    return [np.full((48, 64, 3), 2 * i, np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "clip.mp4", numbered_frames(100), fps=25, gop=10)


def level(frame: np.ndarray) -> int:
    return round(float(frame.mean()) / 2)


def test_sample_indices_even_and_every_k():
    assert sample_indices(100, 4) == [12, 37, 62, 87]
    assert sample_indices(3, 10) == [0, 1, 2]
    assert sample_indices(10, every=3) == [0, 3, 6, 9]
    assert sample_indices(0, 5) == []
    with pytest.raises(BodySceneError):
        sample_indices(10, every=0)


def test_seek_reads_the_same_frames_as_decoding_in_order(clip):
    wanted = [5, 37, 38, 90, 99]
    seeking = read_frames(clip, wanted, seek=True)
    ordered = read_frames(clip, wanted, seek=False)
    assert sorted(seeking) == wanted
    for i in wanted:
        assert abs(level(seeking[i]) - i) <= 1  # the right frame, not a neighbour
        assert np.array_equal(seeking[i], ordered[i])


def test_every_kth_frame_and_count(clip):
    assert count_frames(clip) == 100
    frames = read_frames(clip, sample_indices(100, every=25))
    assert [level(frames[i]) for i in sorted(frames)] == pytest.approx([0, 25, 50, 75], abs=1)


def test_count_without_a_frame_count_in_the_container(tmp_path):
    """Matroska keeps no frame count: the packets are counted (demuxed, not decoded)."""
    import av

    frames = [np.full((32, 48, 3), 10 * i, np.uint8) for i in range(23)]
    path = write_video(tmp_path / "clip.mp4", frames, gop=5)
    mkv = tmp_path / "clip.mkv"
    with av.open(str(path)) as src, av.open(str(mkv), "w") as dst:  # remux: the same packets, no count
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = stream
                dst.mux(packet)
    with av.open(str(mkv)) as c:
        assert not c.streams.video[0].frames
    assert count_frames(mkv) == 23 == len(read_frames(mkv, range(23)))


def test_empty_file(tmp_path):
    bad = tmp_path / "empty.mp4"
    bad.write_bytes(b"")
    with pytest.raises(BodySceneError, match="empty.mp4: empty file"):
        read_frames(bad, [0])


def test_not_a_video(tmp_path):
    bad = tmp_path / "text.mp4"
    bad.write_text("this is not a video\n" * 50)
    with pytest.raises(BodySceneError, match="text.mp4: not a readable video"):
        count_frames(bad)


def test_truncated_video(tmp_path, clip):
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BodySceneError) as e:
        read_frames(cut, [95], seek=False)
    assert "cut.mp4" in str(e.value) and "\n" not in str(e.value)


def test_no_video_stream(tmp_path):
    path = tmp_path / "audio.m4a"
    write_audio_only(path)
    with pytest.raises(BodySceneError, match="no video stream"):
        read_frames(path, [0])


def test_zero_length_clip(tmp_path):
    """An encoder closed before its first frame: the MP4 holds no video track at all (PyAV/FFmpeg drop it)."""
    path = tmp_path / "zero.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        container.start_encoding()  # writes the header, then no frame at all
    assert path.stat().st_size > 0
    for read in (count_frames, read_frames):
        with pytest.raises(BodySceneError, match="zero.mp4: (no video stream|the clip has no frames)"):
            read(path)


def test_several_frames_are_decoded_in_one_pass_in_order(clip):
    """Frames of one group of pictures (gop=10) share its decoding; groups with no wanted frame are skipped."""
    stats = DecodeStats()
    frames = read_frames(clip, [5, 6, 7, 8], stats=stats)
    assert [level(frames[i]) for i in (5, 6, 7, 8)] == pytest.approx([5, 6, 7, 8], abs=1)
    assert stats.seeks == 1 and stats.indices == list(range(9))  # no seek per frame, nothing decoded twice

    with av.open(str(clip)) as container:  # x264 places keyframes where it likes: read them
        stream = container.streams.video[0]
        keys = [i for i, f in enumerate(container.decode(stream)) if f.key_frame]
    stats = DecodeStats()
    wanted = [5, 37, 38, 90, 99]
    frames = read_frames(clip, wanted, stats=stats)
    assert sorted(frames) == wanted and all(abs(level(frames[i]) - i) <= 1 for i in wanted)
    needed = {i for t in wanted for i in range(max(k for k in keys if k <= t), t + 1)}
    assert stats.indices == sorted(needed)  # in order, each once, exactly what the wanted frames need
    assert stats.seeks <= len({max(k for k in keys if k <= t) for t in wanted})
