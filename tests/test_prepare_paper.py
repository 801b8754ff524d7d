"""The paper's recipe on HAA500-named clips of real footage; clip-scope masks; the temporal fill; 0 stimuli exits 2."""

import shutil

import cv2
import numpy as np
import pytest

from bodyscene.config import PrepareConfig, load_config
from bodyscene.data.readers import Clip
from bodyscene.data.video import write_video
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv
from bodyscene.segment import Segmentation, Segmenter
from bodyscene.segment.ground_truth import GroundTruthSegmenter
from bodyscene.stimuli import make
from bodyscene.stimuli.background import plan_clip
from bodyscene.stimuli.make import prepare, process_clip
from bodyscene.stimuli.masks import blur_inflate, dilate_mask, inpaint, removal_region
from bodyscene.stimuli.temporal import chain_motions, temporal_fill
from helpers_seg import photo, street


def panned(image: np.ndarray, box: tuple[int, int, int, int], frames: int, step: int) -> list[np.ndarray]:
    """A slow pan over a real photo: 320x180 crops of `box` (x0, y0, w, h) moving `step` px per frame."""
    x0, y0, w, h = box
    return [cv2.resize(image[y0 : y0 + h, x0 + step * t : x0 + step * t + w], (320, 180)) for t in range(frames)]


@pytest.fixture(scope="module")
def haa500_real(tmp_path_factory):
    """HAA500 v1.1 names (video/<action>/<action>_<NNN>.mp4) of 4-frame pans over the photos ultralytics ships."""
    root = tmp_path_factory.mktemp("haa500") / "haa500_v1_1"
    bus, _ = photo("bus.jpg")
    zidane, _ = photo("zidane.jpg")
    clips = {
        "bus_stop_000": panned(bus, (0, 380, 760, 428), 4, 12),  # the three people in the street, 16:9
        "bus_stop_017": panned(bus, (40, 390, 740, 416), 4, 8),
        "football_000": panned(zidane, (0, 0, 1200, 675), 4, 20),
        "football_017": panned(zidane, (40, 20, 1180, 664), 4, 10),
    }
    for name, frames in clips.items():
        write_video(root / "video" / name.rsplit("_", 1)[0] / f"{name}.mp4", frames)
    return root


def test_paper_config_names_the_weights_it_needs(run_cli, haa500_real, tmp_path, monkeypatch, capsys):
    code, err = run_cli("prepare", "--config", "paper", "--data", str(haa500_real), "--out", str(tmp_path / "o"))
    assert code == 2 and "--weights" in err and "yolov8x-seg.pt" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_paper_config_with_yolo_makes_stimuli_or_exits_2_with_the_skip_reasons(run_cli, haa500_real, tmp_path, monkeypatch,
                                                                                capsys):  # fmt: skip
    """A YOLOv8-seg with random weights (no download): it finds people or it doesn't; never exit 0 with nothing."""
    from bodyscene.segment.yolo import import_ultralytics_offline

    weights = tmp_path / "yolov8n-seg-random.pt"
    import_ultralytics_offline()("yolov8n-seg.yaml").save(str(weights))
    out = tmp_path / "stim"
    code, err = run_cli("prepare", "--config", "paper", "--data", str(haa500_real), "--out", str(out),
        "--weights", str(weights), "--set", "prepare.segmenter_options.imgsz=320", "--set", "prepare.residual=false",
    )  # fmt: skip
    if code == 0:
        assert sum(r["status"] == "ok" for r in read_csv(out / "manifest.csv")) > 0
    else:
        assert code == 2 and "0 usable stimuli from 4 clips" in err and "x 'no person found'" in err, err


def test_paper_recipe_on_real_footage_with_the_offline_segmenter(haa500_real, tmp_path):
    """The paper config with mediapipe: stimuli for every clip, each clip's background-only frames from one mask."""
    cfg = load_config("paper", {"prepare": {"segmenter": "mediapipe", "eval_frames_per_clip": 2}}).prepare
    out = tmp_path / "stim"
    prepare(haa500_real, out, cfg)
    rows = [r for r in read_csv(out / "manifest.csv") if r["status"] == "ok"]
    assert {r["clip_id"] for r in rows} == {"bus_stop_000", "bus_stop_017", "football_000", "football_017"}
    assert {r["split"] for r in rows} == {"train", "test"}
    for clip in ("bus_stop_017", "football_017"):
        mine = [r for r in rows if r["clip_id"] == clip]
        assert len(mine) == 2 and {r["mask_scope"] for r in mine} == {"clip"}
        assert len({r["region_area"] for r in mine}) == 1  # one region for the whole clip
        # the region is the union over the clip: larger than either frame's own mask
        assert all(float(r["region_area"]) > float(r["mask_area"]) for r in mine)


