import cv2
import numpy as np
import pytest

from bodyscene.stimuli.masks import dilate_mask, inpaint, make_background_only, make_body_only, scale_about_centroid


def _frame(seed=0, size=64):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _box(size=64, x0=20, y0=10, x1=30, y1=50):
    m = np.zeros((size, size), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_body_only_is_zero_exactly_outside_the_mask():
    frame, mask = _frame(), _box()
    body = make_body_only(frame, mask)
    assert (body[~mask] == 0).all()
    assert (body[mask] == frame[mask]).all()


def test_scale_about_centroid_grows_each_region_by_the_factor_about_its_own_centre():
    mask = _box(size=128, x0=20, y0=20, x1=40, y1=60) | _box(size=128, x0=90, y0=80, x1=100, y1=100)
    out = scale_about_centroid(mask, 1.5)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(out.astype(np.uint8))
    assert n == 3
    sizes = sorted((s[cv2.CC_STAT_WIDTH], s[cv2.CC_STAT_HEIGHT]) for s in stats[1:])
    assert sizes == [(15, 30), (30, 60)]  # 10x20 -> 15x30 and 20x40 -> 30x60
    _, _, _, before = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    assert np.allclose(sorted(map(tuple, centroids[1:])), sorted(map(tuple, before[1:])), atol=0.6)


@pytest.mark.parametrize("factor,margin", [(1.0, 0), (1.2, 0), (1.2, 2), (2.0, 1)])
def test_dilation_contains_the_mask(factor, margin):
    ring = _box(x0=10, y0=10, x1=50, y1=50) & ~_box(x0=20, y0=20, x1=40, y1=40)  # concave: scaling alone misses
    out = dilate_mask(ring, factor, margin)
    assert out[ring].all()
    assert out.sum() >= ring.sum()


def test_background_only_changes_only_the_dilated_region_and_removes_the_body():
    frame = np.full((64, 64, 3), 100, np.uint8)
    mask = _box()
    frame[mask] = (250, 0, 0)
    bg = make_background_only(frame, mask, 1.2, "telea", 3, 2)
    region = dilate_mask(mask, 1.2, 2)
    assert (bg[~region] == frame[~region]).all()
    assert np.abs(bg[mask].astype(int) - 100).max() <= 5  # the red body (250, 0, 0) is gone, filled with grey


def test_empty_mask_leaves_the_frame_untouched():
    frame = _frame(3)
    empty = np.zeros(frame.shape[:2], bool)
    assert (make_background_only(frame, empty) == frame).all()
    assert (make_body_only(frame, empty) == 0).all()


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_inpainting_a_crop_equals_inpainting_the_whole_frame(method):
    frame, region = _frame(5, 96), _box(size=96, x0=40, y0=30, x1=52, y1=60)
    full = cv2.inpaint(
        frame, region.astype(np.uint8) * 255, 3, {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    )
    assert (inpaint(frame, region, method, 3) == full).all()


def test_inpaint_none_leaves_the_hole_black_and_the_rest_untouched():
    frame, region = _frame(5, 96), _box(size=96, x0=40, y0=30, x1=52, y1=60)
    out = inpaint(frame, region, "none", 3)
    assert (out[region] == 0).all() and (out[~region] == frame[~region]).all()
    assert (frame[region] != 0).any()  # (so the test could fail: the frame was not already black there)
