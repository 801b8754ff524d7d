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
