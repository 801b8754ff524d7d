"""What `serve-study` knows and keeps: the design, the participant links, and each submission saved.

No HTTP here (server.py speaks HTTP): a `StudyFolder` checks a submission against design.json and writes it.

Links. Every trial list gets one unguessable token (`secrets.token_urlsafe`, 192 bits), kept in
`FOLDER/private/tokens.csv`, which the server never serves; `private/links.csv` lists one link per participant
(`<public url>/?token=T`). A recruitment platform that sends everyone the same URL (Prolific) uses the study link
`/?key=K&PROLIFIC_PID=...` instead: `/assign` exchanges the study key plus the platform's participant id for the
next unused token (the same id always gets the same token back; no token is handed out twice, no wrap-around).

Repeat policy. A token may save partial records any number of times (each replaces the last one, in
`responses/incomplete/`, flagged `"complete": false`), and its complete submission exactly once: after that,
every request with the token is refused with 409 and nothing is written. The server remembers completed tokens
across restarts (`link_id`, a hash of the token, is in each saved `.json`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_text, read_csv, read_json, write_csv, write_json
from bodyscene.humans.study import DESIGN_FORMAT, FIELDS
from bodyscene.schema import CHOICE_SEPARATOR, TRIAL_KINDS

PARTICIPANT_RE = re.compile(r"^[0-9]{1,6}$")
STIMULUS_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")  # Prolific ids are 24 hex digits
MAX_JSPSYCH_TRIALS = 20000
MAX_JSPSYCH_DEPTH = 8


class Rejected(Exception):
    """A request the server refuses: HTTP status and the reason sent back to the page."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def link_id(token: str) -> str:
    """What the saved files record instead of the token itself (so responses/ can be shared)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _depth(obj: Any) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_JSPSYCH_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, d + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, d + 1) for v in value)
    return deepest


def load_or_issue_tokens(private: Path, participants: list[str]) -> dict[str, str]:
    """token -> participant from private/tokens.csv; issued (and written) on the first start."""
    path = private / "tokens.csv"
    if path.is_file():
        rows = read_csv(path, required=("participant", "token"))
        return {r["token"]: r["participant"] for r in rows}
    tokens = {secrets.token_urlsafe(24): p for p in participants}
    write_csv(path, [{"participant": p, "token": t} for t, p in tokens.items()], ("participant", "token"))
    return tokens


def read_design(path: Path) -> dict[str, Any]:
    """A study folder's design.json, checked to be one `human-study` wrote."""
    if not path.is_file():
        raise BodySceneError(f"{path}: not found; build the folder with `bodyscene human-study`")
    design = read_json(path)
    if not isinstance(design, dict) or design.get("format") != DESIGN_FORMAT:
        raise BodySceneError(f"{path}: not a {DESIGN_FORMAT} design; rebuild with `bodyscene human-study`")
    return design


