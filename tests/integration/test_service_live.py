"""The live quiz on the real course service, run by a real hub (tests/integration/
test_service.py's ``service_hub``): every rule of the contract
(/work/notes/live-quiz-contract.md, docs/developers.md) with its status and
sentence, what students may and may not see, a long-poll answered within 2 s of
an open, the CSV, and a kill of the service process, then a restart of the whole
hub, during an open question: no answer lost.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from ..hubclient import Deadline
from .test_service import CANARY, ServiceHub, service_hub

TYPED = {"text": "Is Dask lazy?", "choices": ["yes", "no", "it depends"], "answer": 0}


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[ServiceHub]:
    with service_hub(tmp_path_factory.mktemp("live-hub"), "service-live-hub") as h:
        yield h


def live(hub: ServiceHub, who: str | None, method: str, path: str = "", **kw) -> requests.Response:
    return hub.call(who, method, "api/live" + path, **kw)


def open_question(hub: ServiceHub, body: dict | None = None) -> dict:
    r = live(hub, "teacher", "POST", json=body or TYPED)
    assert r.status_code == 201, r.text
    return r.json()


def refused(r: requests.Response, status: int, reason: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert len(body["message"]) > 15 and body["message"].endswith("."), body
    if reason:
        assert body["reason"] == reason, body
    return body


def test_without_a_login_401_and_without_the_right_403(hub):
    qid = open_question(hub)["id"]
    routes = [
        ("GET", ""),
        ("POST", ""),
        ("GET", "/history"),
        ("GET", f"/{qid}"),
        ("POST", f"/{qid}/answer"),
        ("POST", f"/{qid}/close"),
        ("POST", f"/{qid}/reveal"),
        ("GET", f"/{qid}/results.csv"),
    ]
    for method, path in routes:
        for headers in ({}, {"Authorization": "token not-a-real-token"}):
            r = live(hub, None, method, path, headers=headers, json={"choice": 0})
            refused(r, 401, "login")
            assert r.headers["WWW-Authenticate"].startswith("token")
        # A token of alice's without the service's scope, and the gateway's token.
        refused(live(hub, "alice-narrow", method, path, json={"choice": 0}), 403, "forbidden")
        refused(live(hub, "gateway", method, path, json={"choice": 0}), 403, "forbidden")
    # Students may not open, close, reveal, look up or export.
    for method, path in routes[1:]:
        if path.endswith("/answer"):
            continue
        body = refused(live(hub, "alice", method, path, json=TYPED), 403, "forbidden")
        assert "teachers" in body["message"].lower()
    # Teachers do not answer.
    body = refused(live(hub, "ta", "POST", f"/{qid}/answer", json={"choice": 0}), 403)
    assert "Teachers do not answer" in body["message"]
    assert live(hub, "teacher", "GET", f"/{qid}").json()["answered"] == 0


def test_bad_requests_are_400_unknown_questions_404_closed_ones_409(hub):
    q = open_question(hub)
    qid = q["id"]
    for body in ({}, {"choice": "A"}, {"choice": True}, {"choice": 0, "also": 1}, {"choice": 3}):
        refused(live(hub, "alice", "POST", f"/{qid}/answer", json=body), 400, "invalid")
    refused(live(hub, "alice", "POST", f"/{qid}/answer", data=b"{"), 400, "invalid")
    refused(live(hub, "alice", "POST", f"/{qid}/answer", data=b"[1]"), 400, "invalid")
    for body in (
        {},
        {"text": "Q", "choices": ["one"]},
        {"text": "Q", "choices": ["a", "b"], "answer": 2},
        {"text": "Q", "choices": ["a", "b", "c", "d", "e", "f"]},
        {"session": "intro", "number": "0"},
    ):
        refused(live(hub, "teacher", "POST", json=body), 400, "invalid")
    refused(live(hub, "teacher", "POST", json={"session": "nope", "number": 0}), 404)
    refused(live(hub, "teacher", "POST", json={"session": "intro", "number": 5}), 404, "unknown")
    for after in ("abc", "-1", "1.5", "9" * 19):
        refused(live(hub, "alice", "GET", params={"after": after}), 400, "invalid")
    unknown = qid + 1000
    refused(live(hub, "alice", "POST", f"/{unknown}/answer", json={"choice": 0}), 404, "unknown")
    for method, path in (
        ("GET", ""),
        ("POST", "/close"),
        ("POST", "/reveal"),
        ("GET", "/results.csv"),
    ):
        refused(live(hub, "teacher", method, f"/{unknown}{path}"), 404, "unknown")
    refused(live(hub, "teacher", "GET", "/not-a-number"), 404)
    # Closed, then revealed: answers refused with 409, nothing counted.
    assert live(hub, "teacher", "POST", f"/{qid}/close").json()["state"] == "closed"
    refused(live(hub, "alice", "POST", f"/{qid}/answer", json={"choice": 0}), 409, "closed")
    assert live(hub, "teacher", "POST", f"/{qid}/reveal").json()["state"] == "revealed"
    refused(live(hub, "bob", "POST", f"/{qid}/answer", json={"choice": 0}), 409, "closed")
    assert live(hub, "teacher", "GET", f"/{qid}").json()["answered"] == 0


def test_a_session_question_answers_counts_and_the_reveal(hub):
    q = open_question(hub, {"session": "intro", "number": 0})
    qid = q["id"]
    assert (q["session"], q["number"], q["text"]) == (
        "intro",
        0,
        "What moves data between machines?",
    )
    assert q["choices"] == ["map", "shuffle"] and q["answer"] == 1 and CANARY in q["explanation"]
    assert q["state"] == "open" and q["counts"] == [0, 0]

    # Students see the question without the answer, its explanation, or any count.
    seen = live(hub, "alice", "GET")
    assert seen.status_code == 200 and CANARY not in seen.text
    sq = seen.json()["question"]
    assert sq["id"] == qid and sq["answer"] is None and sq["explanation"] is None
    assert not {"counts", "answered", "online"} & set(sq)
    r = live(hub, "alice", "POST", f"/{qid}/answer", json={"choice": 0})
    assert r.status_code == 200, r.text
    assert r.json()["my_answer"] == 0 and r.json()["answer"] is None and CANARY not in r.text
    assert live(hub, "bob", "POST", f"/{qid}/answer", json={"choice": 1}).status_code == 200
    assert live(hub, "alice", "POST", f"/{qid}/answer", json={"choice": 1}).status_code == 200
    assert live(hub, "bob", "GET").json()["question"]["my_answer"] == 1
    teacher = live(hub, "teacher", "GET").json()["question"]
    assert teacher["counts"] == [0, 2] and teacher["answered"] == 2
    assert teacher["online"] >= 2  # alice and bob answered within 30 s

    revealed = live(hub, "teacher", "POST", f"/{qid}/reveal").json()
    assert revealed["state"] == "revealed" and revealed["closed_at"] and revealed["revealed_at"]
    sq = live(hub, "bob", "GET").json()["question"]
    assert sq["answer"] == 1 and CANARY in sq["explanation"] and sq["my_answer"] == 1
    assert not {"counts", "answered", "online"} & set(sq)

    r = live(hub, "teacher", "GET", f"/{qid}/results.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert f"live-question-{qid}.csv" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["user"], x["choice"], x["choice_text"], x["correct"]) for x in rows] == [
        ("alice", "1", "shuffle", "yes"),
        ("bob", "1", "shuffle", "yes"),
    ]
    assert {x["question_id"] for x in rows} == {str(qid)}
    assert {x["opened_at"] for x in rows} == {q["opened_at"]}
    history = live(hub, "teacher", "GET", "/history").json()["questions"]
    assert history[0]["id"] == qid and history[0]["counts"] == [0, 2]
    assert [h["id"] for h in history] == sorted((h["id"] for h in history), reverse=True)


def test_a_students_long_poll_returns_within_2_s_of_an_open(hub):
    version = live(hub, "alice", "GET").json()["version"]
    got: dict = {}

    def poll() -> None:
        r = live(hub, "alice", "GET", params={"after": version})
        got["at"], got["r"] = time.monotonic(), r

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(1.0)
    assert waiter.is_alive(), "the poll answered with nothing new"
    teacher_view = live(hub, "teacher", "GET").json()
    assert teacher_view["question"]["online"] >= 1  # alice's pending poll
    t0 = time.monotonic()
    qid = open_question(hub)["id"]
    waiter.join(5)
    assert not waiter.is_alive() and got["r"].status_code == 200, got
    assert got["at"] - t0 < 2.0, f"the poll answered {got['at'] - t0:.2f} s after the open"
    body = got["r"].json()
    assert body["version"] > version and body["question"]["id"] == qid

    # The teacher's poll wakes on an answer; with nothing new a poll answers after 25 s.
    tv = live(hub, "teacher", "GET").json()["version"]
    seen: dict = {}
    t = threading.Thread(
        target=lambda: seen.update(r=live(hub, "teacher", "GET", params={"after": tv}))
    )
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    live(hub, "bob", "POST", f"/{qid}/answer", json={"choice": 2})
    t.join(5)
    assert time.monotonic() - t0 < 2.0 and seen["r"].json()["question"]["counts"] == [0, 0, 1]
    quiet = live(hub, "alice", "GET").json()["version"]
    t0 = time.monotonic()
    r = live(hub, "alice", "GET", params={"after": quiet})
    assert 24 < time.monotonic() - t0 < 30 and r.json()["version"] == quiet


def test_a_kill_of_the_service_then_a_hub_restart_mid_question_lose_no_answer(hub):
    qid = open_question(hub)["id"]
    for who, choice in (("alice", 0), ("bob", 2), ("alice", 1)):
        assert live(hub, who, "POST", f"/{qid}/answer", json={"choice": choice}).status_code == 200
    before = live(hub, "teacher", "GET", f"/{qid}").json()
    version = live(hub, "teacher", "GET").json()["version"]
    assert before["counts"] == [0, 1, 1]

    (old,) = hub.service_processes()
    old.kill()
    deadline = Deadline(60, "the hub to start the course service again")
    while deadline:
        procs = hub.service_processes()
        if procs and procs[0].pid != old.pid:
            try:
                if live(hub, "teacher", "GET").status_code == 200:
                    break
            except requests.RequestException:
                pass
        time.sleep(0.3)
    else:
        deadline.fail(hub.log_tail())
    after = live(hub, "teacher", "GET").json()
    q = after["question"]
    assert q["id"] == qid and q["state"] == "open" and q["counts"] == before["counts"]
    assert after["version"] >= version  # versions never go back: pollers keep up
    assert live(hub, "alice", "GET").json()["question"]["my_answer"] == 1
    assert live(hub, "bob", "POST", f"/{qid}/answer", json={"choice": 1}).status_code == 200

    hub.stop()
    hub.start()
    q = live(hub, "teacher", "GET", f"/{qid}").json()
    assert q["state"] == "open" and q["counts"] == [0, 2, 0] and q["answered"] == 2
    rows = list(
        csv.DictReader(io.StringIO(live(hub, "teacher", "GET", f"/{qid}/results.csv").text))
    )
    assert {(x["user"], x["choice"]) for x in rows} == {("alice", "1"), ("bob", "1")}
