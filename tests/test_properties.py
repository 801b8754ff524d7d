"""Property-based tests (hypothesis) of the mask and stimulus operations, on small random frames and masks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bodyscene.config import PrepareConfig
from bodyscene.stimuli.make import make_stimuli
from bodyscene.stimuli.masks import dilate_mask, make_background_only, make_body_only, scale_about_centroid

SETTINGS = settings(max_examples=50, deadline=None)
shapes = st.tuples(st.integers(32, 48), st.integers(32, 48))  # make_stimuli refuses frames under 32 px


@st.composite
def frame_and_mask(draw, empty: bool = False):
    h, w = draw(shapes)
    frame = draw(arrays(np.uint8, (h, w, 3)))
    if empty:
        return frame, np.zeros((h, w), bool)
    # a mask made of a few random boxes plus random pixels: convex, concave and scattered regions
    mask = draw(arrays(np.bool_, (h, w), elements=st.booleans(), fill=st.just(False)))
    for _ in range(draw(st.integers(0, 3))):
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0, h)), draw(st.integers(x0, w))
        mask[y0:y1, x0:x1] = True
    return frame, mask


factors = st.floats(1.0, 3.0, allow_nan=False)
margins = st.integers(0, 4)


@SETTINGS
@given(frame_and_mask())
def test_body_only_is_exactly_zero_outside_the_mask_and_the_frame_inside(fm):
    frame, mask = fm
    body = make_body_only(frame, mask)
    assert body.dtype == np.uint8 and body.shape == frame.shape
    assert (body[~mask] == 0).all()
    assert (body[mask] == frame[mask]).all()


@SETTINGS
@given(frame_and_mask(), factors, margins, st.sampled_from(["telea", "ns"]))
def test_background_only_equals_the_original_outside_the_dilated_mask(fm, factor, margin, method):
    frame, mask = fm
    background = make_background_only(frame, mask, factor, method, 3, margin)
    region = dilate_mask(mask, factor, margin)
    assert background.shape == frame.shape and background.dtype == np.uint8
    assert (background[~region] == frame[~region]).all()


@SETTINGS
@given(frame_and_mask(), factors, margins)
def test_dilation_never_shrinks_a_mask(fm, factor, margin):
    _, mask = fm
    dilated = dilate_mask(mask, factor, margin)
    assert dilated[mask].all()  # contains the mask itself, pixel for pixel
    # and more margin or a larger factor never gives less
    assert dilate_mask(mask, factor, margin + 1)[dilated].all()
    assert scale_about_centroid(mask, 1.0).tolist() == mask.tolist()


@SETTINGS
@given(frame_and_mask(empty=True), factors, margins)
def test_an_empty_mask_leaves_the_original_untouched(fm, factor, margin):
    frame, mask = fm
    assert not dilate_mask(mask, factor, margin).any()
    assert (make_background_only(frame, mask, factor, "telea", 3, margin) == frame).all()
    assert (make_body_only(frame, mask) == 0).all()
    stimuli = make_stimuli(frame, mask, PrepareConfig(dilation=factor, margin_px=margin))
    assert (stimuli["original"] == frame).all() and (stimuli["background"] == frame).all()
