"""A sync that tells the truth (issue 12): failures, teacher renames, a cleared
cache, damaged clones and unusual file names.

Each test plays a student and a teacher as ``test_sessions.py`` does, and
checks both what the student's folder holds afterwards and what the API said
about it: a report or an error message must describe the folder as it is.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path

import jsonschema
import nbformat
import pytest

from course_hub.clone import parse_renamed
from course_hub.content import FolderSource
from course_hub.handlers import openapi_spec
from course_hub.manifest import Session
from course_hub.sync import SessionSync

from ..conftest import write_notebook
from .helpers import call


def sources(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


def git_out(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def validate(instance: dict, schema: str) -> None:
    """Check an answer against its schema in the published OpenAPI description."""
    jsonschema.validate(instance, {**openapi_spec(), "$ref": f"#/components/schemas/{schema}"})


def fail_merges(clone: Path) -> None:
    """Make every merge commit in the student's clone fail, as a real failure would."""
    hook = clone / ".git" / "hooks" / "pre-merge-commit"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'simulated merge failure' >&2\nexit 1\n")
    hook.chmod(0o755)


async def opened(jp_fetch, jp_root_dir: Path, session: str = "intro") -> Path:
    status, report = await call(jp_fetch, "POST", f"sessions/{session}/open")
    assert status == 200, report
    return jp_root_dir / "course" / session


# ---------------------------------------------------------------- 1. failures
async def test_failed_merge_says_what_happened_logs_and_next_try_recovers(
    jp_fetch, jp_root_dir, mini_course, caplog
):
    home = await opened(jp_fetch, jp_root_dir)
    write_notebook(home / "a.ipynb", "print('my answer')")
    (home / "notes.md").write_text("my notes")
    (home / "data.csv").unlink()
    (mini_course / "intro" / "notes.md").write_text("teacher's notes")
    write_notebook(mini_course / "intro" / "b.ipynb", "print('b, version 2')")
    fail_merges(home)

    with caplog.at_level(logging.INFO):
        status, body = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 500 and body["reason"] == "sync-failed", body
    message = body["message"]
    # Said as the folder is now: before the fix, "Your files were not changed"
    # while notes.md had been renamed aside and data.csv brought back.
    assert "were not changed" not in message
    assert "Your folder is as you left it, with your changes to a.ipynb." in message
    assert "did not arrive" in message and "server log" in message
    assert "if it fails again, your folder is moved to a backup" in message
    # nbgitpuller's own output is in the server log.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "simulated merge failure" in logged
    assert "git -c user.email=nbgitpuller@nbgitpuller.link" in logged

    # The folder is no worse than before: no half-done merge, the student's
    # files as they were (their notes under their own name again, the file
    # they deleted still deleted).
    assert not (home / ".git" / "MERGE_HEAD").exists()
    assert git_out("status", "--porcelain", "--untracked-files=no", cwd=home) == " D data.csv\n"
    assert "print('my answer')" in sources(home / "a.ipynb")
    assert (home / "notes.md").read_text() == "my notes"
    assert "print('b')" in sources(home / "b.ipynb")
    assert not (home / "data.csv").exists()
    assert not list(home.glob("notes__*"))
    _, listing = await call(jp_fetch, "GET", "sessions/intro")
    assert listing["state"] == "broken" and "last sync failed" in listing["problem"]

    # The next try recovers instead of failing the same way forever.
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    backup = jp_root_dir / report["backup"]
    assert "failed twice in a row" in report["backup_reason"]
    assert "print('my answer')" in sources(backup / "a.ipynb")
    assert (backup / "notes.md").read_text() == "my notes"
    assert "print('b, version 2')" in sources(home / "b.ipynb")
    assert (home / "notes.md").read_text() == "teacher's notes"
    _, listing = await call(jp_fetch, "GET", "sessions/intro")
    assert listing["state"] == "opened" and listing["problem"] is None