def test_clip_scope_uses_one_region_that_holds_every_frames_mask(tiny_data, tmp_path):
    """Ground-truth masks of every frame (not only the sampled ones): the region hidden in each background-only
    frame of a clip is the inflated union, and outside it the background-only frame is the original."""
    out = tmp_path / "stim"
    prepare(tiny_data, out, PrepareConfig(mask_scope="clip", frames_per_clip=2, residual=False))
    rows = read_csv(out / "manifest.csv")
    train = [r for r in rows if r["split"] == "train"]
    assert len(train) == 4 * 4 * 2
    for clip_id in {r["clip_id"] for r in train}:
        mine = [r for r in train if r["clip_id"] == clip_id]
        masks = [
            cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 127
            for p in sorted((tiny_data / "masks" / mine[0]["class"] / clip_id).glob("*.png"))
        ]
        assert len(masks) == 4  # every frame of the clip was used, 2 of them sampled
        region = dilate_mask(np.logical_or.reduce(masks), 1.2, 2)
        for r in mine:
            assert r["mask_scope"] == "clip" and float(r["region_area"]) == round(float(region.mean()), 6)
            original = cv2.imread(str(out / r["original"]))
            background = cv2.imread(str(out / r["background"]))
            assert (background[~region] == original[~region]).all()
            own = cv2.imread(str(out / r["mask"]), cv2.IMREAD_GRAYSCALE) > 127
            assert all(region[m].all() for m in masks) and not own.all()
            body = cv2.imread(str(out / r["body"]))
            assert not body[~own].any()  # body-only keeps its own frame's mask, not the union


def test_plan_hides_one_region_in_every_frame_and_it_contains_each_mask():
    frames, masks = {}, {}
    for i in range(0, 10, 2):
        m = np.zeros((64, 64), bool)
        m[10 + 3 * i : 30 + 3 * i, 20:30] = True
        frames[i], masks[i] = np.zeros((64, 64, 3), np.uint8), m
    plan = plan_clip(frames, masks, PrepareConfig(mask_scope="clip", inflate="blur", blur_radius=2))
    regions = [plan.background(i, masks[i])[0] for i in masks]
    assert all(r is regions[0] for r in regions) and all(regions[0][m].all() for m in masks.values())
    assert not plan.notes


def test_blur_inflation_grows_like_the_prototype_and_contains_the_mask():
    mask = np.zeros((200, 200), bool)
    mask[80:120, 60:140] = True
    grown = blur_inflate(mask, 5.0)
    assert grown[mask].all()
    # about 2.9 sigma beyond a straight edge (the 0.5/255 threshold of the prototype's uint8 blur)
    reach = np.nonzero(grown[100])[0].max() - 139
    assert 12 <= reach <= 16
    assert (removal_region(mask, "blur", blur_radius=5.0) == grown).all()
    assert not blur_inflate(np.zeros((50, 50), bool), 5.0).any()


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    err = np.mean((a[where].astype(float) - b[where].astype(float)) ** 2)
    return float(10 * np.log10(255**2 / max(err, 1e-9)))


def test_temporal_fill_restores_a_known_plate_far_better_than_telea():
    """A real street panned 3 px per frame behind a walking 'person' (a box): the temporal fill puts back the
    plate (PSNR in the hole at least 10 dB above Telea's, measured ~25-35 dB above) and says it filled it all."""
    H, W, T = 180, 320, 10
    wide = street(H, W + 3 * T)
    frames, covered, plates = [], [], []
    for t in range(T):
        plate = wide[:, 3 * t : 3 * t + W].copy()
        m = np.zeros((H, W), bool)
        m[50:150, 40 + 18 * t : 70 + 18 * t] = True
        frame = plate.copy()
        frame[m] = (200, 40, 40)
        frames.append(frame), plates.append(plate), covered.append(dilate_mask(m, 1.2, 2))
    to_first = chain_motions(frames, covered)
    assert abs(to_first[1][0, 2] - 3) < 0.5  # the pan, found
    for target in (0, 5, 9):
        hole = covered[target]
        filled, share = temporal_fill(frames, covered, target, hole, to_first)
        telea = inpaint(frames[target], hole, "telea", 5)
        assert share > 0.95 and (filled[~hole] == frames[target][~hole]).all()
        assert psnr(filled, plates[target], hole) >= psnr(telea, plates[target], hole) + 10


