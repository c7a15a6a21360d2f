"""Course content from a git repository: how teachers update it during the term."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import git, make_mini_course, server_config, write_notebook
from .helpers import call


@pytest.fixture
def teacher_repo(tmp_path: Path) -> Path:
    """A teacher's repository laid out like this project (course/ at its top)."""
    repo = tmp_path / "teacher"
    make_mini_course(repo / "course")
    (repo / "README.md").write_text("teacher's repo\n")
    git("init", "-q", "-b", "term-1", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "content", cwd=repo)
    return repo


@pytest.fixture
def jp_server_config(teacher_repo, gateway, cache_dir):
    return server_config(
        content_repo=f"file://{teacher_repo}",
        content_branch="term-1",
        content_refresh_interval=0.0,
        cache_dir=str(cache_dir),
        gateway_address=gateway.address,
    )


async def test_sessions_come_from_the_repository(jp_fetch, jp_root_dir, teacher_repo):
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200, body
    assert body["course"]["title"] == "Mini course"

    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    assert "course/intro/a.ipynb" in report["added"]

    # The teacher pushes a change and a new session; students get both.
    write_notebook(teacher_repo / "course" / "intro" / "b.ipynb", "print('pushed')")
    manifest = teacher_repo / "course" / "course.yml"
    manifest.write_text(
        manifest.read_text() + "  - id: extra\n    title: Extra\n    duration: 1h\n"
    )
    git("commit", "-qam", "update", cwd=teacher_repo)
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert report["updated"] == ["course/intro/b.ipynb"]
    status, body = await call(jp_fetch, "GET", "sessions")
    assert [s["id"] for s in body["sessions"]][-1] == "extra"


async def test_a_broken_push_keeps_the_last_good_program(jp_fetch, teacher_repo):
    status, _ = await call(jp_fetch, "GET", "sessions")
    assert status == 200
    (teacher_repo / "course" / "course.yml").write_text("course: {id: x}\nsessions: []\n")
    git("commit", "-qam", "oops", cwd=teacher_repo)
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200
    assert body["course"]["title"] == "Mini course"
    assert "course.title: Field required" in body["content_error"]


EXTRA_SESSION = """\
  - id: extra
    title: Extra
    duration: 1h
    cluster:
      workers: 0
      worker_cores: 2
      worker_memory: 1.5
"""


def push_extra_session(repo: Path) -> None:
    """The teacher adds a session with its own cluster preset during the term."""
    manifest = repo / "course" / "course.yml"
    manifest.write_text(manifest.read_text() + EXTRA_SESSION)
    git("commit", "-qam", "a session with a cluster", cwd=repo)


async def test_a_new_session_preset_works_on_a_gateway_that_does_not_know_it(
    jp_fetch, teacher_repo
):
    # This gateway was started with the old program: its session choice
    # offers no "extra". The cluster still gets the preset's cores and memory.
    push_extra_session(teacher_repo)
    status, model = await call(jp_fetch, "POST", "clusters", body={"session": "extra"})
    assert status == 201, model
    assert model["options"] == {"session": "custom", "worker_cores": 2, "worker_memory": 1.5}
    status, _ = await call(jp_fetch, "DELETE", f"clusters/{model['name']}")
    assert status == 204
