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
from bodyscene.humans.study import FIELDS
from bodyscene.schema import CHOICE_SEPARATOR, TRIAL_KINDS

PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
BASE_FIELDS = ("participant", "stimulus_id", "condition", "label", "response", "rt_ms", "trial")  # every page wrote


class Design:
    """What collect checks a file against: design.json's stimuli, classes and each participant's planned options."""

    def __init__(self, data: dict[str, Any]):
        self.stimuli = {**data["stimuli"], **data.get("clips", {})}
        self.classes = set(data["classes"])
        self.subset = data.get("choices_per_trial", len(self.classes)) < len(self.classes)
        self.per_trial = data.get("choices_per_trial", len(self.classes))
        self.plans: dict[str, dict[tuple[str, str, str], list[str]]] = {}
        practice = {("practice", t["stimulus_id"], "original"): t["choices"] for t in data.get("practice", [])}
        for lst in data["participants"]:
            plan = dict(practice)
            checks = (t for t in lst["trials"] if t["kind"] == "attention")
            for k, t in enumerate(checks, start=1):
                plan[("attention", f"attention-{t.get('check', k)}", "")] = t["choices"]
            for t in lst["trials"]:
                if t["kind"] == "stimulus":
                    plan[("stimulus", t["stimulus_id"], t["condition"])] = t["choices"]
            self.plans[lst["participant"]] = plan


def _check_row(row: dict[str, str], design: Design | None) -> str | None:
    """The reason a (trimmed) row is not a valid humans row, or None."""
    kind = row["kind"] or "stimulus"
    if kind not in TRIAL_KINDS:
        return f"kind {row['kind'][:40]!r} is not one of {', '.join(TRIAL_KINDS)}"
    needed = ("participant", "stimulus_id", "label", "response") + (("condition",) if kind != "attention" else ())
    for key in needed:
        if not row.get(key):
            return f"empty {key}"
    if not PARTICIPANT_RE.match(row["participant"]):
        return f"participant {row['participant'][:40]!r} is not letters, digits, _ . -"
    if design is not None and row["response"] not in design.classes:
        return f"response {row['response'][:40]!r} is not a class of design.json"
    if kind != "attention" and row["condition"] not in CONDITIONS:
        return f"condition {row['condition']!r} is not one of {', '.join(CONDITIONS)}"
    if row["rt_ms"]:
        try:
            float(row["rt_ms"])
        except ValueError:
            return f"rt_ms {row['rt_ms']!r} is not a number"
    if row["trial"] and not re.fullmatch(r"[0-9]{1,9}", row["trial"]):
        return f"trial {row['trial']!r} is not an integer"
    choices = row["choices"].split(CHOICE_SEPARATOR) if row["choices"] else None
    if choices is not None and row["response"] not in choices:
        return f"response {row['response'][:40]!r} is not among the trial's choices"
    if design is not None and kind == "stimulus":
        if row["stimulus_id"] not in design.stimuli:
            return f"stimulus_id {row['stimulus_id']!r} is not in design.json"
        if row["label"] != design.stimuli[row["stimulus_id"]]["label"]:
            return f"label {row['label']!r} does not match design.json"
    if design is not None and row["participant"] in design.plans and choices is not None:
        planned = design.plans[row["participant"]].get((kind, row["stimulus_id"], row["condition"]))
        if planned is not None and choices != planned:
            return "choices differ from the options design.json drew for this participant and trial"
    return None


def _fill_choices(rows: list[dict[str, str]], design: Design, path: Path) -> str | None:
    """Take each trial's options from design.json (--choices-from-design); the reason it cannot, or None."""
    for line, row in enumerate(rows, start=2):
        plan = design.plans.get(row["participant"])
        key = (row["kind"] or "stimulus", row["stimulus_id"], row["condition"])
        if plan is None or key not in plan:
            return f"line {line}: participant {row['participant']!r} has no such trial in design.json"
        row["choices"] = CHOICE_SEPARATOR.join(plan[key])
    return None


def _read_file(
    path: Path, design: Design | None, choices_from_design: bool, folder: Path, participants: set[str]
) -> tuple[list[dict[str, str]], str | None]:
    """One participant's CSV as humans-CSV rows, or why it is skipped (the first problem found)."""
    try:
        table = read_csv(path, required=BASE_FIELDS)
    except BodySceneError as e:
        return [], str(e).replace(f"{path}: ", "")
    rows = [{k: (row.get(k) or "").strip() for k in FIELDS} for row in table]
    if not rows:
        return [], "no rows"
    if "choices" not in table[0] and design is not None and design.subset:
        if not choices_from_design:
            return [], (
                f"no 'choices' column, but design.json offered {design.per_trial} of {len(design.classes)} classes "
                f"per trial; rerun `bodyscene collect {folder} --choices-from-design` to take each trial's options "
                "from design.json"
            )
        why = _fill_choices(rows, design, path)
        if why:
            return [], why
    problem = next(((line, why) for line, row in enumerate(rows, start=2) if (why := _check_row(row, design))), None)
    if problem:
        return [], f"line {problem[0]}: {problem[1]}"
    who = {row["participant"] for row in rows}
    if len(who) != 1:
        return [], f"holds {len(who)} participants; expected one file per participant"
    if who & participants:
        return [], f"participant {next(iter(who))} already collected from an earlier file"
    items = [(r["kind"] or "stimulus", r["stimulus_id"], r["condition"]) for r in rows]
    if len(set(items)) != len(items):
        return [], "holds a trial twice (same stimulus_id and condition)"
    return rows, None


def collect(folder: Path, out: Path | None = None, choices_from_design: bool = False) -> dict[str, Any]:
    """Merge; returns {"out", "files", "participants", "rows", "skipped": [(file name, reason), ...]}.

    A file without a `choices` column (a CSV downloaded from an older page) is skipped when the design offered a
    subset of the classes, unless `choices_from_design` takes each trial's options from design.json."""
    responses = folder / "responses"
    files = sorted(responses.glob("*.csv")) if responses.is_dir() else []
    if not files:
        raise BodySceneError(f"{responses}: no response files; serve the study (`bodyscene serve-study`)")
    design_file = folder / "design.json"
    design = Design(read_json(design_file)) if design_file.is_file() else None
    out = out or folder.resolve().with_name(folder.resolve().name + "-responses.csv")
    merged: list[dict[str, str]] = []
    skipped: list[tuple[str, str]] = []
    participants: set[str] = set()
    for path in files:
        rows, why = _read_file(path, design, choices_from_design, folder, participants)
        if why:
            skipped.append((path.name, why))
            continue
        participants |= {row["participant"] for row in rows}
        merged.extend(rows)
    if not merged:
        raise BodySceneError(
            f"{responses}: none of the {len(files)} files is a valid humans CSV ({skipped[0][0]}: {skipped[0][1]})"
        )
    write_csv(out, merged, FIELDS, escape_formulas=True)
    incomplete = responses / "incomplete"
    return {
        "out": out,
        "files": len(files),
        "participants": len(participants),
        "rows": sum((r["kind"] or "stimulus") == "stimulus" for r in merged),
        "checks": sum(r["kind"] == "attention" for r in merged),
        "practice": sum(r["kind"] == "practice" for r in merged),
        "skipped": skipped,
        "incomplete": len(list(incomplete.glob("*.json"))) if incomplete.is_dir() else 0,
    }
