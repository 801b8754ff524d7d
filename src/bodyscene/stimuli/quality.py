"""What `prepare` made, at a glance: a quality summary of the manifest and a contact sheet PNG to eyeball.

residual_person is the share of a background-only frame that the segmenter still calls person: near 0 means the
person is gone. It is an automatic check, not ground truth: a segmenter that misses a person in the original also
misses them in the background-only frame (0 residual, person still there), which is why the contact sheet exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes

RESIDUAL_FLAG = 0.01  # a background-only frame with more than 1% of its pixels still "person" is flagged


def _floats(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([float(r[key]) for r in rows if r.get(key) not in ("", None)], dtype=np.float64)


def quality_summary(rows: list[dict[str, Any]], errors: int) -> dict[str, Any]:
    """Per-set figures from the manifest rows (status ok / no_person) and the count of undecodable videos."""
    ok = [r for r in rows if r["status"] == "ok"]
    area, persons, residual = _floats(ok, "mask_area"), _floats(ok, "persons"), _floats(ok, "residual_person")

    def stats(a: np.ndarray) -> dict[str, float] | None:
        if not len(a):
            return None
        return {k: round(float(f(a)), 4) for k, f in (("mean", np.mean), ("median", np.median), ("max", np.max))}

    return {
        "frames": len(rows),
        "ok": len(ok),
        "no_person": sum(r["status"] == "no_person" for r in rows),
        "undecodable_videos": errors,
        "mask_area": stats(area),
        "persons": stats(persons),
        "residual_person": stats(residual),
        "residual_flagged": int((residual > RESIDUAL_FLAG).sum()),
        "several_persons": int((persons > 1).sum()),
    }


def format_summary(q: dict[str, Any]) -> str:
    def m(key: str) -> str:
        return "n/a" if q[key] is None else f"mean {q[key]['mean']:.3f}, median {q[key]['median']:.3f}"

    return (
        f"{q['ok']} frames with a person, {q['no_person']} without, {q['undecodable_videos']} undecodable videos; "
        f"mask area {m('mask_area')}; residual person {m('residual_person')} "
        f"({q['residual_flagged']} frames > {RESIDUAL_FLAG:.0%})"
    )


def contact_sheet(out: Path, rows: list[dict[str, Any]], path: Path, n: int = 12, height: int = 128) -> Path | None:
    """Rows of original / body / background thumbnails: the first usable frame of each class, up to `n` rows."""
    picked, seen = [], set()
    for r in rows:
        if r["status"] == "ok" and r["class"] not in seen:
            picked.append(r)
            seen.add(r["class"])
    for r in rows:  # fewer classes than rows: fill with more frames
        if len(picked) >= n:
            break
        if r["status"] == "ok" and r not in picked:
            picked.append(r)
    picked = picked[:n]
    if not picked:
        return None
    lines = []
    for r in picked:
        tiles = []
        for condition in ("original", "body", "background"):
            img = cv2.imread(str(out / r[condition]), cv2.IMREAD_COLOR)
            if img is None:
                raise BodySceneError(f"{out / r[condition]}: unreadable; rerun prepare to rewrite it")
            w = max(1, round(img.shape[1] * height / img.shape[0]))
            tiles.append(cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA))
        line = np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0))) for t in tiles], axis=1)
        label = f"{r['class']}  {r['stimulus_id']}  residual {r.get('residual_person') or '-'}"
        cv2.putText(line, label[:60], (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        lines.append(line)
    width = max(line.shape[1] for line in lines)
    sheet = np.concatenate([np.pad(x, ((0, 0), (0, width - x.shape[1]), (0, 0))) for x in lines], axis=0)
    ok, buf = cv2.imencode(".png", sheet)
    if not ok:
        raise BodySceneError(f"{path}: PNG encoding failed")
    return atomic_write_bytes(path, buf.tobytes())
