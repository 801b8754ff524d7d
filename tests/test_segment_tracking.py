"""The offline segmenter on video: tiles only around the people of the previous frame, the full pyramid again every
k frames or when something changes (segment/mediapipe.py, `track_every`)."""

import numpy as np
import pytest

from bodyscene.errors import BodySceneError
from bodyscene.segment import get_segmenter
from bodyscene.segment.mediapipe import person_boxes
from helpers_seg import wide_shot

SIZE = (240, 480)  # tiles of 100 and 200 px at min_height 40: 40 model calls for a full pass
OPTIONS = {"min_height": 40}


@pytest.fixture(scope="module")
def shot():
    frame, truth = wide_shot(get_segmenter("mediapipe"), height=90, size=SIZE)
    return frame, truth


def walk_in(shot):
    """Three frames of an empty grey wall (nothing there to mistake for a person), then three with the person."""
    frame, truth = shot
    empty = np.full_like(frame, 128)
    person = empty.copy()
    person[truth] = frame[truth]
    return {i: (empty if i < 3 else person).copy() for i in range(6)}


def per_frame(frames):
    seg = get_segmenter("mediapipe", **OPTIONS)
    return {i: seg.segment(f).mask for i, f in frames.items()}, seg.calls


def test_tracked_equals_per_frame_on_a_static_clip_with_fewer_model_calls(shot):
    """Tolerance: none. Inside the tracked boxes every pixel sees the same tiles as in the full pass, so on a
    static clip the tracked mask is the per-frame mask pixel for pixel."""
    frame, truth = shot
    frames = {i: frame.copy() for i in range(6)}
    reference, calls = per_frame(frames)
    assert (reference[0] & truth).sum() / truth.sum() > 0.5  # the per-frame pass finds the person
    seg = get_segmenter("mediapipe", track_every=10, **OPTIONS)
    tracked = seg.segment_frames(frames)
    for i in frames:
        assert np.array_equal(tracked[i].mask, reference[i]), i
    assert seg.full_passes == 1
    assert seg.calls < calls * 0.75  # the other five frames ran only the tiles over the person


def test_a_person_walking_in_mid_clip_is_found_in_the_frame_they_appear(shot):
    truth, frames = shot[1], walk_in(shot)
    reference, _ = per_frame(frames)
    assert not reference[2].any()
    seg = get_segmenter("mediapipe", track_every=100, **OPTIONS)
    tracked = seg.segment_frames(frames)
    assert not tracked[0].mask.any() or tracked[0].persons == 0
    for i in (3, 4, 5):  # the change outside the (empty) tracked area starts a full pass at frame 3
        assert np.array_equal(tracked[i].mask, reference[i]), i
        assert (tracked[i].mask & truth).sum() / truth.sum() > 0.5


def test_without_motion_detection_the_next_full_pass_finds_them(shot):
    truth, frames = shot[1], walk_in(shot)
    seg = get_segmenter("mediapipe", track_every=4, track_motion=None, **OPTIONS)
    tracked = seg.segment_frames(frames)
    assert not (tracked[3].mask & truth).any()  # tracking alone cannot see someone outside every box
    assert (tracked[4].mask & truth).sum() / truth.sum() > 0.5  # frame 4: the pyramid's every-4th full pass
    assert seg.full_passes == 2


def test_boxes_grow_by_the_margin_and_stay_in_the_frame():
    mask = np.zeros((100, 200), bool)
    mask[40:60, 10:30] = True
    assert person_boxes(mask, 0.5, 4) == [(30, 0, 70, 40)]
    assert person_boxes(np.zeros((10, 10), bool), 0.5, 4) == []
    with pytest.raises(BodySceneError, match="track_every"):
        get_segmenter("mediapipe", track_every=0)
