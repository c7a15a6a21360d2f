"""The course as the service serves it, without HTTP: students get the students'
version of every notebook (a canary in a solution, an answer and a teacher note
never reaches them), teachers the files as written; hidden files and links never
leave; the quiz's answers only with a verdict. And the service's settings: each
trait falls back to its environment variable."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_hub.content import FolderSource
from course_hub.errors import CourseError
from course_hub.service.app import CourseService
from course_hub.service.content import CourseContent

from ..conftest import make_mini_course

CANARY = "CANARY-unit-0c1d"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def plant_canaries(path: Path) -> None:
    nb = new_notebook(cells=[new_markdown_cell("# Exercise")])
    sol = new_code_cell(f"# hint: use groupby\nresult = 42  # {CANARY}")
    sol.metadata["tags"] = ["solution"]
    ans = new_markdown_cell(f"Because {CANARY}")
    ans.metadata["tags"] = ["answer"]
    note = new_markdown_cell(f"Teacher only: {CANARY}")
    note.metadata["tags"] = ["teacher"]
    nb.cells += [sol, ans, note]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    nbformat.write(nb, path)


@pytest.fixture
def course(tmp_path) -> Path:
    root = make_mini_course(tmp_path / "course")
    plant_canaries(root / "intro" / "a.ipynb")
    (root / "intro" / ".ipynb_checkpoints").mkdir()
    (root / "intro" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(CANARY)
    (root / "intro" / ".secret").write_text(CANARY)
    (root / "intro" / "notes.md~").write_text(CANARY)
    (tmp_path / "outside.txt").write_text(CANARY)
    (root / "intro" / "link.txt").symlink_to(tmp_path / "outside.txt")
    (root / "intro" / "data").mkdir()
    (root / "intro" / "data" / "table.csv").write_text("a\n1\n")
    return root


def files(model: dict) -> dict[str, bytes]:
    return {f["path"]: base64.b64decode(f["content_b64"]) for f in model["files"]}


def test_students_get_the_students_version_teachers_the_files_as_written(course):
    content = CourseContent(FolderSource(course))
    student = content.snapshot("intro", teacher=False)
    assert student["version"] == "student" and student["session"] == "intro"
    got = files(student)
    assert sorted(got) == ["a.ipynb", "b.ipynb", "data.csv", "data/table.csv"]
    assert CANARY not in json.dumps(student) and all(
        CANARY.encode() not in b for b in got.values()
    )
    nb = nbformat.reads(got["a.ipynb"].decode(), as_version=4)
    assert nb.cells[1].source == "# hint: use groupby\n# YOUR CODE HERE"
    assert len(nb.cells) == 3
    teacher = content.snapshot("intro", teacher=True)
    assert teacher["version"] == "teacher"
    assert files(teacher)["a.ipynb"] == (course / "intro" / "a.ipynb").read_bytes()
    assert sorted(files(teacher)) == sorted(got)  # hidden files and links: for nobody
    assert student["revision"] == teacher["revision"] == content.revision
    assert student["digest"] != teacher["digest"]


def test_a_notebook_that_cannot_be_read_is_left_out_for_students(course):
    (course / "intro" / "broken.ipynb").write_text('{"cells": [' + CANARY)
    content = CourseContent(FolderSource(course))
    assert "broken.ipynb" not in files(content.snapshot("intro", teacher=False))
    assert "broken.ipynb" in files(content.snapshot("intro", teacher=True))


def test_a_snapshot_follows_the_teachers_changes(course):
    content = CourseContent(FolderSource(course))
    first = content.snapshot("intro", teacher=False)
    assert content.snapshot("intro", teacher=False) is first  # cached
    (course / "intro" / "new.txt").write_text("new")
    second = content.snapshot("intro", teacher=False)
    assert files(second)["new.txt"] == b"new" and second["digest"] != first["digest"]


def test_sessions_without_files_and_unknown_sessions(course):
    content = CourseContent(FolderSource(course))
    assert content.snapshot("lecture", teacher=False)["files"] == []
    with pytest.raises(CourseError) as info:
        content.snapshot("nope", teacher=False)
    assert info.value.status == 404


def test_the_program_presets_and_quiz_hold_no_answers(course):
    content = CourseContent(FolderSource(course))
    model = content.course_model(NOW)
    text = json.dumps(model)
    assert CANARY not in text and "shuffle" not in text.lower()
    intro = model["sessions"][0]
    assert intro["quiz_questions"] == 2 and intro["assignment"] is None
    assert intro["notebooks"][1] == {"path": "b.ipynb", "title": "Notebook B", "main": True}
    assert model["revision"].startswith("folder-") and model["content_error"] is None
    assert content.presets() == {"dask": {"worker_cores": 1, "worker_memory": 1.0}}
    quiz = content.quiz("intro", teacher=False)
    assert "answer" not in json.dumps(quiz) and len(quiz["questions"]) == 2
    assert content.quiz("intro", teacher=True)["questions"][0]["answer"] == "B"
    verdict = content.check_answer("intro", 1, "A")
    assert verdict == {
        "index": 0,
        "choice": "A",
        "correct": False,
        "answer": "B",
        "explanation": "The shuffle.",
    }
    for number, choice, status in [(3, "A", 404), (0, "A", 404), (1, "Z", 400), (1, 1, 400)]:
        with pytest.raises(CourseError) as info:
            content.check_answer("intro", number, choice)
        assert info.value.status == status


def test_a_broken_push_keeps_the_last_good_program(course):
    content = CourseContent(FolderSource(course))
    good = content.course_model(NOW)
    (course / "course.yml").write_text("course: [")
    os.utime(course / "course.yml", ns=(1, 1))
    model = content.course_model(NOW)
    assert model["sessions"] == good["sessions"]
    assert "not valid YAML" in model["content_error"]


def test_settings_fall_back_to_the_environment(monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith(("COURSE_", "JUPYTERHUB_")):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    app = CourseService()
    assert app.service_name == "course" and app.service_prefix == "/services/course/"
    assert app.service_url == "http://127.0.0.1:10101"
    assert app.state_dir == str(tmp_path)
    assert app.db_url == f"sqlite:///{tmp_path / 'course-service.sqlite'}"
    assert app.max_handin_bytes == 20 * 1024 * 1024 and app.teacher_group == "teachers"
    monkeypatch.setenv("COURSE_SERVICE_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("COURSE_MAX_HANDIN_MB", "2.5")
    monkeypatch.setenv("COURSE_SERVICE_TEACHER_GROUP", "staff")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/prefix/services/course")
    monkeypatch.setenv("COURSE_SERVICE_BIND_IP", "0.0.0.0")  # noqa: S104
    monkeypatch.setenv("COURSE_CONTENT_REPO", "https://example.org/course.git")
    app = CourseService()
    assert app.state_dir == str(tmp_path / "s")
    assert app.data_dir == str(tmp_path / "s")
    assert app.db_url.endswith("/s/course-service.sqlite")
    assert app.max_handin_bytes == int(2.5 * 1024 * 1024)
    assert app.teacher_group == "staff" and app.bind_ip == "0.0.0.0"  # noqa: S104
    assert app.service_prefix == "/prefix/services/course/"
    assert app.make_source().describe() == "git https://example.org/course.git (branch main)"
    monkeypatch.setenv("COURSE_SERVICE_DB_URL", "postgresql://u:secret@db/course")
    assert CourseService().db_url == "postgresql://u:secret@db/course"


def test_the_cookie_secret_is_made_once_private(tmp_path):
    app = CourseService(state_dir=str(tmp_path))
    secret = app.cookie_secret()
    path = Path(app.cookie_secret_file)
    assert len(secret) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert CourseService(state_dir=str(tmp_path)).cookie_secret() == secret
