"""A scripted participant runs the generated jsPsych experiment in a real headless Chromium (Debian's package,
driven by Playwright): consent, instructions, practice, trials, attention check; the server saves the
submission; `collect` merges it into rows that match the participant's design."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bodyscene.config import CONDITIONS
from bodyscene.files import write_csv
from bodyscene.humans.collect import collect
from bodyscene.humans.study import FIELDS
from helpers_humans import write_scores
from helpers_web import build, running_server, token_of

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "runs" / "test-artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (`apt-get install chromium`; make test does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (in the dev extras)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _page(browser):
    page = browser.new_page(viewport={"width": 1000, "height": 760}, accept_downloads=True)
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _through_practice(page, design):
    page.click("#bs-consent")
    page.click("#jspsych-instructions-next")
    page.click("#jspsych-instructions-next")
    for t in design["practice"]:
        page.wait_for_selector(f'img[src="{t["image"]}"]')
        wrong = next(c for c in t["choices"] if c != t["label"])
        page.click(f'button[data-label="{wrong}"]')
        assert "Not quite" in page.inner_text(".bs-feedback-wrong")  # feedback names the right answer
        page.click("#bs-continue")
    page.click("#bs-start")


@pytest.fixture(scope="module")
def completed(browser, tmp_path_factory):
    """Participant 2 runs the whole experiment by clicking; the server saves the submission."""
    folder, design = build(tmp_path_factory.mktemp("web"))
    plist = next(p for p in design["participants"] if p["participant"] == "2")
    clicked: dict[tuple[str, str], str] = {}
    shot = None
    with running_server(folder) as url:
        page, errors = _page(browser)
        token = token_of(folder, "2")
        page.goto(f"{url}/index.html?token={token}")
        _through_practice(page, design)
        for t in plist["trials"]:
            if t["kind"] == "attention":
                target = page.get_attribute(".bs-attention", "data-target")
                assert target == t["target"]
                page.click(f'button[data-label="{target}"]')
                continue
            img = page.wait_for_selector(f'img[src="{t["image"]}"]')
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)
            assert img.evaluate("img => img.naturalWidth") == 64  # the real stimulus PNG, not a broken image
            assert page.locator(".bs-choice").all_inner_texts() == [c.replace("_", " ") for c in t["choices"]]
            if shot is None and t["condition"] == "original":
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / "web-trial.png"
                page.screenshot(path=str(shot))
                print(f"\nscreenshot of a trial page: {shot}")
            answer = t["choices"][t["trial"] % len(t["choices"])]  # a mix of right and wrong answers
            clicked[(t["stimulus_id"], t["condition"])] = answer
            page.click(f'button[data-label="{answer}"]')
        page.wait_for_selector('#bs-upload-status[data-state="saved"]')
        progress = page.eval_on_selector("#jspsych-progressbar-inner", "e => e.style.width")
        with page.expect_download() as download:
            page.click("#bs-download")
        downloaded = Path(download.value.path()).read_text()
        page.close()
    return {
        "folder": folder, "design": design, "plist": plist, "clicked": clicked, "shot": shot,
        "errors": errors, "progress": progress, "downloaded": downloaded,
    }  # fmt: skip


def test_submission_lands_on_the_server_and_matches_the_download(completed):
    assert completed["errors"] == []  # no JavaScript errors on the page
    assert completed["progress"] == "100%"
    saved = sorted((completed["folder"] / "responses").glob("*.csv"))
    jspsych = json.loads(saved[0].with_name(saved[0].stem + "-jspsych.json").read_text())
    kinds = {d.get("bs_kind") for d in jspsych}
    assert {"consent", "practice", "stimulus", "attention"} <= kinds  # the full jsPsych data survives
    assert len(saved) == 1 and saved[0].name.endswith("-p2.csv")
    assert completed["downloaded"] == saved[0].read_text()  # the download is the same humans CSV
    shot = completed["shot"]
    assert shot is not None and shot.stat().st_size > 1000
    meta = json.loads(saved[0].with_suffix(".json").read_text())
    assert meta["participant_seed"] == completed["plist"]["seed"]  # the shuffle seed is recorded with the data
    targets = [t["target"] for t in completed["plist"]["trials"] if t["kind"] == "attention"]
    assert [a["target"] for a in meta["attention"]] == targets
    assert all(a["response"] == a["target"] for a in meta["attention"])


def test_collect_rows_match_the_design(completed):
    plist, clicked = completed["plist"], completed["clicked"]
    summary = collect(completed["folder"])
    assert summary["skipped"] == [] and summary["rows"] == 12
    with open(summary["out"], newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == FIELDS
        every = list(reader)
    rows = [r for r in every if r["kind"] == "stimulus"]
    # practice (with the wrong answer clicked) and the attention check (passed) reach the data too
    practice = [r for r in every if r["kind"] == "practice"]
    assert [r["stimulus_id"] for r in practice] == [t["stimulus_id"] for t in completed["design"]["practice"]]
    assert all(r["response"] != r["label"] for r in practice)
    checks = [r for r in every if r["kind"] == "attention"]
    assert [r["label"] for r in checks] == [t["target"] for t in plist["trials"] if t["kind"] == "attention"]
    assert all(r["response"] == r["label"] for r in checks)
    planned = {(t["stimulus_id"], t["condition"]): t for t in plist["trials"] if t["kind"] == "stimulus"}
    assert {(r["stimulus_id"], r["condition"]) for r in rows} == set(planned)
    for r in rows:
        t = planned[(r["stimulus_id"], r["condition"])]
        assert r["participant"] == "2" and r["label"] == t["label"] and int(r["trial"]) == t["trial"]
        assert r["response"] == clicked[(r["stimulus_id"], r["condition"])] and r["response"] in t["choices"]
        assert r["choices"].split("|") == t["choices"]  # the options shown travel with the data
        assert int(r["rt_ms"]) >= 0


def test_bodyscene_compare_imports_the_collected_csv(completed, tmp_path):
    """The humans importer (`bodyscene compare`, another module) reads what the browser produced."""
    folder = completed["folder"]
    merged = collect(folder, tmp_path / "humans.csv")["out"]
    run = tmp_path / "run"
    predictions = [
        {"model": "toy", "condition": c, "stimulus_id": sid, "label": s["label"],
         "predicted": s["label"] if i % 2 else "clap", "confidence": 0.9}
        for i, (sid, s) in enumerate(sorted(completed["design"]["stimuli"].items()))
        for c in CONDITIONS
    ]  # fmt: skip
    write_csv(run / "predictions.csv", predictions, list(predictions[0]))
    write_scores(run, folder.parent / "stim", predictions)
    res = subprocess.run(
        [sys.executable, "-m", "bodyscene", "compare", "--humans", str(merged), "--run", str(run),
         "--stimuli", str(folder.parent / "stim"), "--bootstrap", "20"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    comparison = json.loads((run / "comparison.json").read_text())
    assert comparison["provenance"]["participants"] == 1 and comparison["provenance"]["trials"] == 12


def test_time_limit_hides_the_image_and_page_works_offline(browser, tmp_path):
    """The image disappears after time_limit_ms; from file:// the page still runs and offers the CSV."""
    folder, design = build(tmp_path, participants=1, practice=0, attention_checks=0, time_limit_ms=150)
    page, errors = _page(browser)
    page.goto((folder / "index.html").as_uri() + "?participant=../2")  # not a number of the design: refused
    assert "Unknown participant number ../2" in page.inner_text(".bs-error")
    page.goto((folder / "index.html").as_uri())  # no ?participant: a file:// page picks one itself
    _through_practice(page, design)
    first = design["participants"][0]["trials"][0]
    img = page.wait_for_selector(f'img[src="{first["image"]}"]')
    page.wait_for_function("img => img.style.visibility === 'hidden'", arg=img)
    for t in design["participants"][0]["trials"]:
        page.wait_for_selector(f'img[src="{t["image"]}"]', state="attached")
        page.click(f'button[data-label="{t["label"]}"]')
    page.wait_for_selector('#bs-upload-status[data-state="offline"]')
    with page.expect_download() as download:
        page.click("#bs-download")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    rows = [r for r in rows if r["kind"] == "stimulus"]
    assert len(rows) == 12 and all(r["response"] == r["label"] for r in rows)
    assert not (folder / "responses").exists()
    assert errors == []
    page.close()
    shutil.rmtree(folder)


