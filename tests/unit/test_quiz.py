"""Quizzes: answers hidden until answered, kept in the student's home."""

from __future__ import annotations

import json

from .helpers import call


async def test_quiz_flow(jp_fetch, jp_root_dir, mini_course):
    status, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    assert status == 200
    assert quiz["score"] == {"answered": 0, "correct": 0, "total": 2}
    first = quiz["questions"][0]
    assert first["choices"] == {"A": "map", "B": "shuffle", "C": "reduce"}
    assert "answer" not in first and "explanation" not in first  # no peeking

    status, result = await call(jp_fetch, "POST", "sessions/intro/quiz/1", body={"choice": "A"})
    assert status == 200
    assert (result["correct"], result["answer"], result["explanation"]) == (
        False,
        "B",
        "The shuffle.",
    )
    status, result = await call(jp_fetch, "POST", "sessions/intro/quiz/1", body={"choice": "B"})
    assert result["correct"] is True and result["attempts"] == 2

    saved = json.loads((jp_root_dir / ".course-hub" / "quiz.json").read_text())
    [entry] = saved["intro"].values()
    assert entry["choice"] == "B"
    _, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    assert quiz["score"] == {"answered": 1, "correct": 1, "total": 2}

    # The teacher rewrites the question: its old answer no longer applies.
    manifest = mini_course / "course.yml"
    manifest.write_text(manifest.read_text().replace("What moves data", "Which step moves data"))
    _, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    assert quiz["questions"][0]["choice"] is None


async def test_bad_answers(jp_fetch):
    for path, body, status in [
        ("sessions/intro/quiz/9", {"choice": "A"}, 404),
        ("sessions/intro/quiz/0", {"choice": "A"}, 404),
        ("sessions/intro/quiz/1", {"choice": "Z"}, 400),
        ("sessions/intro/quiz/1", {"choice": 1}, 400),
        ("sessions/intro/quiz/1", {"pick": "A"}, 400),
        ("sessions/nope/quiz/1", {"choice": "A"}, 404),
        ("sessions/lecture/quiz/1", {"choice": "A"}, 404),
    ]:
        code, reply = await call(jp_fetch, "POST", path, body=body)
        assert code == status, (path, body, reply)
        assert reply["message"]


async def test_damaged_answers_file_is_kept_aside(jp_fetch, jp_root_dir):
    folder = jp_root_dir / ".course-hub"
    folder.mkdir()
    (folder / "quiz.json").write_text("{not json")
    status, _ = await call(jp_fetch, "POST", "sessions/intro/quiz/2", body={"choice": "C"})
    assert status == 200
    assert (folder / "quiz.damaged.json").read_text() == "{not json"
