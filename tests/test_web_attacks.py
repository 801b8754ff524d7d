"""serve-experiment under attack (issue 14): each test is one finding, loopback only, bounded loops, no sleeps."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from bodyscene.files import read_csv
from bodyscene.humans.collect import collect
from bodyscene.humans.server import ExperimentServer, escape_log, make_server
from bodyscene.humans.study import FIELDS
from helpers_web import build, running_server, valid_submission


def raw(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return everything the server answers before closing."""
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def post_raw(url, body: bytes, route="/submit", headers: dict | None = None) -> int:
    u = urlsplit(url)
    h = {"Host": u.netloc, "Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    head = f"POST {route} HTTP/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    reply = raw(url, head.encode() + body)
    return int(reply.split(b" ", 2)[1]) if reply else 0


@pytest.fixture()
def served(tmp_path):
    folder, design = build(tmp_path)
    with running_server(folder, token_burst=100) as url:
        yield folder, design, url


def test_forged_submission_without_or_with_a_wrong_token_is_refused(served):
    folder, design, url = served
    sub = valid_submission(design, "1")
    for token in (None, "x" * 32, "../../etc"):
        assert post_raw(url, json.dumps({**sub, "token": token}).encode()) == 403
    assert not (folder / "responses").exists()
    assert post_raw(url, json.dumps(sub).encode()) == 200
    assert post_raw(url, json.dumps(sub).encode()) == 409  # a token submits once
    assert post_raw(url, json.dumps({**sub, "complete": False}).encode()) == 409
    assert len(list((folder / "responses").glob("*.csv"))) == 1


def test_partial_saves_are_flagged_incomplete_and_replaced_by_the_final(served):
    folder, design, url = served
    sub = valid_submission(design, "2")
    partial = {**sub, "complete": False, "rows": sub["rows"][:3], "jspsych": [{"trial_type": "x", "rt": 5}]}
    assert post_raw(url, json.dumps(partial).encode()) == 200
    saved = json.loads(next((folder / "responses" / "incomplete").glob("*.json")).read_text())
    assert saved["complete"] is False and len(saved["trials"]) == 3 and saved["jspsych"][0]["rt"] == 5
    assert post_raw(url, json.dumps({**sub, "jspsych": [{"trial_type": "y"}]}).encode()) == 200
    assert not list((folder / "responses" / "incomplete").glob("*.json"))
    assert json.loads(next((folder / "responses").glob("*-jspsych.json")).read_text()) == [{"trial_type": "y"}]


def test_cross_site_and_rebinding_requests_are_refused(served):
    folder, design, url = served
    body = json.dumps(valid_submission(design, "1")).encode()
    assert post_raw(url, body, headers={"Content-Type": "text/plain"}) == 415
    assert post_raw(url, body, headers={"Origin": "http://evil.example"}) == 403
    assert post_raw(url, body, headers={"Host": "evil.example"}) == 421
    assert raw(url, b"GET / HTTP/1.0\r\nHost: evil.example\r\n\r\n").startswith(b"HTTP/1.0 421")


def test_only_the_experiments_own_files_are_served(served):
    folder, design, url = served
    (folder / "responses").mkdir()
    (folder / "responses" / "x.csv").write_text("secret")
    (folder / "resp").symlink_to(folder / "responses")
    (folder / "responses.csv").write_text("secret")
    host = urlsplit(url).netloc
    for path in ("/design.json", "/design.js", "/responses.csv", "/resp/x.csv", "/private/tokens.csv",
                 "/RESPONSES/x.csv", "/" + "a" * 300):  # fmt: skip
        reply = raw(url, f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.0 404"), path
    assert raw(url, f"GET /lib/jspsych.js HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()).startswith(b"HTTP/1.0 200")


def test_session_returns_only_the_participants_own_trials(served):
    folder, design, url = served
    token = valid_submission(design, "2")["token"]
    u = urlsplit(url)
    body = json.dumps({"token": token}).encode()
    head = f"POST /session HTTP/1.0\r\nHost: {u.netloc}\r\nContent-Type: application/json\r\n"
    reply = raw(url, head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    session = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert [p["participant"] for p in session["participants"]] == ["2"] and "stimuli" not in session


def test_malformed_requests_get_a_4xx_reply(served):
    folder, design, url = served
    assert post_raw(url, b"[" * 100000 + b"]" * 100000) == 400  # RecursionError before
    assert post_raw(url, b'{"token": ' + b"1" * 5000 + b"}") == 400  # int digit limit before
    host = urlsplit(url).netloc
    for length in ("5_0", " 50", "+50", "٥٠"):
        head = f"POST /submit HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {length}"
        assert raw(url, (head + "\r\n\r\n" + "x" * 50).encode()).startswith(b"HTTP/1.0 400"), length
    two = f"POST /submit HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    two += "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
    assert raw(url, two.encode()).startswith(b"HTTP/1.0 400")


def test_idle_and_slow_connections_are_cut_and_capped(tmp_path):
    folder, _ = build(tmp_path)
    server = make_server(folder, port=0, quiet=True, io_timeout=0.3, connection_s=1.0, max_connections=3)
    assert isinstance(server, ExperimentServer) and server.request_queue_size >= 128
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(6)]
        for s in idle:  # the server closes each within its deadline (recv returns b"" or a 408)
            s.recv(100)
            s.close()
        assert server.peak <= 3
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(f"POST /submit HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000\r\n\r\n{".encode())  # fmt: skip
        assert slow.recv(100).startswith(b"HTTP/1.0 408")
        slow.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_rate_limit_and_disk_budget(tmp_path):
    folder, design = build(tmp_path)
    with running_server(folder, client_burst=5, client_rate=0.001) as url:
        codes = [post_raw(url, b"{}") for _ in range(8)]
        assert codes[:5] == [403] * 5 and codes[5:] == [429] * 3
    with running_server(folder, disk_budget=1000) as url:
        assert post_raw(url, json.dumps(valid_submission(design, "1")).encode()) == 507
    assert not list((folder / "responses").glob("*.csv")) if (folder / "responses").exists() else True


def test_log_lines_are_escaped_and_timestamped(tmp_path, capfd):
    assert escape_log("a\x1b[31m\rFAKE\n") == "a\\x1b[31m\\x0dFAKE\\x0a"
    folder, _ = build(tmp_path)
    server = make_server(folder, port=0, quiet=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        raw(f"http://127.0.0.1:{server.server_address[1]}", b"GET /\x1b[2J\rfake HTTP/1.0\r\n\r\n")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    err = capfd.readouterr().err
    assert "\x1b" not in err and "\r" not in err
    assert err.strip() and all(line[:4].isdigit() and "T" in line[:11] for line in err.splitlines() if line), err


def test_200_simultaneous_token_submissions_all_saved_once(tmp_path):
    folder, design = build(tmp_path, participants=200, practice=0, attention_checks=0)
    with running_server(folder) as url:
        subs = [json.dumps(valid_submission(design, str(p))).encode() for p in range(1, 201)]
        barrier = threading.Barrier(50)

        def send(body):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=10)
            return post_raw(url, body)

        with ThreadPoolExecutor(max_workers=50) as pool:
            codes = list(pool.map(send, subs))
        assert codes == [200] * 200
        forged = {**valid_submission(design, "1"), "token": "A" * 32}
        assert post_raw(url, json.dumps(forged).encode()) == 403
    files = list((folder / "responses").glob("*.csv"))
    assert len(files) == 200 and len({f.name.split("-p")[1] for f in files}) == 200
    out = collect(folder)["out"]
    assert len(read_csv(out, required=FIELDS)) == 200 * 12