async def test_a_failure_that_goes_away_needs_no_backup(jp_fetch, jp_root_dir, mini_course):
    home = await opened(jp_fetch, jp_root_dir)
    write_notebook(home / "a.ipynb", "print('my answer')")
    write_notebook(mini_course / "intro" / "b.ipynb", "print('b, version 2')")
    fail_merges(home)
    status, body = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 500, body
    (home / ".git" / "hooks" / "pre-merge-commit").unlink()
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200 and "backup" not in report, report
    assert report["kept"] == ["course/intro/a.ipynb"]
    assert report["updated"] == ["course/intro/b.ipynb"]
    _, listing = await call(jp_fetch, "GET", "sessions/intro")
    assert listing["state"] == "opened"


async def test_a_half_done_merge_left_by_a_failure_is_backed_up(jp_fetch, jp_root_dir):
    """When git could not even undo a failed merge, nbgitpuller must not commit
    the half-merged files as the student's: the folder goes to a backup."""
    home = await opened(jp_fetch, jp_root_dir)
    write_notebook(home / "a.ipynb", "print('mine')")
    (home / ".git" / "course-hub-sync-failed").write_text("error: simulated\n")
    (home / ".git" / "MERGE_HEAD").write_text(git_out("rev-parse", "HEAD", cwd=home))
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert "half-done merge" in report["backup_reason"]
    assert "print('mine')" in sources(jp_root_dir / report["backup"] / "a.ipynb")
    assert "print('a')" in sources(home / "a.ipynb")


async def test_untracked_file_in_the_way_of_a_new_folder(jp_fetch, jp_root_dir, mini_course):
    """nbgitpuller renames a file in the way of a new file, not one in the way of
    a new folder: the merge failed after renaming notes.md aside, every time."""
    home = await opened(jp_fetch, jp_root_dir)
    (home / "notes.md").write_text("my notes")
    (home / "extra").write_text("my extra file")
    (mini_course / "intro" / "notes.md").write_text("teacher's notes")
    (mini_course / "intro" / "extra").mkdir()
    (mini_course / "intro" / "extra" / "table.csv").write_text("a,b\n")

    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert "backup" not in report
    assert report["added"] == ["course/intro/extra/table.csv", "course/intro/notes.md"]
    moved = {r["from"]: r["to"] for r in report["renamed"]}
    assert set(moved) == {"course/intro/notes.md", "course/intro/extra"}
    assert (jp_root_dir / moved["course/intro/notes.md"]).read_text() == "my notes"
    assert (jp_root_dir / moved["course/intro/extra"]).read_text() == "my extra file"
    assert (home / "extra" / "table.csv").read_text() == "a,b\n"


async def test_git_busy_in_the_folder_is_a_clear_409(jp_fetch, jp_root_dir, mini_course):
    home = await opened(jp_fetch, jp_root_dir)
    write_notebook(home / "a.ipynb", "print('mine')")
    write_notebook(mini_course / "intro" / "b.ipynb", "print('b, version 2')")
    (home / ".git" / "index.lock").write_text("")  # e.g. jupyterlab-git at work
    status, body = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 409 and body["reason"] == "sync-busy", body
    assert "print('mine')" in sources(home / "a.ipynb")
    (home / ".git" / "index.lock").unlink()
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200 and "backup" not in report, report
    assert report["kept"] == ["course/intro/a.ipynb"]


# ------------------------------------------------------------ 2. teacher renames
async def test_teacher_rename_keeps_the_students_copy_under_its_old_name(
    jp_fetch, jp_root_dir, mini_course
):
    home = await opened(jp_fetch, jp_root_dir)
    write_notebook(home / "a.ipynb", "print('a')", "print('my answer')")
    up = mini_course / "intro"
    (up / "a.ipynb").rename(up / "a_renamed.ipynb")  # edited by the student
    (up / "data.csv").rename(up / "table.csv")  # not edited by the student

    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["kept"] == ["course/intro/a.ipynb"]
    assert report["added"] == ["course/intro/a_renamed.ipynb", "course/intro/table.csv"]
    assert report["removed"] == ["course/intro/data.csv"]
    assert report["renamed"] == []
    assert "print('my answer')" in sources(home / "a.ipynb")
    assert "print('my answer')" not in sources(home / "a_renamed.ipynb")
    assert not (home / "data.csv").exists()
    assert (home / "table.csv").read_text() == "x,y\n1,2\n"


