"""The course service on the real local hub: two students and a teacher.

A test course whose teacher's notebook holds canary strings (a solution cell,
an answer cell, a teacher's note): no answer a student's token gets, from the
service or from the course API of their own server, and no file of a student's
home after a sync holds one; the teacher's home does. Students hand in through
their servers, before and after a deadline a few seconds ahead, again and late
where the assignment allows it; the teacher lists, downloads and zips what was
sent, byte for byte; a student's server hands in and lists for its owner only,
whoever calls it; a crash of the course service alone (the hub starts it again)
and of the whole hub mid-term lose nothing; a live quiz runs through the students'
servers (a teacher opens, three students answer, the reveal reaches them, the CSV
matches); and ``course-hub hub`` warns at start that students' servers can read
the course folder.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import re
import threading
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import psutil
import pytest
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_hub.handlers import HANDLERS
from course_hub.hub.local import local_layout
from course_hub.launcher import answer_key_warning

from ..hubclient import Deadline, Student
from .conftest import ADMIN_PASSWORD, REPO, Hub, cmdline, crash_the_hub, start_hub

TAG = uuid.uuid4().hex[:8]
SOLUTION = f"CANARY-SOLUTION-{TAG}"
ANSWER = f"CANARY-ANSWER-{TAG}"
NOTE = f"CANARY-TEACHER-NOTE-{TAG}"
CANARIES = (SOLUTION, ANSWER, NOTE)
FAR = 3600.0  # seconds: a deadline nobody reaches during the test


def local_time(zone: str, seconds: float) -> str:
    """``seconds`` from now, as a teacher writes it in course.yml: local time in ``zone``."""
    when = dt.datetime.now(ZoneInfo(zone)) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def write_manifest(root: Path, graded_in: float, essay_in: float) -> None:
    """The test course: a graded notebook (no late hand-in) and an essay (late
    accepted for an hour), with deadlines ``graded_in`` / ``essay_in`` seconds ahead."""
    manifest = f"""\
course:
  id: canary
  title: Canary course
sessions:
  - id: graded
    title: Graded notebook
    duration: 1h
    notebooks:
      - path: exam.ipynb
        title: Exam
        main: true
    cluster:
      workers: 1
      worker_cores: 1
      worker_memory: 1.5
    quiz:
      - question: Which step moves data between workers?
        choices: {{A: map, B: shuffle, C: filter}}
        answer: B
        explanation: The shuffle sends each row to the worker that owns its key.
    assignment:
      notebooks: [exam.ipynb]
      deadline: "{local_time("Europe/Paris", graded_in)}"
      timezone: Europe/Paris
  - id: essay
    title: Essay, late accepted
    duration: 1h
    notebooks:
      - path: essay.ipynb
        title: Essay
    assignment:
      notebooks: [essay.ipynb]
      deadline: "{local_time("America/New_York", essay_in)}"
      timezone: America/New_York
      late_until: "{local_time("America/New_York", essay_in + FAR)}"
