"""Shared by tests/test_web_*.py: a tiny stimulus set, a built experiment folder, a server in a thread."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from bodyscene.humans.study import JSPSYCH_FILES, StudyConfig, build_study, jspsych_dir
from bodyscene.schema import MANIFEST_COLUMNS
from helpers_stimuli import write_stimulus_set

CLASSES = ("clap", "jump", "run", "wave")
MANIFEST_FIELDS = list(MANIFEST_COLUMNS)


def make_stimulus_set(
    root: Path,
    test_clips: int = 3,
    train_clips: int = 1,
    size: int = 64,
    frames: int = 1,
    classes: tuple[str, ...] = CLASSES,
    train_frames: int = 1,
) -> Path:
    """`classes` x `test_clips` test clips (+ train clips for practice), `frames` frames per test clip and
    `train_frames` per train clip (the person's box moves right frame by frame), all 3 conditions."""

    def drawn(key: str, row: dict, k: int) -> np.ndarray | None:
        if key == "mask":
            return None
        label, f = row["label"], row["frame_index"]
        colour = np.array([(40 * label + 30) % 256, 50 * k + 40, (200 - 40 * label) % 256], np.uint8)
        frame = np.zeros((size, size, 3), np.uint8) + colour
        mask = np.zeros((size, size), np.uint8)
        cv2.rectangle(mask, (20 + 4 * f, 10), (40 + 4 * f, 60), 255, -1)
        body = np.where(mask[..., None] > 0, 255 - frame, 0).astype(np.uint8)
        return {"original": np.where(mask[..., None] > 0, body, frame), "body": body, "background": frame}[key]

    clips = [("test", test_clips), ("train", train_clips)]
    return write_stimulus_set(root, classes, clips, clip_id="{cls}_{split}{i}", image=drawn, mask_area=0.15,
                              frames={"test": frames, "train": train_frames})  # fmt: skip


def need_jspsych() -> Path:
    modules = jspsych_dir()
    if not all((modules / rel).is_file() for rel in JSPSYCH_FILES):
        pytest.skip(f"jsPsych not installed in {modules}: run `make install` (or `npm ci --prefix web`; needs npm)")
    return modules


def build(tmp: Path, stim_options: dict[str, Any] | None = None, **settings: Any) -> tuple[Path, dict[str, Any]]:
    """A built experiment folder (3 participants by default) and its design."""
    need_jspsych()
    stim = make_stimulus_set(tmp / "stim", **(stim_options or {}))
    cfg = StudyConfig(**{"participants": 3, "practice": 2, "attention_checks": 1, "unit": "frame", **settings})
    out = tmp / "experiment"
    build_study(stim, out, cfg)
    LAST_FOLDER["folder"] = out
    return out, json.loads((out / "design.json").read_text())


@contextmanager
def running_server(folder: Path, **options: Any) -> Iterator[str]:
    """serve-experiment's server on a free localhost port, in a thread; yields its base URL."""
    from bodyscene.humans.server import make_server

    server = make_server(folder, port=0, quiet=True, **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def request(url: str, data: bytes | None = None, method: str | None = None) -> tuple[int, bytes]:
    """(status, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def valid_submission(design: dict[str, Any], participant: str = "1") -> dict[str, Any]:
    """What the page would POST for `participant` answering every trial with its first choice."""
    plan = next(p for p in design["participants"] if p["participant"] == participant)
    rows = [
        {
            "participant": participant,
            "stimulus_id": t["stimulus_id"],
            "condition": t["condition"],
            "label": t["label"],
            "response": t["choices"][0],
            "rt_ms": 812,
            "trial": t["trial"],
            "choices": "|".join(t["choices"]),
            "kind": "stimulus",
            "unit": t.get("unit", "frame"),
        }  # fmt: skip
        for t in plan["trials"]
        if t["kind"] == "stimulus"
    ]
    attention = [
        {"target": t["target"], "response": t["target"], "passed": True}
        for t in plan["trials"]
        if t["kind"] == "attention"
    ]
    return {
        "token": token_of(design, participant),
        "participant": participant,
        "participant_seed": plan["seed"],
        "rows": rows,
        "attention": attention,
    }


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (and under root's parent, where a traversal would land), with its bytes."""
    return {str(p.relative_to(root.parent)): p.read_bytes() for p in root.parent.rglob("*") if p.is_file()}


def token_of(design_or_folder: Any, participant: str) -> str | None:
    """The participant's link token from FOLDER/private/tokens.csv (written when a server first starts)."""
    folder = design_or_folder if isinstance(design_or_folder, Path) else LAST_FOLDER.get("folder")
    path = folder / "private" / "tokens.csv" if folder else None
    if path is None or not path.is_file():
        return None
    import csv

    with path.open(newline="") as f:
        return next(r["token"] for r in csv.DictReader(f) if r["participant"] == participant)


LAST_FOLDER: dict[str, Path] = {}


def post_json(url: str, obj: Any) -> tuple[int, dict]:
    """POST a submission to the server's /submit; (status, decoded reply)."""
    status, body = request(f"{url}/submit", json.dumps(obj).encode(), "POST")
    return status, json.loads(body)
