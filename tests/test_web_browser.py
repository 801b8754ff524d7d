"""A scripted participant runs the generated jsPsych experiment in a real headless Chromium (Debian's package,
driven by Playwright): consent, instructions, practice, trials, attention check; the server saves the
submission; `collect` merges it into rows that match the participant's design."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from bodyscene.humans.collect import collect
from bodyscene.humans.experiment import FIELDS
from helpers_web import build, running_server

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
        pytest.skip(
            "no /usr/bin/chromium: install Debian's chromium (`apt-get install chromium`; make test does it)"
        )
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


def test_participant_completes_experiment_and_collect_matches_design(browser, tmp_path):
    folder, design = build(tmp_path)
    plist = next(p for p in design["participants"] if p["participant"] == "2")
    clicked: dict[tuple[str, str], str] = {}
    with running_server(folder) as url:
        page, errors = _page(browser)
        page.goto(f"{url}/index.html?participant=2")
        _through_practice(page, design)
        shot = None
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
        with page.expect_download() as download:
            page.click("#bs-download")
        downloaded = Path(download.value.path()).read_text()
        assert errors == []
        page.close()

    saved = sorted((folder / "responses").glob("*.csv"))
    assert len(saved) == 1 and saved[0].name.endswith("-p2.csv")
    assert downloaded == saved[0].read_text().replace("\r\n", "\n")  # the download is the same humans CSV
    assert shot is not None and shot.stat().st_size > 1000

    summary = collect(folder)
    assert summary["skipped"] == [] and summary["rows"] == 12
    with open(summary["out"], newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == FIELDS
        rows = list(reader)
    planned = {(t["stimulus_id"], t["condition"]): t for t in plist["trials"] if t["kind"] == "stimulus"}
    assert {(r["stimulus_id"], r["condition"]) for r in rows} == set(planned)
    for r in rows:
        t = planned[(r["stimulus_id"], r["condition"])]
        assert r["participant"] == "2" and r["label"] == t["label"] and int(r["trial"]) == t["trial"]
        assert r["response"] == clicked[(r["stimulus_id"], r["condition"])] and r["response"] in t["choices"]
        assert int(r["rt_ms"]) >= 0
    meta = saved[0].with_suffix(".json").read_text()
    assert str(plist["seed"]) in meta  # the participant's shuffle seed is recorded with the data


def test_time_limit_hides_the_image_and_page_works_offline(browser, tmp_path):
    """The image disappears after time_limit_ms; from file:// the page still runs and offers the CSV."""
    folder, design = build(tmp_path, participants=1, practice=1, attention_checks=0, time_limit_ms=150)
    page, errors = _page(browser)
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
    assert len(rows) == 12 and all(r["response"] == r["label"] for r in rows)
    assert not (folder / "responses").exists()
    assert errors == []
    page.close()
    shutil.rmtree(folder)
