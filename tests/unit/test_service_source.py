"""A student's server with the hub's course service (``COURSE_SERVICE_URL``).

The real course service authenticates every request with the hub
(``HubOAuth``): it cannot run without a JupyterHub, which the unit tier does
not start. So here the server extension talks over real HTTP to a small
tornado app, :class:`StandIn`, that answers the routes of the shared
contract (/tmp/issue13/CONTRACT.md: ``api/me``, ``api/course``,
``api/sessions/<id>/snapshot``, quiz, hand-ins) from a course folder the
tests change like a teacher, and checks the server's token on every request.
The real service is exercised with a real hub by the e2e and browser tiers
(tests/e2e, tests/browser/test_handin.py).

What is checked here is the server's side: the program and the session
files come only from the service (its content folder is not even there),
the sync keeps its guarantees on the service's bytes, nothing is blanked
again, the last good program is kept when the service goes away, and hand-ins
send the file as saved and pass the service's refusals on.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import uuid
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from course_hub.notebooks import student_bytes

from ..conftest import server_config, write_notebook
from .helpers import call

TOKEN = "server-token-of-alice"
CANARY = "CANARY-7f3e-solution-of-the-teacher"


class StandIn:
    """The course service's contract, served from a folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.up = True
        self.teacher = False
        self.revision = 1
        self.deadline_passed = False
        self.requests: list[tuple[str, str, str]] = []  # method, path, Authorization
        self.handins: list[dict] = []
        self.files: dict[str, bytes] = {}

    def manifest(self) -> dict:
        return yaml.safe_load((self.root / "course.yml").read_text())

    def assignment(self) -> dict:
        now = datetime.datetime.now(datetime.UTC)
        deadline = now + datetime.timedelta(hours=-1 if self.deadline_passed else 2)
        return {
            "notebooks": ["a.ipynb"],
            "deadline": deadline.isoformat(timespec="seconds"),
            "timezone": "Europe/Paris",
            "deadline_utc": deadline.isoformat(timespec="seconds"),
            "late_until_utc": None,
            "accepts_late": False,
            "seconds_left": (deadline - now).total_seconds(),
            "open": not self.deadline_passed,
        }

    def session_model(self, s: dict) -> dict:
        return {
            "id": s["id"],
            "title": s["title"],
            "duration": s["duration"],
            "duration_minutes": 90,
            "self_paced": False,
            "summary": s.get("summary", ""),
            "slides": s.get("slides", []),
            "cluster": s.get("cluster"),
            "notebooks": [
                {"path": n["path"], "title": n["title"], "main": n.get("main", False)}
                for n in s.get("notebooks", [])
            ],
            "quiz_questions": len(s.get("quiz", [])),
            "assignment": self.assignment() if s["id"] == "intro" else None,
        }

    def app(self) -> web.Application:
        return web.Application(
            [
                (r"/services/course/api/me", _Me, {"svc": self}),
                (r"/services/course/api/course", _Course, {"svc": self}),
                (r"/services/course/api/sessions/([^/]+)/snapshot", _Snapshot, {"svc": self}),
                (r"/services/course/api/sessions/([^/]+)/quiz", _Quiz, {"svc": self}),
                (r"/services/course/api/sessions/([^/]+)/quiz/(\d+)", _Check, {"svc": self}),
                (r"/services/course/api/sessions/([^/]+)/handins", _Handins, {"svc": self}),
                (r"/services/course/api/sessions/([^/]+)/handins\.zip", _Zip, {"svc": self}),
                (r"/services/course/api/handins/([^/]+)", _File, {"svc": self}),
            ]
        )


class _Handler(web.RequestHandler):
    def initialize(self, svc: StandIn) -> None:
        self.svc = svc

    def prepare(self) -> None:
        auth = self.request.headers.get("Authorization", "")
        self.svc.requests.append((self.request.method, self.request.path, auth))
        if not self.svc.up:
            raise web.HTTPError(502)  # what the hub's proxy answers for a stopped service
        if auth != f"token {TOKEN}":
            self.refuse(403, "Log in first.", "forbidden")

    def refuse(self, status: int, message: str, reason: str) -> None:
        self.set_status(status)
        self.finish({"message": message, "reason": reason})
        raise web.Finish()

    def session(self, session_id: str) -> dict:
        for s in self.svc.manifest()["sessions"]:
            if s["id"] == session_id:
                return s
        self.refuse(404, f"There is no session {session_id!r} in this course.", "unknown")
        raise AssertionError


