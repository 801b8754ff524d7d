"""The yolo segmenter through ultralytics' real loading code, with every socket blocked.

The model is a YOLOv8-seg built from ultralytics' own yaml (random weights) and saved as .pt, so the test needs
no download; it checks the loading and prediction path and that no network call is made, not accuracy.
"""

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bodyscene.errors import BodySceneError
from bodyscene.segment import get_segmenter


class NetworkCall(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args[:2])
        raise NetworkCall(f"network call attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    from bodyscene.segment.yolo import import_ultralytics_offline

    YOLO = import_ultralytics_offline()
    path = tmp_path_factory.mktemp("yolo") / "yolov8n-seg-random.pt"
    YOLO("yolov8n-seg.yaml").save(str(path))
    return path


def test_loads_and_segments_offline(weights, no_network):
    seg = get_segmenter("yolo", weights=weights, imgsz=128, conf=0.01)
    frame = np.random.default_rng(0).integers(0, 255, (72, 120, 3), dtype=np.uint8)
    result = seg.segment(frame)
    assert result.mask.shape == (72, 120) and result.mask.dtype == bool
    assert result.persons >= 0 and (result.persons > 0) == result.mask.any()
    assert no_network == []


def test_import_makes_no_network_call(weights):
    """A fresh interpreter with sockets blocked: importing, loading and predicting must not touch the network."""
    code = f"""
import socket, sys
def refuse(*a, **k):
    print("NETWORK", a[:2]); sys.exit(3)
socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
import numpy as np
from bodyscene.segment import get_segmenter
seg = get_segmenter("yolo", weights={str(weights)!r}, imgsz=64)
seg.segment(np.zeros((64, 64, 3), np.uint8))
print("OK")
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    env.pop("YOLO_OFFLINE", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr[-2000:]


def test_missing_weights_say_where_to_get_them(tmp_path):
    with pytest.raises(BodySceneError, match="yolov8x-seg.pt.*--weights PATH"):
        get_segmenter("yolo")
    with pytest.raises(BodySceneError, match=r"nope.pt: YOLO weights not found; download"):
        get_segmenter("yolo", weights=tmp_path / "nope.pt")


class Payload:
    """Unpickling this creates a file: the marker of code run from a checkpoint."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_untrusted_pickle_is_refused(tmp_path):
    """The default weights-only load must refuse a .pt that would run code when unpickled."""
    marker = tmp_path / "code-ran"
    bad = tmp_path / "evil.pt"
    torch.save({"model": Payload(marker)}, bad, pickle_module=pickle)
    seg = get_segmenter("yolo", weights=bad)
    with pytest.raises(BodySceneError, match="evil.pt: cannot load YOLO weights"):
        seg.load()
    assert not marker.exists()


def test_batched_frames_give_the_per_frame_masks(weights):
    seg = get_segmenter("yolo", weights=weights, imgsz=128, conf=0.01, batch=3)
    rng = np.random.default_rng(1)
    frames = {i: rng.integers(0, 255, (72, 120, 3), dtype=np.uint8) for i in range(5)}
    frames[5] = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)  # a size change starts a new batch
    calls = []
    predict = seg.predict
    seg.predict = lambda batch: calls.append(len(batch)) or predict(batch)
    batched = seg.segment_frames(frames)
    assert calls == [3, 2, 1]
    for i, frame in frames.items():
        single = get_segmenter("yolo", weights=weights, imgsz=128, conf=0.01).segment(frame)
        assert np.array_equal(batched[i].mask, single.mask) and batched[i].persons == single.persons


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message where no GPU is visible")
@pytest.mark.parametrize("options", [{"device": "cuda"}, {"device": "0"}, {"half": True}])
def test_a_gpu_asked_for_where_none_exists_is_one_line(weights, options):
    with pytest.raises(BodySceneError) as err:
        get_segmenter("yolo", weights=weights, **options)
    message = str(err.value)
    assert "\n" not in message and ("no CUDA GPU" in message or "half precision needs a CUDA GPU" in message)


def _outputs(folder: Path) -> dict[str, bytes]:
    skip = (".progress", "stimuli.json", "contact_sheet.png")
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not str(p.relative_to(folder)).startswith(skip)
    }


def test_batched_prepare_killed_mid_write_and_resumed_or_sharded_gives_identical_outputs(weights, tiny_data, tmp_path):
    from bodyscene.config import PrepareConfig
    from bodyscene.stimuli.make import prepare

    # (the random-weight model finds no one: min_mask_fraction 0 keeps every frame, so all are written)
    cfg = PrepareConfig(
        segmenter="yolo", weights=str(weights), frames_per_clip=2, residual=False, min_mask_fraction=0.0,
        segmenter_options={"imgsz": 64, "conf": 0.0001, "batch": 4}, image_format="jpg",
    )  # fmt: skip
    whole = tmp_path / "whole"
    prepare(tiny_data, whole, cfg)
    killed = tmp_path / "killed"
    prepare(tiny_data, killed, cfg)
    records = sorted((killed / ".progress").glob("*.json"))
    for r in records[1::2]:  # as if killed while these clips' images were being written
        r.unlink()
    row = (killed / "manifest.csv").read_text().splitlines()[1].split(",")
    (killed / "manifest.csv").unlink()
    half = next(killed.rglob("*.jpg"))
    (half.parent / f".{half.name}.tmp").write_bytes(half.read_bytes()[:10])  # a half-written temp file
    prepare(tiny_data, killed, cfg)
    assert _outputs(killed) == _outputs(whole) and row
    sharded = tmp_path / "sharded"
    for shard in ("0/2", "1/2"):  # e.g. one process per GPU
        prepare(tiny_data, sharded, cfg, shard=shard)
    assert _outputs(sharded) == _outputs(whole)