async def test_teacher_rename_onto_a_students_own_file(jp_fetch, jp_root_dir, mini_course):
    """With rename detection, nbgitpuller did not see the new name as added and
    the merge failed on the student's untracked file of that name."""
    home = await opened(jp_fetch, jp_root_dir)
    (home / "table.csv").write_text("my table")
    (mini_course / "intro" / "data.csv").rename(mini_course / "intro" / "table.csv")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    [moved] = report["renamed"]
    assert moved["from"] == "course/intro/table.csv"
    assert (jp_root_dir / moved["to"]).read_text() == "my table"
    assert (home / "table.csv").read_text() == "x,y\n1,2\n"


# ----------------------------------------------------------- 3. cache cleared
@pytest.mark.parametrize("content_changed", [False, True])
async def test_clearing_the_cache_loses_nothing(
    jp_fetch, jp_root_dir, cache_dir, mini_course, content_changed
):
    home = await opened(jp_fetch, jp_root_dir)
    write_notebook(home / "a.ipynb", "print('mine')")
    before = git_out("rev-parse", "origin/main", cwd=home).strip()
    shutil.rmtree(cache_dir)  # a student freeing space
    if content_changed:
        write_notebook(mini_course / "intro" / "b.ipynb", "print('b, version 2')")

    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert "backup" not in report
    assert not list(home.parent.glob("intro_backup_*"))
    assert report["kept"] == ["course/intro/a.ipynb"]
    assert report["added"] == report["removed"] == report["renamed"] == []
    assert report["updated"] == (["course/intro/b.ipynb"] if content_changed else [])
    assert "print('mine')" in sources(home / "a.ipynb")
    after = git_out("rev-parse", "origin/main", cwd=home).strip()
    if content_changed:
        assert "print('b, version 2')" in sources(home / "b.ipynb")
        assert git_out("rev-parse", "origin/main^", cwd=home).strip() == before
    else:
        assert after == before


def test_snapshot_commits_are_reproducible(tmp_path, mini_course):
    """The same content gives the same commit, whoever and whenever syncs it."""
    source = FolderSource(mini_course)
    session: Session = source.manifest().session("intro")
    ids = []
    for name in ("ann", "bob"):
        time.sleep(1.1)  # git dates have a one-second resolution
        sync = SessionSync(source, tmp_path / name, "course", tmp_path / f"{name}-cache")
        (tmp_path / name).mkdir()
        sync._open_locked(session)
        ids.append(git_out("rev-parse", "origin/main", cwd=sync.target(session)).strip())
    assert ids[0] == ids[1]


# ------------------------------------------------------------ 4. damaged clones
def damage(home: Path, how: str) -> None:
    dot_git = home / ".git"
    if how == "garbage-ref":
        (dot_git / "refs" / "remotes" / "origin" / "main").write_text("not a commit id\n")
    elif how == "objects-lost":
        for sub in (dot_git / "objects").iterdir():
            if len(sub.name) == 2:
                shutil.rmtree(sub)
    elif how == "index-corrupt":
        (dot_git / "index").write_bytes(b"DIRC garbage")
    elif how == "head-garbage":
        (dot_git / "HEAD").write_text("garbage\n")