class _Me(_Handler):
    def get(self) -> None:
        self.finish({"name": "alice", "teacher": self.svc.teacher})


class _Course(_Handler):
    def get(self) -> None:
        m = self.svc.manifest()
        self.finish(
            {
                "course": m["course"],
                "sessions": [self.svc.session_model(s) for s in m["sessions"]],
                "revision": str(self.svc.revision),
                "content_error": None,
            }
        )


class _Snapshot(_Handler):
    def get(self, session_id: str) -> None:
        s = self.session(session_id)
        folder = self.svc.root / s.get("folder", s["id"])
        files = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
            data = path.read_bytes()
            if path.suffix == ".ipynb" and not self.svc.teacher:
                data = student_bytes(data)
            files.append(
                {
                    "path": path.relative_to(folder).as_posix(),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "content_b64": base64.b64encode(data).decode(),
                }
            )
        version = "teacher" if self.svc.teacher else "student"
        self.finish(
            {
                "session": s["id"],
                "revision": str(self.svc.revision),
                "version": version,
                "files": files,
            }
        )


class _Quiz(_Handler):
    def get(self, session_id: str) -> None:
        quiz = self.session(session_id).get("quiz", [])
        questions = [
            {
                "index": i,
                "question": q["question"],
                "choices": {k: str(v) for k, v in q["choices"].items()},
            }
            for i, q in enumerate(quiz)
        ]
        self.finish({"session": session_id, "questions": questions})


class _Check(_Handler):
    def post(self, session_id: str, n: str) -> None:
        quiz = self.session(session_id).get("quiz", [])
        if not 1 <= int(n) <= len(quiz):
            self.refuse(404, f"There is no question {n}.", "unknown")
        q = quiz[int(n) - 1]
        choice = json.loads(self.request.body)["choice"]
        if choice not in q["choices"]:
            self.refuse(400, "Choose one of the letters.", "invalid")
        self.finish(
            {
                "index": int(n) - 1,
                "choice": choice,
                "correct": choice == q["answer"],
                "answer": q["answer"],
                "explanation": q.get("explanation", ""),
            }
        )


class _Handins(_Handler):
    def post(self, session_id: str) -> None:
        self.session(session_id)
        notebook = self.get_query_argument("notebook")
        if notebook != "a.ipynb":
            self.refuse(400, f"{notebook} is not a notebook of the assignment.", "invalid")
        if self.svc.deadline_passed:
            self.refuse(409, "The deadline has passed: hand-ins are closed.", "deadline")
        body = self.request.body
        try:
            nbformat.reads(body.decode(), as_version=4)
        except Exception:
            self.refuse(400, "This is not a valid notebook.", "invalid")
        receipt = {
            "id": uuid.uuid4().hex,
            "user": "alice",
            "session": session_id,
            "notebook": notebook,
            "received": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "late": False,
        }
        self.svc.handins.append(receipt)
        self.svc.files[receipt["id"]] = body
        self.set_status(201)
        self.finish(receipt)

    def get(self, session_id: str) -> None:
        self.session(session_id)
        mine = list(reversed(self.svc.handins))
        if self.get_query_argument("user", None):
            mine = [r for r in mine if r["user"] == self.get_query_argument("user")]
        self.finish({"assignment": self.svc.assignment(), "handins": mine})


class _Zip(_Handler):
    def get(self, session_id: str) -> None:
        if not self.svc.teacher:
            self.refuse(403, "Only teachers download every hand-in.", "forbidden")
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{session_id}.zip"')
        self.finish(b"PK\x05\x06" + b"\0" * 18)  # an empty zip


class _File(_Handler):
    def get(self, receipt_id: str) -> None:
        if receipt_id not in self.svc.files:
            self.refuse(404, "There is no such hand-in.", "unknown")
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", 'attachment; filename="a.ipynb"')
        self.finish(self.svc.files[receipt_id])


