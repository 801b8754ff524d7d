"""The default segmenter on real photos of people (ultralytics' bus.jpg and zidane.jpg), close-up and wide."""

import numpy as np
import pytest

from bodyscene.errors import BodySceneError
from bodyscene.segment import get_segmenter
from bodyscene.segment.mediapipe import tile_sizes, tile_starts
from bodyscene.stimuli.masks import make_background_only, make_body_only
from helpers_seg import photo, wide_shot


@pytest.fixture(scope="module")
def seg():
    return get_segmenter("mediapipe")


def cover(mask: np.ndarray, region: np.ndarray) -> float:
    return float((mask & region).sum() / region.sum())


def test_tiles_cover_the_frame_with_half_overlap():
    assert tile_starts(300, 150) == [0, 75, 150]
    assert tile_starts(320, 150) == [0, 75, 150, 170]  # the last tile flush with the edge
    assert tile_starts(100, 150) == [0]
    assert tile_sizes(360, 640, 60, 2.5) == [150, 300]


def test_street_photo_people_masked_and_gone_from_background(seg):
    img, boxes = photo("bus.jpg", 0.5)
    result = seg.segment(img)
    assert result.mask.dtype == bool and result.mask.shape == img.shape[:2]
    assert result.persons >= 2
    for box in boxes:  # a person fills roughly half of their box
        assert cover(result.mask, box) > 0.3
    body = make_body_only(img, result.mask)
    assert not body[~result.mask].any()
    assert np.array_equal(body[result.mask], img[result.mask])
    background = make_background_only(img, result.mask)
    again = seg.segment(background).mask
    assert max(cover(again, box) for box in boxes) < 0.2
    assert np.mean([cover(again, box) for box in boxes]) < 0.1


def test_close_up_people_masked(seg):
    img, boxes = photo("zidane.jpg", 0.5)
    result = seg.segment(img)
    for box in boxes:
        assert cover(result.mask, box) > 0.6


@pytest.mark.parametrize("height", [70, 130])
def test_wide_shot_small_person_found_where_the_plain_model_misses(seg, height):
    frame, truth = wide_shot(seg, height)
    plain = get_segmenter("mediapipe", mode="whole").segment(frame).mask
    mask = seg.segment(frame).mask
    assert cover(plain, truth) < 0.3  # the failure the tile pyramid exists for
    assert cover(mask, truth) > 0.8
    assert (mask & truth).sum() / mask.sum() > 0.4  # not by marking everything


def test_bad_options():
    with pytest.raises(BodySceneError, match="mode="):
        get_segmenter("mediapipe", mode="crops")
    with pytest.raises(BodySceneError, match="min_height"):
        get_segmenter("mediapipe", min_height=2)
