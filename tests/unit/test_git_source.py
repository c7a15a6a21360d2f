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


async def test_a_restart_after_a_broken_push_serves_the_last_good_commit(teacher_repo, tmp_path):
    """A broken push never moves the checkout: a source started afresh on the same
    cache (a restarted service or server) serves the last good program, session
    files included, and says why the push is not used; a fix then replaces it."""
    from course_hub.content import GitSource
    from course_hub.content import git as git_out

    def source() -> GitSource:
        return GitSource(f"file://{teacher_repo}", "term-1", tmp_path / "c", refresh_interval=0)

    first = source()
    await first.refresh()
    good = first.revision
    assert first.manifest().course.title == "Mini course"

    manifest = teacher_repo / "course" / "course.yml"
    kept = manifest.read_text()
    manifest.write_text("course: {id: x}\nsessions: []\n")
    write_notebook(teacher_repo / "course" / "intro" / "a.ipynb", "print('half-pushed')")
    git("commit", "-qam", "oops", cwd=teacher_repo)
    bad = git_out("rev-parse", "HEAD", cwd=teacher_repo).strip()
    await first.refresh()
    assert first.revision == good and first.manifest().course.title == "Mini course"
    assert "course.title: Field required" in first.error.message
    assert f"commit {bad[:12]} is not used" in first.error.message

    restarted = source()  # the process restarts: nothing kept in memory
    await restarted.refresh()
    assert restarted.revision == good
    assert restarted.manifest().course.title == "Mini course"
    assert "half-pushed" not in (restarted.root / "intro" / "a.ipynb").read_text()
    assert restarted.error is not None and bad[:12] in restarted.error.message
    assert not (tmp_path / "c" / "source.trial").exists()

    git("revert", "--no-edit", "HEAD", cwd=teacher_repo)  # course.yml's bytes as they were
    await restarted.refresh()
    assert restarted.error is None and restarted.manifest().course.title == "Mini course"
    manifest.write_text(kept.replace("Mini course", "Mini course, fixed"))
    write_notebook(teacher_repo / "course" / "intro" / "a.ipynb", "print('half-pushed')")
    git("commit", "-qam", "fixed", cwd=teacher_repo)
    await restarted.refresh()
    assert restarted.revision == git_out("rev-parse", "HEAD", cwd=teacher_repo).strip()
    assert restarted.manifest().course.title == "Mini course, fixed"
    assert restarted.error is None
    assert "half-pushed" in (restarted.root / "intro" / "a.ipynb").read_text()
