"""Assignments in course.yml: validation (file, field and session named), the
deadline logic in the assignment's time zone, and `course-hub validate` refusing
a deadline in the past while a running hub accepts it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from course_hub.cli import main
from course_hub.manifest import ManifestError, load_manifest, parse_manifest, past_deadlines

from ..conftest import write_notebook

PARIS = "Europe/Paris"


def manifest(assignment: object, notebooks=("a.ipynb", "b.ipynb")) -> dict:
    return {
        "course": {"id": "c", "title": "C"},
        "sessions": [
            {"id": "intro", "title": "Intro", "duration": "1h"},
            {
                "id": "exam",
                "title": "Exam",
                "duration": "2h",
                "notebooks": [{"path": p, "title": p} for p in notebooks],
                "assignment": assignment,
            },
        ],
    }


def problems(assignment: object) -> list[str]:
    with pytest.raises(ManifestError) as info:
        parse_manifest(manifest(assignment), "course.yml")
    assert info.value.path == "course.yml"
    return info.value.problems


def test_an_assignment_in_its_time_zone():
    m = parse_manifest(
        manifest(
            {
                "notebooks": ["b.ipynb"],
                "deadline": "2027-01-15 18:00",
                "timezone": PARIS,
                "late_until": "2027-01-16 08:30",
            }
        )
    )
    a = m.session("exam").assignment
    assert a.deadline_at == dt.datetime(2027, 1, 15, 17, tzinfo=dt.UTC)
    model = a.model(dt.datetime(2027, 1, 15, 16, 0, tzinfo=dt.UTC))
    assert model == {
        "notebooks": ["b.ipynb"],
        "deadline": "2027-01-15T18:00:00+01:00",
        "timezone": PARIS,
        "deadline_utc": "2027-01-15T17:00:00Z",
        "late_until_utc": "2027-01-16T07:30:00Z",
        "accepts_late": True,
        "seconds_left": 3600.0,
        "open": True,
    }
    assert m.session("intro").assignment is None


def test_summer_time_counts():
    a = (
        parse_manifest(
            manifest({"notebooks": ["a.ipynb"], "deadline": "2027-07-01 18:00", "timezone": PARIS})
        )
        .session("exam")
        .assignment
    )
    assert a.model()["deadline_utc"] == "2027-07-01T16:00:00Z"


def test_yaml_datetimes_and_an_offset_that_matches_are_accepted():
    text = """\
course: {id: c, title: C}
sessions:
  - id: exam
    title: Exam
    duration: 1h
    notebooks: [{path: a.ipynb, title: A}]
    assignment:
      notebooks: [a.ipynb]
      deadline: 2027-01-15 18:00:00
      late_until: "2027-01-16T18:00:00+01:00"
      timezone: Europe/Paris
