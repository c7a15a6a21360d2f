"""The course service reading the teacher's git repository, for real.

A real local repository (``file://``) whose course lives in a subfolder
(``COURSE_CONTENT_SUBDIR=teaching/term-2027``), beside a decoy ``course/``
folder that the default layout would pick; the real service process run by a
real hub (tests/integration/test_service.py's fixtures), refreshing at every
request. Checked: the program, snapshots and hand-ins come from the subfolder
(student version for students); a push is followed; a push that breaks
``course.yml`` (bad YAML, then a bad field) keeps the last good program, with
the error for the teacher, until a fixed push replaces it.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import git, make_mini_course
from ..hubclient import Deadline
from .test_service import CANARY, ServiceHub, handin_notebook, service_hub, write_course

SUBDIR = "teaching/term-2027"
BRANCH = "term-1"


def head(repo: Path) -> str:
    """The commit the teacher's branch is at."""
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The teacher's repository: the course in a subfolder, a decoy course at course/."""
    root = tmp_path_factory.mktemp("teacher") / "teaching-repo"
    write_course(root / SUBDIR)
    make_mini_course(root / "course")  # what the default layout would read
    (root / "README.md").write_text("Our teaching material.\n")
    git("init", "-q", "-b", BRANCH, cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "term 2027", cwd=root)
    return root


@pytest.fixture(scope="module")
def hub(tmp_path_factory, repo) -> Iterator[ServiceHub]:
    env = {
        "COURSE_CONTENT_REPO": f"file://{repo}",
        "COURSE_CONTENT_BRANCH": BRANCH,
        "COURSE_CONTENT_SUBDIR": SUBDIR,
        "COURSE_CONTENT_REFRESH_INTERVAL": "0",
    }
    with service_hub(tmp_path_factory.mktemp("git-hub"), "service-git-hub", env) as h:
        yield h


def program(hub: ServiceHub, who: str = "alice") -> dict:
    r = hub.call(who, "GET", "api/course")
    assert r.status_code == 200, r.text
    return r.json()


def outline(model: dict) -> list[tuple]:
    """The program without its clock-dependent parts (seconds left)."""
    return [(s["id"], s["title"], json.dumps(s["notebooks"])) for s in model["sessions"]]


def snapshot_files(hub: ServiceHub, who: str, session: str) -> dict[str, bytes]:
    r = hub.call(who, "GET", f"api/sessions/{session}/snapshot")
    assert r.status_code == 200, r.text
    return {f["path"]: base64.b64decode(f["content_b64"]) for f in r.json()["files"]}


def hand_in(hub: ServiceHub, who: str, text: str):
    return hub.call(
        who,
        "POST",
        "api/sessions/exam/handins",
        params={"notebook": "exam.ipynb"},
        data=handin_notebook(text),
        headers={"Content-Type": "application/x-ipynb+json"},
    )


def push(repo: Path, message: str) -> str:
    git("add", "-A", cwd=repo)
    git("commit", "-qm", message, cwd=repo)
    return head(repo)


def wait_revision(hub: ServiceHub, revision: str) -> dict:
    """The service has fetched ``revision`` (it fetches at every request here)."""
    deadline = Deadline(30, f"the service to fetch {revision[:12]}")
    model: dict = {}
    while deadline:
        model = program(hub)
        if model["revision"] == revision:
            return model
        time.sleep(0.3)
    deadline.fail(model.get("revision"))
    raise AssertionError  # unreachable


def wait_error(hub: ServiceHub) -> dict:
    """The service has fetched a push it does not use, and says why."""
    deadline = Deadline(30, "the service to report the broken push")
    model: dict = {}
    while deadline:
        model = program(hub)
        if model["content_error"]:
            return model
        time.sleep(0.3)
    deadline.fail(model)
    raise AssertionError  # unreachable


def test_the_course_comes_from_the_subfolder_of_the_repository(hub, repo):
    model = program(hub)
    assert model["course"]["title"] == "Service test course"  # not the decoy's "Mini course"
    assert [s["id"] for s in model["sessions"]] == ["intro", "exam", "closed"]
    assert model["revision"] == head(repo) and model["content_error"] is None
    assert hub.call("alice", "GET", "api/sessions/dask/snapshot").status_code == 404
    student = snapshot_files(hub, "alice", "exam")
    assert sorted(student) == ["data.csv", "exam.ipynb", "sub/extra.ipynb"]
    assert student["data.csv"] == (repo / SUBDIR / "exam" / "data.csv").read_bytes()
    assert not any(CANARY.encode() in data for data in student.values())
    teacher = snapshot_files(hub, "teacher", "exam")
    assert teacher["exam.ipynb"] == (repo / SUBDIR / "exam" / "exam.ipynb").read_bytes()
    assert CANARY.encode() in teacher["exam.ipynb"]
    presets = hub.call("gateway", "GET", "api/presets")
    assert presets.json() == {"intro": {"worker_cores": 1, "worker_memory": 1.5}}
    assert hand_in(hub, "alice", "from the subfolder's program").status_code == 201


def test_a_push_is_followed(hub, repo):
    extra = [
        {
            "id": "pushed",
            "title": "Pushed during the term",
            "duration": "1h",
            "notebooks": [{"path": "p.ipynb", "title": "P"}],
        }
    ]
    write_course(repo / SUBDIR, extra)
    model = wait_revision(hub, push(repo, "a session more"))
    assert model["sessions"][-1]["id"] == "pushed" and model["content_error"] is None
    assert list(snapshot_files(hub, "bob", "pushed")) == ["p.ipynb"]


BROKEN = {
    "bad YAML": ("course: [\n  title: oops\n", "not valid YAML"),
    "a bad field": (None, "duration"),  # a session whose duration is not one
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_push_keeps_the_last_good_program(hub, repo, kind):
    good = program(hub)
    assert good["content_error"] is None
    receipts_before = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    manifest = repo / SUBDIR / "course.yml"
    kept = manifest.read_text()
    text, problem = BROKEN[kind]
    if text is None:
        text = kept.replace("duration: 2h", "duration: two hours", 1)
        assert text != kept
    manifest.write_text(text)
    broken = push(repo, f"oops: {kind}")

    model = wait_error(hub)  # fetched, and not used: the checkout stays at the good commit
    assert model["revision"] == good["revision"] != broken
    assert broken[:12] in model["content_error"]
    assert outline(model) == outline(good)
    assert model["course"] == good["course"]
    assert "course.yml" in model["content_error"] and problem in model["content_error"], model
    for who in ("alice", "teacher", "gateway"):
        assert (
            hub.call(who, "GET", "api/course").json()["content_error"] == (model["content_error"])
        )
    # The term goes on with the kept program: snapshots, the quiz, presets, hand-ins.
    student = snapshot_files(hub, "alice", "exam")
    assert "exam.ipynb" in student and not any(CANARY.encode() in d for d in student.values())
    assert hub.call("alice", "GET", "api/sessions/intro/quiz").status_code == 200
    assert hub.call("gateway", "GET", "api/presets").json() == {
        "intro": {"worker_cores": 1, "worker_memory": 1.5}
    }
    r = hand_in(hub, "bob", f"handed in after a broken push ({kind})")
    assert r.status_code == 201, r.text
    after = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    assert [h["id"] for h in after[1:]] == [h["id"] for h in receipts_before]

    # The teacher fixes it: the new program replaces the kept one.
    manifest.write_text(kept)
    fixed = wait_revision(hub, push(repo, "fixed"))
    assert fixed["content_error"] is None and outline(fixed) == outline(good)
