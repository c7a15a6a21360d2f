"""The course service, for real: the service process (``python -m course_hub.service``)
run by a real JupyterHub as a managed service, with a real SQLite file.

Users are made through the hub's API: two students (alice, bob), a teacher (a hub
admin) and a teaching assistant (in the ``teachers`` group), each with an API token;
a hub service stands in for the gateway. Every endpoint is tried as the student,
another student, a teacher, the gateway and without a token. Hand-ins are checked
against the deadline (a deadline a few seconds ahead), re-handed in, refused when
oversized, truncated, not JSON or not a notebook (with the files and rows counted:
nothing stored), collected as a zip (contents checked by sha256), and kept across a
restart of the service and of the whole hub. A canary in a solution cell never
reaches a student. Finally schemathesis fuzzes the service's OpenAPI description.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import psutil
import pytest
import requests
import schemathesis
import sqlalchemy
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from schemathesis import GenerationMode

from course_hub.hub.local import free_port_block

from ..e2e.conftest import ARTIFACTS
from ..e2e.test_lti13_login import chp
from ..hubclient import Deadline
from .test_fuzz import NEGATIVE_CHECKS, POSITIVE_CHECKS

CANARY = "CANARY-7f3a91-the-answer-key"
ZONE = "Europe/Paris"
MAX_MB = 1  # the service's hand-in limit here (COURSE_MAX_HANDIN_MB)
EXAMPLES = int(os.environ.get("COURSE_SERVICE_FUZZ_EXAMPLES", "100"))

HUB_CONFIG = '''\
"""A minimal hub running the course service (tests/integration/test_service.py)."""
import json
import os
import sys

c = get_config()  # noqa: F821
port = int(os.environ["SVC_TEST_PORT"])
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.command = [os.environ["SVC_TEST_CHP"]]
c.ConfigurableHTTPProxy.pid_file = "proxy.pid"
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"teacher"}
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.services = [
    {
        "name": "course",
        "url": f"http://127.0.0.1:{port + 3}",
        "command": [sys.executable, "-m", "course_hub.service"],
        "environment": json.loads(os.environ["SVC_TEST_SERVICE_ENV"]),
        "oauth_no_confirm": True,
        "display": False,
    },
    {"name": "test-admin", "api_token": os.environ["SVC_TEST_ADMIN_TOKEN"]},
    {"name": "gateway", "api_token": os.environ["SVC_TEST_GATEWAY_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=course"]},
    {
        "name": "course-service",
        "scopes": [
            "read:users",
            "read:groups",
            "list:users",
            "servers",
            "users:activity",
            "read:servers",
        ],
        "services": ["course"],
    },
    {
        "name": "test-admin",
        "scopes": ["admin:users", "admin:groups", "tokens"],
        "services": ["test-admin"],
    },
    {"name": "gateway", "scopes": ["access:services!service=course"], "services": ["gateway"]},
]
'''


def solution_notebook(path: Path, title: str) -> None:
    """A teacher's notebook: a solution cell with the canary, an answer, a teacher note."""
    nb = new_notebook(cells=[new_markdown_cell(f"# {title}")])
    sol = new_code_cell(f"# Compute the total\ntotal = 42  # {CANARY}")
    sol.metadata["tags"] = ["solution"]
    ans = new_markdown_cell(f"The shuffle, because {CANARY}.")
    ans.metadata["tags"] = ["answer"]
    note = new_markdown_cell(f"Teacher: grade generously. {CANARY}")
    note.metadata["tags"] = ["teacher"]
    nb.cells += [sol, ans, note, new_code_cell("print(total)")]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def local(when: dt.datetime) -> str:
    """A UTC time as a teacher writes it in course.yml: local time in ZONE, to the second."""
    return when.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def write_course(root: Path, extra_sessions: list[dict] | None = None) -> None:
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    manifest = {
        "course": {"id": "svc", "title": "Service test course"},
        "sessions": [
            {
                "id": "intro",
                "title": "Intro",
                "duration": "1h",
                "notebooks": [{"path": "intro.ipynb", "title": "Intro"}],
                "quiz": [
                    {
                        "question": "What moves data between machines?",
                        "choices": {"A": "map", "B": "shuffle"},
                        "answer": "B",
                        "explanation": f"The shuffle ({CANARY}).",
                    }
                ],
                "cluster": {"workers": 2, "worker_cores": 1, "worker_memory": 1.5},
            },
            {
                "id": "exam",
                "title": "Exam",
                "duration": "2h",
                "notebooks": [
                    {"path": "exam.ipynb", "title": "Exam", "main": True},
                    {"path": "sub/extra.ipynb", "title": "Extra"},
                ],
                "assignment": {
                    "notebooks": ["exam.ipynb", "sub/extra.ipynb"],
                    "deadline": local(far),
                    "timezone": ZONE,
                },
            },
            {
                "id": "closed",
                "title": "Closed",
                "duration": "1h",
                "notebooks": [{"path": "closed.ipynb", "title": "Closed"}],
                "assignment": {
                    "notebooks": ["closed.ipynb"],
                    "deadline": local(past),
                    "timezone": ZONE,
                },
            },
            *(extra_sessions or []),
        ],
    }
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / "course.yml.tmp"
    tmp.write_text(yaml.safe_dump(manifest, sort_keys=False))
    os.replace(tmp, root / "course.yml")
    solution_notebook(root / "intro" / "intro.ipynb", "Intro")
    solution_notebook(root / "exam" / "exam.ipynb", "Exam")
    solution_notebook(root / "exam" / "sub" / "extra.ipynb", "Extra")
    (root / "exam" / "data.csv").write_text("x,y\n1,2\n")
    (root / "exam" / ".ipynb_checkpoints").mkdir(exist_ok=True)
    (root / "exam" / ".ipynb_checkpoints" / "exam-checkpoint.ipynb").write_text(CANARY)
    solution_notebook(root / "closed" / "closed.ipynb", "Closed")
    for s in extra_sessions or []:
        for nb in s.get("notebooks", []):
            solution_notebook(root / s["id"] / nb["path"], nb["title"])