"""
    tmp = root / "course.yml.new"
    tmp.write_text(manifest)
    tmp.replace(root / "course.yml")  # the service never reads half a file


def write_course(root: Path) -> Path:
    exam = new_notebook(
        cells=[
            new_markdown_cell("# Exam\nCompute the answer."),
            new_code_cell("import math"),
            new_code_cell(f"# Hint: think of Douglas Adams\nanswer = 42  # {SOLUTION}"),
            new_markdown_cell(f"Because {ANSWER}."),
            new_markdown_cell(f"Grading note: {NOTE}"),
        ]
    )
    exam.cells[2].metadata["tags"] = ["solution"]
    exam.cells[3].metadata["tags"] = ["answer"]
    exam.cells[4].metadata["tags"] = ["teacher"]
    essay = new_notebook(cells=[new_markdown_cell("# Essay\nWrite about shuffles.")])
    for folder, name, nb in (("graded", "exam.ipynb", exam), ("essay", "essay.ipynb", essay)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, root / folder / name)
    (root / "graded" / "data.csv").write_text("x,y\n1,2\n")
    write_manifest(root, FAR, FAR)
    return root


@dataclass
class Term:
    hub: Hub
    course: Path
    alice: Student
    bob: Student
    teacher: Student

    def home(self, who: Student) -> Path:
        return self.hub.state / "homes" / who.name

    def service(self, who: Student, path: str, **kw) -> requests.Response:
        """The course service through the hub's proxy, with ``who``'s own token."""
        url = f"{self.hub.url}/services/course/api/{path}"
        return requests.get(url, headers=who.headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course-service")
    course = write_course(tmp / "canary-course")
    hub = start_hub(tmp, "e2e-course-service", {"COURSE_CONTENT_DIR": str(course)})
    try:
        alice, bob = hub.student("alice"), hub.student("bob")
        teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
        for who in (alice, bob, teacher):
            who.login()
            who.start_server()
        hub.timings["three servers"] = sum(w.timings["server"] for w in (alice, bob, teacher))
        yield Term(hub, course, alice, bob, teacher)
    finally:
        hub.timings["stop (Ctrl-C)"] = hub.stop()
        print("\ncourse service e2e timings (s): " + ", ".join(
            f"{k} {v:.1f}" for k, v in hub.timings.items()
        ))  # fmt: skip
    hub.wait_all_stopped()


# --- helpers -------------------------------------------------------------------


def readable_texts(r: requests.Response) -> list[str]:
    """What an answer holds, with every ``content_b64`` file decoded."""
    texts = [r.text]
    try:
        body = r.json()
    except ValueError:
        return texts
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("content_b64"), str):
                texts.append(base64.b64decode(item["content_b64"]).decode("utf-8", "replace"))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return texts


def canaries_in(texts: list[str]) -> set[str]:
    return {c for c in CANARIES for t in texts if c in t}


def files_with_canaries(root: Path) -> list[str]:
    """Files under ``root`` holding a canary, git's loose objects decompressed."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if "/.git/objects/" in str(path) and "/pack/" not in str(path):
            try:
                data = zlib.decompress(data)
            except zlib.error:
                pass
        if any(c.encode() in data for c in CANARIES):
            found.append(str(path.relative_to(root)))
    return found


def edit(who: Student, path: str, line: str) -> None:
    """The student writes ``line`` in a new cell of their notebook and saves."""
    model = who.contents(path)
    model["content"]["cells"].append(
        {"cell_type": "code", "metadata": {}, "source": line, "outputs": [], "execution_count": 1}
    )
    who.save(path, {"type": "notebook", "format": "json", "content": model["content"]})


def hand_in(who: Student, session: str, notebook: str) -> requests.Response:
    return who.api("POST", f"/sessions/{session}/handin", json={"notebook": notebook})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assignment(term: Term, who: Student, session: str) -> dict:
    """The assignment as the service tells it now (servers reuse the program a few seconds)."""
    r = term.service(who, "course")
    assert r.status_code == 200, r.text
    [found] = [s["assignment"] for s in r.json()["sessions"] if s["id"] == session]
    return found


def wait_deadline_reported(term: Term, session: str, seconds_left_max: float) -> dict:
    """The service has read the new course.yml (it follows the folder)."""
    deadline = Deadline(30, f"the service to report {session}'s new deadline")
    model: dict = {}
    while deadline:
        model = assignment(term, term.alice, session)
        if model["seconds_left"] <= seconds_left_max:
            return model
        time.sleep(0.3)
    deadline.fail(model)
    raise AssertionError  # unreachable


# --- the tests, in the order of a term ------------------------------------------


def test_the_hub_warns_at_start_that_students_can_read_the_course_folder(term):
    """Without Docker every server runs as this OS account (docs/security.md): the
    launcher's warning is in the hub's real output, naming the folder."""
    out = term.hub.log_path.read_text(errors="replace")
    warning = answer_key_warning(local_layout(REPO))
    assert warning is not None
    assert (
        f"WARNING: students' servers run as the same OS account as the course content ({term.course})"
        in out
    )
    assert warning.splitlines()[1] in out and "(docs/security.md)" in out
    banner = out.index("Course hub ready at")
    assert banner < out.index("WARNING: students' servers") < out.index("Press Ctrl-C")


