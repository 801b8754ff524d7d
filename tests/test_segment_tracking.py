"""The offline segmenter on video: only around the people of the previous frame (one square crop per person, or the
pyramid's own tiles over them), the full pyramid again every k frames or when something changes
(segment/mediapipe.py, `track_every`, `track_mode`)."""

import numpy as np
import pytest

from bodyscene.errors import BodySceneError
from bodyscene.segment import get_segmenter
from bodyscene.segment.mediapipe import box_mask, person_boxes
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
    """Tolerance, stated: the tracked mask is inside the per-frame mask, and misses at most `track_level_share`
    (2%) of it plus blobs smaller than a person. Inside the tracked boxes every pixel sees the same tiles as in the
    full pass; what is left out is the pyramid levels that add under 2% and the specks no box is drawn around."""
    frame, truth = shot
    frames = {i: frame.copy() for i in range(6)}
    reference, calls = per_frame(frames)
    assert (reference[0] & truth).sum() / truth.sum() > 0.5  # the per-frame pass finds the person
    seg = get_segmenter("mediapipe", track_every=10, track_mode="tiles", **OPTIONS)
    tracked = seg.segment_frames(frames)
    assert np.array_equal(tracked[0].mask, reference[0])  # the first frame is a full pass
    boxes = person_boxes(reference[0], seg.track_margin, seg.track_margin_px, seg.person_area())
    specks = reference[0] & ~box_mask(boxes, reference[0].shape)
    for i in range(1, 6):
        mask = tracked[i].mask
        assert not (mask & ~reference[i]).any(), i
        assert (reference[i] & ~mask).sum() <= seg.track_level_share * reference[i].sum() + specks.sum(), i
        assert (mask & truth).sum() >= 0.98 * (reference[i] & truth).sum(), i
        assert tracked[i].persons == 1
    assert seg.full_passes == 1
    assert seg.calls < calls * 0.75  # the other five frames ran only the tiles over the person


def test_crop_tracking_keeps_the_recall_with_one_call_per_person(shot):
    """track_mode=crop: each tracked box is one model call. Tolerance, stated: recall of the true mask within 0.02
    of the per-frame pass on every frame, and no pixel outside the boxes; a full pass costs 40 calls here, a
    tracked frame one."""
    frame, truth = shot
    frames = {i: frame.copy() for i in range(6)}
    reference, calls = per_frame(frames)
    seg = get_segmenter("mediapipe", track_every=10, track_mode="crop", **OPTIONS)
    tracked = seg.segment_frames(frames)
    assert np.array_equal(tracked[0].mask, reference[0])  # the first frame is a full pass
    first = seg.boxes(reference[0])
    grown = [(y0 - 20, x0 - 20, y1 + 20, x1 + 20) for y0, x0, y1, x1 in first]  # boxes follow the person's extent
    roi = box_mask([tuple(max(0, v) for v in b) for b in grown], truth.shape)
    for i in range(1, 6):
        mask = tracked[i].mask
        assert (mask & truth).sum() / truth.sum() >= (reference[i] & truth).sum() / truth.sum() - 0.02, i
        assert not (mask & ~roi).any(), i
        assert tracked[i].persons == 1
    assert seg.full_passes == 1
    # one full pass (40), its reference crop (1 per box) and one crop per box on each of the 5 other frames
    assert seg.calls == calls // 6 + 6 * len(first)


def test_an_unknown_track_mode_is_refused():
    with pytest.raises(BodySceneError, match="track_mode"):
        get_segmenter("mediapipe", track_every=4, track_mode="boxes")


@pytest.mark.parametrize("mode", ["tiles", "crop"])
def test_a_person_walking_in_mid_clip_is_found_in_the_frame_they_appear(shot, mode):
    truth, frames = shot[1], walk_in(shot)
    reference, _ = per_frame(frames)
    assert not reference[2].any()
    seg = get_segmenter("mediapipe", track_every=100, track_mode=mode, **OPTIONS)
    tracked = seg.segment_frames(frames)
    assert not tracked[0].mask.any() or tracked[0].persons == 0
    assert np.array_equal(tracked[3].mask, reference[3])  # the change outside the tracked area: a full pass
    for i in (3, 4, 5):
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


def test_a_clip_whose_frame_size_changes_gets_a_full_pass_at_the_change(shot):
    frame, _ = shot
    small = np.ascontiguousarray(frame[:200, :400])
    seg = get_segmenter("mediapipe", track_every=10, **OPTIONS)
    tracked = seg.segment_frames({0: frame, 1: frame, 2: small, 3: small})
    assert [tracked[i].mask.shape for i in range(4)] == [SIZE, SIZE, (200, 400), (200, 400)]
    assert seg.full_passes == 2
