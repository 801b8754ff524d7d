"""Stimulus images on disk: PNG (lossless, the default), JPEG or WebP at a quality; masks are always PNG.

At all frames of HAA500 (~750k frames, three images each) the encoder and the bytes matter: at 640x360 a PNG
costs ~11 ms and ~0.4 MB, a JPEG at quality 95 ~1.5 ms and a fifth of the bytes (docs/scale.md, measured by
benchmarks/image_format.py). The format is a `prepare` setting and is written into every manifest row
(`image_format`, `image_quality`), so a stimulus set says how lossy its images are.

How lossy a JPEG may be is bounded by its quantisation tables (ITU-T T.81 Annex K, scaled for a quality as libjpeg
does): each DCT coefficient is rounded to a multiple of its step s, an error of at most s/2; the DCT is orthonormal,
so a block's RMS pixel error is at most sqrt(mean(s^2) / 4) on the luminance channel. `jpeg_luma_rms_bound` gives
that bound; the round-trip test holds real photos to it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes

IMAGE_FORMATS: dict[str, str] = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
LOSSLESS = ("png",)

# ITU-T T.81 Annex K.1, the luminance quantisation table libjpeg scales by quality
_LUMA_TABLE = np.array(
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ],
    np.float64,
)  # fmt: skip


def extension(image_format: str) -> str:
    if image_format not in IMAGE_FORMATS:
        raise BodySceneError(f"image_format={image_format!r}; choose one of {', '.join(IMAGE_FORMATS)}")
    return IMAGE_FORMATS[image_format]


def encode_image(rgb: np.ndarray, image_format: str = "png", quality: int = 95) -> bytes:
    """An RGB (or single-channel) uint8 image as the bytes of a PNG, JPEG or WebP file."""
    ext = extension(image_format)
    if not 1 <= quality <= 100:
        raise BodySceneError(f"image_quality={quality}; use 1..100 (JPEG/WebP; PNG ignores it)")
    image = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = {
        "png": [cv2.IMWRITE_PNG_COMPRESSION, 1],  # fast, still lossless: level 9 is ~4x slower for ~10% fewer bytes
        "jpg": [cv2.IMWRITE_JPEG_QUALITY, quality],
        "webp": [cv2.IMWRITE_WEBP_QUALITY, quality],
    }[image_format]
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise BodySceneError(f"{image_format.upper()} encoding failed for a {image.shape} image")
    return buf.tobytes()


def write_image(path: Path, rgb: np.ndarray, image_format: str = "png", quality: int = 95) -> None:
    """Write atomically (temp file, fsync, rename): a kill never leaves a half-written image."""
    try:
        data = encode_image(rgb, image_format, quality)
    except BodySceneError as e:
        raise BodySceneError(f"{path}: {e}") from e
    atomic_write_bytes(path, data)


def decode_image(data: bytes, source: str = "image") -> np.ndarray:
    """Encoded bytes (PNG, JPEG, WebP) as H x W x 3 uint8 RGB."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BodySceneError(f"{source}: not a decodable image; rerun `bodyscene prepare` on this stimulus set")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def jpeg_luma_steps(quality: int) -> np.ndarray:
    """The 64 luminance quantisation steps libjpeg uses at `quality` (jcparam.c: jpeg_quality_scaling)."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((_LUMA_TABLE * scale + 50) / 100), 1, 255)


def jpeg_luma_rms_bound(quality: int) -> float:
    """Upper bound on a JPEG's RMS error on the luminance (Y) channel at `quality`, in 0..255 grey levels: every
    coefficient off by at most half its step, plus half a level for each of three roundings (the encoder's Y, the
    decoded RGB, the Y computed from it)."""
    return float(np.sqrt(np.mean(jpeg_luma_steps(quality) ** 2) / 4)) + 1.5
