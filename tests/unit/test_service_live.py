"""The live quiz's logic, without HTTP (course_hub/service/live.py): open, answer,
change one's mind, close, reveal, what each side sees, long-polls that wake on
the right changes only, who is online, the CSV, and a restart that loses nothing
(a real SQLite file)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from course_hub.errors import CourseError
from course_hub.manifest import parse_manifest
from course_hub.service.live import (
    CSV_COLUMNS,
    LiveAnswer,
    LiveQuiz,
    NewQuestion,
    parse_choice,
    parse_question,
)

T0 = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
QUESTION = NewQuestion("Which step moves data?", ["map", "shuffle", "reduce"], 1, "The shuffle.")
TEACHER_ONLY = {"counts", "answered", "online"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def make(db: Path, clock: Clock | None = None, **kw) -> LiveQuiz:
    engine = create_engine(f"sqlite:///{db}")
    return LiveQuiz(engine, now=clock or Clock(), **kw)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "live.sqlite"


def test_open_answer_change_close_reveal_and_what_each_side_sees(db):
    async def body() -> None:
        live = make(db)
        opened = await live.open(QUESTION, "teacher")
        qid = opened["id"]
        assert opened["state"] == "open" and opened["answer"] == 1
        assert opened["counts"] == [0, 0, 0] and opened["answered"] == 0
        assert opened["opened_at"] == "2027-03-01T09:00:00.000Z"

        # A student: the question, their own choice, never the counts or the answer.
        seen = await live.current("alice", teacher=False)
        q = seen["question"]
        assert not TEACHER_ONLY & set(q)
        assert (q["answer"], q["explanation"], q["my_answer"]) == (None, None, None)

        mine = await live.answer("alice", qid, 0)
        assert mine["my_answer"] == 0 and not TEACHER_ONLY & set(mine) and mine["answer"] is None
        await live.answer("bob", qid, 1)
        await live.answer("carol", qid, 1)
        changed = await live.answer("alice", qid, 1)  # alice changes her mind
        assert changed["my_answer"] == 1
        teacher = (await live.current("teacher", teacher=True))["question"]
        assert teacher["counts"] == [0, 3, 0] and teacher["answered"] == 3

        closed = await live.close_question(qid)
        assert closed["state"] == "closed" and closed["closed_at"]
        with pytest.raises(CourseError) as late:
            await live.answer("dave", qid, 0)
        assert (late.value.status, late.value.reason) == (409, "closed")
        q = (await live.current("alice", teacher=False))["question"]
        assert q["state"] == "closed" and q["answer"] is None and q["my_answer"] == 1

        revealed = await live.reveal(qid)
        assert revealed["state"] == "revealed" and revealed["revealed_at"]
        q = (await live.current("bob", teacher=False))["question"]
        assert (q["answer"], q["explanation"], q["my_answer"]) == (1, "The shuffle.", 1)
        assert not TEACHER_ONLY & set(q)
        assert (await live.reveal(qid))["revealed_at"] == revealed["revealed_at"]  # once
        with pytest.raises(CourseError) as after:
            await live.answer("bob", qid, 2)
        assert after.value.status == 409

        # The first choice is kept beside the latest.
        with live._db() as s:
            row = s.scalars(select(LiveAnswer).where(LiveAnswer.user == "alice")).one()
            assert (row.first_choice, row.choice, row.changes) == (0, 1, 1)
        live.close()

    run(body())


def test_reveal_closes_an_open_question_and_opening_another_closes_the_first(db):
    async def body() -> None:
        live = make(db)
        first = await live.open(QUESTION, "teacher")
        second = await live.open(NewQuestion("Lazy?", ["yes", "no"]), "teacher")
        assert (await live.get(first["id"]))["state"] == "closed"
        assert (await live.current("alice", False))["question"]["id"] == second["id"]
        revealed = await live.reveal(second["id"])
        assert revealed["state"] == "revealed" and revealed["closed_at"]
        assert revealed["answer"] is None  # a question without an answer key
        history = await live.history()
        assert [q["id"] for q in history] == [second["id"], first["id"]]
        live.close()

    run(body())


def test_unknown_questions_and_choices_out_of_range(db):
    async def body() -> None:
        live = make(db)
        qid = (await live.open(QUESTION, "teacher"))["id"]
        for call in (
            live.answer("alice", qid + 1, 0),
            live.get(qid + 1),
            live.close_question(qid + 1),
            live.reveal(qid + 1),
            live.results_csv(qid + 1),
        ):
            with pytest.raises(CourseError) as exc:
                await call
            assert exc.value.status == 404 and exc.value.message
        for choice in (-1, 3):
            with pytest.raises(CourseError) as exc:
                await live.answer("alice", qid, choice)
            assert exc.value.status == 400 and "0 to 2" in exc.value.message
        assert (await live.get(qid))["answered"] == 0
        live.close()

    run(body())


def test_answer_bodies_are_validated():
    assert parse_choice({"choice": 2}) == 2
    for bad in ({}, {"choice": "A"}, {"choice": True}, {"choice": 1.0}, {"choice": 1, "x": 1}):
        with pytest.raises(CourseError) as exc:
            parse_choice(bad)
        assert exc.value.status == 400


MANIFEST = parse_manifest(
    {
        "course": {"id": "c", "title": "C"},
        "sessions": [
            {
                "id": "intro",
                "title": "Intro",
                "duration": "1h",
                "quiz": [
                    {
                        "question": "What moves data?",
                        "choices": {"B": "shuffle", "A": "map"},
                        "answer": "B",
                        "explanation": "The shuffle.",
                    }
                ],
            }
        ],
    }
)


def test_questions_come_from_a_session_quiz_or_are_typed_in():
    q = parse_question({"session": "intro", "number": 0}, lambda: MANIFEST)
    assert (q.text, q.choices, q.answer, q.explanation) == (
        "What moves data?",
        ["map", "shuffle"],
        1,
        "The shuffle.",
    )
    assert (q.session, q.number) == ("intro", 0)
    typed = parse_question({"text": " Lazy? ", "choices": ["yes", "no"]}, lambda: MANIFEST)
    assert (typed.text, typed.answer, typed.explanation, typed.session) == (
        "Lazy?",
        None,
        None,
        None,
    )
    for body, status in [
        ({"session": "intro", "number": 1}, 404),
        ({"session": "nope", "number": 0}, 404),
        ({"session": "intro", "number": "0"}, 400),
        ({"session": "intro"}, 400),
        ({}, 400),
        ({"text": "Q", "choices": ["only one"]}, 400),
        ({"text": "Q", "choices": ["a", "b", "c", "d", "e", "f"]}, 400),
        ({"text": "Q", "choices": ["a", ""]}, 400),
        ({"text": "Q", "choices": ["a", 2]}, 400),
        ({"text": "", "choices": ["a", "b"]}, 400),
        ({"text": "Q", "choices": ["a", "b"], "answer": 2}, 400),
        ({"text": "Q", "choices": ["a", "b"], "answer": True}, 400),
        ({"text": "Q", "choices": ["a", "b"], "explanation": 3}, 400),
        ({"text": "Q", "choices": ["a", "b"], "session": "intro"}, 400),
        ({"text": "Q", "choices": ["a", "b"], "colour": "red"}, 400),
    ]:
        with pytest.raises(CourseError) as exc:
            parse_question(body, lambda: MANIFEST)
        assert exc.value.status == status, body
        assert exc.value.message


def test_a_students_poll_wakes_on_open_and_reveal_not_on_others_answers(db):
    async def body() -> None:
        live = make(db, poll_seconds=5)
        v0 = (await live.current("alice", False))["version"]
        waiting = asyncio.create_task(live.current("alice", False, after=v0))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        t0 = time.monotonic()
        qid = (await live.open(QUESTION, "teacher"))["id"]
        woke = await asyncio.wait_for(waiting, 2)
        assert time.monotonic() - t0 < 1 and woke["question"]["id"] == qid
        v1 = woke["version"]
        assert v1 > v0

        student = asyncio.create_task(live.current("alice", False, after=v1))
        teacher = asyncio.create_task(live.current("teacher", True, after=v1))
        await asyncio.sleep(0.1)
        await live.answer("bob", qid, 2)
        seen = await asyncio.wait_for(teacher, 2)
        assert seen["version"] > v1 and seen["question"]["counts"] == [0, 0, 1]
        await asyncio.sleep(0.2)
        assert not student.done()  # bob's answer is none of alice's business
        await live.reveal(qid)
        got = await asyncio.wait_for(student, 2)
        assert got["question"]["answer"] == 1 and got["version"] > v1
        live.close()

    run(body())


def test_a_poll_with_nothing_new_answers_after_the_poll_time_and_a_stale_version_at_once(db):
    async def body() -> None:
        live = make(db, poll_seconds=0.3)
        await live.open(QUESTION, "teacher")
        v = (await live.current("alice", False))["version"]
        t0 = time.monotonic()
        again = await live.current("alice", False, after=v)
        assert 0.25 < time.monotonic() - t0 < 1.5 and again["version"] == v
        t0 = time.monotonic()
        await live.current("alice", False, after=v + 1000)  # from a previous run
        assert time.monotonic() - t0 < 0.1
        live.close()

    run(body())


def test_online_counts_pending_polls_and_recent_students_only(db):
    async def body() -> None:
        live = make(db, poll_seconds=0.5, online_seconds=0.3)
        qid = (await live.open(QUESTION, "teacher"))["id"]
        v = live.public_version
        polls = [asyncio.create_task(live.current(u, False, after=v)) for u in ("a", "b")]
        await live.current("teacher", True)  # teachers are not counted
        await asyncio.sleep(0.05)
        assert (await live.get(qid))["online"] == 2
        await live.answer("c", qid, 0)
        assert (await live.get(qid))["online"] == 3
        await asyncio.gather(*polls)
        await asyncio.sleep(0.4)
        assert (await live.get(qid))["online"] == 0
        live.close()

    run(body())


def test_a_restart_keeps_the_open_question_its_answers_and_the_version_grows(db):
    async def body() -> tuple[int, int]:
        live = make(db)
        qid = (await live.open(QUESTION, "teacher"))["id"]
        for user, choice in (("alice", 0), ("bob", 1), ("alice", 2)):
            await live.answer(user, qid, choice)
        version = live.version
        live.close()
        return qid, version

    qid, version = run(body())

    async def after_restart() -> None:
        live = make(db)
        assert live.version == version
        seen = await live.current("teacher", True)
        q = seen["question"]
        assert q["id"] == qid and q["state"] == "open" and q["counts"] == [0, 1, 1]
        assert (await live.current("alice", False))["question"]["my_answer"] == 2
        await live.answer("carol", qid, 1)  # still open: answers go on
        assert live.version == version + 1
        assert (await live.get(qid))["counts"] == [0, 2, 1]
        live.close()

    run(after_restart())


def test_the_current_question_is_the_last_opened_within_the_hour(db):
    async def body() -> None:
        clock = Clock()
        live = make(db, clock)
        qid = (await live.open(QUESTION, "teacher"))["id"]
        clock.now = T0 + dt.timedelta(hours=2)
        assert (await live.current("alice", False))["question"]["id"] == qid  # still open
        await live.close_question(qid)
        assert (await live.current("alice", False))["question"] is None
        assert (await live.get(qid))["id"] == qid  # kept, for the teacher
        live.close()

    run(body())


def test_results_csv_one_row_per_student_with_their_latest_choice(db):
    async def body() -> None:
        clock = Clock()
        live = make(db, clock)
        qid = (await live.open(QUESTION, "teacher"))["id"]
        for i, (user, choice) in enumerate((("bob", 1), ("alice", 0), ("alice", 1), ("eve", 2))):
            clock.now = T0 + dt.timedelta(seconds=i + 1)
            await live.answer(user, qid, choice)
        rows = list(csv.reader(io.StringIO(await live.results_csv(qid))))
        assert rows[0] == CSV_COLUMNS
        assert rows[1:] == [
            [str(qid), "2027-03-01T09:00:00.000Z", "alice", "1", "shuffle", "yes",
             "2027-03-01T09:00:03.000Z"],
            [str(qid), "2027-03-01T09:00:00.000Z", "bob", "1", "shuffle", "yes",
             "2027-03-01T09:00:01.000Z"],
            [str(qid), "2027-03-01T09:00:00.000Z", "eve", "2", "reduce", "no",
             "2027-03-01T09:00:04.000Z"],
        ]  # fmt: skip
        live.close()

    run(body())