def test_sync_through_the_service_keeps_the_answer_key_away(term):
    alice, bob, teacher = term.alice, term.bob, term.teacher
    t0 = time.monotonic()
    for who in (alice, bob, teacher):
        r = who.api("POST", "/sessions/graded/open")
        assert r.status_code == 200, r.text
    term.hub.timings["three syncs"] = time.monotonic() - t0
    path = "course/graded/exam.ipynb"
    mine = json.dumps(alice.contents(path)["content"])
    assert "# YOUR CODE HERE" in mine and "# Hint: think of Douglas Adams" in mine
    assert canaries_in([mine]) == set()
    assert (term.home(alice) / "course/graded/data.csv").read_text() == "x,y\n1,2\n"
    assert canaries_in([json.dumps(teacher.contents(path)["content"])]) == set(CANARIES)
    # Nothing anywhere in a student's home (caches and git objects included);
    # the teacher's home has the teacher's version.
    for student in (alice, bob):
        assert files_with_canaries(term.home(student)) == [], student.name
    assert files_with_canaries(term.home(teacher)), "the teacher's home lacks the solutions"


def test_no_answer_a_student_gets_holds_the_answer_key(term):
    alice, teacher = term.alice, term.teacher
    # The service, with the student's own token (through the hub's proxy)...
    service_paths = [
        "me",
        "course",
        "presets",
        "openapi.json",
        "sessions/graded/snapshot",
        "sessions/essay/snapshot",
        "sessions/graded/quiz",
        "sessions/graded/handins",
        "sessions/graded/handins.zip",
        "sessions/graded/snapshot?version=teacher",
        "sessions/graded/snapshot?solutions=1",
        "sessions/../graded/snapshot",
    ]
    seen = []
    for path in service_paths:
        r = term.service(alice, path)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        seen.append((path, r.status_code))
        assert canaries_in(readable_texts(r)) == set(), (path, r.status_code)
    snapshot = term.service(alice, "sessions/graded/snapshot").json()
    assert snapshot["version"] == "student"
    assert {f["path"] for f in snapshot["files"]} >= {"exam.ipynb", "data.csv"}
    # ...and the course API of her own server.
    for path in ("/sessions", "/sessions/graded", "/sessions/graded/quiz", "/me",
                 "/cluster-options", "/sessions/graded/handins", "/openapi.json"):  # fmt: skip
        r = alice.api("GET", path)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        assert canaries_in(readable_texts(r)) == set(), path
    assert alice.api("GET", "/me").json() == {"name": alice.name, "teacher": False}
    # The control: the teacher's token gets the teacher's version.
    r = term.service(teacher, "sessions/graded/snapshot")
    assert r.status_code == 200 and r.json()["version"] == "teacher"
    assert canaries_in(readable_texts(r)) == set(CANARIES)
    assert teacher.api("GET", "/me").json() == {"name": "teacher", "teacher": True}
    # A token that is no one's gets nothing.
    r = requests.get(
        f"{term.hub.url}/services/course/api/course",
        headers={"Authorization": "token not-a-token"},
        timeout=30,
        allow_redirects=False,
    )
    assert r.status_code in (302, 401, 403), r.status_code
    print(f"\nanswers checked for canaries: {seen}")


def test_the_gateway_takes_its_presets_from_the_service(term):
    presets = term.service(term.teacher, "presets").json()
    assert presets == {"graded": {"worker_cores": 1, "worker_memory": 1.5}}
    # The gateway's form offers the session (it reads only the service).
    r = term.alice.api("POST", "/clusters", json={"session": "graded"})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    try:
        model = term.alice.wait_cluster(name, 1)
        assert model["status"] == "running"
    finally:
        assert term.alice.api("DELETE", f"/clusters/{name}").status_code in (202, 204)
    assert "Cluster presets from the course service" not in term.hub.log_path.read_text()


