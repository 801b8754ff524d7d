"""`bodyscene serve-study` (old name serve-experiment): serve a study folder to participants and save their submissions.

Standard-library HTTP (ThreadingHTTPServer: no dependency, and the load is tens of participants, not thousands
of requests a second); put it behind a TLS reverse proxy (README) for anything beyond a lab network.
GET serves an allow-list of the experiment's own files (page, lib/, the design's images) and nothing else.
POST /session {token} returns that participant's trial list only; POST /submit {token, ...} saves
(submissions.py checks and writes); POST /assign {key, params} hands a platform participant a token.
Hardening: per-connection deadline and socket timeouts, a cap on concurrent connections, a listen backlog of
256, per-client and per-token rate limits, a disk budget, Host/Origin allow-lists, JSON bodies only, strict
Content-Length, a 4xx reply for every malformed request, and one escaped, timestamped log line per event.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bodyscene.errors import BodySceneError
from bodyscene.humans.study import TEMPLATE_FILES
from bodyscene.humans.submissions import Rejected, StudyFolder

MAX_BODY = 2 * 1024 * 1024  # a 1000-trial submission with its jsPsych data is ~600 kB
DRAIN_LIMIT = 16 * 1024 * 1024  # read (and drop, 64 kB at a time) an oversized body up to this, so the client sees 413
CHUNK = 64 * 1024


class Limits:
    """Every number the hardening uses; tests shrink them."""

    def __init__(self, **kw: Any):
        self.io_timeout = 10.0  # seconds a single read or write may block
        self.connection_s = 30.0  # a connection is cut after this long, whatever it is doing
        self.max_connections = 64
        self.client_burst, self.client_rate = 600.0, 10.0  # POSTs per client address: burst, then per second
        self.token_burst, self.token_rate = 30.0, 0.5  # POSTs per participant token
        self.disk_budget = 2 * 1024**3  # bytes under responses/
        for k, v in kw.items():
            if not hasattr(self, k):
                raise TypeError(f"unknown limit {k}")
            setattr(self, k, v)


class RateLimiter:
    """Token buckets by key: `burst` requests at once, then `rate` per second."""

    def __init__(self, burst: float, rate: float):
        self.burst, self.rate = burst, rate
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            level, last = self.buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if len(self.buckets) > 100000:  # forget idle clients rather than grow without bound
                self.buckets.clear()
            if level < 1:
                self.buckets[key] = (level, now)
                return False
            self.buckets[key] = (level - 1, now)
            return True


def escape_log(text: str) -> str:
    """Control characters (escape codes, bare \\r, newlines) as \\xNN, so a request cannot fake log lines."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def allowed_files(root: Path, experiment: StudyFolder) -> dict[str, Path]:
    """URL path -> file: the page, jsPsych, and the images and clips the design shows. Nothing else is served."""
    names = [*TEMPLATE_FILES, *(f"lib/{p.name}" for p in (root / "lib").glob("*") if p.is_file())]
    design = experiment.design
    shown = [t for lst in design["participants"] for t in lst["trials"]] + design["practice"]
    names += [t[key] for t in shown for key in ("image", "video") if key in t]  # stills and clips (WebM)
    files = {}
    for name in names:
        path = (root / name).resolve()
        if path.is_relative_to(root) and path.is_file() and not any(p.startswith(".") for p in Path(name).parts):
            files["/" + name] = path
    files["/"] = files["/index.html"]
    return files