def handin_notebook(text: str, size: int = 0) -> bytes:
    """A student's notebook as JupyterLab saves it, with outputs (padded to ``size``)."""
    nb = new_notebook(cells=[new_code_cell(f"print({text!r})")])
    nb.cells[0]["id"] = "h0"
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
    nb.cells[0].execution_count = 1
    if size:
        nb.metadata["padding"] = "x" * size
    return (nbformat.writes(nb) + "\n").encode()


@dataclass
class ServiceHub:
    url: str
    admin_token: str
    gateway_token: str
    workdir: Path
    state: Path
    content: Path
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    tokens: dict[str, str] | None = None
    #: The service's database when not the default SQLite file of its state folder.
    db_url: str = ""

    @property
    def service(self) -> str:
        return f"{self.url}/services/course/"

    def start(self) -> float:
        t0 = time.monotonic()
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = Deadline(60, "the hub and the course service to answer")
        while deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"jupyterhub exited:\n{self.log_tail()}")
            try:
                r = requests.get(f"{self.service}api/course", timeout=2)
                if r.status_code == 403 and r.json().get("reason") == "login":
                    return time.monotonic() - t0
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        deadline.fail(self.log_tail())
        return 0.0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        pid_file = self.workdir / "proxy.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
        deadline = Deadline(20, "the course service to stop with the hub")
        while deadline:
            if not self.service_processes():
                return
            time.sleep(0.2)
        deadline.fail([p.pid for p in self.service_processes()])

    def log_tail(self, n: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def service_processes(self) -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter(["cmdline", "environ"]):
            try:
                cmd = " ".join(p.info["cmdline"] or [])
                env = p.info.get("environ") or {}
                if "course_hub.service" in cmd and env.get("COURSE_SERVICE_STATE_DIR") == str(
                    self.state
                ):
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def hub_api(self, method: str, path: str, **kw) -> requests.Response:
        r = requests.request(
            method,
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=30,
            **kw,
        )
        assert r.status_code < 400, (method, path, r.status_code, r.text)
        return r

    def make_users(self) -> dict[str, str]:
        tokens = {}
        for name in ("alice", "bob", "ta"):
            self.hub_api("POST", f"users/{name}")
        for name in ("alice", "bob", "teacher", "ta"):
            r = self.hub_api("POST", f"users/{name}/tokens", json={"note": "test"})
            tokens[name] = r.json()["token"]
        self.hub_api("POST", "groups/teachers", json={"users": ["ta"]})
        # A token of alice's that may not reach the course service.
        r = self.hub_api(
            "POST",
            "users/alice/tokens",
            json={"note": "narrow", "scopes": ["read:users:name!user=alice"]},
        )
        tokens["alice-narrow"] = r.json()["token"]
        tokens["gateway"] = self.gateway_token
        self.tokens = tokens
        return tokens

    def call(self, who: str | None, method: str, path: str, **kw: object) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[arg-type]
        if who is not None:
            assert self.tokens is not None
            headers["Authorization"] = f"token {self.tokens[who]}"
        return requests.request(method, self.service + path, headers=headers, timeout=60, **kw)

    # What the service stores, counted from outside (the real files and rows).
    def stored_files(self) -> list[Path]:
        return sorted(p for p in (self.state / "handins").rglob("*") if p.is_file())

    def stored_rows(self) -> int:
        if self.db_url:  # another database (PostgreSQL): counted through SQLAlchemy
            engine = sqlalchemy.create_engine(self.db_url)
            try:
                with engine.connect() as db:
                    return db.execute(sqlalchemy.text("select count(*) from handins")).scalar_one()
            finally:
                engine.dispose()
        db = sqlite3.connect(f"file:{self.state / 'course-service.sqlite'}?mode=ro", uri=True)
        try:
            return db.execute("select count(*) from handins").fetchone()[0]
        finally:
            db.close()


@contextlib.contextmanager
def service_hub(
    work: Path, name: str = "service-hub", service_env: dict[str, str] | None = None
) -> Iterator[ServiceHub]:
    """A real hub in ``work`` running the course service, its users made; stopped
    on the way out. ``service_env`` adds to (or replaces) the service's settings:
    another content source, another database."""
    content = work / "course"
    write_course(content)
    state = work / "service-state"
    port = free_port_block(4)
    (work / "jupyterhub_config.py").write_text(HUB_CONFIG)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    service = {
        "COURSE_SERVICE_STATE_DIR": str(state),
        "COURSE_CONTENT_DIR": str(content),
        "COURSE_MAX_HANDIN_MB": str(MAX_MB),
        **(service_env or {}),
    }
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        SVC_TEST_PORT=str(port),
        SVC_TEST_CHP=chp(),
        SVC_TEST_ADMIN_TOKEN=os.urandom(16).hex(),
        SVC_TEST_GATEWAY_TOKEN=os.urandom(16).hex(),
        SVC_TEST_SERVICE_ENV=json.dumps(service),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{name}.log"
    log_path.write_text("")
    h = ServiceHub(
        f"http://127.0.0.1:{port}",
        env["SVC_TEST_ADMIN_TOKEN"],
        env["SVC_TEST_GATEWAY_TOKEN"],
        work,
        state,
        content,
        env,
        log_path,
        db_url=service.get("COURSE_SERVICE_DB_URL", ""),
    )
    try:
        seconds = h.start()
        print(f"\nhub + course service ready in {seconds:.1f} s")
        h.make_users()
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[ServiceHub]:
    with service_hub(tmp_path_factory.mktemp("service-hub")) as h:
        yield h


def snapshot_text(model: dict) -> str:
    return "\n".join(
        base64.b64decode(f["content_b64"]).decode("utf-8", "replace") for f in model["files"]
    )


# -- who may do what ------------------------------------------------------------

ROUTES = [
    ("GET", "api/me"),
    ("GET", "api/course"),
    ("GET", "api/presets"),
    ("GET", "api/openapi.json"),
    ("GET", "api/sessions/exam/snapshot"),
    ("GET", "api/sessions/intro/quiz"),
    ("POST", "api/sessions/intro/quiz/1"),
    ("GET", "api/sessions/exam/handins"),
    ("POST", "api/sessions/exam/handins?notebook=exam.ipynb"),
    ("GET", "api/sessions/exam/handins.zip"),
    ("GET", "api/handins/0123456789abcdef01234567"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_no_token_a_bad_token_and_a_token_without_the_scope(hub, method, path):
    body = {"data": handin_notebook("x")} if "handins?" in path else {}
    if path.endswith("quiz/1"):
        body = {"json": {"choice": "B"}}
    before = (hub.stored_files(), hub.stored_rows())
    for who, headers in [
        (None, {}),
        (None, {"Authorization": "token not-a-real-token"}),
        ("alice-narrow", {}),
    ]:
        r = hub.call(who, method, path, headers=headers, **body)
        assert r.status_code == 403, (who, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.json()["reason"] in ("login", "forbidden"), r.text
        assert CANARY not in r.text
    assert (hub.stored_files(), hub.stored_rows()) == before


def test_a_browser_without_a_login_is_sent_to_the_hub_and_logs_in_with_oauth(hub):
    with requests.Session() as browser:
        r = browser.get(
            hub.service + "api/me", headers={"Accept": "text/html"}, allow_redirects=False
        )
        assert r.status_code == 302, r.text
        assert "/hub/api/oauth2/authorize" in r.headers["Location"]
        login = browser.get(f"{hub.url}/hub/login", timeout=10)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login.text)
        browser.post(
            f"{hub.url}/hub/login",
            data={"username": "bob", "password": "any", "_xsrf": xsrf[1] if xsrf else ""},
            timeout=10,
            allow_redirects=False,  # not on to the hub's home, which would start a server
        )
        r = browser.get(hub.service + "api/me", headers={"Accept": "text/html"}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json() == {"name": "bob", "teacher": False}
        # A cookie alone cannot hand in (no XSRF token): a forged form is refused.
        r = browser.post(
            hub.service + "api/sessions/exam/handins?notebook=exam.ipynb",
            data=handin_notebook("forged"),
            timeout=30,
        )
        assert r.status_code == 403, r.text


def test_who_is_a_teacher_comes_from_the_hub(hub):
    assert hub.call("alice", "GET", "api/me").json() == {"name": "alice", "teacher": False}
    assert hub.call("teacher", "GET", "api/me").json() == {"name": "teacher", "teacher": True}
    assert hub.call("ta", "GET", "api/me").json() == {"name": "ta", "teacher": True}


def test_the_gateway_reads_the_program_and_presets_only(hub):
    presets = hub.call("gateway", "GET", "api/presets")
    assert presets.status_code == 200, presets.text
    assert presets.json() == {"intro": {"worker_cores": 1, "worker_memory": 1.5}}
    assert hub.call("gateway", "GET", "api/course").status_code == 200
    for method, path in ROUTES:
        if path in ("api/course", "api/presets", "api/openapi.json"):
            continue
        r = hub.call("gateway", method, path)
        assert r.status_code == 403, (path, r.text)


def test_the_program_has_assignments_and_no_answers(hub):
    for who in ("alice", "teacher", "gateway"):
        r = hub.call(who, "GET", "api/course")
        assert r.status_code == 200, r.text
        model = r.json()
        assert CANARY not in r.text
        assert "shuffle" not in r.text  # no quiz choices or answers in the program
        assert [s["id"] for s in model["sessions"]][:3] == ["intro", "exam", "closed"]
        exam = model["sessions"][1]
        assert exam["notebooks"][0] == {"path": "exam.ipynb", "title": "Exam", "main": True}
        a = exam["assignment"]
        assert a["notebooks"] == ["exam.ipynb", "sub/extra.ipynb"] and a["timezone"] == ZONE
        assert a["open"] and a["seconds_left"] > 86400 and not a["accepts_late"]
        assert a["deadline"].endswith(("+01:00", "+02:00"))
        closed = model["sessions"][2]["assignment"]
        assert not closed["open"] and closed["seconds_left"] < 0
        assert model["sessions"][0]["quiz_questions"] == 1
        assert model["content_error"] is None and model["revision"].startswith("folder-")


def test_the_canary_reaches_teachers_only(hub):
    """The answer key: not in any answer a student's token gets; the teacher's has it."""
    for session in ("intro", "exam", "closed"):
        for who in ("alice", "bob"):
            r = hub.call(who, "GET", f"api/sessions/{session}/snapshot")
            assert r.status_code == 200, r.text
            model = r.json()
            assert model["version"] == "student"
            assert CANARY not in r.text and CANARY not in snapshot_text(model)
            for f in model["files"]:
                data = base64.b64decode(f["content_b64"])
                assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]
        quiz = hub.call("alice", "GET", f"api/sessions/{session}/quiz")
        assert CANARY not in quiz.text and '"answer"' not in quiz.text
        teacher = hub.call("teacher", "GET", f"api/sessions/{session}/snapshot").json()
        assert teacher["version"] == "teacher"
        assert CANARY in snapshot_text(teacher)
    exam = hub.call("alice", "GET", "api/sessions/exam/snapshot").json()
    assert [f["path"] for f in exam["files"]] == ["data.csv", "exam.ipynb", "sub/extra.ipynb"]
    student_nb = nbformat.reads(snapshot_text({"files": [exam["files"][1]]}), as_version=4)
    assert "# YOUR CODE HERE" in student_nb.cells[1].source
    assert len(student_nb.cells) == 4  # the teacher's note is gone
    teacher_quiz = hub.call("teacher", "GET", "api/sessions/intro/quiz").json()
    assert teacher_quiz["questions"][0]["answer"] == "B"


def test_quiz_answers_come_back_only_with_the_verdict(hub):
    r = hub.call("alice", "POST", "api/sessions/intro/quiz/1", json={"choice": "A"})
    assert r.status_code == 200, r.text
    assert r.json()["correct"] is False and r.json()["answer"] == "B"
    assert (
        hub.call("alice", "POST", "api/sessions/intro/quiz/2", json={"choice": "A"}).status_code
        == 404
    )
    assert (
        hub.call("alice", "POST", "api/sessions/intro/quiz/1", json={"choice": "Z"}).status_code
        == 400
    )
    assert hub.call("alice", "POST", "api/sessions/intro/quiz/1", data=b"{").status_code == 400


def test_unknown_sessions_and_resources_are_404(hub):
    for path in ("api/sessions/nope/snapshot", "api/sessions/nope/handins", "api/nope", "x"):
        r = hub.call("alice", "GET", path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["message"]
    r = hub.call("alice", "GET", "api/sessions/intro/handins")
    assert r.status_code == 404 and r.json()["reason"] == "no-assignment"


# -- hand-ins -------------------------------------------------------------------


def hand_in(hub, who: str, data: bytes, session="exam", notebook="exam.ipynb"):
    return hub.call(
        who,
        "POST",
        f"api/sessions/{session}/handins",
        params={"notebook": notebook},
        data=data,
        headers={"Content-Type": "application/x-ipynb+json"},
    )


def test_hand_in_receipt_and_re_hand_in_the_latest_counts_all_kept(hub):
    first = handin_notebook("alice v1")
    r = hand_in(hub, "alice", first)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["user"] == "alice" and receipt["notebook"] == "exam.ipynb"
    assert receipt["size"] == len(first) and not receipt["late"]
    assert receipt["sha256"] == hashlib.sha256(first).hexdigest()
    received = dt.datetime.fromisoformat(receipt["received"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - received).total_seconds()) < 30
    time.sleep(1.1)  # receipts are to the second
    second = handin_notebook("alice v2")
    r2 = hand_in(hub, "alice", second)
    assert r2.status_code == 201, r2.text

    mine = hub.call("alice", "GET", "api/sessions/exam/handins").json()
    assert [h["id"] for h in mine["handins"]] == [r2.json()["id"], receipt["id"]]
    assert mine["assignment"]["open"]
    latest = hub.call("alice", "GET", "api/sessions/exam/handins", params={"latest": "1"})
    assert [h["id"] for h in latest.json()["handins"]] == [r2.json()["id"]]
    # Both are kept, byte for byte, for their owner and for teachers.
    for who in ("alice", "teacher", "ta"):
        for rid, data in ((receipt["id"], first), (r2.json()["id"], second)):
            got = hub.call(who, "GET", f"api/handins/{rid}")
            assert got.status_code == 200 and got.content == data


def test_students_see_only_their_own_hand_ins(hub):
    r = hand_in(hub, "bob", handin_notebook("bob's"))
    assert r.status_code == 201, r.text
    bobs = r.json()["id"]
    assert hub.call("alice", "GET", f"api/handins/{bobs}").status_code == 404
    listed = hub.call("alice", "GET", "api/sessions/exam/handins").json()["handins"]
    assert {h["user"] for h in listed} == {"alice"}
    assert (
        hub.call("alice", "GET", "api/sessions/exam/handins", params={"user": "bob"}).status_code
        == 403
    )
    assert hub.call("alice", "GET", "api/sessions/exam/handins.zip").status_code == 403
    everyone = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    assert {"alice", "bob"} <= {h["user"] for h in everyone}
    only_bob = hub.call("ta", "GET", "api/sessions/exam/handins", params={"user": "bob"})
    assert {h["user"] for h in only_bob.json()["handins"]} == {"bob"}


BAD_HANDINS = {
    "oversized": (handin_notebook("big", size=MAX_MB * 1024 * 1024 + 10), 413, "size"),
    "far too big": (b"x" * (3 * MAX_MB * 1024 * 1024 + 5), 413, "size"),
    "truncated": (handin_notebook("cut")[:-40], 400, "invalid"),
    "not JSON": (b"PK\x03\x04 this is a zip file", 400, "invalid"),
    "JSON, not a notebook": (b'{"hello": "world"}', 400, "invalid"),
    "a damaged notebook": (
        json.dumps(
            {"cells": [{"bad": 1}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        ).encode(),
        400,
        "invalid",
    ),
    "nbformat 3": (json.dumps({"cells": [], "nbformat": 3}).encode(), 400, "invalid"),
    "empty": (b"", 400, "invalid"),
}


@pytest.mark.parametrize("kind", BAD_HANDINS)
def test_bad_hand_ins_are_refused_with_a_sentence_and_nothing_stored(hub, kind):
    data, status, reason = BAD_HANDINS[kind]
    before = (hub.stored_files(), hub.stored_rows())
    try:
        r = hand_in(hub, "alice", data)
    except requests.ConnectionError:
        assert kind == "far too big"  # refused at once; the client may see the close
    else:
        assert r.status_code == status, r.text
        assert r.json()["reason"] == reason and len(r.json()["message"]) > 20, r.text
    assert (hub.stored_files(), hub.stored_rows()) == before
    assert not list((hub.state / "handins").rglob("*.partial"))


def test_wrong_notebook_or_session_is_refused_and_nothing_stored(hub):
    before = (hub.stored_files(), hub.stored_rows())
    data = handin_notebook("x")
    assert hand_in(hub, "alice", data, notebook="other.ipynb").status_code == 404
    assert hand_in(hub, "alice", data, notebook="../exam.ipynb").status_code == 404
    assert hub.call("alice", "POST", "api/sessions/exam/handins", data=data).status_code == 400
    assert hand_in(hub, "alice", data, session="intro", notebook="intro.ipynb").status_code == 404
    assert hand_in(hub, "alice", data, session="nope").status_code == 404
    r = hand_in(hub, "alice", data, session="closed", notebook="closed.ipynb")
    assert r.status_code == 409 and r.json()["reason"] == "deadline", r.text
    assert (hub.stored_files(), hub.stored_rows()) == before


def test_a_body_cut_off_mid_way_stores_nothing(hub):
    """The connection drops before the announced Content-Length arrives."""
    before = (hub.stored_files(), hub.stored_rows())
    data = handin_notebook("cut off")
    host, port = hub.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            (
                "POST /services/course/api/sessions/exam/handins?notebook=exam.ipynb HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nAuthorization: token {hub.tokens['alice']}\r\n"
                f"Content-Type: application/x-ipynb+json\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data[: len(data) // 2]
        )
    time.sleep(1)
    assert hub.call("alice", "GET", "api/me").status_code == 200
    assert (hub.stored_files(), hub.stored_rows()) == before


def test_deadline_on_time_then_late_then_closed(hub):
    """A deadline a few seconds ahead, late hand-ins accepted for a few more."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    deadline = now + dt.timedelta(seconds=4)
    late_until = now + dt.timedelta(seconds=8)
    quiz = [
        {
            "id": "quick",
            "title": "Quick",
            "duration": "1h",
            "notebooks": [{"path": "q.ipynb", "title": "Q"}],
            "assignment": {
                "notebooks": ["q.ipynb"],
                "deadline": local(deadline),
                "late_until": local(late_until),
                "timezone": ZONE,
            },
        },
        {
            "id": "strict",
            "title": "Strict",
            "duration": "1h",
            "notebooks": [{"path": "s.ipynb", "title": "S"}],
            "assignment": {
                "notebooks": ["s.ipynb"],
                "deadline": local(deadline),
                "timezone": ZONE,
            },
        },
    ]
    write_course(hub.content, quiz)
    on_time = hand_in(hub, "alice", handin_notebook("on time"), "quick", "q.ipynb")
    assert on_time.status_code == 201 and not on_time.json()["late"], on_time.text
    strict = hand_in(hub, "bob", handin_notebook("strict"), "strict", "s.ipynb")
    assert strict.status_code == 201, strict.text

    while dt.datetime.now(dt.UTC) <= deadline + dt.timedelta(seconds=0.5):
        time.sleep(0.2)
    model = hub.call("alice", "GET", "api/sessions/quick/handins").json()["assignment"]
    assert model["seconds_left"] < 0 and model["open"] and model["accepts_late"]
    late = hand_in(hub, "alice", handin_notebook("late"), "quick", "q.ipynb")
    assert late.status_code == 201 and late.json()["late"], late.text
    refused = hand_in(hub, "bob", handin_notebook("strict, late"), "strict", "s.ipynb")
    assert refused.status_code == 409 and refused.json()["reason"] == "deadline"
    assert "no longer accepted" in refused.json()["message"]

    while dt.datetime.now(dt.UTC) <= late_until + dt.timedelta(seconds=0.5):
        time.sleep(0.2)
    before = (hub.stored_files(), hub.stored_rows())
    closed = hand_in(hub, "alice", handin_notebook("too late"), "quick", "q.ipynb")
    assert closed.status_code == 409 and closed.json()["reason"] == "deadline", closed.text
    assert (hub.stored_files(), hub.stored_rows()) == before
    assert not hub.call("alice", "GET", "api/sessions/quick/handins").json()["assignment"]["open"]

    listed = hub.call("teacher", "GET", "api/sessions/quick/handins").json()["handins"]
    assert [(h["user"], h["late"]) for h in listed] == [("alice", True), ("alice", False)]


def test_the_teachers_zip_holds_exactly_what_was_sent(hub):
    sent = {}
    for who, text in [("alice", "alice final"), ("bob", "bob final")]:
        data = handin_notebook(text)
        r = hand_in(hub, who, data)
        assert r.status_code == 201, r.text
        sent[(who, "exam.ipynb")] = (data, r.json())
    extra = handin_notebook("bob extra")
    r = hand_in(hub, "bob", extra, notebook="sub/extra.ipynb")
    sent[("bob", "sub/extra.ipynb")] = (extra, r.json())

    r = hub.call("teacher", "GET", "api/sessions/exam/handins.zip")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    index = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode())))
    assert sorted(zf.namelist()) == sorted(["index.csv", *(f"{u}/{nb}" for u, nb in sent)])
    counts = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    for row in index:
        data, receipt = sent[(row["user"], row["notebook"])]
        member = zf.read(f"{row['user']}/{row['notebook']}")
        assert member == data
        assert hashlib.sha256(member).hexdigest() == row["sha256"] == receipt["sha256"]
        assert row["receipt_id"] == receipt["id"] and row["late"] == "no"
        assert int(row["size"]) == len(data) and row["received_utc"] == receipt["received"]
        expected = sum(
            1 for h in counts if (h["user"], h["notebook"]) == (row["user"], row["notebook"])
        )
        assert int(row["handins"]) == expected
    assert int(next(r for r in index if r["user"] == "alice")["handins"]) >= 3


def test_the_teachers_cli_lists_and_downloads_through_the_hub(hub, tmp_path, capsys):
    from course_hub.cli import main

    teacher = ["--hub", hub.url, "--token", hub.tokens["teacher"]]
    assert main(["handins", "list", "exam", *teacher]) == 0
    out = capsys.readouterr().out
    assert "hand-in open" in out and "alice" in out and "bob" in out
    assert main(["handins", "list", "exam", "--json", "--user", "bob", *teacher]) == 0
    listed = json.loads(capsys.readouterr().out)["handins"]
    assert {h["user"] for h in listed} == {"bob"}

    zip_path = tmp_path / "exam.zip"
    assert main(["handins", "download", "exam", "--zip", str(zip_path), *teacher]) == 0
    api_zip = hub.call("teacher", "GET", "api/sessions/exam/handins.zip").content
    cli_zip = zipfile.ZipFile(zip_path)
    assert sorted(cli_zip.namelist()) == sorted(zipfile.ZipFile(io.BytesIO(api_zip)).namelist())
    assert main(["handins", "download", "exam", "--zip", str(zip_path), *teacher]) == 2  # exists

    out_dir = tmp_path / "bob"
    args = ["handins", "download", "exam", "--user", "bob", "--output", str(out_dir)]
    assert main([*args, *teacher]) == 0
    latest = hub.call(
        "teacher", "GET", "api/sessions/exam/handins", params={"user": "bob", "latest": "1"}
    )
    for h in latest.json()["handins"]:
        data = (out_dir / "bob" / h["notebook"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == h["sha256"]

    capsys.readouterr()
    student = ["--hub", hub.url, "--token", hub.tokens["alice"]]
    assert main(["handins", "download", "exam", "--zip", str(tmp_path / "x.zip"), *student]) == 1
    assert "Only teachers" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()
    assert main(["handins", "list", "nope", *teacher]) == 1
    assert "no session 'nope'" in capsys.readouterr().err


def test_a_restart_of_the_service_then_of_the_hub_loses_nothing(hub):
    before = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    files, rows = hub.stored_files(), hub.stored_rows()
    assert rows == len(before) + 3  # quick (2) and strict (1) too

    # The service dies: the hub starts it again.
    (old,) = hub.service_processes()
    old.kill()
    deadline = Deadline(60, "the hub to start the course service again")
    while deadline:
        procs = hub.service_processes()
        if procs and procs[0].pid != old.pid:
            try:
                if hub.call("teacher", "GET", "api/me").status_code == 200:
                    break
            except requests.RequestException:
                pass
        time.sleep(0.3)
    else:
        deadline.fail(hub.log_tail())
    assert hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"] == before

    # The whole hub stops and starts again (same state folder, same database).
    hub.stop()
    hub.start()
    after = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    assert after == before
    assert (hub.stored_files(), hub.stored_rows()) == (files, rows)
    for h in after:
        got = hub.call("teacher", "GET", f"api/handins/{h['id']}")
        assert hashlib.sha256(got.content).hexdigest() == h["sha256"]
    again = hand_in(hub, "alice", handin_notebook("after the restart"))
    assert again.status_code == 201, again.text


# -- fuzzing --------------------------------------------------------------------


def fuzz(operation, mode, base: str, headers: dict, http: requests.Session, seen: Counter):
    checks = POSITIVE_CHECKS if mode.is_positive else NEGATIVE_CHECKS

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base, session=http, headers=headers, timeout=60)
        seen[(operation.label, mode.value, response.status_code)] += 1
        case.validate_response(response, checks=checks, headers=headers)

    run()


def test_fuzzing_the_service_api_finds_no_server_error(hub):
    base = hub.service.rstrip("/")
    figures: dict = {}
    started = time.monotonic()
    seen: Counter = Counter()
    spec = hub.call("teacher", "GET", "api/openapi.json").json()
    # Valid requests name real sessions, so they reach real work (snapshots,
    # hand-ins, zips); invalid ones use the published description as it is.
    real = json.loads(json.dumps(spec))
    real["components"]["parameters"]["SessionId"]["schema"] = {
        "type": "string",
        "enum": ["intro", "exam", "closed"],
    }
    for param in real["paths"]["/api/sessions/{session_id}/handins"]["post"]["parameters"]:
        param["schema"] = {
            "type": "string",
            "enum": ["exam.ipynb", "sub/extra.ipynb", "closed.ipynb"],
        }
    for param in real["paths"]["/api/sessions/{session_id}/quiz/{number}"]["parameters"]:
        if param.get("name") == "number":
            param["schema"] = {"type": "integer", "minimum": 1, "maximum": 2}
    # A long-poll with the current version waits 25 s: valid polls send a version
    # from another run (answered at once); the published bounds are fuzzed below.
    for param in real["paths"]["/api/live"]["get"]["parameters"]:
        param["schema"] = {"type": "integer", "minimum": 10**15, "maximum": 10**18 - 1}
    # Valid preparations name students the hub does not have: fuzzing starts no server.
    body = real["paths"]["/api/class/prepare"]["post"]["requestBody"]["content"]
    body["application/json"]["schema"]["required"] = ["students"]
    body["application/json"]["schema"]["properties"]["students"]["items"] = {
        "type": "string",
        "enum": ["nobody-fuzz-1", "nobody-fuzz-2"],
    }
    for who in ("teacher", "alice"):
        headers = {"Authorization": f"token {hub.tokens[who]}"}
        with requests.Session() as http:
            for mode, doc in ((GenerationMode.POSITIVE, real), (GenerationMode.NEGATIVE, spec)):
                schema = schemathesis.openapi.from_dict(doc)
                operations = [result.ok() for result in schema.get_all_operations()]
                assert len(operations) >= 10
                for operation in operations:
                    if mode.is_negative and not (
                        operation.path_parameters or operation.query or operation.body
                    ):
                        continue  # nothing to get wrong
                    fuzz(operation, mode, base, headers, http, seen)
    elapsed = time.monotonic() - started
    by_status: Counter = Counter()
    for (_, _, status), n in seen.items():
        by_status[status] += n
    figures = {
        "requests": sum(seen.values()),
        "seconds": round(elapsed, 1),
        "by_status": dict(sorted(by_status.items())),
        "by_operation": {f"{k[0]} ({k[1]}) {k[2]}": n for k, n in sorted(seen.items())},
    }
    (ARTIFACTS / "service-fuzz-figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(
        f"\nfuzzed the course service: {figures['requests']} requests in {elapsed:.0f} s: "
        f"{figures['by_status']}"
    )
    assert not [s for s in by_status if s >= 500], figures
    assert by_status[200] > 0 and by_status[404] > 0 and by_status[400] > 0, figures
    assert by_status[201] > 0, figures  # generated notebooks were handed in and kept
    assert hub.call("alice", "GET", "api/course").status_code == 200
    log = hub.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