def test_hand_in_again_and_the_teacher_gets_what_was_sent(term):
    alice, bob, teacher = term.alice, term.bob, term.teacher
    path = "course/graded/exam.ipynb"
    sent: dict[str, bytes] = {}
    receipts = {}
    for who, line in ((alice, "answer = 41"), (bob, "answer = 42  # bob")):
        edit(who, path, f"{line}  # {who.name}")
        r = hand_in(who, "graded", "exam.ipynb")
        assert r.status_code == 201, r.text
        receipts[who.name] = [r.json()]
        sent[who.name] = (term.home(who) / path).read_bytes()
        receipt = r.json()
        assert receipt["sha256"] == sha256(sent[who.name])  # the file as last saved
        assert receipt["size"] == len(sent[who.name])
        assert (receipt["user"], receipt["session"], receipt["notebook"]) == (
            who.name,
            "graded",
            "exam.ipynb",
        )
        assert receipt["late"] is False
    # Alice hands in again: the latest counts, both are kept.
    edit(alice, path, "answer = 42  # alice, second thoughts")
    r = hand_in(alice, "graded", "exam.ipynb")
    assert r.status_code == 201, r.text
    receipts[alice.name].insert(0, r.json())
    sent[alice.name] = (term.home(alice) / path).read_bytes()
    first, second = receipts[alice.name][1], receipts[alice.name][0]
    assert second["sha256"] == sha256(sent[alice.name]) != first["sha256"]
    assert second["received"] >= first["received"] and second["id"] != first["id"]
    # Each student sees their own, newest first.
    mine = alice.api("GET", "/sessions/graded/handins").json()
    assert [h["id"] for h in mine["handins"]] == [second["id"], first["id"]]
    assert mine["assignment"]["open"] is True
    assert [h["user"] for h in bob.api("GET", "/sessions/graded/handins").json()["handins"]] == [
        bob.name
    ]
    # Another student's hand-in and the class zip are the teacher's.
    assert bob.api("GET", f"/handins/{second['id']}").status_code in (403, 404)
    assert term.service(bob, f"handins/{second['id']}").status_code in (403, 404)
    assert alice.api("GET", "/sessions/graded/handins.zip").status_code == 403
    # The teacher: everyone's, the latest of each, one file, all as a zip.
    everyone = teacher.api("GET", "/sessions/graded/handins").json()["handins"]
    assert {h["id"] for h in everyone} == {first["id"], second["id"], receipts[bob.name][0]["id"]}
    latest = teacher.api("GET", "/sessions/graded/handins?latest=1").json()["handins"]
    assert {h["user"]: h["id"] for h in latest} == {
        alice.name: second["id"],
        bob.name: receipts[bob.name][0]["id"],
    }
    r = teacher.api("GET", f"/handins/{first['id']}")
    assert r.status_code == 200 and sha256(r.content) == first["sha256"]
    r = teacher.api("GET", "/sessions/graded/handins.zip")
    assert r.status_code == 200, r.text[:300]
    check_zip(r.content, sent, {alice.name: 2, bob.name: 1})


#: The hand-in routes of a student's server (course_hub/handlers.py), as requests on
#: alice's server; every route of HANDLERS about hand-ins must be here.
SERVER_HANDIN_ROUTES = {
    "/sessions/{session}/handin": ("POST", "/sessions/graded/handin"),
    "/sessions/{session}/handins": ("GET", "/sessions/graded/handins"),
    "/sessions/{session}/handins.zip": ("GET", "/sessions/graded/handins.zip"),
    "/handins/{receipt}": ("GET", "/handins/{alice}"),
}
# Route -> status for alice (the owner), a teacher (hub admin) and bob, on alice's server.
SERVER_EXPECTED = {
    "/sessions/{session}/handin": (201, 201, 403),
    "/sessions/{session}/handins": (200, 200, 403),
    # The server speaks for its owner: a teacher visiting it is alice to the service.
    "/sessions/{session}/handins.zip": (403, 403, 403),
    "/handins/{receipt}": (200, 200, 403),
}


def server_routes() -> set[str]:
    """The hand-in routes of HANDLERS, as templates."""
    found = set()
    for pattern, _ in HANDLERS:
        if "handin" in pattern:
            path = pattern.removeprefix("/course/api").replace("\\.", ".")
            found.add(re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "{" + _NAMES[m[1]] + "}", path))
    return found


_NAMES = {"session_id": "session", "receipt_id": "receipt"}


