"""Person segmenters, built by name: get_segmenter("mediapipe"), get_segmenter("yolo", weights=...)."""

from bodyscene.segment import ground_truth, mediapipe, yolo  # noqa: F401
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, get_segmenter

__all__ = ["FrameRef", "Segmentation", "Segmenter", "get_segmenter"]
