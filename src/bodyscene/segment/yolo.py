"""The paper's segmenter: ultralytics YOLOv8-seg from a local .pt file, person class only, instances unioned.

Offline by construction: YOLO_OFFLINE=1 is set before ultralytics is imported, which makes its `ONLINE` flag
False at import (no DNS probe), and with it the usage events, the Sentry reporter, the PyPI update check and
automatic pip installs; the weights must be a local file (no `attempt_download_asset` fallback); nothing is
plotted, so no font is fetched. tests/test_segment_yolo.py loads and runs a model with sockets blocked.

Safety: a .pt file is a pickle. By default the checkpoint is read with ultralytics' weights-only loader
(ULTRALYTICS_SAFE_LOAD: torch.load(weights_only=True) against an allow-list of model classes), which refuses
arbitrary code; `safe_load=False` falls back to a full unpickle, which can run code from the file. Either way,
only load .pt files you trust (e.g. the official release).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bodyscene.errors import BodySceneError, require_extra
from bodyscene.segment.base import FrameRef, Segmentation, Segmenter, register

PERSON = 0  # COCO class index of "person"
WHERE = (
    "download yolov8x-seg.pt (the paper's; or yolov8n/s/m/l-seg.pt) from https://github.com/ultralytics/assets/releases "
    "on a machine with internet and pass --weights PATH"
)


def import_ultralytics_offline(safe_load: bool = True):
    """Import ultralytics with every network feature off; returns the YOLO class."""
    os.environ["YOLO_OFFLINE"] = "1"
    if safe_load:
        os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"
    # ultralytics is the [yolo] extra (AGPL-3.0), so the core install does not carry it
    require_extra("ultralytics", "yolo", "--segmenter yolo")
    import ultralytics.nn.tasks as tasks
    import ultralytics.utils as uutils
    from ultralytics import YOLO

    uutils.ONLINE = False  # in case ultralytics was imported before the flag was set
    if hasattr(tasks, "SAFE_LOAD"):
        tasks.SAFE_LOAD = safe_load
    return YOLO


@register("yolo")
class YoloSegmenter(Segmenter):
    name = "yolo"

    def __init__(
        self,
        weights: str | Path | None = None,
        conf: float = 0.25,
        imgsz: int = 640,
        device: str = "cpu",
        safe_load: bool = True,
    ):
        if weights is None:
            raise BodySceneError(f"the yolo segmenter needs --weights: {WHERE}")
        path = Path(weights)
        if not path.is_file():
            raise BodySceneError(f"{path}: YOLO weights not found; {WHERE}")
        if path.suffix != ".pt":
            raise BodySceneError(f"{path}: expected a YOLOv8-seg .pt file; {WHERE}")
        if not 0.0 < conf < 1.0:
            raise BodySceneError(f"yolo segmenter: conf={conf} must be between 0 and 1")
        if imgsz < 32 or imgsz % 32:
            raise BodySceneError(f"yolo segmenter: imgsz={imgsz} must be a multiple of 32 (e.g. 640)")
        self.path, self.conf, self.imgsz, self.device, self.safe_load = path, conf, imgsz, device, safe_load
        self._model = None  # loaded lazily, so each worker process loads its own

    def load(self):
        if self._model is None:
            YOLO = import_ultralytics_offline(self.safe_load)
            try:
                model = YOLO(str(self.path), task="segment")
            except (TypeError, RuntimeError, OSError, KeyError, AttributeError, ModuleNotFoundError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise BodySceneError(f"{self.path}: cannot load YOLO weights ({first}); {WHERE}") from e
            if model.task != "segment":
                raise BodySceneError(f"{self.path}: a YOLO {model.task} model, not segment; {WHERE}")
            self._model = model
        return self._model

    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        h, w = frame.shape[:2]
        model = self.load()
        # ultralytics expects BGR numpy arrays; retina_masks returns masks at the frame's own size
        result = model.predict(
            np.ascontiguousarray(frame[:, :, ::-1]),
            classes=[PERSON],
            conf=self.conf,
            imgsz=self.imgsz,
            device=self.device,
            retina_masks=True,
            verbose=False,
        )[0]
        mask = np.zeros((h, w), bool)
        if result.masks is None or len(result.masks) == 0:
            return Segmentation(mask, 0)
        instances = result.masks.data.cpu().numpy() > 0.5
        if instances.shape[1:] != (h, w):  # defensive: retina masks should already match
            import cv2

            instances = np.stack([cv2.resize(m.astype(np.uint8), (w, h)) > 0 for m in instances])
        mask = instances.any(axis=0)
        return Segmentation(mask, int(len(instances)))