def test_a_students_server_hands_in_and_lists_for_its_owner_only(term):
    alice, bob, teacher = term.alice, term.bob, term.teacher
    assert server_routes() == set(SERVER_HANDIN_ROUTES) == set(SERVER_EXPECTED)
    mine = alice.api("GET", "/sessions/graded/handins").json()["handins"]
    bobs = bob.api("GET", "/sessions/graded/handins").json()["handins"]
    callers = (alice.headers, teacher.headers, bob.headers)
    for route, (verb, path) in SERVER_HANDIN_ROUTES.items():
        path = path.replace("{alice}", mine[0]["id"])
        kw = {"json": {"notebook": "exam.ipynb"}} if verb == "POST" else {}
        for who, headers, status in zip(
            ("alice", "teacher", "bob"), callers, SERVER_EXPECTED[route], strict=True
        ):
            r = requests.request(
                verb, f"{alice.server_url}/course/api{path}", headers=headers, timeout=120, **kw
            )
            assert r.status_code == status, (route, who, r.status_code, r.text[:300])
            if status == 201:  # a hand-in from alice's server is alice's, whoever asked
                assert r.json()["user"] == alice.name, (who, r.json())
            if route == "/sessions/{session}/handins" and status == 200:
                assert {h["user"] for h in r.json()["handins"]} == {alice.name}, who
            if route == "/handins/{receipt}" and status == 200:
                assert sha256(r.content) == mine[0]["sha256"], who
    # Anyone's hand-in is reachable through alice's server only if it is hers.
    for headers in callers[:2]:
        url = f"{alice.server_url}/course/api/handins/{bobs[0]['id']}"
        assert requests.get(url, headers=headers, timeout=60).status_code == 404
    # No token at all: refused before the course API.
    r = requests.get(
        f"{alice.server_url}/course/api/sessions/graded/handins", timeout=60, allow_redirects=False
    )
    assert r.status_code in (302, 401, 403), r.status_code
    # The teacher's own server is where a teacher sees everyone's.
    everyone = teacher.api("GET", "/sessions/graded/handins").json()["handins"]
    assert {alice.name, bob.name} <= {h["user"] for h in everyone}
    assert teacher.api("GET", "/sessions/graded/handins.zip").status_code == 200