class StudyFolder:
    """One human-study folder being served: its design, its participant tokens, and where responses go."""

    def __init__(
        self,
        root: Path,
        disk_budget: int = 2 * 1024**3,
        pid_param: str = "PROLIFIC_PID",
        completion_url: str | None = None,
    ):
        self.root = root.resolve()
        self.design = design = read_design(self.root / "design.json")
        self.classes = set(design["classes"])
        self.conditions = set(design["conditions"])
        self.stimuli = design["stimuli"]
        self.clips = design.get("clips", {})  # clip trials: clip_id -> {"label": ...}
        self.lists = {p["participant"]: p for p in design["participants"]}
        # participant -> {(stimulus_id, condition): answer choices}: what that participant was actually shown
        self.plans = {
            p: {(t["stimulus_id"], t["condition"]): t for t in lst["trials"] if t["kind"] == "stimulus"}
            for p, lst in self.lists.items()
        }
        # participant -> {"attention-K": that attention trial}; the practice trials (the same for everyone)
        self.checks = {
            p: {f"attention-{t.get('check', k)}": t for k, t in enumerate(
                (t for t in lst["trials"] if t["kind"] == "attention"), start=1)}
            for p, lst in self.lists.items()
        }  # fmt: skip
        self.practice = {t["stimulus_id"]: t for t in design.get("practice", [])}
        self.order = list(self.lists)
        self.pid_param = pid_param
        self.completion_url = completion_url
        self.private = self.root / "private"
        self.tokens = load_or_issue_tokens(self.private, self.order)
        key_file = self.private / "study_key.txt"
        if not key_file.is_file():
            atomic_write_text(key_file, secrets.token_urlsafe(16) + "\n")
        self.study_key = key_file.read_text().strip()
        self.assigned = self._read_assigned()
        self.responses = self.root / "responses"
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.completed: set[str] = set()
        self.disk_budget = disk_budget
        self.disk_used = 0
        self._scan_responses()

    def _scan_responses(self) -> None:
        """What earlier runs of the server left: the bytes used (the disk budget) and the links already done."""
        if not self.responses.is_dir():
            return
        for f in self.responses.rglob("*"):
            if f.is_file():
                self.disk_used += f.stat().st_size
        for meta in self.responses.glob("*.json"):
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("link_id"), str):
                self.completed.add(data["link_id"])

    # --- links -----------------------------------------------------------------------------------------------
    def _read_assigned(self) -> dict[str, str]:
        path = self.private / "assigned.csv"
        return (
            {r["external_id"]: r["token"] for r in read_csv(path, ("external_id", "token"))} if path.is_file() else {}
        )

    def write_links(self, public_url: str) -> Path:
        """private/links.csv: one personal link per participant (send each to one person only)."""
        base = public_url.rstrip("/")
        rows = [{"participant": p, "link": f"{base}/?token={t}"} for t, p in self.tokens.items()]
        return write_csv(self.private / "links.csv", rows, ("participant", "link"))

    def participant_of(self, token: Any) -> str:
        if not isinstance(token, str) or not TOKEN_RE.match(token) or token not in self.tokens:
            raise Rejected(403, "this link is not valid; use the personal link you were sent")
        if link_id(token) in self.completed:
            raise Rejected(409, "this link has already been used to submit; thank you")
        return self.tokens[token]

    def assign(self, key: Any, params: Any) -> str:
        """The token for a platform participant id (study link): the same id gets the same token again."""
        if not isinstance(key, str) or not secrets.compare_digest(key.encode(), self.study_key.encode()):
            raise Rejected(403, "this study link is not valid")
        external = params.get(self.pid_param) if isinstance(params, dict) else None
        if not isinstance(external, str) or not EXTERNAL_ID_RE.match(external.strip()):
            raise Rejected(400, f"the link needs a {self.pid_param} parameter (letters, digits, _ . -)")
        external = external.strip()
        with self.lock:
            if external in self.assigned:
                return self.assigned[external]
            given = set(self.assigned.values())
            free = [t for t in self.tokens if t not in given and link_id(t) not in self.completed]
            if not free:
                raise Rejected(409, "this study is full; every trial list has been handed out")
            free.sort(key=lambda t: self.order.index(self.tokens[t]))
            token = free[0]
            self.assigned[external] = token
            rows = [{"external_id": e, "token": t} for e, t in self.assigned.items()]
            write_csv(self.private / "assigned.csv", rows, ("external_id", "token"))
            return token

    def external_id(self, token: str) -> str | None:
        return next((e for e, t in self.assigned.items() if t == token), None)

    def session(self, token: Any) -> dict[str, Any]:
        """What the page needs for this participant only: their own trial list, not the whole design."""
        participant = self.participant_of(token)
        d = self.design
        return {
            "format": d["format"],
            "settings": d["settings"],
            "classes": d["classes"],
            "display_names": d["display_names"],
            "practice": d["practice"],
            "participants": [self.lists[participant]],
            "completion_url": self.completion_url,
        }

    # --- submissions -----------------------------------------------------------------------------------------
    def validate(self, sub: Any) -> tuple[str, str, bool, list[dict[str, Any]], dict[str, Any], list]:
        """(token, participant, complete, rows, metadata, jsPsych data) or raise Rejected."""
        if not isinstance(sub, dict):
            raise Rejected(400, "the body must be a JSON object")
        token = sub.get("token")
        participant = self.participant_of(token)
        if sub.get("participant", participant) != participant:
            raise Rejected(400, "participant differs from the link's")
        complete = sub.get("complete", True)
        if not isinstance(complete, bool):
            raise Rejected(400, "complete must be true or false")
        plan = self.plans[participant]
        rows = sub.get("rows")
        if not isinstance(rows, list) or (complete and not rows):
            raise Rejected(400, "rows must be a non-empty list")
        most = len(plan) + len(self.checks[participant]) + len(self.practice)
        if len(rows) > most:
            raise Rejected(400, f"{len(rows)} rows, but participant {participant} has {most} trials")
        clean, seen = [], set()
        for i, row in enumerate(rows, start=1):
            clean.append(self._row(row, i, participant, plan, seen))
        meta: dict[str, Any] = {
            "participant": participant,
            "link_id": link_id(token),
            "external_id": self.external_id(token),
            "complete": complete,
            "rows": len(clean),
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        for key, kind in (("participant_seed", int), ("design_seed", int), ("user_agent", str), ("finished_at", str)):
            value = sub.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise Rejected(400, f"{key} must be {kind.__name__}")
            meta[key] = value[:500] if isinstance(value, str) else value
        attention = sub.get("attention")
        if attention is None:  # the attention rows say the same
            attention = [{"target": r["label"], "response": r["response"]} for r in clean if r["kind"] == "attention"]
        if not isinstance(attention, list) or len(attention) > 1000:
            raise Rejected(400, "attention must be a list")
        meta["attention"] = []
        for a in attention:
            if not isinstance(a, dict) or not all(isinstance(a.get(k), str) for k in ("target", "response")):
                raise Rejected(400, "each attention entry needs string target and response")
            if a["target"] not in self.classes or a["response"] not in self.classes:
                raise Rejected(400, "attention entries must name classes of the design")
            meta["attention"].append({"target": a["target"], "response": a["response"]})
        jspsych = sub.get("jspsych", [])
        if not isinstance(jspsych, list) or len(jspsych) > MAX_JSPSYCH_TRIALS:
            raise Rejected(400, f"jspsych must be a list of at most {MAX_JSPSYCH_TRIALS} trial objects")
        if not all(isinstance(t, dict) for t in jspsych) or _depth(jspsych) > MAX_JSPSYCH_DEPTH:
            raise Rejected(400, f"jspsych entries must be objects nested at most {MAX_JSPSYCH_DEPTH} deep")
        return token, participant, complete, clean, meta, jspsych

    def _row(self, row: Any, i: int, participant: str, plan: dict, seen: set) -> dict[str, Any]:
        """One CSV row of the page: a stimulus trial of the plan, a practice trial, or an attention check, each
        with the options that trial offered (joined by |) exactly as the design drew them."""
        if not isinstance(row, dict) or set(row) != set(FIELDS):
            raise Rejected(400, f"row {i}: needs exactly the keys {', '.join(FIELDS)}")
        for key in ("participant", "stimulus_id", "condition", "label", "response", "choices", "kind", "unit"):
            if not isinstance(row[key], str):
                raise Rejected(400, f"row {i}: {key} must be a string")
        if row["participant"] != participant:
            raise Rejected(400, f"row {i}: participant differs from the submission's")
        kind, sid, condition = row["kind"], row["stimulus_id"], row["condition"]
        if kind not in TRIAL_KINDS:
            raise Rejected(400, f"row {i}: kind must be one of {', '.join(TRIAL_KINDS)}")
        if (kind, sid, condition) in seen:
            raise Rejected(400, f"row {i}: {sid} {condition} appears twice")
        seen.add((kind, sid, condition))
        rt, trial = row["rt_ms"], row["trial"]
        if rt is not None and (isinstance(rt, bool) or not isinstance(rt, int | float) or not 0 <= rt < 3.6e6):
            raise Rejected(400, f"row {i}: rt_ms must be a number of milliseconds or null")
        if kind == "stimulus":
            if not STIMULUS_ID_RE.match(sid) or (sid not in self.stimuli and sid not in self.clips):
                raise Rejected(400, f"row {i}: unknown stimulus_id")
            if condition not in self.conditions:
                raise Rejected(400, f"row {i}: condition must be one of {', '.join(sorted(self.conditions))}")
            if (sid, condition) not in plan:
                raise Rejected(400, f"row {i}: participant {participant} was not shown {sid} as {condition}")
            planned = plan[(sid, condition)]
            if isinstance(trial, bool) or not isinstance(trial, int) or not 1 <= trial <= len(plan):
                raise Rejected(400, f"row {i}: trial must be an integer from 1 to {len(plan)}")
            if row["unit"] != planned.get("unit", "frame"):
                raise Rejected(400, f"row {i}: unit does not match the design")
        else:
            planned = (self.checks[participant] if kind == "attention" else self.practice).get(sid)
            if planned is None:
                raise Rejected(400, f"row {i}: no {kind} trial {sid[:40]!r} in the design")
            if trial is not None:
                raise Rejected(400, f"row {i}: trial must be null for a {kind} row")
            if condition != ("" if kind == "attention" else "original"):
                raise Rejected(400, f"row {i}: condition does not match the design")
        if row["label"] != planned.get("target", planned.get("label")):
            raise Rejected(400, f"row {i}: label does not match the design")
        if row["choices"] != CHOICE_SEPARATOR.join(planned["choices"]):
            raise Rejected(400, f"row {i}: choices differ from the options the design offered")
        if row["response"] not in planned["choices"]:
            raise Rejected(400, f"row {i}: response is not one of the trial's choices")
        return {**row, "rt_ms": "" if rt is None else round(rt), "trial": "" if trial is None else trial}

    def save(self, token: str, complete: bool, rows: list, meta: dict, jspsych: list, size: int) -> Path:
        """Complete: responses/<time>-<n>-p<participant>.csv + .json + -jspsych.json, once per token.
        Partial: responses/incomplete/p<participant>-<link id>.json, replaced by each later save."""
        with self.lock:
            if meta["link_id"] in self.completed:  # a second complete submission racing the first
                raise Rejected(409, "this link has already been used to submit; thank you")
            if self.disk_used + 3 * size > self.disk_budget:
                raise Rejected(507, "the server's storage budget for responses is used up; tell the experimenter")
            partial = self.responses / "incomplete" / f"p{meta['participant']}-{meta['link_id']}.json"
            if not complete:
                path = write_json(partial, {**meta, "trials": rows, "jspsych": jspsych})
                self.disk_used += path.stat().st_size
                return path
            while True:
                stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self.counter):04d}-p{meta['participant']}"
                path = self.responses / f"{stem}.csv"
                if not path.exists():
                    break
            written = [
                write_json(self.responses / f"{stem}-jspsych.json", jspsych),
                write_csv(path, rows, FIELDS, escape_formulas=True),
                write_json(path.with_suffix(".json"), meta),  # last: its link_id marks the token as used
            ]
            self.disk_used += sum(p.stat().st_size for p in written)
            self.completed.add(meta["link_id"])
            partial.unlink(missing_ok=True)
        return path