def test_a_prepare_with_no_usable_stimulus_exits_2_with_the_top_skip_reasons(run_cli, tiny_data, tmp_path, monkeypatch,
                                                                             capsys):  # fmt: skip
    out = tmp_path / "stim"
    code, err = run_cli("prepare", "--data", str(tiny_data), "--out", str(out),
        "--set", "prepare.min_mask_fraction=1.0",
    )  # fmt: skip
    assert code == 2 and "0 usable stimuli from 28 clips" in err and "28 x 'no person found'" in err
    assert len(read_csv(out / "skipped.csv")) == 28  # the files that explain it are written


def test_temporal_and_clip_scope_on_the_benchmark_record_their_fill(tiny_data, tmp_path):
    out = tmp_path / "stim"
    prepare(tiny_data, out, PrepareConfig(mask_scope="clip", inpaint="temporal", residual=False))
    rows = read_csv(out / "manifest.csv")
    shares = [float(r["temporal_share"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in shares) and max(shares) > 0
    assert read_csv(out / "errors.csv") == []


class BoxSegmenter(Segmenter):
    """A person box in the middle of any frame."""

    name = "box"

    def segment(self, frame, ref=None):
        mask = np.zeros(frame.shape[:2], bool)
        h, w = mask.shape
        mask[h // 4 : 3 * h // 4, w // 3 : w // 2] = True
        return Segmentation(mask, 1)


def test_a_one_frame_clip_falls_back_with_the_reason_recorded(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    frame = np.full((64, 64, 3), 90, np.uint8)
    write_video(data / "videos" / "kick" / "kick_test_000.mp4", [frame])
    out = tmp_path / "stim"
    cfg = PrepareConfig(mask_scope="clip", inpaint="temporal", segmenter="mediapipe", residual=False)
    clip = Clip("kick_test_000", data / "videos/kick/kick_test_000.mp4", "videos/kick/kick_test_000.mp4", 3, "kick",
                "test")  # fmt: skip
    result = process_clip(clip, data, out, BoxSegmenter(), cfg)
    reasons = " | ".join(f["reason"] for f in result.fallbacks)
    assert "mask_scope clip needs 2 or more frames, 1 read" in reasons
    assert "too short for the temporal fill" in reasons
    assert len(result.rows) == 1 and result.rows[0]["mask_scope"] == "frame" and result.rows[0]["temporal_share"] == 0


def test_frames_of_different_sizes_in_a_clip_fall_back_to_frame_scope(tiny_data, tmp_path, monkeypatch):
    sizes = {0: (64, 64), 1: (64, 64), 2: (48, 80), 3: (64, 64)}

    def fake_read(path, indices, n_frames, flow):
        return {i: np.full((*sizes[i], 3), 100, np.uint8) for i in indices}, {}

    monkeypatch.setattr(make, "read_with_partners", fake_read)
    monkeypatch.setattr(make, "count_frames", lambda path: 4)
    clip = Clip("odd", tmp_path / "odd.mp4", "odd.mp4", 0, "wave", "train")
    cfg = PrepareConfig(mask_scope="clip", inpaint="temporal", residual=False, frames_per_clip="all")
    result = process_clip(clip, tmp_path, tmp_path / "stim", BoxSegmenter(), cfg)
    assert len(result.fallbacks) == 1 and "frames of different sizes (80x48, 64x64)" in result.fallbacks[0]["reason"]
    assert len(result.rows) == 4 and {r["mask_scope"] for r in result.rows} == {"frame"}


def test_frames_per_clip_all_and_max_persons(tiny_data, tmp_path):
    out = tmp_path / "stim"
    summary = prepare(tiny_data, out, PrepareConfig(frames_per_clip="all", residual=False))
    assert summary["counts"]["train"] == 4 * 4 * 4  # every frame of every training clip


class TwoPersons(GroundTruthSegmenter):
    """The ground-truth masks, each counted as two persons."""

    def segment(self, frame, ref=None):
        return Segmentation(super().segment(frame, ref).mask, 2)


def test_max_persons_leaves_out_frames_with_more_people(tiny_data, tmp_path, monkeypatch):
    from bodyscene.segment.base import SEGMENTERS

    monkeypatch.setitem(SEGMENTERS, "two-persons", TwoPersons)
    cfg = PrepareConfig(max_persons=1, segmenter="two-persons", residual=False)
    with pytest.raises(BodySceneError, match="0 usable stimuli.*x 'more than max_persons=1 persons'"):
        prepare(tiny_data, tmp_path / "none", cfg)
    assert (
        len(
            read_stimulus_set_ok(
                tmp_path / "two", PrepareConfig(max_persons=2, segmenter="two-persons", residual=False), tiny_data
            )
        )
        == 28
    )


def read_stimulus_set_ok(out, cfg, data):
    prepare(data, out, cfg)
    return [r for r in read_csv(out / "manifest.csv") if r["status"] == "ok"]
