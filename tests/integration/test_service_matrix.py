"""Who may call what on the course service: every route x every kind of caller.

The routes are not listed here: they are read from the service's OpenAPI
description, which tests/unit/test_service_openapi.py holds equal to the
handlers the service serves (checked again below). Each route must have its row
in :data:`EXPECTED`, so a route added to the service without deciding who may
call it fails this test rather than going untested. The callers are the student
who owns the resource (alice: her hand-in, her list), another student (bob), a
teacher (a hub admin), the gateway's service token, and no token at all,
against the real service process run by a real hub (tests/integration/test_service.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests

from course_hub.service.handlers import NotFoundHandler, handlers
from course_hub.service.openapi import openapi_spec

from ..unit.test_service_openapi import PREFIX, VERBS, route_to_template
from .test_service import CANARY, ServiceHub, handin_notebook, service_hub, snapshot_text

CALLERS = ("owner", "other", "teacher", "gateway", "none")
#: Who each caller is on the hub (a token of theirs; "none" sends no token).
TOKEN_OF = {"owner": "alice", "other": "bob", "teacher": "teacher", "gateway": "gateway"}

# (verb, path) -> the status for owner, other student, teacher, gateway, no token.
EXPECTED: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("GET", "/api/openapi.json"): (200, 200, 200, 200, 403),
    ("GET", "/api/me"): (200, 200, 200, 403, 403),
    ("GET", "/api/course"): (200, 200, 200, 200, 403),
    ("GET", "/api/presets"): (200, 200, 200, 200, 403),
    ("GET", "/api/sessions/{session_id}/snapshot"): (200, 200, 200, 403, 403),
    ("GET", "/api/sessions/{session_id}/quiz"): (200, 200, 200, 403, 403),
    ("POST", "/api/sessions/{session_id}/quiz/{number}"): (200, 200, 200, 403, 403),
    # ?user=alice: her list is hers and the teachers'.
    ("GET", "/api/sessions/{session_id}/handins"): (200, 403, 200, 403, 403),
    # Everyone who is a user hands in their own (a teacher's hand-in is their own too).
    ("POST", "/api/sessions/{session_id}/handins"): (201, 201, 201, 403, 403),
    ("GET", "/api/sessions/{session_id}/handins.zip"): (403, 403, 200, 403, 403),
    # Another student is told there is no such hand-in (not that it exists).
    ("GET", "/api/handins/{receipt_id}"): (200, 404, 200, 403, 403),
    # The live quiz: no login is 401 there. Everyone logged in polls; teachers run
    # the question, students answer it (an open one, made fresh for each request).
    ("GET", "/api/live"): (200, 200, 200, 403, 401),
    ("POST", "/api/live"): (403, 403, 201, 403, 401),
    ("GET", "/api/live/history"): (403, 403, 200, 403, 401),
    ("GET", "/api/live/{question_id}"): (403, 403, 200, 403, 401),
    ("POST", "/api/live/{question_id}/answer"): (200, 200, 403, 403, 401),
    ("POST", "/api/live/{question_id}/close"): (403, 403, 200, 403, 401),
    ("POST", "/api/live/{question_id}/reveal"): (403, 403, 200, 403, 401),
    ("GET", "/api/live/{question_id}/results.csv"): (403, 403, 200, 403, 401),
    # Preparing the class: teachers only (no login is 401); a job for a name the
    # hub does not know, so the matrix starts no server.
    ("POST", "/api/class/prepare"): (403, 403, 202, 403, 401),
    ("GET", "/api/class/prepare/{job_id}"): (403, 403, 200, 403, 401),
    # The class at a glance: teachers only (no login is 401). The action stops
    # bob's server, which is not running (the hub answers 204).
    ("GET", "/api/class"): (403, 403, 200, 403, 401),
    ("GET", "/api/class/actions"): (403, 403, 200, 403, 401),
    ("POST", "/api/class/actions"): (403, 403, 201, 403, 401),
}


def operations() -> list[tuple[str, str]]:
    """Every (verb, path) of the OpenAPI description."""
    spec = openapi_spec()
    return [
        (verb.upper(), path)
        for path, item in spec["paths"].items()
        for verb in item
        if verb in VERBS
    ]


def served() -> set[tuple[str, str]]:
    """Every (verb, path) the service's handlers answer (the catch-all 404 aside)."""
    found = set()
    for route, handler in handlers(PREFIX):
        if handler is NotFoundHandler:
            continue
        for verb in VERBS:
            if any(verb in vars(k) for k in handler.__mro__ if k.__module__.startswith("course")):
                found.add((verb.upper(), route_to_template(route)))
    return found


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[ServiceHub]:
    with service_hub(tmp_path_factory.mktemp("matrix-hub"), "service-matrix-hub") as h:
        yield h


@pytest.fixture(scope="module")
def owned(hub) -> dict:
    """Alice's hand-in: the resource she owns (its receipt, and the bytes she sent)."""
    data = handin_notebook("alice's own")
    r = hub.call(
        "alice",
        "POST",
        "api/sessions/exam/handins",
        params={"notebook": "exam.ipynb"},
        data=data,
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "data": data}


