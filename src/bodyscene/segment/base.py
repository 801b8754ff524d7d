"""The one segmenter interface (frame -> mask of all persons) and the registry that builds them by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bodyscene.errors import BodySceneError


@dataclass(frozen=True)
class FrameRef:
    """Where a frame came from, for segmenters that read masks from files (ground truth)."""

    data_root: Path
    rel: str  # the clip's path relative to the data root
    frame_index: int


@dataclass
class Segmentation:
    mask: np.ndarray  # bool, H x W: the union of every person
    persons: int  # number of person instances found


class Segmenter(ABC):
    name: str = ""
    single_frame: bool = True  # False: it needs `ref` (files beside the frame, or the clip's other frames)

    @abstractmethod
    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        """frame: H x W x 3 uint8 RGB."""

    def segment_frames(
        self, frames: dict[int, np.ndarray], refs: dict[int, FrameRef] | None = None
    ) -> dict[int, Segmentation | BodySceneError]:
        """Frames of one clip, keyed by frame index (segmented in index order). Segmenters that gain from seeing a
        clip as video (tracking: mediapipe; batches: yolo) override this. A frame that cannot be segmented maps to
        its error, so one bad frame does not cost the clip."""
        out: dict[int, Segmentation | BodySceneError] = {}
        for index in sorted(frames):
            try:
                out[index] = self.segment(frames[index], (refs or {}).get(index))
            except BodySceneError as e:
                out[index] = e
        return out


SEGMENTERS: dict[str, Callable[..., Segmenter]] = {}


def register(name: str) -> Callable:
    def deco(factory: Callable[..., Segmenter]) -> Callable[..., Segmenter]:
        SEGMENTERS[name] = factory
        return factory

    return deco


def get_segmenter(name: str, **options) -> Segmenter:
    # the built-in segmenters are registered by bodyscene/segment/__init__.py, which Python runs before this module
    if name not in SEGMENTERS:
        raise BodySceneError(f"unknown segmenter {name!r}; choose one of {', '.join(sorted(SEGMENTERS))}")
    return SEGMENTERS[name](**options)