@pytest.mark.parametrize("how", ["garbage-ref", "objects-lost", "index-corrupt", "head-garbage"])
async def test_one_damaged_clone_does_not_break_the_others(jp_fetch, jp_root_dir, how):
    intro = await opened(jp_fetch, jp_root_dir, "intro")
    await opened(jp_fetch, jp_root_dir, "dask")
    write_notebook(intro / "a.ipynb", "print('mine')")
    damage(intro, how)

    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200, body
    states = {s["id"]: s for s in body["sessions"]}
    assert states["dask"]["state"] == "opened" and states["dask"]["problem"] is None
    assert states["lecture"]["state"] == "new"
    if how != "index-corrupt":  # the listing does not read the index (it is polled)
        assert states["intro"]["state"] == "broken"
        assert "Open the session again to repair it" in states["intro"]["problem"]
        validate(body, "Program")
        status, one = await call(jp_fetch, "GET", "sessions/intro")
        assert status == 200 and one["state"] == "broken"

    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    backup = jp_root_dir / report["backup"]
    assert "damaged" in report["backup_reason"]
    validate(report, "OpenReport")
    assert "print('mine')" in sources(backup / "a.ipynb")
    assert "print('a')" in sources(intro / "a.ipynb")
    assert report["added"] == [
        "course/intro/a.ipynb",
        "course/intro/b.ipynb",
        "course/intro/data.csv",
    ]
    _, body = await call(jp_fetch, "GET", "sessions")
    assert {s["id"]: s["state"] for s in body["sessions"]}["intro"] == "opened"


# ------------------------------------------------------------ 5. file names
@pytest.mark.parametrize(
    "name", ["notes to self.md", "to do to the end.txt", "résumé café.md", "données 2026 ü.csv"]
)
async def test_unusual_names_of_a_students_file_in_the_way(
    jp_fetch, jp_root_dir, mini_course, name
):
    home = await opened(jp_fetch, jp_root_dir)
    (home / name).write_text("mine")
    (mini_course / "intro" / name).write_text("teacher's")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["added"] == [f"course/intro/{name}"]
    [moved] = report["renamed"]
    assert moved["from"] == f"course/intro/{name}"
    assert (jp_root_dir / moved["to"]).read_text() == "mine"
    assert (home / name).read_text() == "teacher's"


async def test_spaces_and_unicode_end_to_end(jp_fetch, jp_root_dir, mini_course):
    up = mini_course / "intro"
    write_notebook(up / "séance à faire.ipynb", "print('v1')")
    (up / "sous dossier ü").mkdir()
    (up / "sous dossier ü" / "données.csv").write_text("x\n1\n")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert "course/intro/séance à faire.ipynb" in report["added"]
    assert "course/intro/sous dossier ü/données.csv" in report["added"]
    home = jp_root_dir / "course" / "intro"

    write_notebook(home / "séance à faire.ipynb", "print('mine')")
    (home / "sous dossier ü" / "données.csv").unlink()
    write_notebook(up / "séance à faire.ipynb", "print('v2')")
    write_notebook(up / "nouveau ü.ipynb", "print('new')")
    (up / "sous dossier ü" / "données.csv").write_text("x\n1\n2\n")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["kept"] == ["course/intro/séance à faire.ipynb"]
    assert report["added"] == [
        "course/intro/nouveau ü.ipynb",
        "course/intro/sous dossier ü/données.csv",
    ]
    assert "print('mine')" in sources(home / "séance à faire.ipynb")
    assert (home / "sous dossier ü" / "données.csv").read_text() == "x\n1\n2\n"


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("/h/course/s/notes to self.md", "/h/course/s/notes to self__20261203195959.md"),
        ("/h/to do to/a to b", "/h/to do to/a to b__20261203195959"),
        ("/h/x to y/résumé.ipynb", "/h/x to y/résumé__20261203195959.ipynb"),
    ],
)
def test_parse_renamed_splits_where_nbgitpuller_joined(src, dst):
    line = f"Renamed {src} to {dst} to avoid conflict with upstream"
    assert parse_renamed(line) == (src, dst)
    assert parse_renamed("$ git fetch\n") is None
