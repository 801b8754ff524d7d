"""`bodyscene serve-experiment`: serve an experiment folder and save each participant's submission.

Standard-library HTTP (ThreadingHTTPServer), meant for localhost or a lab network, not the open internet.
GET serves files of the folder only (never `responses/`, dotfiles, or anything outside it). POST /submit
takes the page's JSON, checks it against design.json (participant number, stimulus ids, conditions, labels,
answer choices, types, at most MAX_BODY bytes), and writes `responses/<time>-<counter>-p<participant>.csv`
(the humans CSV) plus a `.json` with the seeds and attention checks; the server makes every file name, the
client never does.
POST /assign hands out participant numbers in turn, for a page opened without ?participant=N.
"""

from __future__ import annotations

import itertools
import json
import mimetypes
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bodyscene.errors import BodySceneError
from bodyscene.files import read_json, write_csv, write_json
from bodyscene.humans.experiment import DESIGN_FORMAT, FIELDS

MAX_BODY = 2 * 1024 * 1024  # a 1000-trial submission is ~150 kB
DRAIN_LIMIT = 16 * 1024 * 1024  # read (and drop) an oversized body up to this, so the client sees the 413
PARTICIPANT_RE = re.compile(r"^[0-9]{1,6}$")
STIMULUS_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


class Rejected(Exception):
    """A submission the server refuses: HTTP status and the reason sent back to the page."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Experiment:
    """What the server knows about one experiment folder: its design, and where responses go."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        design_path = self.root / "design.json"
        if not design_path.is_file():
            raise BodySceneError(f"{design_path}: not found; build the folder with `bodyscene human-experiment`")
        design = read_json(design_path)
        if not isinstance(design, dict) or design.get("format") != DESIGN_FORMAT:
            raise BodySceneError(
                f"{design_path}: not a {DESIGN_FORMAT} design; rebuild with `bodyscene human-experiment`"
            )
        self.classes = set(design["classes"])
        self.conditions = set(design["conditions"])
        self.stimuli = design["stimuli"]
        # participant -> {(stimulus_id, condition): answer choices}: what that participant was actually shown
        self.plans = {
            p["participant"]: {
                (t["stimulus_id"], t["condition"]): t["choices"] for t in p["trials"] if t["kind"] == "stimulus"
            }
            for p in design["participants"]
        }
        self.order = [p["participant"] for p in design["participants"]]
        self.responses = self.root / "responses"
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        done = len(list(self.responses.glob("*.csv"))) if self.responses.is_dir() else 0
        self.next_assign = done

    def assign(self) -> str:
        with self.lock:
            p = self.order[self.next_assign % len(self.order)]
            self.next_assign += 1
            return p

    def validate(self, sub: Any) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        """Return (participant, rows, metadata) or raise Rejected(400, reason)."""
        if not isinstance(sub, dict):
            raise Rejected(400, "the body must be a JSON object")
        participant = sub.get("participant")
        if not isinstance(participant, str) or not PARTICIPANT_RE.match(participant):
            raise Rejected(400, "participant must be a participant number string such as '3'")
        if participant not in self.plans:
            raise Rejected(400, f"participant {participant} is not in this experiment's design")
        plan = self.plans[participant]
        rows = sub.get("rows")
        if not isinstance(rows, list) or not rows:
            raise Rejected(400, "rows must be a non-empty list")
        if len(rows) > len(plan):
            raise Rejected(400, f"{len(rows)} rows, but participant {participant} has {len(plan)} trials")
        clean, seen = [], set()
        for i, row in enumerate(rows, start=1):
            clean.append(self._row(row, i, participant, plan, seen))
        meta = {"participant": participant, "received_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        for key, kind in (
            ("participant_seed", int),
            ("design_seed", int),
            ("user_agent", str),
            ("finished_at", str),
        ):
            value = sub.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise Rejected(400, f"{key} must be {kind.__name__}")
            meta[key] = value[:500] if isinstance(value, str) else value
        attention = sub.get("attention", [])
        if not isinstance(attention, list) or len(attention) > 1000:
            raise Rejected(400, "attention must be a list")
        meta["attention"] = []
        for a in attention:
            if not isinstance(a, dict) or not all(isinstance(a.get(k), str) for k in ("target", "response")):
                raise Rejected(400, "each attention entry needs string target and response")
            if a["target"] not in self.classes or a["response"] not in self.classes:
                raise Rejected(400, "attention entries must name classes of the design")
            meta["attention"].append({"target": a["target"], "response": a["response"]})
        return participant, clean, meta

    def _row(self, row: Any, i: int, participant: str, plan: dict, seen: set) -> dict[str, Any]:
        if not isinstance(row, dict) or set(row) != set(FIELDS):
            raise Rejected(400, f"row {i}: needs exactly the keys {', '.join(FIELDS)}")
        for key in ("participant", "stimulus_id", "condition", "label", "response"):
            if not isinstance(row[key], str):
                raise Rejected(400, f"row {i}: {key} must be a string")
        if row["participant"] != participant:
            raise Rejected(400, f"row {i}: participant differs from the submission's")
        sid, condition = row["stimulus_id"], row["condition"]
        if not STIMULUS_ID_RE.match(sid) or sid not in self.stimuli:
            raise Rejected(400, f"row {i}: unknown stimulus_id")
        if condition not in self.conditions:
            raise Rejected(400, f"row {i}: condition must be one of {', '.join(sorted(self.conditions))}")
        if (sid, condition) not in plan:
            raise Rejected(400, f"row {i}: participant {participant} was not shown {sid} as {condition}")
        if (sid, condition) in seen:
            raise Rejected(400, f"row {i}: {sid} {condition} appears twice")
        seen.add((sid, condition))
        if row["label"] != self.stimuli[sid]["label"]:
            raise Rejected(400, f"row {i}: label does not match the design")
        if row["response"] not in plan[(sid, condition)]:
            raise Rejected(400, f"row {i}: response is not one of the trial's choices")
        rt, trial = row["rt_ms"], row["trial"]
        if rt is not None and (isinstance(rt, bool) or not isinstance(rt, int | float) or not 0 <= rt < 3.6e6):
            raise Rejected(400, f"row {i}: rt_ms must be a number of milliseconds or null")
        if isinstance(trial, bool) or not isinstance(trial, int) or not 1 <= trial <= len(plan):
            raise Rejected(400, f"row {i}: trial must be an integer from 1 to {len(plan)}")
        return {**row, "rt_ms": "" if rt is None else round(rt)}

    def save(self, participant: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
        """responses/<time>-<counter>-p<participant>.csv: unique, sortable, made only of validated parts."""
        with self.lock:
            while True:
                stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self.counter):04d}-p{participant}"
                path = self.responses / f"{stem}.csv"
                if not path.exists():
                    break
            write_json(path.with_suffix(".json"), meta)
            write_csv(path, rows, FIELDS)
        return path