def teacher_notebook(path: Path) -> None:
    """A notebook whose solution cell holds the canary (only teachers may read it)."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Exercise"),
            new_code_cell(f"# Add one\ny = 1 + 1  # {CANARY}", metadata={"tags": ["solution"]}),
        ]
    )
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    nbformat.write(nb, path)


@pytest.fixture
def standin(jp_asyncio_loop, mini_course):
    teacher_notebook(mini_course / "intro" / "a.ipynb")
    svc = StandIn(mini_course)
    sock, port = bind_unused_port()

    async def start() -> HTTPServer:
        server = HTTPServer(svc.app())
        server.add_sockets([sock])
        return server

    server = jp_asyncio_loop.run_until_complete(start())
    svc.url = f"http://127.0.0.1:{port}/services/course/"
    yield svc
    server.stop()


@pytest.fixture
def jp_server_config(standin, tmp_path):
    return server_config(
        service_url=standin.url,
        service_token=TOKEN,
        service_refresh_interval=0.0,
        # Not there: with the service, the server must not read any content itself.
        content_dir=str(tmp_path / "no-such-folder"),
        cache_dir=str(tmp_path / "cache"),
    )


def sources(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


async def test_program_comes_from_the_service_with_the_servers_token(jp_fetch, standin):
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200, body
    assert body["course"]["title"] == "Mini course"
    assert [s["id"] for s in body["sessions"]] == ["intro", "dask", "lecture"]
    intro = body["sessions"][0]
    assert intro["quiz_questions"] == 2
    assert intro["assignment"]["notebooks"] == ["a.ipynb"] and intro["assignment"]["open"]
    assert body["sessions"][1]["assignment"] is None
    assert body["sessions"][1]["cluster"]["workers"] == 2
    assert [n["path"] for n in intro["notebooks"]] == ["a.ipynb", "b.ipynb"]
    assert standin.requests and all(auth == f"token {TOKEN}" for *_, auth in standin.requests)


async def test_open_syncs_the_services_files_students_version(jp_fetch, jp_root_dir, standin):
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["added"] == [
        "course/intro/a.ipynb",
        "course/intro/b.ipynb",
        "course/intro/data.csv",
    ]
    assert (
        "GET",
        "/services/course/api/sessions/intro/snapshot",
        f"token {TOKEN}",
    ) in standin.requests
    home = jp_root_dir / "course" / "intro"
    assert CANARY not in (home / "a.ipynb").read_text()
    assert (home / "data.csv").read_text() == "x,y\n1,2\n"
    _, session = await call(jp_fetch, "GET", "sessions/intro")
    assert [n["modified"] for n in session["notebooks"]] == [False, False]


async def test_teachers_get_the_services_teacher_version_unblanked(jp_fetch, jp_root_dir, standin):
    standin.teacher = True
    status, _ = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    assert CANARY in (jp_root_dir / "course/intro/a.ipynb").read_text()
    _, me = await call(jp_fetch, "GET", "me")
    assert me == {"name": "alice", "teacher": True}


async def test_edits_survive_and_the_teachers_changes_arrive(
    jp_fetch, jp_root_dir, standin, mini_course
):
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"
    write_notebook(home / "b.ipynb", "print('my answer')")
    (home / "data.csv").unlink()
    write_notebook(mini_course / "intro" / "b.ipynb", "print('teacher, version 2')")
    write_notebook(mini_course / "intro" / "c.ipynb", "print('c')")
    standin.revision = 2
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["kept"] == ["course/intro/b.ipynb"]
    assert report["added"] == ["course/intro/c.ipynb", "course/intro/data.csv"]
    assert "print('my answer')" in sources(home / "b.ipynb")
    assert "print('c')" in sources(home / "c.ipynb")


async def test_service_down_keeps_the_last_program_and_says_so(jp_fetch, standin):
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200
    standin.up = False
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200
    assert [s["id"] for s in body["sessions"]] == ["intro", "dask", "lecture"]
    assert "did not answer" in body["content_error"]
    status, reply = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 503
    assert reply["reason"] == "service-unreachable"
    assert reply["message"].startswith("The course service on the hub did not answer.")
    standin.up = True
    status, body = await call(jp_fetch, "GET", "sessions")
    assert body["content_error"] is None


async def test_service_down_from_the_start_is_a_503_with_a_sentence(jp_fetch, standin):
    standin.up = False
    status, reply = await call(jp_fetch, "GET", "sessions")
    assert status == 503
    assert "did not answer" in reply["message"]


async def test_a_damaged_snapshot_changes_nothing(jp_fetch, jp_root_dir, standin, mini_course):
    (mini_course / "intro" / "sub").mkdir()
    (mini_course / "intro" / "sub" / "x.txt").write_text("x")
    original = _Snapshot.get

    def tampered(self, session_id):
        original_finish = self.finish

        def finish(chunk=None):
            if isinstance(chunk, dict):
                chunk["files"][0]["path"] = "../../escape.txt"
            return original_finish(chunk)

        self.finish = finish
        return original(self, session_id)

    _Snapshot.get = tampered
    try:
        status, reply = await call(jp_fetch, "POST", "sessions/intro/open")
    finally:
        _Snapshot.get = original
    assert status == 503 and reply["reason"] == "content"
    assert not (jp_root_dir / "course").exists()
    assert not any(jp_root_dir.parent.glob("**/escape.txt"))


async def test_quiz_is_checked_by_the_service(jp_fetch, jp_root_dir):
    status, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    assert status == 200, quiz
    assert quiz["score"] == {"answered": 0, "correct": 0, "total": 2}
    assert "answer" not in quiz["questions"][0]
    status, q = await call(jp_fetch, "POST", "sessions/intro/quiz/1", body={"choice": "A"})
    assert status == 200, q
    assert (q["choice"], q["correct"], q["answer"], q["explanation"]) == (
        "A",
        False,
        "B",
        "The shuffle.",
    )
    status, q = await call(jp_fetch, "POST", "sessions/intro/quiz/1", body={"choice": "B"})
    assert q["correct"] is True and q["attempts"] == 2
    _, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    # Right at the second try, after the answer was shown: the first answer counts.
    assert quiz["score"] == {"answered": 1, "correct": 0, "total": 2}
    assert quiz["questions"][0]["answer"] == "B"
    assert (quiz["questions"][0]["first_choice"], quiz["questions"][0]["first_correct"]) == (
        "A",
        False,
    )
    for path, body, code in [
        ("sessions/intro/quiz/9", {"choice": "A"}, 404),
        ("sessions/intro/quiz/1", {"choice": "Z"}, 400),
        ("sessions/intro/quiz/1", {"choice": 1}, 400),
    ]:
        status, reply = await call(jp_fetch, "POST", path, body=body)
        assert status == code and reply["message"], (path, status, reply)


async def test_hand_in_sends_the_notebook_as_saved(jp_fetch, jp_root_dir, standin):
    await call(jp_fetch, "POST", "sessions/intro/open")
    saved = jp_root_dir / "course/intro/a.ipynb"
    write_notebook(saved, "print('my work')")
    status, receipt = await call(
        jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "a.ipynb"}
    )
    assert status == 201, receipt
    assert receipt["size"] == saved.stat().st_size
    assert receipt["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert standin.files[receipt["id"]] == saved.read_bytes()

    status, listing = await call(jp_fetch, "GET", "sessions/intro/handins")
    assert status == 200
    assert [r["id"] for r in listing["handins"]] == [receipt["id"]]
    assert listing["assignment"]["notebooks"] == ["a.ipynb"]

    resp = await jp_fetch("course", "api", "handins", receipt["id"])
    assert resp.body == saved.read_bytes()
    assert resp.headers["Content-Type"] == "application/x-ipynb+json"
    assert "a.ipynb" in resp.headers["Content-Disposition"]


async def test_hand_in_refusals_are_passed_on_with_their_sentence(jp_fetch, jp_root_dir, standin):
    status, reply = await call(
        jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "a.ipynb"}
    )
    assert (status, reply["reason"]) == (404, "missing")
    assert "open the session first" in reply["message"]
    await call(jp_fetch, "POST", "sessions/intro/open")
    status, reply = await call(
        jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "b.ipynb"}
    )
    assert (status, reply["message"]) == (400, "b.ipynb is not a notebook of the assignment.")
    for body in ({"notebook": "../../etc/passwd"}, {"notebook": "nope.ipynb"}):
        status, reply = await call(jp_fetch, "POST", "sessions/intro/handin", body=body)
        assert status == 404 and reply["reason"] == "unknown"
    status, reply = await call(jp_fetch, "POST", "sessions/intro/handin", body={"nb": "a.ipynb"})
    assert status == 400
    (jp_root_dir / "course/intro/a.ipynb").write_text("{not a notebook")
    status, reply = await call(
        jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "a.ipynb"}
    )
    assert (status, reply["message"]) == (400, "This is not a valid notebook.")
    standin.deadline_passed = True
    write_notebook(jp_root_dir / "course/intro/a.ipynb", "1")
    status, reply = await call(
        jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "a.ipynb"}
    )
    assert (status, reply["reason"]) == (409, "deadline")
    assert reply["message"] == "The deadline has passed: hand-ins are closed."
    standin.up = False
    status, reply = await call(
        jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "a.ipynb"}
    )
    assert (status, reply["reason"]) == (503, "service-unreachable")
    assert not standin.handins


class TestLimits:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config.CourseHub.max_handin_mb = 0.001
        return jp_server_config

    async def test_an_oversized_notebook_is_refused_before_sending(
        self, jp_fetch, jp_root_dir, standin
    ):
        await call(jp_fetch, "POST", "sessions/intro/open")
        write_notebook(jp_root_dir / "course/intro/a.ipynb", "x = '" + "y" * 5000 + "'")
        status, reply = await call(
            jp_fetch, "POST", "sessions/intro/handin", body={"notebook": "a.ipynb"}
        )
        assert (status, reply["reason"]) == (413, "size")
        assert "Clear large outputs" in reply["message"]
        assert not [r for r in standin.requests if r[1].endswith("/handins")]


async def test_teachers_download_everything_students_are_told_no(jp_fetch, standin):
    status, reply = await call(jp_fetch, "GET", "sessions/intro/handins.zip")
    assert (status, reply["message"]) == (403, "Only teachers download every hand-in.")
    standin.teacher = True
    resp = await jp_fetch("course", "api", "sessions", "intro", "handins.zip")
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.body.startswith(b"PK")
    status, reply = await call(jp_fetch, "GET", "handins/nope")
    assert (status, reply["reason"]) == (404, "unknown")


class TestWithoutTheService:
    """A bare server (no COURSE_SERVICE_URL): the folder source, no hand-in."""

    @pytest.fixture
    def jp_server_config(self, mini_course, tmp_path):
        manifest = mini_course / "course.yml"
        manifest.write_text(
            manifest.read_text().replace(
                "        title: Notebook B\n        main: true\n",
                "        title: Notebook B\n        main: true\n    assignment:\n"
                "      notebooks: [a.ipynb]\n      deadline: 2030-01-15 18:00\n"
                "      timezone: Europe/Paris\n",
            )
        )
        return server_config(content_dir=str(mini_course), cache_dir=str(tmp_path / "cache"))

    async def test_hand_in_says_there_is_no_service(self, jp_fetch):
        for method, path, body in [
            ("POST", "sessions/intro/handin", {"notebook": "a.ipynb"}),
            ("GET", "sessions/intro/handins", None),
            ("GET", "sessions/intro/handins.zip", None),
            ("GET", "handins/abc", None),
        ]:
            status, reply = await call(jp_fetch, method, path, body=body)
            assert (status, reply["reason"]) == (404, "no-service"), path
        # The assignment is shown from the content (the hand-in needs the service).
        _, body = await call(jp_fetch, "GET", "sessions")
        assert [s["assignment"] and s["assignment"]["deadline"] for s in body["sessions"]] == [
            "2030-01-15T18:00:00+01:00",
            None,
            None,
        ]
        status, me = await call(jp_fetch, "GET", "me")
        assert status == 200 and me["teacher"] is False
