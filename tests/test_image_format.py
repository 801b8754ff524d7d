"""prepare.image_format: PNG stays lossless, JPEG/WebP are recorded in the manifest and stay within their error."""

import cv2
import numpy as np
import pytest

from bodyscene.config import PrepareConfig
from bodyscene.errors import BodySceneError
from bodyscene.stimuli.images import decode_image, encode_image, jpeg_luma_rms_bound
from bodyscene.stimuli.make import prepare
from bodyscene.stimuli.manifest import read_stimulus_set
from helpers_seg import photo


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64)


@pytest.mark.parametrize("quality", [50, 75, 90, 95])
def test_jpeg_round_trip_of_a_real_photo_stays_within_the_quality_bound(quality):
    img, _ = photo("bus.jpg", 0.25)
    back = decode_image(encode_image(img, "jpg", quality))
    rms = float(np.sqrt(np.mean((_luma(back) - _luma(img)) ** 2)))
    assert rms <= jpeg_luma_rms_bound(quality)
    # the channels come back in RGB order (a BGR/RGB swap would be a large colour error)
    assert np.abs(back.astype(int) - img).mean() < 2 * jpeg_luma_rms_bound(quality)


def test_the_bound_tightens_with_quality_and_png_is_exact():
    bounds = [jpeg_luma_rms_bound(q) for q in (10, 50, 75, 90, 95, 100)]
    assert bounds == sorted(bounds, reverse=True)
    img, _ = photo("zidane.jpg", 0.2)
    assert (decode_image(encode_image(img, "png")) == img).all()
    with pytest.raises(BodySceneError, match="image_format='tif'"):
        encode_image(img, "tif")


def test_prepare_writes_jpeg_stimuli_lossless_masks_and_records_the_format(tiny_data, tiny_stimuli, tmp_path):
    out = tmp_path / "stim"
    prepare(tiny_data, out, PrepareConfig(frames_per_clip=2, image_format="jpg", image_quality=90))
    stim, png = read_stimulus_set(out), read_stimulus_set(tiny_stimuli)
    assert [r["stimulus_id"] for r in stim.rows] == [r["stimulus_id"] for r in png.rows]
    for row, ref in zip(stim.rows[:6], png.rows[:6], strict=True):
        assert (row["image_format"], row["image_quality"]) == ("jpg", "90")
        assert ref["image_format"] == "png" and ref["image_quality"] == ""
        for c in ("original", "body", "background"):
            assert row[c].endswith(".jpg") and (out / row[c]).read_bytes()[:2] == b"\xff\xd8"
            a, b = (cv2.imread(str(root / r[c])) for root, r in ((out, row), (tiny_stimuli, ref)))
            rms = float(np.sqrt(np.mean((_luma(a[..., ::-1]) - _luma(b[..., ::-1])) ** 2)))
            assert rms <= jpeg_luma_rms_bound(90)
        assert row["mask"].endswith(".png")
        assert (out / row["mask"]).read_bytes() == (tiny_stimuli / ref["mask"]).read_bytes()