class Handler(BaseHTTPRequestHandler):
    experiment: Experiment  # set on the subclass made by make_server
    quiet = False
    server_version = "bodyscene"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str, head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _static(self, head_only: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        if not parts:
            parts = ["index.html"]
        if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts) or parts[0] == "responses":
            self._send(404, b"not found\n", "text/plain", head_only)
            return
        root = self.experiment.root
        target = root.joinpath(*parts).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            self._send(404, b"not found\n", "text/plain", head_only)
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".js":
            kind = "text/javascript"
        self._send(200, target.read_bytes(), kind, head_only)

    def do_GET(self) -> None:
        self._static(head_only=False)

    def do_HEAD(self) -> None:
        self._static(head_only=True)

    def do_POST(self) -> None:
        route = urlsplit(self.path).path
        if route == "/assign":
            self._json(200, {"participant": self.experiment.assign()})
            return
        if route != "/submit":
            self._json(404, {"error": "POST goes to /submit"})
            return
        try:
            body = self._read_body()
            try:
                submission = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise Rejected(400, f"malformed JSON: {e}") from e
            participant, rows, meta = self.experiment.validate(submission)
        except Rejected as e:
            self._json(e.status, {"error": e.reason})
            return
        try:
            path = self.experiment.save(participant, rows, meta)
        except BodySceneError as e:  # disk full, permissions: the page then offers the CSV download instead
            self._json(500, {"error": str(e)})
            return
        self.log_message("saved %d rows of participant %s to %s", len(rows), participant, path.name)
        self._json(200, {"ok": True, "file": path.name, "rows": len(rows)})

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise Rejected(411, "Content-Length is required")
        try:
            n = int(length)
        except ValueError as e:
            raise Rejected(400, "Content-Length must be an integer") from e
        if n < 0:
            raise Rejected(400, "Content-Length must not be negative")
        if n > MAX_BODY:
            if n <= DRAIN_LIMIT:
                self.rfile.read(n)
            else:
                self.close_connection = True
            raise Rejected(413, f"submission larger than {MAX_BODY} bytes")
        return self.rfile.read(n)


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False) -> ThreadingHTTPServer:
    """A server for `folder` (not yet serving: call serve_forever); port 0 picks a free port."""
    experiment = Experiment(Path(folder))
    handler = type("ExperimentHandler", (Handler,), {"experiment": experiment, "quiet": quiet})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise BodySceneError(f"{host}:{port}: cannot listen ({e.strerror}); choose another --port") from e
    server.daemon_threads = True
    return server


def serve(folder: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = make_server(folder, host, port)
    url = f"http://{host}:{server.server_address[1]}/?participant=1"
    print(f"serving {folder} at {url} (responses -> {folder / 'responses'}); Ctrl-C stops", file=sys.stderr)
    try:
        server.serve_forever()
    finally:
        server.server_close()