"""
    a = parse_manifest(yaml.safe_load(text)).session("exam").assignment
    assert a.deadline_at.isoformat() == "2027-01-15T18:00:00+01:00"
    assert a.late_until_at == dt.datetime(2027, 1, 16, 17, tzinfo=dt.UTC)


def at(a, **delta) -> bool | None:
    return a.lateness(a.deadline_at + dt.timedelta(**delta))


def test_on_time_late_and_refused():
    strict = (
        parse_manifest(
            manifest({"notebooks": ["a.ipynb"], "deadline": "2027-01-15 18:00", "timezone": "UTC"})
        )
        .session("exam")
        .assignment
    )
    assert at(strict, seconds=-1) is False
    assert at(strict, seconds=0) is False  # at the deadline, still on time
    assert at(strict, microseconds=1) is None
    assert not strict.model(strict.deadline_at + dt.timedelta(seconds=1))["open"]
    lenient = (
        parse_manifest(
            manifest(
                {
                    "notebooks": ["a.ipynb"],
                    "deadline": "2027-01-15 18:00",
                    "late_until": "2027-01-15 19:00",
                    "timezone": "UTC",
                }
            )
        )
        .session("exam")
        .assignment
    )
    assert at(lenient, seconds=-1) is False
    assert at(lenient, minutes=30) is True
    assert at(lenient, hours=1) is True
    assert at(lenient, hours=1, seconds=1) is None
    model = lenient.model(lenient.deadline_at + dt.timedelta(minutes=30))
    assert model["open"] and model["seconds_left"] == -1800


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        (
            {"notebooks": ["c.ipynb"], "deadline": "2027-01-15 18:00", "timezone": PARIS},
            "sessions[1] (id 'exam'): assignment.notebooks: c.ipynb is not one of the "
            "session's notebooks (a.ipynb, b.ipynb)",
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "2027-01-15 18:00", "timezone": "Mars/Base"},
            "sessions[1] (id 'exam').assignment.timezone: timezone 'Mars/Base' is not a time "
            "zone name (IANA, like Europe/Paris or UTC)",
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "2027-01-15 18:00", "timezone": "../etc"},
            "sessions[1] (id 'exam').assignment.timezone: timezone '../etc' is not a time "
            "zone name (IANA, like Europe/Paris or UTC)",
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "next friday", "timezone": PARIS},
            "sessions[1] (id 'exam').assignment: deadline 'next friday' is not a date and "
            'time like "2027-01-15 18:00"',
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "2027-02-30 18:00", "timezone": PARIS},
            "sessions[1] (id 'exam').assignment: deadline '2027-02-30 18:00' is not a date "
            'and time like "2027-01-15 18:00"',
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": dt.date(2027, 1, 15), "timezone": PARIS},
            "sessions[1] (id 'exam').assignment.deadline: give a time with the date, like "
            '"2027-01-15 18:00"',
        ),
        (
            {
                "notebooks": ["a.ipynb"],
                "deadline": "2027-01-15 18:00",
                "late_until": "2027-01-15 17:00",
                "timezone": PARIS,
            },
            "sessions[1] (id 'exam').assignment: late_until must be after the deadline",
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "2027-01-15T18:00+05:00", "timezone": PARIS},
            "sessions[1] (id 'exam').assignment: deadline '2027-01-15T18:00+05:00' has an "
            "offset that is not Europe/Paris's on that date (+0100): write the local time "
            "without an offset",
        ),
        (
            {"notebooks": [], "deadline": "2027-01-15 18:00", "timezone": PARIS},
            "sessions[1] (id 'exam').assignment.notebooks: List should have at least 1 item "
            "after validation, not 0",
        ),
        (
            {
                "notebooks": ["a.ipynb", "a.ipynb"],
                "deadline": "2027-01-15 18:00",
                "timezone": PARIS,
            },
            "sessions[1] (id 'exam'): assignment.notebooks: listed twice: a.ipynb",
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "2027-01-15 18:00"},
            "sessions[1] (id 'exam').assignment.timezone: Field required",
        ),
        (
            {"notebooks": ["a.ipynb"], "deadline": "2027-01-15 18:00", "timezone": PARIS, "x": 1},
            "sessions[1] (id 'exam').assignment.x: Extra inputs are not permitted",
        ),
    ],
    ids=[
        "unknown notebook",
        "bad time zone",
        "path as time zone",
        "not a date",
        "impossible date",
        "date without time",
        "late_until before deadline",
        "offset of another zone",
        "no notebooks",
        "notebook twice",
        "no time zone",
        "unknown key",
    ],
)
def test_mistakes_name_the_file_field_and_session(assignment, expected):
    assert problems(assignment) == [expected]


def test_a_past_deadline_is_found_but_loads_at_run_time():
    m = parse_manifest(
        manifest({"notebooks": ["a.ipynb"], "deadline": "2020-01-15 18:00", "timezone": PARIS})
    )
    assert past_deadlines(m) == [
        "sessions[1] (id 'exam').assignment.deadline: 2020-01-15 18:00 (Europe/Paris) is in "
        "the past"
    ]
    future = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    assert past_deadlines(m, now=future) == []


def course_folder(tmp_path: Path, deadline: str) -> Path:
    root = tmp_path / "course"
    data = manifest({"notebooks": ["a.ipynb"], "deadline": deadline, "timezone": PARIS})
    root.mkdir()
    (root / "course.yml").write_text(yaml.safe_dump(data))
    for nb in ("a.ipynb", "b.ipynb"):
        write_notebook(root / "exam" / nb, "1")
    return root


def test_validate_refuses_a_deadline_in_the_past(tmp_path, capsys):
    root = course_folder(tmp_path, "2020-01-15 18:00")
    load_manifest(root / "course.yml", root)  # what the hub and the service do: fine
    assert main(["validate", str(root)]) == 1
    err = capsys.readouterr().err
    assert str(root / "course.yml") in err
    assert "sessions[1] (id 'exam').assignment.deadline: 2020-01-15 18:00" in err
    assert main(["validate", str(root), "--allow-past-deadlines"]) == 0


def test_validate_lists_an_assignment(tmp_path, capsys):
    root = course_folder(tmp_path, "2099-01-15 18:00")
    assert main(["validate", str(root)]) == 0
    assert "hand in a.ipynb by 2099-01-15 18:00 (Europe/Paris)" in capsys.readouterr().out


def test_the_real_course_validates():
    root = Path(__file__).resolve().parents[2] / "course"
    assert main(["validate", str(root)]) == 0
