"""Action-swap stimuli (stimuli/swap.py) and the body fill of body-only frames."""

import cv2
import numpy as np
import pytest

from bodyscene.config import PrepareConfig, SwapConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv
from bodyscene.stimuli.make import prepare
from bodyscene.stimuli.manifest import SWAP_COLUMNS, read_stimulus_set
from bodyscene.stimuli.masks import FILLS
from bodyscene.stimuli.swap import centre_of_mass, composite_swap, coverage_reason, feather_alpha, pair_clips


def _scene(seed, size=(48, 64)):
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def _box(y, x, h, w, size=(48, 64)):
    mask = np.zeros(size, bool)
    mask[y : y + h, x : x + w] = True
    return mask


def test_a_swap_is_the_body_of_s_inside_its_moved_mask_and_t_background_elsewhere():
    s_frame, s_mask = _scene(1), _box(5, 6, 20, 10)
    t_background, t_mask = _scene(2), _box(20, 40, 16, 12)
    feather = 2
    swap = composite_swap(s_frame, s_mask, t_background, t_mask, feather_px=feather)
    # the body keeps its size and its centre of mass lands on t's person's
    assert swap.mask.sum() == s_mask.sum() and swap.kept == 1.0
    assert np.allclose(centre_of_mass(swap.mask), centre_of_mass(t_mask), atol=0.5)
    # outside the moved mask: t's background-only pixels, exactly
    assert (swap.image[~swap.mask] == t_background[~swap.mask]).all()
    # inside, deeper than the feather: s's body pixels, exactly (moved by the shift of the centres)
    dy, dx = (int(round(a - b)) for a, b in zip(centre_of_mass(t_mask), centre_of_mass(s_mask), strict=True))
    core = np.zeros_like(s_mask)
    core[5 + feather : 25 - feather, 6 + feather : 16 - feather] = True
    moved_core = np.roll(np.roll(core, dy, 0), dx, 1)
    assert (swap.image[moved_core] == np.roll(np.roll(s_frame, dy, 0), dx, 1)[moved_core]).all()
    # on the edge the body is blended with t's background: neither image alone (the cut is not hard)
    edge = swap.mask & ~moved_core
    blended = swap.image[edge].astype(int)
    body = np.roll(np.roll(s_frame, dy, 0), dx, 1)[edge].astype(int)
    assert (blended != body).any() and (blended != t_background[edge]).any()
    # a hard paste is the body alone inside the mask
    hard = composite_swap(s_frame, s_mask, t_background, t_mask, feather_px=0)
    assert (hard.image[hard.mask] == np.roll(np.roll(s_frame, dy, 0), dx, 1)[hard.mask]).all()


def test_feather_alpha_ramps_inside_the_mask_only():
    mask = _box(10, 10, 20, 20)
    alpha = feather_alpha(mask, 3)
    assert (alpha[~mask] == 0).all() and (alpha[mask] > 0).all()
    assert alpha[20, 20] == 1.0 and 0 < alpha[10, 20] < 1


def test_a_body_from_a_frame_of_another_size_keeps_its_relative_size():
    s_frame, s_mask = _scene(3, (96, 128)), _box(10, 10, 40, 20, (96, 128))
    swap = composite_swap(s_frame, s_mask, _scene(4), _box(10, 30, 10, 10), feather_px=1)
    assert swap.image.shape == (48, 64, 3)
    assert abs(swap.mask.mean() - s_mask.mean()) < 0.01


@pytest.mark.parametrize("pairing", ["random", "within-scene", "across-scene"])
def test_pairing_never_pairs_an_action_with_itself(pairing):
    clips = [(f"c{i}", i % 4, i % 3) for i in range(40)]
    labels, scenes = {c: lab for c, lab, _ in clips}, {c: sc for c, _, sc in clips}
    for seed in range(5):
        pairs = pair_clips(clips, pairing, seed)
        for clip, (partner, why) in pairs.items():
            assert partner is not None, why
            assert labels[partner] != labels[clip]
            if pairing == "within-scene":
                assert scenes[partner] == scenes[clip]
            if pairing == "across-scene":
                assert scenes[partner] != scenes[clip]
    assert pair_clips(clips, "random", 0) == pair_clips(clips, "random", 0)
    assert pair_clips(clips, "random", 0) != pair_clips(clips, "random", 1)


def test_a_one_class_set_has_no_partner_and_says_why():
    pairs = pair_clips([("a", 0, 0), ("b", 0, 1)], "random", 0)
    assert all(p is None and "another class" in why for p, why in pairs.values())


def test_coverage_rule():
    assert coverage_reason(0.2, (0.05, 0.5)) == "" and coverage_reason(0.01, None) == ""
    assert "too small" in coverage_reason(0.01, (0.05, 0.5))
    assert "too large" in coverage_reason(0.6, (0.05, 0.5))


