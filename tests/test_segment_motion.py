"""The motion segmenter: the synthetic figure walking over a still scene is found; a panning camera is compensated;
prepare feeds it neighbouring frames; a clip of one frame is skipped with its reason."""

import numpy as np
import pytest

from bodyscene.config import PrepareConfig, SynthConfig
from bodyscene.data.synth import draw_figure, sample_figure
from bodyscene.data.synth_scenes import render_scene
from bodyscene.data.video import write_video
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv
from bodyscene.segment import get_segmenter
from bodyscene.segment.motion import camera_motion, residual_speed
from bodyscene.stimuli.make import prepare


def walking_clip(step: float = 3.0, pan: float = 0.0, frames: int = 6, size: int = 96, seed: int = 1):
    """The benchmark's figure (a squat) moving `step` px per frame to the right over a scene panned `pan` px per
    frame: (frames, masks) lists, the masks exactly the figure's pixels."""
    cfg = SynthConfig(frames=frames, size=size)
    rng = np.random.default_rng(seed)
    fig = sample_figure(cfg, 2, rng)
    span = step * (frames - 1)
    x0 = fig.joints["pelvis"][:, 0].mean()
    for k in fig.joints:  # start the walk left of the centre so it stays inside the frame
        fig.joints[k] = fig.joints[k] + np.array([size / 2 - span / 2 - x0, 0])
        fig.joints[k][:, 0] += step * np.arange(frames)
    wide = render_scene(size + int(pan * frames) + 4, 1, rng)[:size]
    out, masks = [], []
    for t in range(frames):
        x = int(round(pan * t))
        img = np.ascontiguousarray(wide[:, x : x + size])
        mask = np.zeros((size, size), np.uint8)
        draw_figure(img, fig, t)
        draw_figure(mask, fig, t, mask_value=255)
        out.append(img)
        masks.append(mask > 0)
    return out, masks


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_walking_figure_on_a_still_scene_is_found():
    frames, masks = walking_clip()
    seg = get_segmenter("motion")
    scores = [iou(seg.segment_at(dict(enumerate(frames)), t).mask, masks[t]) for t in (1, 2, 3, 4)]
    assert min(scores) >= 0.6, scores
    # without motion there is nothing to find: a still clip gives an empty mask, not the scene
    still = seg.segment_at({0: frames[0], 1: frames[0], 2: frames[0]}, 1)
    assert not still.mask.any() and still.persons == 0


def test_camera_pan_is_compensated():
    # the figure walks right as fast as the scene slides left: uncompensated, both move 2 px per frame
    frames, masks = walking_clip(step=2.0, pan=2.0)
    grey = [f.mean(2).astype(np.uint8) for f in frames]
    m = camera_motion(grey[2], grey[3])
    assert m[0, 2] == pytest.approx(-2.0, abs=0.3) and abs(m[1, 2]) < 0.3  # the scene moves 2 px to the left
    compensated = residual_speed(grey[2], grey[3])
    raw = residual_speed(grey[2], grey[3], compensate="none")
    scene = ~masks[2]
    # the share of the scene that seems to move more than a pixel: most of its textured part, uncompensated
    assert (compensated[scene] > 1).mean() < 0.1 < 0.2 < (raw[scene] > 1).mean()
    seg = get_segmenter("motion")
    assert iou(seg.segment_at(dict(enumerate(frames)), 2).mask, masks[2]) >= 0.5
    uncompensated = get_segmenter("motion", compensate="none").segment_at(dict(enumerate(frames)), 2)
    assert iou(uncompensated.mask, masks[2]) < 0.5  # compensation is what makes it work


def test_prepare_reads_neighbours_and_skips_single_frame_clips(tmp_path):
    frames, masks = walking_clip()
    data = tmp_path / "data"
    write_video(data / "videos" / "squat" / "walk.mp4", frames)
    write_video(data / "videos" / "squat" / "single.mp4", frames[:1])
    (data / "splits").mkdir()
    (data / "classes.txt").write_text("squat\n")
    (data / "splits" / "train.txt").write_text("videos/squat/walk.mp4 0\nvideos/squat/single.mp4 0\n")
    out = tmp_path / "stim"
    prepare(data, out, PrepareConfig(segmenter="motion", frames_per_clip=2))
    rows = read_csv(out / "manifest.csv")
    assert [int(r["frame_index"]) for r in rows] == [1, 4] and all(r["residual_person"] == "" for r in rows)
    for r in rows:
        made = np.asarray(__import__("cv2").imread(str(out / r["mask"]), 0)) > 127
        assert iou(made, masks[int(r["frame_index"])]) >= 0.5
    skipped = read_csv(out / "skipped.csv")
    assert [s["clip_id"] for s in skipped] == ["single"] and "single frame" in skipped[0]["reason"]


def test_bad_options_and_no_clip_are_one_line_errors():
    with pytest.raises(BodySceneError, match="radius=0"):
        get_segmenter("motion", radius=0)
    with pytest.raises(BodySceneError, match="neighbouring frames"):
        get_segmenter("motion").segment(np.zeros((64, 64, 3), np.uint8))
