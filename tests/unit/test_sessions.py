"""Sessions: the program, and opening a session with nbgitpuller's rules.

Each test plays a student and a teacher: the student edits, deletes or adds
files in their home; the teacher changes the upstream course folder; the
student opens the session again. The student's work must always survive.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from course_hub.sync import blob_sha

from ..conftest import write_notebook
from .helpers import call


def notebook_sources(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells]


async def test_program_lists_sessions(jp_fetch):
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 200
    assert body["course"]["title"] == "Mini course"
    assert [s["id"] for s in body["sessions"]] == ["intro", "dask", "lecture"]
    intro = body["sessions"][0]
    assert intro["duration_minutes"] == 90
    assert intro["slides"] == [{"title": "Slides", "url": "https://example.org/slides.html"}]
    assert [(n["path"], n["main"], n["present"], n["modified"]) for n in intro["notebooks"]] == [
        ("a.ipynb", False, False, False),
        ("b.ipynb", True, False, False),
    ]
    assert body["sessions"][1]["cluster"]["workers"] == 2
    assert body["content_error"] is None


async def test_unknown_session_is_404(jp_fetch):
    for method, path in [("GET", "sessions/nope"), ("POST", "sessions/nope/open")]:
        status, body = await call(jp_fetch, method, path)
        assert status == 404
        assert body["message"] == "There is no session 'nope' in this course."
    status, body = await call(jp_fetch, "POST", "sessions/..%2F..%2Fetc/open")
    assert status == 404


async def test_open_brings_the_notebooks_then_is_idempotent(jp_fetch, jp_root_dir):
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    assert report["added"] == [
        "course/intro/a.ipynb",
        "course/intro/b.ipynb",
        "course/intro/data.csv",
    ]
    assert report["open"] == "course/intro/b.ipynb"
    assert report["folder"] == "course/intro"
    assert (jp_root_dir / "course/intro/a.ipynb").is_file()
    assert all(n["present"] and not n["modified"] for n in report["notebooks"])

    status, again = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    assert again["added"] == again["updated"] == again["kept"] == []

    status, body = await call(jp_fetch, "GET", "sessions/intro")
    assert body["opened"] is True


async def test_lecture_without_files(jp_fetch):
    status, report = await call(jp_fetch, "POST", "sessions/lecture/open")
    assert status == 200
    assert report["open"] is None and report["added"] == []


async def test_edits_survive_upstream_changes_arrive(jp_fetch, jp_root_dir, mini_course):
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"

    # The student edits notebook A and deletes the data file.
    nb = nbformat.read(home / "a.ipynb", as_version=4)
    nb.cells[1].source = "print('my own answer')"
    nbformat.write(nb, home / "a.ipynb")
    (home / "data.csv").unlink()
    _, body = await call(jp_fetch, "GET", "sessions/intro")
    assert [n["modified"] for n in body["notebooks"]] == [True, False]

    # The teacher changes notebook B, appends a cell to A, adds a file.
    write_notebook(mini_course / "intro" / "b.ipynb", "print('b, version 2')")
    up = nbformat.read(mini_course / "intro" / "a.ipynb", as_version=4)
    up.cells.append(new_code_cell("print('added by the teacher')", id="c9"))
    nbformat.write(up, mini_course / "intro" / "a.ipynb")
    write_notebook(mini_course / "intro" / "c.ipynb", "print('c')")

    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["kept"] == ["course/intro/a.ipynb"]
    assert report["updated"] == ["course/intro/b.ipynb"]
    assert report["added"] == ["course/intro/c.ipynb", "course/intro/data.csv"]
    a = notebook_sources(home / "a.ipynb")
    assert "print('my own answer')" in a  # the student's edit won
    assert "print('added by the teacher')" in a  # the non-conflicting upstream cell merged
    assert "print('b, version 2')" in notebook_sources(home / "b.ipynb")
    assert (home / "data.csv").read_text() == "x,y\n1,2\n"  # deleted file came back
    _, body = await call(jp_fetch, "GET", "sessions/intro")
    assert [n["modified"] for n in body["notebooks"]] == [True, False]


async def test_conflicting_edit_keeps_the_students_version(jp_fetch, jp_root_dir, mini_course):
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"
    write_notebook(home / "b.ipynb", "print('student')")
    write_notebook(mini_course / "intro" / "b.ipynb", "print('teacher')")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    assert report["kept"] == ["course/intro/b.ipynb"]
    sources = notebook_sources(home / "b.ipynb")
    assert "print('student')" in sources and "print('teacher')" not in sources


async def test_students_own_file_is_renamed_not_overwritten(jp_fetch, jp_root_dir, mini_course):
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"
    (home / "notes.md").write_text("my notes")
    (mini_course / "intro" / "notes.md").write_text("teacher's notes")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    assert report["added"] == ["course/intro/notes.md"]
    [renamed] = report["renamed"]
    assert renamed["from"] == "course/intro/notes.md"
    assert (jp_root_dir / renamed["to"]).read_text() == "my notes"
    assert (home / "notes.md").read_text() == "teacher's notes"


async def test_folder_that_is_not_a_clone_is_backed_up(jp_fetch, jp_root_dir):
    home = jp_root_dir / "course" / "intro"
    home.mkdir(parents=True)
    (home / "a.ipynb").write_text("my work, made before the session existed")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    backup = jp_root_dir / report["backup"]
    assert backup.name.startswith("intro_backup_")
    assert (backup / "a.ipynb").read_text() == "my work, made before the session existed"
    assert "course/intro/a.ipynb" in report["added"]


async def test_upstream_cache_wiped_is_rebuilt(jp_fetch, jp_root_dir, cache_dir, mini_course):
    """More cases in test_sync_truth.py::test_clearing_the_cache_loses_nothing."""
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"
    write_notebook(home / "a.ipynb", "print('mine')")
    subprocess.run(["rm", "-rf", str(cache_dir)], check=True)  # e.g. the cache was wiped
    write_notebook(mini_course / "intro" / "b.ipynb", "print('b, version 2')")
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert "backup" not in report
    assert "print('mine')" in notebook_sources(home / "a.ipynb")
    assert "print('b, version 2')" in notebook_sources(home / "b.ipynb")


async def test_two_opens_at_once_do_not_corrupt(jp_fetch, jp_root_dir, mini_course):
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"
    write_notebook(home / "a.ipynb", "print('mine')")
    write_notebook(mini_course / "intro" / "b.ipynb", "print('new b')")
    results = await asyncio.gather(
        *(call(jp_fetch, "POST", "sessions/intro/open") for _ in range(4))
    )
    assert [status for status, _ in results] == [200] * 4
    kept = [r["kept"] for _, r in results]
    assert all(k == ["course/intro/a.ipynb"] for k in kept)
    assert sum(r["updated"] == ["course/intro/b.ipynb"] for _, r in results) == 1
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=home, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    assert "print('mine')" in notebook_sources(home / "a.ipynb")


async def test_symlink_in_content_is_refused(jp_fetch, mini_course, jp_root_dir):
    (mini_course / "intro" / "secret").symlink_to("/etc/passwd")
    status, body = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 503 and body["reason"] == "content"
    assert "symbolic link" in body["message"]
    assert not (jp_root_dir / "course" / "intro").exists()


async def test_modified_flag_uses_git_blob_ids(jp_fetch, jp_root_dir):
    await call(jp_fetch, "POST", "sessions/intro/open")
    path = jp_root_dir / "course" / "intro" / "a.ipynb"
    out = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    )
    assert blob_sha(path.read_bytes()) == out.stdout.strip()


async def test_bad_bodies(jp_fetch):
    status, body = await call(jp_fetch, "POST", "sessions/intro/open", body="{not json")
    assert status == 400 and body["message"] == "The request body is not valid JSON."
    status, body = await call(jp_fetch, "POST", "sessions/intro/open", body=json.dumps([1]))
    assert status == 400
    status, body = await call(jp_fetch, "POST", "sessions/intro/open", body="x" * 70000)
    assert status == 413


async def test_broken_notebook_in_the_content_changes_nothing(jp_fetch, jp_root_dir, mini_course):
    await call(jp_fetch, "POST", "sessions/intro/open")
    home = jp_root_dir / "course" / "intro"
    before = {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()}
    (mini_course / "intro" / "a.ipynb").write_text('{"cells": [ oops')
    status, body = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 503 and body["reason"] == "content"
    assert "intro/a.ipynb is not a valid notebook" in body["message"]
    assert {p.name: p.read_bytes() for p in home.iterdir() if p.is_file()} == before


async def test_traversal_attempts_stay_inside(jp_fetch, jp_root_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in [
        "sessions/..%2F..%2Foutside",
        "sessions/%2e%2e/open",
        "sessions/..%252F..%252Foutside/open",
        "sessions/%2Fetc%2Fpasswd",
        "sessions/intro%2F..%2F..%2Foutside/open",
        "sessions/intro%00/open",
        "clusters/..%2F..%2Fapi",
        "clusters/%2e%2e%2f%2e%2e",
    ]:
        method = "POST" if path.endswith("/open") else "GET"
        status, body = await call(jp_fetch, method, path)
        assert status in (400, 404), (path, status, body)
    assert list(outside.iterdir()) == []
    assert not (jp_root_dir / "course").exists()  # nothing was opened