def request_for(verb: str, path: str, owned: dict) -> tuple[str, dict]:
    """The concrete request of an operation: real sessions, alice's receipt."""
    session = "intro" if "/quiz" in path else "exam"
    url = (
        path.lstrip("/")
        .replace("{session_id}", session)
        .replace("{number}", "1")
        .replace("{receipt_id}", owned["id"])
        .replace("{question_id}", str(owned.get("live_id", 0)))
        .replace("{job_id}", owned.get("job_id", "0" * 16))
    )
    kw: dict = {}
    if (verb, path) == ("GET", "/api/sessions/{session_id}/handins"):
        kw["params"] = {"user": "alice"}
    elif (verb, path) == ("POST", "/api/sessions/{session_id}/handins"):
        kw["params"] = {"notebook": "exam.ipynb"}
        kw["data"] = handin_notebook("matrix")
        kw["headers"] = {"Content-Type": "application/x-ipynb+json"}
    elif path.endswith("/quiz/{number}"):
        kw["json"] = {"choice": "B"}
    elif (verb, path) == ("POST", "/api/live"):
        kw["json"] = {"text": "Matrix?", "choices": ["yes", "no"]}
    elif path.endswith("/answer"):
        kw["json"] = {"choice": 1}
    elif (verb, path) == ("POST", "/api/class/actions"):
        kw["json"] = {"action": "stop-server", "user": "bob"}
    elif (verb, path) == ("POST", "/api/class/prepare"):
        kw["json"] = {"students": ["nobody-in-the-matrix"]}
    return url, kw


def test_the_matrix_covers_every_route_and_only_those():
    described = set(operations())
    assert described == served(), "openapi.yaml and the handlers disagree"
    assert set(EXPECTED) == described, (
        "each route of the service needs its row in EXPECTED (who may call it): "
        f"missing {sorted(described - set(EXPECTED))}, stale {sorted(set(EXPECTED) - described)}"
    )


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("verb", "path"), operations(), ids=lambda v: str(v))
def test_who_may_call_each_route(hub, owned, verb, path, caller):
    expected = EXPECTED.get((verb, path))
    if expected is None:
        pytest.fail(f"{verb} {path} is served but has no row in EXPECTED: decide who may call it")
    status = expected[CALLERS.index(caller)]
    if path.startswith("/api/live"):  # a fresh open question (another caller may have closed one)
        opened = hub.call(
            "teacher", "POST", "api/live", json={"text": "Q?", "choices": ["a", "b"]}
        )
        owned["live_id"] = opened.json()["id"]
    if path == "/api/class/prepare/{job_id}" and "job_id" not in owned:
        job = hub.call("teacher", "POST", "api/class/prepare", json={"students": ["nobody-x"]})
        owned["job_id"] = job.json()["id"]
    url, kw = request_for(verb, path, owned)
    before = (hub.stored_files(), hub.stored_rows())
    who = TOKEN_OF.get(caller)
    r: requests.Response = hub.call(who, verb, url, **kw)
    assert r.status_code == status, (verb, url, caller, r.status_code, r.text[:300])
    if caller in ("owner", "other") and not path.endswith("/quiz/{number}"):
        # No student gets the answer key (a quiz verdict explains its answer, by design).
        assert CANARY not in r.text
    if status >= 400:
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        body = r.json()
        assert body["reason"] in ("login", "forbidden", "unknown") and body["message"], body
        if caller == "none":
            assert body["reason"] == "login", body
        if verb == "POST":
            assert (hub.stored_files(), hub.stored_rows()) == before  # nothing stored
        return
    check_allowed(hub, verb, path, caller, r, owned)


def check_allowed(hub, verb, path, caller, r, owned) -> None:
    """What an allowed answer holds: the caller's own view, never more."""
    teacher = caller == "teacher"
    if path == "/api/me":
        assert r.json() == {"name": TOKEN_OF[caller], "teacher": teacher}
    elif path.endswith("/snapshot"):
        assert r.json()["version"] == ("teacher" if teacher else "student")
        assert (CANARY in snapshot_text(r.json())) is teacher
    elif path.endswith("/quiz"):
        assert ('"answer"' in r.text) is teacher
    elif (verb, path) == ("GET", "/api/sessions/{session_id}/handins"):
        handins = r.json()["handins"]
        assert owned["id"] in {h["id"] for h in handins}
        assert {h["user"] for h in handins} == {"alice"}
    elif (verb, path) == ("POST", "/api/sessions/{session_id}/handins"):
        receipt = r.json()
        assert receipt["user"] == TOKEN_OF[caller]  # a hand-in is always the caller's own
        got = hub.call("teacher", "GET", f"api/handins/{receipt['id']}")
        assert hashlib.sha256(got.content).hexdigest() == receipt["sha256"]
    elif path.endswith("handins.zip"):
        assert r.headers["Content-Type"] == "application/zip"
    elif path == "/api/handins/{receipt_id}":
        assert r.content == owned["data"]
        assert r.headers["X-Handin-Sha256"] == owned["sha256"]
    elif path == "/api/live" and verb == "GET":
        # Counts for teachers only; a student never sees them.
        assert ("counts" in r.text) is teacher
    elif path.endswith("/answer"):
        assert r.json()["my_answer"] == 1 and "counts" not in r.json()
    elif path.endswith("results.csv"):
        assert r.headers["Content-Type"].startswith("text/csv")
    elif path.startswith("/api/class/prepare"):
        assert r.json()["total"] == 1 and r.json()["by"] == "teacher"
    elif path == "/api/class":
        # The roster: the students the hub has seen, never a teacher.
        names = {s["name"] for s in r.json()["students"]}
        assert {"alice", "bob"} <= names and "teacher" not in names
    elif (verb, path) == ("POST", "/api/class/actions"):
        assert (r.json()["by"], r.json()["user"], r.json()["result"]) == (
            "teacher",
            "bob",
            "not-running",  # bob has no server: the record says so, not "stopped"
        )
    elif path == "/api/class/actions":
        assert isinstance(r.json()["actions"], list)