class Handler(BaseHTTPRequestHandler):
    experiment: StudyFolder  # these five are set on the subclass made by make_server
    limits: Limits
    files: dict[str, Path]
    hosts: set[str]
    limiters: tuple[RateLimiter, RateLimiter]
    quiet = False
    server_version = "bodyscene"
    sys_version = ""

    def setup(self) -> None:
        self.timeout = self.limits.io_timeout
        super().setup()
        self._cut = threading.Timer(self.limits.connection_s, self._shutdown)
        self._cut.daemon = True
        self._cut.start()

    def _shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._cut.cancel()
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            sys.stderr.write(f"{stamp} {self.client_address[0]} {escape_log(format % args)}\n")

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        route = urlsplit(getattr(self, "path", "") or "").path[
            :200
        ]  # never the query: it holds the participant's token
        self.log_message('"%s %s" %s', getattr(self, "command", None) or "-", route, getattr(code, "value", code))

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as e:  # a bug must still answer, and log one line, not a traceback
            self.log_message("internal error: %s: %s", type(e).__name__, str(e)[:200])
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._json(500, {"error": "internal error"})

    def _send(self, status: int, body: bytes, content_type: str, head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _host_ok(self) -> bool:
        hosts = self.headers.get_all("Host") or []
        return len(hosts) == 1 and hosts[0].strip().lower() in self.hosts

    def _static(self, head_only: bool) -> None:
        if not self._host_ok():
            self._send(421, b"unknown Host\n", "text/plain", head_only)
            return
        target = self.files.get(urlsplit(self.path).path)  # a dict look-up: no client text reaches the disk
        if target is None:
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
        try:
            reply = self._post()
        except Rejected as e:
            self._json(e.status, {"error": e.reason})
            return
        except BodySceneError as e:  # disk full, permissions: the page then offers the CSV download instead
            self.log_message("save failed: %s", str(e)[:300])
            self._json(500, {"error": "the server could not save; please download your data"})
            return
        self._json(200, reply)

    def _post(self) -> dict[str, Any]:
        if not self._host_ok():
            raise Rejected(421, "unknown Host")
        origin = self.headers.get_all("Origin") or []
        if len(origin) > 1 or (origin and urlsplit(origin[0]).netloc.lower() not in self.hosts):
            raise Rejected(403, "cross-site requests are refused")
        route = urlsplit(self.path).path
        if route not in ("/submit", "/session", "/assign"):
            raise Rejected(404, "POST goes to /session, /submit or /assign")
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise Rejected(415, "Content-Type must be application/json")
        by_client, by_token = self.limiters
        if not by_client.allow(self.client_address[0]):
            raise Rejected(429, "too many requests; wait a little")
        body = self._read_body()
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as e:  # also 5000-digit ints and deep nesting
            raise Rejected(400, f"malformed JSON: {str(e)[:100]}") from e
        if not isinstance(data, dict):
            raise Rejected(400, "the body must be a JSON object")
        ex = self.experiment
        if route == "/assign":
            return {"token": ex.assign(data.get("key"), data.get("params"))}
        token = data.get("token")
        ex.participant_of(token)  # 403 before the per-token bucket, so forged tokens cannot fill it
        if not by_token.allow(token):
            raise Rejected(429, "too many saves from this link; wait a little")
        if route == "/session":
            return ex.session(token)
        token, participant, complete, rows, meta, jspsych = ex.validate(data)
        path = ex.save(token, complete, rows, meta, jspsych, len(body))
        self.log_message("saved %d rows of participant %s (%s)", len(rows), participant, path.name)
        return {"ok": True, "file": path.name, "rows": len(rows), "complete": complete}

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") is not None:
            raise Rejected(411, "send a Content-Length, not Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise Rejected(411, "Content-Length is required")
        if len(lengths) > 1 or not lengths[0].isascii() or not lengths[0].isdigit() or len(lengths[0]) > 12:
            self.close_connection = True
            raise Rejected(400, "exactly one Content-Length of digits only")
        n = int(lengths[0])
        deadline = time.monotonic() + self.limits.connection_s
        if n > MAX_BODY:
            if n <= DRAIN_LIMIT:
                self._read(n, deadline, keep=False)
            self.close_connection = True
            raise Rejected(413, f"submission larger than {MAX_BODY} bytes")
        return self._read(n, deadline, keep=True)

    def _read(self, n: int, deadline: float, keep: bool) -> bytes:
        """n bytes in 64 kB chunks (a dropped body is never held whole), within the connection's deadline."""
        parts, left = [], n
        while left > 0:
            if time.monotonic() > deadline:
                self.close_connection = True
                raise Rejected(408, "the body took too long to arrive")
            try:
                chunk = self.rfile.read(min(CHUNK, left))
            except (TimeoutError, OSError) as e:
                self.close_connection = True
                raise Rejected(408, "the body took too long to arrive") from e
            if not chunk:
                self.close_connection = True
                raise Rejected(400, "the body is shorter than its Content-Length")
            left -= len(chunk)
            if keep:
                parts.append(chunk)
        return b"".join(parts)


class ExperimentServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog for bursts and a cap on concurrent connections."""

    request_queue_size = 256  # the default 5 lost 13-59 of 100 simultaneous submissions to kernel resets
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int):
        self.slots = threading.BoundedSemaphore(max_connections)
        self.active = 0
        self.peak = 0
        self._count_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # waiting here leaves further connections in the kernel's backlog until a slot frees
        if not self.slots.acquire(timeout=handler_wait(self)):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            self.shutdown_request(request)
            return
        with self._count_lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One escaped line instead of socketserver's traceback."""
        kind, value = sys.exc_info()[:2]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        name = kind.__name__ if kind else "error"
        sys.stderr.write(f"{stamp} {client_address[0]} connection error: {name}: {escape_log(str(value)[:200])}\n")

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self.active -= 1
            self.slots.release()


def handler_wait(server: ExperimentServer) -> float:
    return server.RequestHandlerClass.limits.connection_s


def make_server(
    folder: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    quiet: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    pid_param: str = "PROLIFIC_PID",
    completion_url: str | None = None,
    **limits: Any,
) -> ExperimentServer:
    """A server for `folder` (not yet serving: call serve_forever); port 0 picks a free port."""
    lim = Limits(**limits)
    experiment = StudyFolder(Path(folder), lim.disk_budget, pid_param, completion_url)
    attrs = {
        "experiment": experiment,
        "quiet": quiet,
        "limits": lim,
        "files": allowed_files(experiment.root, experiment),
        "hosts": set(),
        "limiters": (RateLimiter(lim.client_burst, lim.client_rate), RateLimiter(lim.token_burst, lim.token_rate)),
    }
    handler = type("ExperimentHandler", (Handler,), attrs)
    try:
        server = ExperimentServer((host, port), handler, lim.max_connections)
    except OSError as e:
        raise BodySceneError(f"{host}:{port}: cannot listen ({e.strerror}); choose another --port") from e
    bound = server.server_address[1]
    names = {host, "127.0.0.1", "localhost", *(h.lower() for h in allowed_hosts)}
    handler.hosts = {n for n in names if n not in ("0.0.0.0", "::")} | {f"{n}:{bound}" for n in names}
    handler.hosts = {h for h in handler.hosts if not h.startswith(("0.0.0.0", "::"))}
    return server


def serve(
    folder: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
    pid_param: str = "PROLIFIC_PID",
    completion_url: str | None = None,
) -> None:
    extra = (*allowed_hosts, urlsplit(public_url).netloc) if public_url else allowed_hosts
    server = make_server(folder, host, port, allowed_hosts=extra, pid_param=pid_param, completion_url=completion_url)
    ex = server.RequestHandlerClass.experiment
    url = public_url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.server_address[1]}"
    links = ex.write_links(url)
    print(
        f"serving {folder} at {url}; one personal link per participant in {links}; "
        f"platform study link: {url.rstrip('/')}/?key={ex.study_key}&{pid_param}=<id>; "
        f"responses -> {ex.responses}; Ctrl-C stops",
        file=sys.stderr,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
