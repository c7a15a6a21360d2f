"""A hub whose course comes from the teacher's git repository.

Teachers publish during the term by pushing; students' servers and the
gateway follow the same repository, so a session added with its own cluster
preset works at once from the sidebar's "New cluster" and from notebook code
(``gateway.new_cluster(session=...)``), with no restart.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ..conftest import git
from ..hubclient import Deadline
from .conftest import REPO, start_hub

EXTRA_SESSION = """\
  - id: extra-practice
    title: Extra practice
    duration: 1h
    summary: Added by the teacher during the term.
    cluster:
      workers: 1
      worker_cores: 1
      worker_memory: 1.5
"""


@pytest.fixture(scope="module")
def teacher_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("teacher") / "course-repo"
    shutil.copytree(REPO / "course", repo / "course")
    git("init", "-q", "-b", "term-1", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "the course", cwd=repo)
    return repo


@pytest.fixture(scope="module")
def git_hub(tmp_path_factory, teacher_repo, request):
    hub = start_hub(
        tmp_path_factory.mktemp("git-hub"),
        "e2e-git-hub",
        env={
            "COURSE_CONTENT_REPO": f"file://{teacher_repo}",
            "COURSE_CONTENT_BRANCH": "term-1",
            "COURSE_CONTENT_REFRESH_INTERVAL": "0",
        },
    )
    yield hub
    hub.stop()
    if request.session.testsfailed:
        print(f"\n--- last lines of {hub.log_path} ---\n{hub.log_tail()}")
    hub.wait_all_stopped()


def test_a_session_pushed_during_the_term_gets_its_cluster(git_hub, teacher_repo):
    student = git_hub.student("carol")
    student.login()
    student.start_server()
    sessions = student.api("GET", "/sessions").json()["sessions"]
    assert "extra-practice" not in [s["id"] for s in sessions]

    manifest = teacher_repo / "course" / "course.yml"
    manifest.write_text(manifest.read_text() + EXTRA_SESSION)
    git("commit", "-qam", "extra practice", cwd=teacher_repo)

    # The course service follows the repository at once (refresh interval 0);
    # a student's server asks the service again within its own 10 s.
    deadline = Deadline(30, "the pushed session in the student's program")
    while deadline:
        sessions = student.api("GET", "/sessions").json()["sessions"]
        if sessions[-1]["id"] == "extra-practice":
            break
        time.sleep(0.5)
    else:
        deadline.fail([s["id"] for s in sessions])
    fields = {f["field"]: f for f in student.api("GET", "/cluster-options").json()["fields"]}
    assert "extra-practice" in fields["session"]["options"]

    r = student.api("POST", "/clusters", json={"session": "extra-practice"})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    try:
        model = student.wait_cluster(name, 1)
        assert model["session"] == "extra-practice"
        assert model["cores"] == 1 and model["memory"] == int(1.5 * 2**30)
        # The same preset from notebook code, through the gateway itself.
        out = student.run_code(
            [
                "from dask_gateway import Gateway\n"
                "gateway = Gateway()\n"
                "opts = gateway.cluster_options()\n"
                "opts.session = 'extra-practice'\n"
                "print(opts.session)"
            ]
        )
        assert out[0].strip() == "extra-practice"
    finally:
        r = student.api("DELETE", f"/clusters/{name}")
    assert r.status_code == 204
