"""Person segmenters, built by name: get_segmenter("ground-truth")."""

from bodyscene.segment import ground_truth  # noqa: F401
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, get_segmenter

__all__ = ["FrameRef", "Segmentation", "Segmenter", "get_segmenter"]
