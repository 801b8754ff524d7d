import csv

import cv2
import numpy as np
import pytest

from bodyscene.config import PrepareConfig
from bodyscene.errors import BodySceneError
from bodyscene.stimuli.make import prepare
from bodyscene.stimuli.manifest import FILL_COLUMNS, IMAGE_COLUMNS, MANIFEST_COLUMNS, read_stimulus_set
from bodyscene.stimuli.masks import dilate_mask


def _read(stim, row, column, flags=cv2.IMREAD_COLOR):
    return cv2.imread(str(stim / row[column]), flags)


def test_manifest_has_the_documented_columns_and_one_row_per_sampled_frame(tiny_stimuli):
    with open(tiny_stimuli / "manifest.csv") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == MANIFEST_COLUMNS + FILL_COLUMNS + IMAGE_COLUMNS
        rows = list(reader)
    stim = read_stimulus_set(tiny_stimuli)
    # frames_per_clip=2 for train (4 classes x 4 clips), 1 for val and test
    assert len(stim.split("train")) == 4 * 4 * 2
    assert len(stim.split("val")) == 4 and len(stim.split("test")) == 8
    assert len({r["stimulus_id"] for r in rows}) == len(rows)
    assert all(r["stimulus_id"] == f"{r['clip_id']}_f{int(r['frame_index']):04d}" for r in rows)


def test_body_only_is_zero_outside_the_mask_and_background_only_differs_only_inside_the_dilated_mask(tiny_stimuli):
    stim = read_stimulus_set(tiny_stimuli)
    for row in stim.rows[:10]:
        original, body, background = (_read(tiny_stimuli, row, c) for c in ("original", "body", "background"))
        mask = _read(tiny_stimuli, row, "mask", cv2.IMREAD_GRAYSCALE) > 127
        assert mask.any()
        assert (body[~mask] == 0).all()
        assert (body[mask] == original[mask]).all()
        region = dilate_mask(mask, 1.2, 2)
        assert (background[~region] == original[~region]).all()
        assert not (background[mask] == original[mask]).all()
        assert abs(float(row["mask_area"]) - mask.mean()) < 1e-5


def test_prepare_resumes_and_gives_the_same_set(tiny_data, tiny_stimuli, tmp_path):
    import shutil

    out = tmp_path / "stim"
    shutil.copytree(tiny_stimuli, out)
    records = sorted((out / ".progress").glob("*.json"))
    for r in records[::3]:  # as if the run had been killed before these clips
        r.unlink()
    (out / "manifest.csv").unlink()
    prepare(tiny_data, out, PrepareConfig(frames_per_clip=2))
    assert (out / "manifest.csv").read_bytes() == (tiny_stimuli / "manifest.csv").read_bytes()


def test_prepare_refuses_to_mix_settings(tiny_data, tiny_stimuli):
    with pytest.raises(BodySceneError, match="other settings"):
        prepare(tiny_data, tiny_stimuli, PrepareConfig(frames_per_clip=3))


def test_a_frame_with_no_person_is_left_out_and_recorded(tiny_data, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    for mask in (data / "masks" / "wave" / "wave_test_000").glob("*.png"):
        cv2.imwrite(str(mask), np.zeros((64, 64), np.uint8))
    summary = prepare(data, tmp_path / "stim", PrepareConfig())
    stim = read_stimulus_set(tmp_path / "stim")
    assert "wave_test_000" not in {r["clip_id"] for r in stim.rows}
    with open(tmp_path / "stim" / "skipped.csv") as f:
        skipped = list(csv.DictReader(f))
    assert [(s["clip_id"], s["reason"]) for s in skipped] == [("wave_test_000", "no person found")]
    assert summary["skipped"] == 1


def test_an_undecodable_video_is_skipped_with_its_reason_and_the_run_goes_on(tiny_data, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "videos" / "jump" / "jump_test_001.mp4").write_bytes(b"not a video")
    prepare(data, tmp_path / "stim", PrepareConfig())
    with open(tmp_path / "stim" / "skipped.csv") as f:
        skipped = list(csv.DictReader(f))
    assert len(skipped) == 1 and skipped[0]["clip_id"] == "jump_test_001"
    assert "jump_test_001.mp4" in skipped[0]["reason"]
    assert len(read_stimulus_set(tmp_path / "stim").split("test")) == 7