SIX = ("clap", "jump", "run", "wave", "kick", "wave_hands")


def test_clip_trials_play_and_five_choices_reach_compare(browser, tmp_path):
    """A scripted participant watches clip trials (VP9 WebM) and answers 5-AFC; collect keeps the choices; compare
    scores models by their argmax over the same five options on the clip's mean logits."""
    folder, design = build(
        tmp_path, stim_options={"frames": 4, "classes": SIX, "test_clips": 1}, unit="clip", choices=5,
        participants=2, practice=1, attention_checks=1,
    )  # fmt: skip
    plist = design["participants"][0]
    clip_trials = [t for t in plist["trials"] if t["kind"] == "stimulus"]
    assert len(clip_trials) == 6 and all(t["unit"] == "clip" and t["video"].endswith(".webm") for t in clip_trials)
    assert design["clip_format"] == {"codec": "VP9", "container": "WebM", "fps": 8.0}
    with running_server(folder) as url:
        page, errors = _page(browser)
        page.goto(f"{url}/index.html?token={token_of(folder, '1')}")
        page.click("#bs-consent")
        page.click("#jspsych-instructions-next")
        page.click("#jspsych-instructions-next")
        for t in design["practice"]:
            page.click(f'button[data-label="{t["label"]}"]')
            page.click("#bs-continue")
        page.click("#bs-start")
        shot = None
        for t in plist["trials"]:
            if t["kind"] == "attention":
                page.click(f'button[data-label="{t["target"]}"]')
                continue
            video = page.wait_for_selector(f'video[data-stimulus="{t["stimulus_id"]}"]')
            page.wait_for_function("v => v.currentTime > 0", arg=video)  # the clip really plays
            painted = video.evaluate(
                """v => { const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
                          const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                          const d = g.getImageData(0, 0, c.width, c.height).data; let s = 0;
                          for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2];
                          return [c.width, s]; }"""
            )
            assert painted[0] == 64 and painted[1] > 0  # a decoded frame, not an empty element
            assert page.locator(".bs-choice").count() == 5
            if shot is None:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / "web-clip-trial.png"
                page.screenshot(path=str(shot))
                print(f"\nscreenshot of a clip trial: {shot}")
            answer = t["choices"][t["trial"] % 5]
            page.click(f'button[data-label="{answer}"]')
        page.wait_for_selector('#bs-upload-status[data-state="saved"]')
        page.close()
    assert errors == [] and shot.stat().st_size > 1000
    merged = collect(folder, tmp_path / "humans.csv")["out"]
    rows = [r for r in csv.DictReader(io.StringIO(Path(merged).read_text())) if r["kind"] == "stimulus"]
    assert len(rows) == 6 and all(r["unit"] == "clip" and len(r["choices"].split("|")) == 5 for r in rows)
    # compare: the model's answer is its argmax over the trial's five options on the clip's mean logits
    run = tmp_path / "run"
    stim = folder.parent / "stim"
    predictions = [
        {"model": "toy", "condition": c, "stimulus_id": sid, "label": s["label"], "predicted": s["label"]}
        for sid, s in sorted(design["stimuli"].items()) for c in CONDITIONS
    ]  # fmt: skip
    write_csv(run / "predictions.csv", predictions, list(predictions[0]))
    write_scores(run, stim, predictions)
    from bodyscene.humans.compare import compare
    from bodyscene.readout import Scores

    cmp = compare(merged, run, stimuli=stim, n_boot=0, figures=False)
    scores = Scores.load(run / "scores.npz")
    for c in CONDITIONS:
        hits = []
        for r in (r for r in rows if r["condition"] == c):
            logits = scores.item_logits("toy", "combined", c, r["stimulus_id"], "clip")
            options = r["choices"].split("|")
            hits.append(
                options[int(max(range(5), key=lambda i: logits[scores.classes.index(options[i])]))] == r["label"]
            )
        assert cmp["models"]["toy"][c]["accuracy"] == sum(hits) / len(hits)
        assert cmp["humans"][c]["chance"] == 0.2
