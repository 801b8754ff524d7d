"""Mask operations: the body mask's inflation (the paper's 1.2x scale, or the prototype's Gaussian blur), the
union of a clip's masks, and the stimulus images made from a frame and its mask.

All functions are pure: arrays in, arrays out (RGB uint8 frames, bool masks).
"""

from __future__ import annotations

import cv2
import numpy as np

INPAINT_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def scale_about_centroid(mask: np.ndarray, factor: float) -> np.ndarray:
    """Each connected region of `mask` scaled by `factor` about its own centroid (nearest-neighbour).

    Each region is warped only inside its own scaled bounding box, so cost and memory follow the regions' size,
    not the frame's (an 8K frame with a small person stays cheap).
    """
    if factor == 1.0 or not mask.any():
        return mask.copy()
    h, w = mask.shape
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    out = np.zeros_like(mask, dtype=bool)
    for i in range(1, n):
        cx, cy = centroids[i]
        x, y, bw, bh = stats[i, :4]
        # where the region lands: its bounding box scaled about the centroid, plus a pixel for rounding
        x0 = max(0, int(np.floor(cx + factor * (x - cx))) - 1)
        y0 = max(0, int(np.floor(cy + factor * (y - cy))) - 1)
        x1 = min(w, int(np.ceil(cx + factor * (x + bw - cx))) + 1)
        y1 = min(h, int(np.ceil(cy + factor * (y + bh - cy))) + 1)
        region = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
        # source box pixel (u, v) <- output crop pixel (X, Y): the same affine map, shifted to both crops' origins
        tx, ty = (1 - factor) * cx + factor * x - x0, (1 - factor) * cy + factor * y - y0
        affine = np.array([[factor, 0, tx], [0, factor, ty]], dtype=np.float64)
        warped = cv2.warpAffine(region, affine, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST)
        out[y0:y1, x0:x1] |= warped.astype(bool)
    return out


def dilate_mask(mask: np.ndarray, factor: float = 1.2, margin_px: int = 2) -> np.ndarray:
    """The region removed from background-only frames.

    The paper dilates the body mask "by 1.2x". Here that means: every connected region of the mask is scaled by
    `factor` about its own centroid (so 1.2 makes each person 20% taller and wider), united with the mask itself
    (scaling alone can leave parts of a concave shape uncovered), then grown by `margin_px` pixels in every direction
    so that the colour fringe that video compression leaves around a person is removed too. The result always
    contains the input mask.
    """
    out = mask | scale_about_centroid(mask, factor)
    if margin_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin_px + 1, 2 * margin_px + 1))
        out = cv2.dilate(out.astype(np.uint8), kernel).astype(bool)
    return out


def blur_inflate(mask: np.ndarray, radius: float = 15.0) -> np.ndarray:
    """The authors' prototype inflation (Aglinskas/BC-actionpred-seg, notebook 05 `inflate_mask`): the 0/255 mask
    blurred with a Gaussian of standard deviation `radius` (PIL's GaussianBlur), then every non-zero pixel.

    A pixel is non-zero after rounding to uint8 when the blurred value is >= 0.5 / 255, so the mask grows by about
    2.9 `radius` px beyond a straight edge (~43 px at the prototype's 15), and by less around thin limbs. Worked on
    the mask's padded bounding box, so cost follows the person, not the frame.
    """
    if not mask.any():
        return mask.copy()
    h, w = mask.shape
    reach = int(np.ceil(3 * radius)) + 1  # the kernel's half-width: no pixel beyond it can become non-zero
    ys, xs = np.nonzero(mask)
    y0, y1 = max(0, ys.min() - reach), min(h, ys.max() + reach + 1)
    x0, x1 = max(0, xs.min() - reach), min(w, xs.max() + reach + 1)
    crop = mask[y0:y1, x0:x1].astype(np.float32)
    blurred = cv2.GaussianBlur(crop, (2 * reach + 1, 2 * reach + 1), radius, borderType=cv2.BORDER_CONSTANT)
    out = np.zeros_like(mask, dtype=bool)
    out[y0:y1, x0:x1] = (blurred >= 0.5 / 255) | mask[y0:y1, x0:x1]
    return out


def removal_region(
    mask: np.ndarray, inflate: str = "scale", factor: float = 1.2, margin_px: int = 2, blur_radius: float = 15.0
) -> np.ndarray:
    """The region a background-only frame hides: `dilate_mask` (the paper's) or `blur_inflate` (the prototype's)."""
    if inflate == "scale":
        return dilate_mask(mask, factor, margin_px)
    if inflate == "blur":
        return blur_inflate(mask, blur_radius)
    raise ValueError(f"unknown inflation {inflate!r}; choose scale or blur")


def clip_union(masks: list[np.ndarray]) -> np.ndarray:
    """The union of a clip's person masks (all of one size): every pixel a person covers in any frame read."""
    shapes = {m.shape for m in masks}
    if len(shapes) != 1:
        raise ValueError(f"masks of different sizes {sorted(s[::-1] for s in shapes)}")
    return np.logical_or.reduce(np.stack(masks), axis=0)


# The ImageNet mean colour (torchvision's normalisation, 0.485 / 0.456 / 0.406 of 255): HAT fills its human-only
# videos with it, so that a network's reaction to the fill cannot be a reaction to black.
FILLS = {"black": (0, 0, 0), "mean": (124, 116, 104)}


def make_body_only(frame: np.ndarray, mask: np.ndarray, fill: str = "black") -> np.ndarray:
    """Every non-body pixel set to the fill colour: black (0), or the ImageNet mean (`FILLS`)."""
    if fill not in FILLS:
        raise ValueError(f"unknown body fill {fill!r}; choose {' or '.join(FILLS)}")
    return np.where(mask[..., None], frame, np.array(FILLS[fill], np.uint8)).astype(np.uint8)


def inpaint(frame: np.ndarray, region: np.ndarray, method: str = "telea", radius: int = 3) -> np.ndarray:
    """Fill `region` from its surroundings with OpenCV, working on a crop so cost follows the region, not the frame.

    `method="none"` leaves the region black: the body's inflated silhouette stays visible. That is no stimulus for a
    study; it is the positive control of `experiment leak` (a hole whose shape shows the pose).
    """
    if not region.any():
        return frame.copy()
    if method == "none":
        return np.where(region[..., None], 0, frame).astype(frame.dtype)
    ys, xs = np.nonzero(region)
    pad = 2 * radius + 2
    y0, y1 = max(0, ys.min() - pad), min(frame.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(frame.shape[1], xs.max() + pad + 1)
    out = frame.copy()
    crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
    crop_region = region[y0:y1, x0:x1]
    filled = cv2.inpaint(crop, crop_region.astype(np.uint8) * 255, radius, INPAINT_METHODS[method])
    # Pixels outside the region stay the original's, exactly (outside the crop they were never touched).
    out[y0:y1, x0:x1][crop_region] = filled[crop_region]
    return out


def make_background_only(
    frame: np.ndarray, mask: np.ndarray, factor: float = 1.2, method: str = "telea", radius: int = 3, margin_px: int = 2
) -> np.ndarray:
    """The body region (dilated, see `dilate_mask`) filled by inpainting, so that no body is left."""
    return inpaint(frame, dilate_mask(mask, factor, margin_px), method, radius)