def test_prepare_writes_swaps_of_another_class_with_t_background_outside_the_body(tiny_data, tmp_path):
    out = tmp_path / "stim"
    summary = prepare(tiny_data, out, PrepareConfig(swap=SwapConfig(feather_px=1)))
    stim = read_stimulus_set(out)
    assert set(SWAP_COLUMNS) <= set(stim.rows[0])
    test = stim.split("test")
    assert summary["swaps"]["stimuli"] == len(test) == 8
    by_id = {r["stimulus_id"]: r for r in stim.rows}
    for row in test:
        t = by_id[row["swap_background_id"]]
        assert row["swap_background_label"] == t["class"] != row["class"]
        swap, t_background = (cv2.imread(str(out / p)) for p in (row["swap"], t["background"]))
        body = cv2.imread(str(out / row["swap_body"]))
        inside = body.any(2)  # the body pixels of the composite (the tiny set's people are never black)
        assert inside.any() and (swap[~inside] == t_background[~inside]).all()
    assert all(not r["swap"] for r in stim.split("train"))


def test_swaps_are_written_in_the_sets_image_format(tiny_data, tmp_path):
    out = tmp_path / "stim"
    prepare(tiny_data, out, PrepareConfig(swap=SwapConfig(), image_format="jpg", image_quality=90))
    test = read_stimulus_set(out).split("test")
    for row in test:
        for column in ("swap", "swap_body", "swap_background", "original"):
            path = out / row[column]
            assert path.suffix == ".jpg" and path.read_bytes()[:3] == b"\xff\xd8\xff", (column, path)
        assert (out / row["mask"]).suffix == ".png"  # masks stay lossless


def test_swaps_of_a_one_class_set_are_recorded_and_nothing_left_is_one_line(tiny_data, tmp_path):
    out = tmp_path / "stim"
    with pytest.raises(BodySceneError) as err:
        prepare(tiny_data, out, PrepareConfig(classes=["jump"], swap=SwapConfig()))
    assert "\n" not in str(err.value) and "0 swap stimuli" in str(err.value) and "skipped.csv" in str(err.value)
    reasons = [r["reason"] for r in read_csv(out / "skipped.csv")]
    assert len(reasons) == 2 and all("another class" in r for r in reasons)


def test_persons_outside_the_coverage_rule_are_skipped_with_their_reason(tiny_data, tmp_path):
    out = tmp_path / "stim"
    with pytest.raises(BodySceneError, match="0 swap stimuli"):
        prepare(tiny_data, out, PrepareConfig(swap=SwapConfig(coverage=(0.5, 0.9))))
    reasons = [r["reason"] for r in read_csv(out / "skipped.csv")]
    assert len(reasons) == 8 and all("too small for the coverage rule" in r for r in reasons)


def test_body_fill_mean_is_the_imagenet_mean_outside_the_body(tiny_data, tmp_path):
    out = tmp_path / "stim"
    prepare(tiny_data, out, PrepareConfig(body_fill="mean", classes=["wave", "jump"]))
    row = read_stimulus_set(out).rows[0]
    body = cv2.cvtColor(cv2.imread(str(out / row["body"])), cv2.COLOR_BGR2RGB)
    mask = cv2.imread(str(out / row["mask"]), cv2.IMREAD_GRAYSCALE) > 127
    assert (body[~mask] == FILLS["mean"]).all() and not (body[mask] == FILLS["mean"]).all(1).any()


def _logits_answering(answers, classes=4):
    logits = np.zeros((len(answers), classes))
    logits[np.arange(len(answers)), answers] = 5.0
    return logits


@pytest.mark.parametrize("unit", ["frame", "clip"])
def test_body_bias_is_one_for_the_body_zero_for_the_scene_and_other_answers_stay_out(unit):
    from bodyscene.config import EvaluateConfig
    from bodyscene.evaluate import swap_section

    body = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    scene = np.array([1, 1, 2, 2, 3, 3, 0, 0])
    clips = ["a", "a", "b", "b", "c", "c", "d", "d"]
    cfg = EvaluateConfig(bootstrap=200, unit=unit)
    always_body = swap_section(_logits_answering(body), body, scene, clips, cfg)[0]
    assert always_body["body_bias"] == 1.0 and always_body["body_rate"] == 1.0 and always_body["ci95"] == [1.0, 1.0]
    always_scene = swap_section(_logits_answering(scene), body, scene, clips, cfg)[0]
    assert always_scene["body_bias"] == 0.0 and always_scene["scene_rate"] == 1.0
    # half the clips answer the body, the others a third class: the bias stays 1, the rest is other_rate
    neither = (body + 2) % 4
    mixed = np.where(np.isin(clips, ["a", "b"]), body, neither)
    sec = swap_section(_logits_answering(mixed), body, scene, clips, cfg)[0]
    assert sec["body_bias"] == 1.0 and sec["other_rate"] == 0.5 and sec["body_rate"] == 0.5
    assert sec["n"] == (4 if unit == "clip" else 8)
    nobody = swap_section(_logits_answering(neither), body, scene, clips, cfg)[0]
    assert nobody["body_bias"] is None and nobody["ci95"] == [None, None] and nobody["other_rate"] == 1.0


def test_a_swap_trial_with_equal_body_and_scene_actions_is_refused():
    from bodyscene.analysis import swap_rates

    with pytest.raises(ValueError, match="differ"):
        swap_rates(np.array([0]), np.array([1]), np.array([1]))
