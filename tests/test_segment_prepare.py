"""`prepare` on real video with the default segmenter, and its at-scale options (workers, shards, errors.csv)."""

import shutil

import cv2
import numpy as np
import pytest

from bodyscene.config import PrepareConfig
from bodyscene.data.video import write_video
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv, read_json
from bodyscene.stimuli.make import prepare
from helpers_seg import photo


@pytest.fixture(scope="module")
def real_clips(tmp_path_factory):
    """folders layout: street/bus.mp4 (3 frames of bus.jpg), broken/ (an undecodable file), close/zidane.mp4."""
    root = tmp_path_factory.mktemp("real") / "data"
    bus, _ = photo("bus.jpg", 0.3)
    zidane, _ = photo("zidane.jpg", 0.25)
    # frames must have even sides for H.264 4:4:4 to round-trip cleanly
    bus, zidane = bus[: bus.shape[0] // 2 * 2, : bus.shape[1] // 2 * 2], zidane[:180, :320]
    write_video(root / "street" / "bus.mp4", [bus] * 3)
    write_video(root / "close" / "zidane.mp4", [zidane] * 3)
    (root / "street" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return root


def test_prepare_real_video_with_mediapipe(real_clips, tmp_path):
    out = tmp_path / "stim"
    cfg = PrepareConfig(layout="folders", frames_per_clip=1, eval_frames_per_clip=1)
    summary = prepare(real_clips, out, cfg)
    rows = read_csv(out / "manifest.csv")
    assert {r["clip_id"] for r in rows} == {"bus", "zidane"}
    assert read_json(out / "stimuli.json")["settings"]["prepare"]["segmenter"] == "auto"  # resolved to mediapipe
    for r in rows:
        assert r["status"] == "ok" and int(r["persons"]) >= 1
        mask = cv2.imread(str(out / r["mask"]), cv2.IMREAD_GRAYSCALE) > 127
        body = cv2.imread(str(out / r["body"]))
        assert 0.05 < mask.mean() < 0.9 and not body[~mask].any()
    bus = next(r for r in rows if r["clip_id"] == "bus")
    assert float(bus["residual_person"]) < 0.05  # the street's people are gone from its background-only frame
    errors = read_csv(out / "errors.csv")
    assert [e["clip_id"] for e in errors] == ["broken"] and "broken.mp4" in errors[0]["reason"]
    assert summary["errors"] == 1 and summary["quality"]["ok"] == 2
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] >= 2 * 128  # one row per class


def test_shards_then_workers_give_the_same_set(tiny_data, tiny_stimuli, tmp_path):
    """Two shards into one folder assemble the same manifest as one sequential run; so do 2 worker processes."""
    cfg = PrepareConfig(frames_per_clip=2)
    out = tmp_path / "sharded"
    first = prepare(tiny_data, out, cfg, shard="0/2")
    assert first["complete"] is False and not (out / "manifest.csv").exists()
    prepare(tiny_data, out, cfg, shard="1/2")
    assert (out / "manifest.csv").read_bytes() == (tiny_stimuli / "manifest.csv").read_bytes()

    parallel = tmp_path / "parallel"
    prepare(tiny_data, parallel, cfg, workers=2)
    assert (parallel / "manifest.csv").read_bytes() == (tiny_stimuli / "manifest.csv").read_bytes()
    a = cv2.imread(str(parallel / read_csv(parallel / "manifest.csv")[0]["background"]))
    b = cv2.imread(str(tiny_stimuli / read_csv(tiny_stimuli / "manifest.csv")[0]["background"]))
    assert np.array_equal(a, b)


def test_bad_shard_and_weights(tiny_data, tmp_path):
    with pytest.raises(BodySceneError, match="--shard 2/2"):
        prepare(tiny_data, tmp_path / "s", PrepareConfig(), shard="2/2")
    with pytest.raises(BodySceneError, match="only the yolo segmenter"):
        prepare(tiny_data, tmp_path / "s", PrepareConfig(segmenter="mediapipe", weights="x.pt"))
    shutil.rmtree(tmp_path / "s", ignore_errors=True)
