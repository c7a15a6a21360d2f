"""Quizzes: answers hidden until answered, kept in the student's home; the score
counts each question's first answer (after it the answer is shown)."""

from __future__ import annotations

import json

from course_hub.quiz import QuizStore

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
    assert (result["first_choice"], result["first_correct"]) == ("A", False)
    status, result = await call(jp_fetch, "POST", "sessions/intro/quiz/1", body={"choice": "B"})
    assert result["correct"] is True and result["attempts"] == 2
    # Shown the answer, the student picks it: the first answer still counts.
    assert (result["choice"], result["first_choice"], result["first_correct"]) == ("B", "A", False)

    saved = json.loads((jp_root_dir / ".course-hub" / "quiz.json").read_text())
    [entry] = saved["intro"].values()
    assert (entry["choice"], entry["first_choice"]) == ("B", "A")
    _, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    assert quiz["score"] == {"answered": 1, "correct": 0, "total": 2}
    # Right the first time: counted, whatever comes next.
    await call(jp_fetch, "POST", "sessions/intro/quiz/2", body={"choice": "C"})
    _, changed = await call(jp_fetch, "POST", "sessions/intro/quiz/2", body={"choice": "A"})
    assert (changed["correct"], changed["first_correct"]) == (False, True)
    _, quiz = await call(jp_fetch, "GET", "sessions/intro/quiz")
    assert quiz["score"] == {"answered": 2, "correct": 1, "total": 2}

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


def test_with_the_course_service_the_first_verdict_is_the_score(tmp_path):
    """The service checks each answer; the server keeps the first verdict for the score."""
    store = QuizStore(tmp_path / "quiz.json")
    questions = [
        {"index": 0, "question": "What moves data?", "choices": {"A": "map", "B": "shuffle"}},
        {"index": 1, "question": "Lazy?", "choices": {"A": "yes", "B": "no"}},
    ]
    wrong = {"correct": False, "answer": "B", "explanation": "The shuffle."}
    right = {"correct": True, "answer": "B", "explanation": "The shuffle."}
    store.record("intro", "What moves data?", "A", wrong)
    store.record("intro", "What moves data?", "B", right)  # after seeing the answer
    store.record("intro", "Lazy?", "A", {"correct": True, "answer": "A"})
    store.record("intro", "Lazy?", "B", {"correct": False, "answer": "A"})
    model = store.service_model("intro", questions)
    q1, q2 = model["questions"]
    assert (q1["choice"], q1["correct"], q1["first_choice"], q1["first_correct"]) == (
        "B",
        True,
        "A",
        False,
    )
    assert (q2["choice"], q2["correct"], q2["first_choice"], q2["first_correct"]) == (
        "B",
        False,
        "A",
        True,
    )
    assert model["score"] == {"answered": 2, "correct": 1, "total": 2}


def test_an_answers_file_from_before_keeps_its_score(tmp_path):
    """quiz.json written before first answers were kept: its latest answer stands for the first."""
    path = tmp_path / "quiz.json"
    store = QuizStore(path)
    store.record("intro", "Lazy?", "A", {"correct": True, "answer": "A"})
    data = json.loads(path.read_text())
    for entry in data["intro"].values():
        del entry["first_choice"], entry["first_correct"]
    path.write_text(json.dumps(data))
    questions = [{"index": 0, "question": "Lazy?", "choices": {"A": "yes", "B": "no"}}]
    assert store.service_model("intro", questions)["score"]["correct"] == 1
    store.record("intro", "Lazy?", "B", {"correct": False, "answer": "A"})
    q = store.service_model("intro", questions)["questions"][0]
    assert (q["choice"], q["first_choice"], q["first_correct"]) == ("B", "A", True)
