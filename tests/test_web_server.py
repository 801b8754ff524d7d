"""serve-experiment's HTTP server: what it accepts, what it refuses, that nothing lands outside responses/."""

from __future__ import annotations

import copy
import csv
import http.client
import json
import re
from urllib.parse import urlsplit

import pytest

from bodyscene.errors import BodySceneError
from bodyscene.humans.server import MAX_BODY, make_server
from bodyscene.humans.study import FIELDS
from helpers_web import build, request, running_server, tree, valid_submission


@pytest.fixture()
def served(tmp_path):
    folder, design = build(tmp_path)
    with running_server(folder) as url:
        yield folder, design, url


def post(url: str, obj) -> tuple[int, dict]:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    status, body = request(f"{url}/submit", data, "POST")
    return status, json.loads(body)


def test_valid_submission_is_saved_under_a_server_made_name(served):
    folder, design, url = served
    status, reply = post(url, valid_submission(design, "3"))
    assert status == 200 and reply["rows"] == 12
    files = sorted(p.name for p in (folder / "responses").iterdir())
    assert len(files) == 3 and re.fullmatch(r"\d{8}-\d{6}-0001-p3\.csv", files[1])
    assert files[0].endswith("-jspsych.json") and files[2].endswith("p3.json")
    with open(folder / "responses" / files[1], newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == FIELDS
        rows = list(reader)
    assert [r["stimulus_id"] for r in rows] == [r["stimulus_id"] for r in valid_submission(design, "3")["rows"]]
    assert {r["participant"] for r in rows} == {"3"}


BAD = {
    "not an object": [1, 2],
    "participant path": {"participant": "../../etc/x"},
    "participant int": {"participant": 3},
    "participant unknown": {"participant": "99"},
    "rows empty": {"rows": []},
    "row missing key": {"row": ("rt_ms", None)},
    "unknown stimulus": {"row": ("stimulus_id", "nope_f0000")},
    "stimulus path": {"row": ("stimulus_id", "../../etc/passwd")},
    "bad condition": {"row": ("condition", "scene")},
    "wrong label": {"row": ("label", "__label__")},
    "response not a choice": {"row": ("response", "fly")},
    "rt string": {"row": ("rt_ms", "fast")},
    "rt bool": {"row": ("rt_ms", True)},
    "trial float": {"row": ("trial", 1.5)},
    "extra key": {"row": ("extra", 1)},
    "seed string": {"participant_seed": "x"},
    "attention bad": {"attention": [{"target": 1}]},
}


def _mutate(design, how):
    sub = valid_submission(design, "1")
    if not isinstance(how, dict):
        return how
    if "row" in how:
        key, value = how["row"]
        if key == "rt_ms" and value is None:
            del sub["rows"][0]["rt_ms"]
        else:
            sub["rows"][0][key] = value
    else:
        sub.update(how)
    return sub


def test_bad_submissions_get_400_and_write_nothing(served):
    folder, design, url = served
    before = tree(folder)
    for name, how in BAD.items():
        status, reply = post(url, _mutate(design, how))
        assert status == 400, name
        assert reply["error"], name
    for raw in (b"{not json", b"\xff\xfe", b""):
        status, reply = post(url, raw)
        assert status == 400 and "malformed JSON" in reply["error"]
    # rows of another participant's list, and a duplicated row
    other = valid_submission(design, "2")
    sub = valid_submission(design, "1")
    mixed = copy.deepcopy(sub)
    mixed["rows"][0] = {**other["rows"][0], "participant": "1"}
    if (mixed["rows"][0]["stimulus_id"], mixed["rows"][0]["condition"]) != (
        sub["rows"][0]["stimulus_id"],
        sub["rows"][0]["condition"],
    ):
        assert post(url, mixed)[0] == 400
    dup = copy.deepcopy(sub)
    dup["rows"][1] = dup["rows"][0]
    assert post(url, dup)[0] == 400
    assert tree(folder) == before  # nothing written anywhere, not even in responses/


def test_oversized_body_gets_413(served):
    folder, design, url = served
    before = tree(folder)
    sub = valid_submission(design, "1")
    sub["user_agent"] = "x" * (MAX_BODY + 10)
    status, reply = post(url, sub)
    assert status == 413 and "larger" in reply["error"]
    # a huge declared length is refused without reading it
    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.putrequest("POST", "/submit")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10**9))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    assert tree(folder) == before


def test_static_files_only_inside_the_folder_and_never_responses(served):
    folder, design, url = served
    assert post(url, valid_submission(design, "1"))[0] == 200
    saved = next((folder / "responses").glob("*.csv")).name
    (folder.parent / "secret.txt").write_text("outside")
    status, body = request(f"{url}/")
    assert status == 200 and b"experiment.js" in body
    assert request(f"{url}/design.json")[0] == 404  # it holds every participant's trials: never served
    assert request(f"{url}/lib/jspsych.js")[0] == 200
    host = urlsplit(url)
    for path in (
        "/../secret.txt", "/%2e%2e/secret.txt", "/stimuli/../../secret.txt", "/%2e%2e%2fsecret.txt",
        f"/responses/{saved}", "/responses/", "/stimuli/", "/..%5csecret.txt", "/nope.html",
    ):  # fmt: skip
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        conn.request("GET", path)  # raw path: urllib would normalise the dots away
        reply = conn.getresponse()
        assert reply.status == 404, path
        assert b"outside" not in reply.read()
        conn.close()


def test_assign_needs_the_study_key_and_never_wraps_round(served):
    folder, design, url = served
    key = (folder / "private" / "study_key.txt").read_text().strip()

    def assign(k, pid):
        status, body = request(f"{url}/assign", json.dumps({"key": k, "params": {"PROLIFIC_PID": pid}}).encode())
        return status, json.loads(body)

    assert assign("forged", "a")[0] == 403
    got = [assign(key, pid)[1]["token"] for pid in ("a", "b", "c")]
    assert len(set(got)) == 3 and assign(key, "a")[1]["token"] == got[0]  # the same id gets its token again
    assert assign(key, "d")[0] == 409  # 3 lists, all handed out: refused, not wrapped round


def test_server_refuses_a_folder_without_design(tmp_path):
    with pytest.raises(BodySceneError, match="bodyscene human-study"):
        make_server(tmp_path, port=0)
