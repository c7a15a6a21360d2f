"""The course's notebooks: committed clean, and students' copies hide the solutions."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_hub.manifest import load_manifest
from course_hub.notebooks import (
    ANSWER,
    PLACEHOLDER,
    SOLUTION,
    TEACHER,
    YOUR_ANSWER,
    problems,
    student_version,
    tags,
)

COURSE = Path(__file__).resolve().parents[2] / "course"
ALL = sorted(p.relative_to(COURSE).as_posix() for p in COURSE.rglob("*.ipynb"))
MANIFEST = load_manifest(COURSE / "course.yml", COURSE)
LISTED = {f"{s.source_folder}/{nb.path}" for s in MANIFEST.sessions for nb in s.notebooks}


@pytest.mark.parametrize("path", ALL)
def test_committed_without_outputs(path):
    assert problems(nbformat.read(COURSE / path, as_version=4)) == []


def test_every_notebook_is_in_the_program():
    assert set(ALL) == LISTED


@pytest.mark.parametrize("path", ALL)
def test_students_get_blanks_not_solutions(path):
    teacher = nbformat.read(COURSE / path, as_version=4)
    student = student_version(teacher)
    solutions = [c for c in teacher.cells if SOLUTION in tags(c)]
    answers = [c for c in teacher.cells if ANSWER in tags(c)]
    student_text = "\n".join(c.source for c in student.cells)
    for cell in solutions:
        code = [
            line
            for line in cell.source.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        for line in code:
            # A solution line may also appear elsewhere (an import); a whole solution may not.
            assert "\n".join(code) not in student_text, (path, line)
    for cell in answers:
        assert cell.source not in student_text, path
    blanks = [c for c in student.cells if c.cell_type == "code" and c.source.endswith(PLACEHOLDER)]
    emptied = [c for c in student.cells if c.cell_type == "markdown" and c.source == YOUR_ANSWER]
    assert (len(blanks), len(emptied)) == (len(solutions), len(answers)), path
    assert not any(TEACHER in tags(c) for c in student.cells)
    assert len(student.cells) == len([c for c in teacher.cells if TEACHER not in tags(c)])


def test_hands_on_sessions_have_exercises():
    for sid in ("big-data", "kubernetes", "spark", "dask", "evaluation"):
        session = MANIFEST.session(sid)
        cells = [
            c
            for nb in session.notebooks
            for c in nbformat.read(COURSE / session.source_folder / nb.path, as_version=4).cells
        ]
        assert any(SOLUTION in tags(c) for c in cells), sid
        assert session.quiz, sid
