"""Students' and teachers' servers against the real course service on the real hub.

The server extension's side of issue 13, over HTTP through the hub's proxy:
each server reaches the hub-managed ``course`` service with its own hub
token (``COURSE_SERVICE_URL``), takes the program and the quiz verdicts from
it, hands in the file as saved, and passes the service's refusals on with
their sentence and status. The same routes with a stand-in service are in
tests/unit/test_service_source.py; the hand-in's storage and deadlines are
the service's own tests.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile

import pytest
import yaml

from ..hubclient import Student
from .conftest import ADMIN_PASSWORD

EVALUATION, NOTEBOOK = "evaluation", "01-taxi-fare.ipynb"
CLOSED, CLOSED_NOTEBOOK = "dask", "01-check-your-environment.ipynb"


@pytest.fixture(scope="module")
def assignments(hub):
    """The evaluation due in two days; the dask session's hand-in already closed."""
    path = hub.content / "course.yml"
    original = path.read_text()
    manifest = yaml.safe_load(original)
    now = datetime.datetime.now(datetime.UTC)
    for session in manifest["sessions"]:
        if session["id"] == EVALUATION:
            due = now + datetime.timedelta(days=2)
            session["assignment"] = {"notebooks": [NOTEBOOK], "timezone": "UTC"}
        elif session["id"] == CLOSED:
            due = now - datetime.timedelta(hours=1)
            session["assignment"] = {"notebooks": [CLOSED_NOTEBOOK], "timezone": "UTC"}
        else:
            continue
        session["assignment"]["deadline"] = due.strftime("%Y-%m-%d %H:%M")
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    yield
    path.write_text(original)


@pytest.fixture(scope="module")
def carol(hub, assignments) -> Student:
    s = hub.student("carol")
    s.login()
    s.start_server()
    yield s
    s.stop_server()


@pytest.fixture(scope="module")
def teacher(hub, assignments) -> Student:
    t = Student(hub.url, "teacher", ADMIN_PASSWORD)
    t.login()
    t.start_server()
    yield t
    t.stop_server()


def opened(student: Student, session: str) -> None:
    r = student.api("POST", f"/sessions/{session}/open", json={})
    assert r.status_code == 200, r.text


def test_program_and_assignments_come_from_the_service(carol):
    r = carol.api("GET", "/sessions")
    assert r.status_code == 200, r.text
    sessions = {s["id"]: s for s in r.json()["sessions"]}
    ev = sessions[EVALUATION]["assignment"]
    assert ev["notebooks"] == [NOTEBOOK] and ev["open"] is True
    assert 0 < ev["seconds_left"] <= 2 * 86400
    assert sessions[CLOSED]["assignment"]["open"] is False
    assert sessions["big-data"]["assignment"] is None
    assert carol.api("GET", "/me").json() == {"name": carol.name, "teacher": False}


def test_quiz_is_checked_by_the_service(carol):
    r = carol.api("GET", "/sessions/dask/quiz")
    assert r.status_code == 200, r.text
    quiz = r.json()
    assert quiz["score"]["answered"] == 0
    assert all("answer" not in q for q in quiz["questions"])
    r = carol.api("POST", "/sessions/dask/quiz/1", json={"choice": "A"})
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["choice"] == "A" and verdict["answer"] in verdict["choices"]
    assert verdict["correct"] is (verdict["answer"] == "A")
    again = carol.api("GET", "/sessions/dask/quiz").json()
    assert again["score"]["answered"] == 1
    assert again["questions"][0]["answer"] == verdict["answer"]
    r = carol.api("POST", "/sessions/dask/quiz/1", json={"choice": "Z"})
    assert r.status_code == 400 and r.json()["message"]


def test_hand_in_sends_the_saved_file_teacher_downloads_it(carol, teacher):
    opened(carol, EVALUATION)
    path = f"course/{EVALUATION}/{NOTEBOOK}"
    model = carol.contents(path)
    model["content"]["cells"].insert(
        0, {"cell_type": "markdown", "id": "carol", "metadata": {}, "source": "carol was here"}
    )
    carol.save(path, {"type": "notebook", "format": "json", "content": model["content"]})
    r = carol.api("POST", f"/sessions/{EVALUATION}/handin", json={"notebook": NOTEBOOK})
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert (receipt["user"], receipt["notebook"], receipt["late"]) == (carol.name, NOTEBOOK, False)

    mine = carol.api("GET", f"/sessions/{EVALUATION}/handins").json()["handins"]
    assert [h["id"] for h in mine] == [receipt["id"]]
    handed = carol.api("GET", f"/handins/{receipt['id']}")
    assert handed.status_code == 200 and "carol was here" in handed.text
    assert len(handed.content) == receipt["size"]

    r = carol.api("GET", f"/sessions/{EVALUATION}/handins.zip")
    assert r.status_code == 403 and r.json()["message"]

    assert teacher.api("GET", "/me").json()["teacher"] is True
    listed = teacher.api("GET", f"/sessions/{EVALUATION}/handins?latest=1").json()["handins"]
    assert receipt["id"] in [h["id"] for h in listed]
    assert teacher.api("GET", f"/handins/{receipt['id']}").content == handed.content
    r = teacher.api("GET", f"/sessions/{EVALUATION}/handins.zip")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/zip")
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.read(f"{carol.name}/{NOTEBOOK}") == handed.content


def test_refusals_come_through_with_the_services_sentence(carol):
    opened(carol, EVALUATION)
    r = carol.api(
        "POST", f"/sessions/{EVALUATION}/handin", json={"notebook": "00-getting-started.ipynb"}
    )
    assert 400 <= r.status_code < 500 and r.json()["message"], r.text

    # Not a notebook any more: refused, nothing stored.
    before = carol.api("GET", f"/sessions/{EVALUATION}/handins").json()["handins"]
    broken = f"course/{EVALUATION}/{NOTEBOOK}"
    carol.save(broken, {"type": "file", "format": "text", "content": "{not json"})
    r = carol.api("POST", f"/sessions/{EVALUATION}/handin", json={"notebook": NOTEBOOK})
    assert r.status_code == 400 and r.json()["reason"] == "invalid", r.text
    assert carol.api("GET", f"/sessions/{EVALUATION}/handins").json()["handins"] == before

    # After the deadline, without late hand-in.
    opened(carol, CLOSED)
    r = carol.api("POST", f"/sessions/{CLOSED}/handin", json={"notebook": CLOSED_NOTEBOOK})
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "deadline" and "no longer accepted" in r.json()["message"]

    # A notebook the session does not have: the server refuses before asking.
    r = carol.api("POST", f"/sessions/{EVALUATION}/handin", json={"notebook": "../x.ipynb"})
    assert r.status_code == 404 and json.loads(r.text)["reason"] == "unknown"
