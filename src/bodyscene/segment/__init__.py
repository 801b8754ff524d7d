"""Person segmenters, built by name: get_segmenter("mediapipe"), get_segmenter("yolo", weights=...),
get_segmenter("motion") (no weights: what moves against the scene)."""

from bodyscene.segment import ground_truth, mediapipe, motion, yolo  # noqa: F401
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, get_segmenter

__all__ = ["FrameRef", "Segmentation", "Segmenter", "get_segmenter"]