def check_zip(data: bytes, sent: dict[str, bytes], counts: dict[str, int]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        assert names == {f"{u}/exam.ipynb" for u in sent} | {"index.csv"}, names
        for user, content in sent.items():
            assert z.read(f"{user}/exam.ipynb") == content, user
        rows = list(csv.DictReader(io.StringIO(z.read("index.csv").decode("utf-8"))))
    assert {r["user"]: r["sha256"] for r in rows} == {u: sha256(c) for u, c in sent.items()}
    assert {r["user"]: int(r["handins"]) for r in rows} == counts  # how many each sent
    assert all(r["late"].lower() in ("false", "0", "no") for r in rows), rows


def test_hand_in_before_and_after_a_deadline_a_few_seconds_ahead(term):
    alice, bob, teacher = term.alice, term.bob, term.teacher
    r = alice.api("POST", "/sessions/essay/open")
    assert r.status_code == 200, r.text
    before = {h["id"] for h in teacher.api("GET", "/sessions/graded/handins").json()["handins"]}
    # The teacher moves both deadlines to a few seconds from now.
    write_manifest(term.course, 8, 8)
    model = wait_deadline_reported(term, "graded", 10)
    assert model["open"] is True and model["accepts_late"] is False
    assert model["timezone"] == "Europe/Paris" and model["deadline_utc"].endswith("Z")
    r = hand_in(bob, "graded", "exam.ipynb")
    assert r.status_code == 201 and r.json()["late"] is False, r.text
    before.add(r.json()["id"])
    # The deadline passes.
    deadline = Deadline(30, "the graded deadline to pass")
    while deadline:
        model = assignment(term, alice, "graded")
        if model["seconds_left"] < 0:
            break
        time.sleep(0.3)
    assert model["open"] is False
    r = hand_in(alice, "graded", "exam.ipynb")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body.get("reason") == "deadline" and len(body["message"]) > 20, body
    after = {h["id"] for h in teacher.api("GET", "/sessions/graded/handins").json()["handins"]}
    assert after == before  # nothing stored
    # The essay accepts late hand-ins: marked late.
    essay = assignment(term, alice, "essay")
    assert essay["seconds_left"] < 0 and essay["open"] is True and essay["accepts_late"]
    r = hand_in(alice, "essay", "essay.ipynb")
    assert r.status_code == 201, r.text
    assert r.json()["late"] is True


def long_poll(who: Student, version: int, out: dict) -> threading.Thread:
    """``who``'s panel waiting for the next change, through their own server."""

    def run() -> None:
        r = who.api("GET", "/live", params={"after": version}, timeout=60)
        out["at"], out["r"] = time.monotonic(), r

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_live_quiz_through_the_students_servers(term):
    """The teacher opens a question of the session's quiz from their server; three
    students answer through theirs (one changes their mind); the counts are exact,
    students never see them nor the answer before the reveal, which reaches their
    waiting panels; the CSV holds each student's latest choice."""
    alice, bob, teacher = term.alice, term.bob, term.teacher
    carol = term.hub.student("carol")
    carol.login()
    carol.start_server()
    students = (alice, bob, carol)
    version = alice.api("GET", "/live").json()["version"]
    waiting: dict = {}
    poll = long_poll(alice, version, waiting)
    time.sleep(1)
    assert poll.is_alive(), "alice's poll answered with nothing new"

    r = alice.api("POST", "/live", json={"text": "Mine?", "choices": ["a", "b"]})
    assert r.status_code == 403 and r.json()["reason"] == "forbidden", r.text
    t0 = time.monotonic()
    r = teacher.api("POST", "/live", json={"session": "graded", "number": 0})
    assert r.status_code == 201, r.text
    q = r.json()
    qid = q["id"]
    assert q["choices"] == ["map", "shuffle", "filter"] and q["answer"] == 1
    poll.join(10)
    assert waiting["r"].status_code == 200 and waiting["r"].json()["question"]["id"] == qid
    assert waiting["at"] - t0 < 2.0, f"alice's panel saw it {waiting['at'] - t0:.1f} s later"

    for who, choice in ((alice, 1), (bob, 1), (carol, 2), (bob, 0)):  # bob changes his mind
        r = who.api("POST", f"/live/{qid}/answer", json={"choice": choice})
        assert r.status_code == 200, r.text
        mine = r.json()
        assert mine["my_answer"] == choice and mine["answer"] is None
        assert mine["explanation"] is None and "counts" not in mine
    r = teacher.api("POST", f"/live/{qid}/answer", json={"choice": 1})
    assert r.status_code == 403, r.text
    view = teacher.api("GET", "/live").json()["question"]
    assert (view["counts"], view["answered"]) == ([1, 1, 1], 3)
    assert view["online"] >= 3
    assert teacher.api("GET", f"/live/{qid}").json()["counts"] == [1, 1, 1]
    for who in students:
        seen = who.api("GET", "/live").json()["question"]
        assert seen["answer"] is None and not {"counts", "answered", "online"} & set(seen)
        assert who.api("GET", f"/live/{qid}").status_code == 403
        assert who.api("GET", f"/live/{qid}/results.csv").status_code == 403

    # The reveal reaches a waiting panel.
    public = bob.api("GET", "/live").json()["version"]
    waiting = {}
    poll = long_poll(bob, public, waiting)
    time.sleep(0.5)
    t0 = time.monotonic()
    r = teacher.api("POST", f"/live/{qid}/reveal")
    assert r.status_code == 200 and r.json()["state"] == "revealed", r.text
    poll.join(10)
    assert waiting["at"] - t0 < 2.0
    shown = waiting["r"].json()["question"]
    assert (shown["state"], shown["answer"], shown["my_answer"]) == ("revealed", 1, 0)
    assert shown["explanation"].startswith("The shuffle")
    r = carol.api("POST", f"/live/{qid}/answer", json={"choice": 1})
    assert r.status_code == 409 and r.json()["reason"] == "closed", r.text

    r = teacher.api("GET", f"/live/{qid}/results.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv"), r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {x["user"]: (x["choice"], x["choice_text"], x["correct"]) for x in rows} == {
        alice.name: ("1", "shuffle", "yes"),
        bob.name: ("0", "map", "no"),
        carol.name: ("2", "filter", "no"),
    }
    assert {x["question_id"] for x in rows} == {str(qid)}
    history = teacher.api("GET", "/live/history").json()["questions"]
    assert history[0]["id"] == qid and history[0]["counts"] == [1, 1, 1]


def the_course_service(hub: Hub) -> psutil.Process:
    [service] = [
        p
        for p in psutil.Process(hub.proc.pid).children(recursive=True)
        if "course_hub.service" in cmdline(p)
    ]
    return service


def zip_contents(data: bytes) -> dict[str, bytes]:
    """A zip's members and their bytes (its own time stamps aside)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_the_teacher_sees_the_class_and_stops_a_student_s_cluster(term):
    """The Teacher section's calls, through the teacher's own server: alice (server
    running, a session opened, a cluster with a worker) is in the class with her
    cluster; the teacher stops it (gone from the gateway), and the action is
    listed with who did it. A student is refused both."""
    alice, teacher = term.alice, term.teacher
    assert alice.api("POST", "/sessions/graded/open").status_code == 200
    r = alice.api("POST", "/clusters", json={"workers": 1})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    try:
        alice.wait_cluster(name, 1)
        for method, path, body in (
            ("GET", "/class", None),
            ("POST", "/class/actions", {"action": "stop-server", "user": term.bob.name}),
        ):
            r = alice.api(method, path, json=body)
            assert r.status_code == 403 and r.json()["reason"] == "forbidden", r.text
            assert "Only teachers" in r.json()["message"]
        deadline = Deadline(30, "the class view to show alice's cluster with its worker")
        while deadline:
            r = teacher.api("GET", "/class")
            assert r.status_code == 200, r.text
            view = r.json()
            rows = {s["name"]: s for s in view["students"]}
            mine = [c for c in rows[alice.name]["clusters"] or [] if c["name"] == name]
            if mine and mine[0]["workers"] == 1:
                break
            time.sleep(0.5)
        else:
            deadline.fail(view)
        assert view["gateway_error"] is None
        assert teacher.name not in rows
        row = rows[alice.name]
        assert row["status"] == "running" and "graded" in row["sessions"]
        assert row["server_url"] == f"/user/{alice.name}/"
        assert mine[0]["cores"] > 0 and mine[0]["memory"] > 0
        assert view["totals"]["clusters"] >= 1 and view["limits"]["max_clusters"] >= 1

        r = teacher.api(
            "POST",
            "/class/actions",
            json={"action": "stop-cluster", "user": alice.name, "cluster": name},
        )
        assert r.status_code == 201, r.text
        assert (r.json()["by"], r.json()["target"]) == ("teacher", name)
        deadline = Deadline(30, "alice's cluster to be gone from the gateway")
        while deadline:
            clusters = alice.api("GET", "/clusters").json()["clusters"]
            if not [c for c in clusters if c["name"] == name and c["status"] != "stopped"]:
                break
            time.sleep(0.5)
        else:
            deadline.fail(clusters)
        [last, *_] = teacher.api("GET", "/class/actions").json()["actions"]
        assert (last["action"], last["user"], last["by"]) == (
            "stop-cluster",
            alice.name,
            "teacher",
        )
    finally:
        alice.api("DELETE", f"/clusters/{name}")


def test_the_teacher_stops_a_student_s_server_and_the_record_tells_the_truth(term):
    """Stop server on a running server stops it (the hub no longer lists it); a
    second stop is recorded as not-running, not as stopped (the hub answers
    both the same); an unknown name is a 404 with a sentence."""
    teacher = term.teacher
    carol = term.hub.student("carol")
    carol.login()
    carol.start_server()
    r = teacher.api("POST", "/class/actions", json={"action": "stop-server", "user": carol.name})
    assert r.status_code == 201, r.text
    assert r.json()["result"] in ("stopped", "stopping") and r.json()["by"] == "teacher"
    deadline = Deadline(60, "the hub to list carol's server as gone")
    while deadline:
        model = requests.get(
            f"{term.hub.url}/hub/api/users/{carol.name}",
            headers={"Authorization": f"token {term.hub.admin_token}"},
            timeout=30,
        ).json()
        if "" not in (model.get("servers") or {}):
            break
        time.sleep(0.5)
    else:
        deadline.fail(model)
    r = teacher.api("POST", "/class/actions", json={"action": "stop-server", "user": carol.name})
    assert r.status_code == 201 and r.json()["result"] == "not-running", r.text
    r = teacher.api("POST", "/class/actions", json={"action": "stop-server", "user": "nobody-x"})
    assert r.status_code == 404 and "no user named 'nobody-x'" in r.json()["message"], r.text
    newest = teacher.api("GET", "/class/actions").json()["actions"][:2]
    assert (newest[0]["user"], newest[0]["result"]) == (carol.name, "not-running")
    assert newest[1]["user"] == carol.name and newest[1]["result"] in ("stopped", "stopping")


def test_a_crash_of_the_course_service_alone_loses_nothing(term):
    """SIGKILL the service: JupyterHub 5 starts it again at its next poll of the
    service (every 30 s); meanwhile a hand-in is refused with a sentence."""
    alice, teacher = term.alice, term.teacher
    handins = {
        s: teacher.api("GET", f"/sessions/{s}/handins").json()["handins"]
        for s in ("graded", "essay")
    }
    zipped = teacher.api("GET", "/sessions/graded/handins.zip").content
    old = the_course_service(term.hub)
    t0 = time.monotonic()
    old.kill()
    gone = Deadline(10, "the killed course service to exit")
    while gone and cmdline(old):  # "" once it exited (the hub reaps it at its next poll)
        time.sleep(0.1)
    r = hand_in(alice, "essay", "essay.ipynb")
    assert r.status_code == 503, r.text
    assert r.json()["reason"] == "service-unreachable" and len(r.json()["message"]) > 20
    deadline = Deadline(60, "the hub to start the course service again")
    while deadline:
        r = term.service(teacher, "me")
        if r.status_code == 200:
            break
        time.sleep(0.5)
    else:
        deadline.fail(term.hub.log_tail(40))
    term.hub.timings["course service back after a kill"] = time.monotonic() - t0
    assert the_course_service(term.hub).pid != old.pid
    assert "Service course exited with status -9" in term.hub.log_path.read_text()
    for session, before in handins.items():
        assert teacher.api("GET", f"/sessions/{session}/handins").json()["handins"] == before
    assert zip_contents(teacher.api("GET", "/sessions/graded/handins.zip").content) == (
        zip_contents(zipped)
    )
    # Hand-ins work again, through the same student's server.
    r = hand_in(alice, "essay", "essay.ipynb")
    assert r.status_code == 201 and r.json()["late"] is True, r.text
    listed = alice.api("GET", "/sessions/essay/handins").json()["handins"]
    assert listed[0]["id"] == r.json()["id"] and listed[1:] == [
        h for h in handins["essay"] if h["user"] == alice.name
    ]


def test_a_hub_crash_mid_term_loses_nothing(term):
    alice, teacher = term.alice, term.teacher
    handins = {
        s: teacher.api("GET", f"/sessions/{s}/handins").json()["handins"]
        for s in ("graded", "essay")
    }
    zipped = teacher.api("GET", "/sessions/graded/handins.zip").content
    term.hub.timings["hub back after a crash"] = crash_the_hub(term.hub)
    deadline = Deadline(60, "the restarted course service to answer")
    while deadline:
        r = term.service(teacher, "me")
        if r.status_code == 200:
            break
        time.sleep(0.5)
    assert r.json() == {"name": "teacher", "teacher": True}
    for session, before in handins.items():
        after = teacher.api("GET", f"/sessions/{session}/handins").json()["handins"]
        assert after == before, session
        for h in after:
            r = teacher.api("GET", f"/handins/{h['id']}")
            assert r.status_code == 200 and sha256(r.content) == h["sha256"], h
    r = teacher.api("GET", "/sessions/graded/handins.zip")
    with zipfile.ZipFile(io.BytesIO(r.content)) as new, zipfile.ZipFile(io.BytesIO(zipped)) as old:
        assert {n: new.read(n) for n in new.namelist()} == {n: old.read(n) for n in old.namelist()}
    # The term goes on: a late essay, through the same server.
    r = hand_in(alice, "essay", "essay.ipynb")
    assert r.status_code == 201 and r.json()["late"] is True, r.text
    assert "restarting it" in term.hub.log_path.read_text()
