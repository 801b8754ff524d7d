"""The embedded benchmark: deterministic clips, exact masks, figure size, scene correlation, data layout."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bodyscene.config import SynthConfig, validate
from bodyscene.data.readers import read_list_layout
from bodyscene.data.synth import (
    CLASS_NAMES,
    class_scene,
    clip_parts,
    clip_rng,
    generate,
    make_clip,
    make_clip_with_plates,
    render_clip,
    render_figure,
)
from bodyscene.data.synth_scenes import render_scene
from bodyscene.data.video import read_frames
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv, read_json

TINY = dict(classes=3, scene_types=2, train_clips=2, val_clips=1, test_clips=2, frames=3, size=64)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> tuple[SynthConfig, Path, dict]:
    cfg = SynthConfig(**TINY)
    out = tmp_path_factory.mktemp("synth")
    return cfg, out, generate(cfg, out)


def test_same_seed_same_clip_other_seed_differs():
    cfg = SynthConfig(**TINY)
    a = render_clip(cfg, 1, 0, clip_rng(0, "train", 1, 0))
    b = render_clip(cfg, 1, 0, clip_rng(0, "train", 1, 0))
    c = render_clip(cfg, 1, 0, clip_rng(1, "train", 1, 0))
    assert a[0].shape == (3, 64, 64, 3) and a[0].dtype == np.uint8
    assert a[1].shape == (3, 64, 64) and a[1].dtype == bool
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_clip_does_not_depend_on_generation_order():
    cfg = SynthConfig(**TINY)
    first = render_clip(cfg, 2, 1, clip_rng(0, "test", 2, 1))[0]
    render_clip(cfg, 0, 0, clip_rng(0, "train", 0, 0))  # something else in between
    np.testing.assert_array_equal(first, render_clip(cfg, 2, 1, clip_rng(0, "test", 2, 1))[0])


@pytest.mark.parametrize("cls", range(len(CLASS_NAMES)))
def test_mask_is_exactly_the_drawn_figure(cls):
    cfg = SynthConfig(**{**TINY, "classes": 20, "size": 96})
    frames, masks = render_clip(cfg, cls, 0, np.random.default_rng(cls))
    scene_rng, figure_rng = clip_parts(np.random.default_rng(cls))
    scene = render_scene(cfg.size, 0, scene_rng)
    # Outside the mask the clip is the scene, untouched.
    np.testing.assert_array_equal(frames[~masks], np.broadcast_to(scene, frames.shape)[~masks])
    # On a black canvas (figure colours are never pure black) the non-black pixels are exactly the mask.
    alone, alone_masks = render_figure(cfg, cls, figure_rng)
    np.testing.assert_array_equal(alone_masks, masks)
    np.testing.assert_array_equal(alone.any(-1), masks)
    np.testing.assert_array_equal(alone[masks], frames[masks])


@pytest.mark.parametrize("cls", range(len(CLASS_NAMES)))
@pytest.mark.parametrize("size", [64, 128])
def test_figure_height_is_a_quarter_to_three_fifths_of_the_frame(cls, size):
    cfg = SynthConfig(**{**TINY, "classes": 20, "size": size, "frames": 6})
    for seed in range(4):
        masks = render_clip(cfg, cls, 0, np.random.default_rng(seed))[1]
        assert masks.any(axis=(1, 2)).all(), "every frame shows the figure"
        heights = [np.flatnonzero(m.any(1)).ptp() + 1 for m in masks]
        assert 0.25 <= max(heights) / size <= 0.60
        assert masks.mean() < 0.2, "the body is a small part of the pixels"


def test_classes_differ_in_pose_not_only_in_noise():
    """Same random stream, different class: the silhouettes must differ clearly (poses are class-specific)."""
    cfg = SynthConfig(**{**TINY, "classes": 20, "frames": 1, "size": 96})
    masks = [render_figure(cfg, c, np.random.default_rng(0))[1][0] for c in range(20)]
    for i in range(20):
        for j in range(i + 1, 20):
            inter = (masks[i] & masks[j]).sum()
            union = (masks[i] | masks[j]).sum()
            assert inter / union < 0.8, (CLASS_NAMES[i], CLASS_NAMES[j])


def test_scene_type_is_an_easy_cue():
    """Leave-one-out nearest neighbour on 16x16 thumbnails names the scene type of nearly every scene."""
    thumbs, types = [], []
    for k in range(20):
        for seed in range(5):
            img = render_scene(64, k, np.random.default_rng(seed))
            thumbs.append(cv2.resize(img, (16, 16), interpolation=cv2.INTER_AREA).astype(float).ravel())
            types.append(k)
    x = np.stack(thumbs)
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (np.array(types)[d.argmin(1)] == np.array(types)).mean() >= 0.95
    assert len({render_scene(32, 0, np.random.default_rng(s)).tobytes() for s in range(3)}) == 3  # varied


@pytest.mark.parametrize("corr, expected", [(1.0, 1), (0.0, 0)])
def test_scene_correlation_extremes(tmp_path, corr, expected):
    cfg = SynthConfig(**{**TINY, "frames": 1, "scene_correlation": corr, "test_scene_correlation": 1 - corr})
    generate(cfg, tmp_path)
    rows = read_csv(tmp_path / "clips.csv")
    for row in rows:
        want = expected if row["split"] != "test" else 1 - expected
        assert int(row["class_scene"]) == want
        own = class_scene(int(row["label"]), cfg.scene_types)
        assert (int(row["scene_type"]) == own) == bool(want)


def test_layout_is_read_back_with_counts_and_labels(tiny_data):
    cfg, out, summary = tiny_data
    classes, clips = read_list_layout(out)
    assert classes == list(CLASS_NAMES[:3]) == summary["classes"]
    assert summary["clips"] == len(clips) == 3 * (2 + 1 + 2)
    per_split = {s: sum(c.split == s for c in clips) for s in ("train", "val", "test")}
    assert per_split == {"train": 6, "val": 3, "test": 6}
    rows = {r["clip_id"]: r for r in read_csv(out / "clips.csv", required=["clip_id", "class", "label", "split"])}
    assert len(rows) == len(clips)
    for clip in clips:
        assert clip.class_name == classes[clip.label] and clip.rel == f"videos/{clip.class_name}/{clip.clip_id}.mp4"
        assert rows[clip.clip_id]["split"] == clip.split and int(rows[clip.clip_id]["label"]) == clip.label
        assert clip.clip_id.startswith(f"{clip.class_name}_{clip.split}_")
    meta = read_json(out / "synth.json")
    assert meta["config"] == cfg.model_dump(mode="json") and meta["clips"] == len(clips)


def test_videos_decode_and_masks_match_ground_truth(tiny_data):
    cfg, out, _ = tiny_data
    _, clips = read_list_layout(out)
    for clip in clips[:4]:
        frames = read_frames(clip.path)
        assert sorted(frames) == list(range(cfg.frames))
        assert all(f.shape == (64, 64, 3) for f in frames.values())
        split, index = clip.split, int(clip.clip_id.rsplit("_", 1)[1])
        row = next(r for r in read_csv(out / "clips.csv") if r["clip_id"] == clip.clip_id)
        scene, drawn, masks = make_clip(cfg, split, clip.label, index)
        assert scene == int(row["scene_type"])
        for t in range(cfg.frames):
            png = cv2.imread(str(out / "masks" / clip.class_name / clip.clip_id / f"{t:04d}.png"), 0)
            assert set(np.unique(png)) <= {0, 255}
            np.testing.assert_array_equal(png > 127, masks[t])
            # Lossy H.264 but yuv444 at low CRF: the decoded frame stays close to the drawing.
            assert np.abs(frames[t].astype(int) - drawn[t]).mean() < 6


def test_rerun_is_identical(tiny_data, tmp_path):
    cfg, out, _ = tiny_data
    generate(cfg, tmp_path)
    for name in ("classes.txt", "clips.csv", "splits/train.txt", "splits/test.txt"):
        assert (tmp_path / name).read_text() == (out / name).read_text()


@pytest.mark.parametrize("bad", [{"classes": 1}, {"classes": 21}, {"scene_correlation": 1.5}, {"colour": 3}])
def test_invalid_config_is_rejected(bad):
    with pytest.raises(BodySceneError):
        validate(SynthConfig, {**TINY, **bad}, "synth.yaml")


def test_cli_synth_writes_the_folder(tmp_path):
    from typer.testing import CliRunner

    from bodyscene.cli import app

    args = ["synth", "--out", str(tmp_path), "--classes", "2", "--frames", "2", "--size", "32"]
    args += ["--train-clips", "1", "--test-clips", "1", "--set", "synth.val_clips=0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    classes, clips = read_list_layout(tmp_path)
    assert classes == ["wave", "jumping_jacks"] and len(clips) == 4
    assert len(list((tmp_path / "masks").rglob("*.png"))) == 4 * 2


def test_plates_are_the_frames_without_the_figure_and_pan_with_the_camera(tiny_data, tmp_path):
    cfg, out, _ = tiny_data
    clip = read_list_layout(out)[1][0]
    name = clip.rel.split("/")[1]
    plates = [cv2.imread(str(out / "plates" / name / clip.clip_id / f"{t:04d}.png"))[..., ::-1] for t in range(3)]
    masks = [cv2.imread(str(out / "masks" / name / clip.clip_id / f"{t:04d}.png"), 0) > 127 for t in range(3)]
    for t, frame in read_frames(clip.path).items():
        err = np.abs(frame.astype(int) - plates[t].astype(int))[~masks[t]]
        assert err.mean() < 3  # the video is the plate outside the figure (up to H.264's loss)
    assert (plates[0] == plates[1]).all()  # a still camera
    panned = SynthConfig(**{**TINY, "camera_pan": 2.0, "frames": 4})
    _, frames, masks, plates = make_clip_with_plates(panned, "train", 0, 0)
    assert (frames[~masks] == plates[~masks]).all() and not (plates[0] == plates[1]).all()
    # plate t+1 is plate t moved 2 px to the left (the camera pans right)
    np.testing.assert_allclose(plates[1][:, :-4].astype(int), plates[0][:, 2:-2].astype(int), atol=1)
