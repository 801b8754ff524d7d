"""The paper's segmenter: ultralytics YOLOv8-seg from a local .pt file, person class only, instances unioned.

Offline by construction: YOLO_OFFLINE=1 is set before ultralytics is imported, which makes its `ONLINE` flag
False at import (no DNS probe), and with it the usage events, the Sentry reporter, the PyPI update check and
automatic pip installs; the weights must be a local file (no `attempt_download_asset` fallback); nothing is
plotted, so no font is fetched. tests/test_segment_yolo.py loads and runs a model with sockets blocked.

Safety: a .pt file is a pickle. By default the checkpoint is read with ultralytics' weights-only loader
(ULTRALYTICS_SAFE_LOAD: torch.load(weights_only=True) against an allow-list of model classes), which refuses
arbitrary code; `safe_load=False` falls back to a full unpickle, which can run code from the file. Either way,
only load .pt files you trust (e.g. the official release).

At GPU speed (`prepare --segmenter yolo`, all frames): `segment_frames` sends a clip's frames to the model in
batches of `batch` per call; `half` runs it in float16 (default: on a GPU); `device: cuda` takes the process's GPU
from LOCAL_RANK (one model per GPU process: start one `prepare --shard i/n` per GPU, on any number of nodes, into
one folder). Image encoding runs on prepare's writer threads (`prepare.writer_threads`), so the model does not wait
for PNG/JPEG writes. Asking for a GPU where none is visible is one line at start-up, before any work.
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
        batch: int = 1,
        half: bool | None = None,
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
        if batch < 1:
            raise BodySceneError(f"yolo segmenter: batch={batch}; use 1 or more frames per call")
        device = resolve_device(device)
        on_gpu = device != "cpu" and device != "mps"
        if half and not on_gpu:
            raise BodySceneError(f"yolo segmenter: half precision needs a CUDA GPU (device={device}); drop half")
        self.path, self.conf, self.imgsz, self.device, self.safe_load = path, conf, imgsz, device, safe_load
        self.batch, self.half = batch, on_gpu if half is None else half
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

    def predict(self, frames: list[np.ndarray]) -> list:
        # ultralytics expects BGR numpy arrays; retina_masks returns masks at the frame's own size
        precision = {"quantize": 16} if self.half else {}  # (ultralytics 8.4: `quantize` replaces `half`)
        return self.load().predict(
            [np.ascontiguousarray(f[:, :, ::-1]) for f in frames],
            classes=[PERSON],
            conf=self.conf,
            imgsz=self.imgsz,
            device=self.device,
            batch=len(frames),
            retina_masks=True,
            verbose=False,
            **precision,
        )

    def segment(self, frame: np.ndarray, ref: FrameRef | None = None) -> Segmentation:
        return to_segmentation(self.predict([frame])[0], frame.shape[:2])

    def segment_frames(
        self, frames: dict[int, np.ndarray], refs: dict[int, FrameRef] | None = None
    ) -> dict[int, Segmentation | BodySceneError]:
        """`batch` frames per model call (frames of one size per call: a clip whose size varies is split)."""
        order = sorted(frames)
        out: dict[int, Segmentation | BodySceneError] = {}
        start = 0
        while start < len(order):
            chunk = [order[start]]
            while len(chunk) < self.batch and start + len(chunk) < len(order):
                nxt = order[start + len(chunk)]
                if frames[nxt].shape != frames[chunk[0]].shape:
                    break
                chunk.append(nxt)
            for index, result in zip(chunk, self.predict([frames[i] for i in chunk]), strict=True):
                out[index] = to_segmentation(result, frames[index].shape[:2])
            start += len(chunk)
        return out


def resolve_device(device: str) -> str:
    """`cuda` as this process's GPU (LOCAL_RANK under torchrun or a launcher, else 0); a GPU asked for where none
    is visible is one line naming the fix."""
    device = str(device)
    if device in ("cpu", "mps"):
        return device
    wants_cuda = device.startswith("cuda") or device.replace(",", "").isdigit()
    if not wants_cuda:
        raise BodySceneError(f"yolo segmenter: device={device!r}; use cpu, cuda, cuda:N or N")
    import torch

    if not torch.cuda.is_available():
        raise BodySceneError(
            f"yolo segmenter: device={device} but no CUDA GPU is visible here (torch.cuda.is_available() is False); "
            "use --set prepare.segmenter_options.device=cpu, or run on a GPU node"
        )
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
    return device


def to_segmentation(result, shape: tuple[int, int]) -> Segmentation:
    h, w = shape
    mask = np.zeros((h, w), bool)
    if result.masks is None or len(result.masks) == 0:
        return Segmentation(mask, 0)
    instances = result.masks.data.float().cpu().numpy() > 0.5
    if instances.shape[1:] != (h, w):  # defensive: retina masks should already match
        import cv2

        instances = np.stack([cv2.resize(m.astype(np.uint8), (w, h)) > 0 for m in instances])
    mask = instances.any(axis=0)
    return Segmentation(mask, int(len(instances)))
