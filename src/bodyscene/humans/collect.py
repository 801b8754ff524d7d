"""`bodyscene collect`: merge the per-participant files in DIR/responses/ into one humans CSV.

A file that is not the humans format (missing columns, bad condition, a stimulus the design does not know)
is skipped whole and reported with its line; so is a second file from a participant already collected (a page
reloaded after submitting), or a file with a duplicated trial. Cells are trimmed; formula-like cells
(`=HYPERLINK(...)`) are escaped on writing. Partial records in responses/incomplete/ are counted, not merged.
The merged file goes beside the folder by default (FOLDER-responses.csv), never inside what is served; it is
what `bodyscene compare` imports.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bodyscene.config import CONDITIONS
from bodyscene.errors import BodySceneError
from bodyscene.files import read_csv, read_json, write_csv
from bodyscene.humans.experiment import FIELDS

PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _check_row(row: dict[str, str], stimuli: dict[str, Any] | None, classes: set[str] | None) -> str | None:
    """The reason a (trimmed) row is not a valid humans row, or None."""
    for key in ("participant", "stimulus_id", "condition", "label", "response"):
        if not row.get(key):
            return f"empty {key}"
    if not PARTICIPANT_RE.match(row["participant"]):
        return f"participant {row['participant'][:40]!r} is not letters, digits, _ . -"
    if classes is not None and row["response"] not in classes:
        return f"response {row['response'][:40]!r} is not a class of design.json"
    if row["condition"] not in CONDITIONS:
        return f"condition {row['condition']!r} is not one of {', '.join(CONDITIONS)}"
    if row["rt_ms"]:
        try:
            float(row["rt_ms"])
        except ValueError:
            return f"rt_ms {row['rt_ms']!r} is not a number"
    if row["trial"] and not re.fullmatch(r"[0-9]{1,9}", row["trial"]):
        return f"trial {row['trial']!r} is not an integer"
    if stimuli is not None:
        if row["stimulus_id"] not in stimuli:
            return f"stimulus_id {row['stimulus_id']!r} is not in design.json"
        if row["label"] != stimuli[row["stimulus_id"]]["label"]:
            return f"label {row['label']!r} does not match design.json"
    return None


def collect(folder: Path, out: Path | None = None) -> dict[str, Any]:
    """Merge; returns {"out", "files", "participants", "rows", "skipped": [(file name, reason), ...]}."""
    responses = folder / "responses"
    files = sorted(responses.glob("*.csv")) if responses.is_dir() else []
    if not files:
        raise BodySceneError(f"{responses}: no response files; serve the experiment (`bodyscene serve-experiment`)")
    design = folder / "design.json"
    design_data = read_json(design) if design.is_file() else None
    stimuli = design_data["stimuli"] if design_data else None
    classes = set(design_data["classes"]) if design_data else None
    out = out or folder.resolve().with_name(folder.resolve().name + "-responses.csv")
    merged: list[dict[str, str]] = []
    skipped: list[tuple[str, str]] = []
    participants: set[str] = set()
    for path in files:
        try:
            rows = [{k: (row.get(k) or "").strip() for k in FIELDS} for row in read_csv(path, required=FIELDS)]
        except BodySceneError as e:
            skipped.append((path.name, str(e).replace(f"{path}: ", "")))
            continue
        if not rows:
            skipped.append((path.name, "no rows"))
            continue
        problem = next(
            ((line, why) for line, row in enumerate(rows, start=2) if (why := _check_row(row, stimuli, classes))),
            None,
        )
        if problem:
            skipped.append((path.name, f"line {problem[0]}: {problem[1]}"))
            continue
        who = {row["participant"] for row in rows}
        if len(who) != 1:
            skipped.append((path.name, f"holds {len(who)} participants; expected one file per participant"))
            continue
        if who & participants:
            skipped.append((path.name, f"participant {next(iter(who))} already collected from an earlier file"))
            continue
        items = [(r["stimulus_id"], r["condition"]) for r in rows]
        if len(set(items)) != len(items):
            skipped.append((path.name, "holds a trial twice (same stimulus_id and condition)"))
            continue
        participants |= who
        merged.extend({k: row[k] for k in FIELDS} for row in rows)
    if not merged:
        raise BodySceneError(f"{responses}: none of the {len(files)} files is a valid humans CSV ({skipped[0][1]})")
    write_csv(out, merged, FIELDS, escape_formulas=True)
    incomplete = responses / "incomplete"
    return {
        "out": out,
        "files": len(files),
        "participants": len(participants),
        "rows": len(merged),
        "skipped": skipped,
        "incomplete": len(list(incomplete.glob("*.json"))) if incomplete.is_dir() else 0,
    }
