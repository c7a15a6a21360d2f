"""Live questions: a teacher asks the room, students answer, the counts come in live.

One question is current at a time (the last one opened); opening another closes
it. Students answer while it is open and may change their mind (the latest
choice counts); the teacher closes it and reveals the answer. Every change is
committed to the service's database (tables ``live_questions`` and
``live_answers``) before it is acknowledged, so a restart of the service or
the hub loses no answer: :meth:`LiveQuiz.load` reads the current question and
its answers back.

Clients long-poll: ``version`` grows on every change, and a poll returns as
soon as the version it waits on differs from the one it sent (or after
``poll_seconds``). Teachers wait on every change (answers move the counts);
students only on what they can see (open, close, reveal), so an answer does
not wake the whole room. The waiters sleep on an :class:`asyncio.Event`,
replaced at each change: no busy loop.

All writes run in one thread, in order: a state check and its write are never
interleaved with another write, and SQLite sees one writer. The in-memory
copy of the current question is changed by that thread only, under a lock.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from ..errors import CourseError
from ..manifest import Manifest
from .store import Base, utcnow

MAX_TEXT = 2000
MAX_CHOICE = 500
MAX_EXPLANATION = 5000
#: Seconds a student counts as online after their last poll or answer.
ONLINE_SECONDS = 30.0
#: Seconds a long-poll waits for a change before answering with the same version.
POLL_SECONDS = 25.0
#: The current question is the last one opened, if within this many seconds (or open).
CURRENT_SECONDS = 3600.0
HISTORY_LIMIT = 500
CSV_COLUMNS = [
    "question_id",
    "opened_at",
    "user",
    "choice",
    "choice_text",
    "correct",
    "answered_at",
]


class LiveQuestion(Base):
    """A question as it was asked (its text and choices kept, whatever the course becomes)."""

    __tablename__ = "live_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session: Mapped[str | None] = mapped_column(String(64), nullable=True)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[str] = mapped_column(Text)  # a JSON list of strings
    answer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    explanation: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(255))
    # UTC, stored naive (SQLite keeps no zone), as the hand-ins.
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The live version of its last change (versions go on growing after a restart).
    version: Mapped[int] = mapped_column(Integer, default=0)


class LiveAnswer(Base):
    """A student's answer to a question: their latest choice, and their first."""

    __tablename__ = "live_answers"
    __table_args__ = (UniqueConstraint("question_id", "user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(Integer, index=True)
    user: Mapped[str] = mapped_column(String(255))
    choice: Mapped[int] = mapped_column(Integer)
    first_choice: Mapped[int] = mapped_column(Integer)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)


def iso(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    return when.replace(tzinfo=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _naive(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass
class Asked:
    """A question in memory (a row of ``live_questions``)."""

    id: int
    session: str | None
    number: int | None
    text: str
    choices: list[str]
    answer: int | None
    explanation: str | None
    state: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None = None
    revealed_at: dt.datetime | None = None

    @classmethod
    def of(cls, row: LiveQuestion) -> Asked:
        return cls(
            row.id,
            row.session,
            row.number,
            row.text,
            list(json.loads(row.choices)),
            row.answer,
            row.explanation,
            row.state,
            row.opened_at,
            row.closed_at,
            row.revealed_at,
        )

    def model(self, my_answer: int | None = None, teacher: bool = False) -> dict[str, Any]:
        """The Question model; the answer only for teachers or once revealed."""
        shown = teacher or self.state == "revealed"
        return {
            "id": self.id,
            "session": self.session,
            "number": self.number,
            "text": self.text,
            "choices": list(self.choices),
            "state": self.state,
            "opened_at": iso(self.opened_at),
            "closed_at": iso(self.closed_at),
            "revealed_at": iso(self.revealed_at),
            "my_answer": my_answer,
            "answer": self.answer if shown else None,
            "explanation": self.explanation if shown else None,
        }


@dataclass
class NewQuestion:
    """What a teacher asks: checked, ready to open."""

    text: str
    choices: list[str]
    answer: int | None = None
    explanation: str | None = None
    session: str | None = None
    number: int | None = None


def _bad(message: str) -> CourseError:
    return CourseError(400, message, "invalid")


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_question(body: dict, manifest: Callable[[], Manifest]) -> NewQuestion:
    """A teacher's request to open a question: a session's quiz question
    (``{"session", "number"}``, 0-based) or a new one (``{"text", "choices",
    "answer", "explanation"}``). ``manifest()`` is only called for the first form."""
    keys = set(body)
    if keys == {"session", "number"}:
        session_id, number = body["session"], body["number"]
        if not isinstance(session_id, str) or not _int(number):
            raise _bad('Send {"session": "<session id>", "number": <0-based question number>}.')
        session = manifest().session(session_id)  # 404 with a sentence when unknown
        if not 0 <= number < len(session.quiz):
            raise CourseError(
                404,
                f"Session {session.title!r} has {len(session.quiz)} quiz questions: "
                f"there is no question {number} (they are numbered from 0).",
                "unknown",
            )
        q = session.quiz[number]
        letters = sorted(q.choices)
        return NewQuestion(
            q.question,
            [q.choices[k] for k in letters],
            letters.index(q.answer),
            q.explanation or None,
            session.id,
            number,
        )
    if not keys or not keys <= {"text", "choices", "answer", "explanation"} or "text" not in keys:
        raise _bad(
            'Send {"session": "<id>", "number": <n>} for a question of a session\'s quiz, '
            'or {"text": "...", "choices": ["...", "..."], "answer": <index or null>, '
            '"explanation": "..." or null} for a new one.'
        )
    text, choices = body["text"], body.get("choices")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise _bad(f"The question's text must be 1 to {MAX_TEXT} characters.")
    if (
        not isinstance(choices, list)
        or not 2 <= len(choices) <= 5
        or not all(isinstance(c, str) and c.strip() and len(c) <= MAX_CHOICE for c in choices)
    ):
        raise _bad(f"Give 2 to 5 choices, each a text of 1 to {MAX_CHOICE} characters.")
    answer = body.get("answer")
    if answer is not None and not (_int(answer) and 0 <= answer < len(choices)):
        raise _bad(
            f"answer must be the index of the right choice (0 to {len(choices) - 1}), or null."
        )
    explanation = body.get("explanation")
    if explanation is not None and (
        not isinstance(explanation, str) or len(explanation) > MAX_EXPLANATION
    ):
        raise _bad(f"explanation must be a text of at most {MAX_EXPLANATION} characters, or null.")
    return NewQuestion(text.strip(), [c.strip() for c in choices], answer, explanation or None)


def parse_choice(body: dict) -> int:
    """A student's answer body ``{"choice": <index>}`` (checked against the choices later)."""
    if set(body) != {"choice"} or not _int(body["choice"]):
        raise _bad('Send {"choice": <the index of your choice, from 0>}.')
    return int(body["choice"])


NOT_FOUND = "There is no live question {id}."
CLOSED = "This question is closed: answers are no longer accepted."


@dataclass
class _Current:
    """The current question and its answers (user -> latest choice)."""

    asked: Asked
    answers: dict[str, int] = field(default_factory=dict)


class LiveQuiz:
    """The live questions of the course: plain async methods returning JSON models."""

    def __init__(
        self,
        engine: Engine,
        now: Callable[[], dt.datetime] = utcnow,
        poll_seconds: float = POLL_SECONDS,
        online_seconds: float = ONLINE_SECONDS,
        current_seconds: float = CURRENT_SECONDS,
    ) -> None:
        self.engine = engine
        Base.metadata.create_all(engine, tables=[LiveQuestion.__table__, LiveAnswer.__table__])
        self._db = sessionmaker(engine, expire_on_commit=False)
        self.now = now
        self.poll_seconds = poll_seconds
        self.online_seconds = online_seconds
        self.current_seconds = current_seconds
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="live-writer")
        self._lock = threading.Lock()
        self._current: _Current | None = None
        #: Grows on every change; ``public_version``: on changes students see.
        self.version = 0
        self.public_version = 0
        self._changed = {True: asyncio.Event(), False: asyncio.Event()}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seen: dict[str, float] = {}  # student -> monotonic time of the last poll/answer
        self._polling: Counter[str] = Counter()  # student -> polls pending
        self.load()

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    # -- the database (the writer thread) -------------------------------------

    def load(self) -> None:
        """The current question, its answers and the version, from the database."""
        with self._db() as db:
            row = db.scalars(
                select(LiveQuestion).order_by(LiveQuestion.id.desc()).limit(1)
            ).first()
            qv = db.scalar(select(func.max(LiveQuestion.version))) or 0
            av = db.scalar(select(func.max(LiveAnswer.version))) or 0
            current = None
            if row is not None:
                current = _Current(Asked.of(row))
                for a in db.scalars(select(LiveAnswer).where(LiveAnswer.question_id == row.id)):
                    current.answers[a.user] = a.choice
        with self._lock:
            self._current = current
            self.version = self.public_version = max(qv, av)

    async def _write(self, job: Callable[[], Any]) -> Any:
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._writer, job)

    def _commit_version(self, version: int, public: bool) -> None:
        """After a commit: the version is visible, the waiters woken (on the loop)."""
        with self._lock:
            self.version = version
            if public:
                self.public_version = version
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake, public)

    def _wake(self, public: bool) -> None:
        kinds = (True, False) if public else (True,)
        for teacher in kinds:
            event = self._changed[teacher]
            self._changed[teacher] = asyncio.Event()
            event.set()

    def _open_job(self, new: NewQuestion, by: str) -> Asked:
        now = _naive(self.now())
        version = self.version + 1
        with self._db.begin() as db:
            for row in db.scalars(select(LiveQuestion).where(LiveQuestion.state == "open")):
                row.state, row.closed_at, row.version = "closed", now, version
            row = LiveQuestion(
                session=new.session,
                number=new.number,
                text=new.text,
                choices=json.dumps(new.choices),
                answer=new.answer,
                explanation=new.explanation,
                state="open",
                opened_by=by,
                opened_at=now,
                version=version,
            )
            db.add(row)
            db.flush()
            asked = Asked.of(row)
        with self._lock:
            self._current = _Current(asked)
        self._commit_version(version, True)
        return asked

    def _row(self, question_id: int) -> Asked:
        with self._lock:
            current = self._current
        if current is not None and current.asked.id == question_id:
            return current.asked
        with self._db() as db:
            row = db.get(LiveQuestion, question_id)
            if row is None:
                raise CourseError(404, NOT_FOUND.format(id=question_id), "unknown")
            return Asked.of(row)

    def _answer_job(self, user: str, question_id: int, choice: int) -> Asked:
        asked = self._row(question_id)
        if asked.state != "open":
            raise CourseError(409, CLOSED, "closed")
        if not 0 <= choice < len(asked.choices):
            raise _bad(f"choice must be 0 to {len(asked.choices) - 1}: one of the choices' index.")
        now = _naive(self.now())
        version = self.version + 1
        with self._db.begin() as db:
            row = db.scalars(
                select(LiveAnswer).where(
                    LiveAnswer.question_id == question_id, LiveAnswer.user == user
                )
            ).first()
            if row is None:
                db.add(
                    LiveAnswer(
                        question_id=question_id,
                        user=user,
                        choice=choice,
                        first_choice=choice,
                        changes=0,
                        answered_at=now,
                        version=version,
                    )
                )
            else:
                row.changes += int(row.choice != choice)
                row.choice, row.answered_at, row.version = choice, now, version
        with self._lock:
            if self._current is not None and self._current.asked.id == question_id:
                self._current.answers[user] = choice
        self._commit_version(version, False)
        return asked

    def _state_job(self, question_id: int, reveal: bool) -> Asked:
        asked = self._row(question_id)
        if asked.state == "revealed" or (asked.state == "closed" and not reveal):
            return asked  # already so: nothing changes
        now = _naive(self.now())
        version = self.version + 1
        changed = replace(asked)
        if changed.state == "open":
            changed.state, changed.closed_at = "closed", now
        if reveal:
            changed.state, changed.revealed_at = "revealed", now
        with self._db.begin() as db:
            row = db.get(LiveQuestion, question_id)
            assert row is not None  # rows are never deleted
            row.state, row.closed_at, row.revealed_at = (
                changed.state,
                changed.closed_at,
                changed.revealed_at,
            )
            row.version = version
        with self._lock:
            current = self._current
            public = current is not None and current.asked.id == question_id
            if public:
                current.asked = changed
        self._commit_version(version, True)
        return changed

    # -- reading ----------------------------------------------------------------

    def _counts(self, question_id: int, choices: int) -> tuple[list[int], int]:
        with self._lock:
            current = self._current
            if current is not None and current.asked.id == question_id:
                tally = Counter(current.answers.values())
                answered = len(current.answers)
                return [tally.get(i, 0) for i in range(choices)], answered
        with self._db() as db:
            rows = db.execute(
                select(LiveAnswer.choice, func.count())
                .where(LiveAnswer.question_id == question_id)
                .group_by(LiveAnswer.choice)
            ).all()
        tally = dict(rows)
        return [tally.get(i, 0) for i in range(choices)], sum(tally.values())

    def online(self) -> int:
        """Students with a poll pending or seen within ``online_seconds``."""
        now = time.monotonic()
        stale = [u for u, t in self._seen.items() if now - t > self.online_seconds]
        for user in stale:
            if not self._polling[user]:
                del self._seen[user]
                self._polling.pop(user, None)
        return len(self._seen)

    def teacher_model(self, asked: Asked) -> dict[str, Any]:
        model = asked.model(teacher=True)
        model["counts"], model["answered"] = self._counts(asked.id, len(asked.choices))
        model["online"] = self.online()
        return model

    def student_model(self, asked: Asked, user: str) -> dict[str, Any]:
        with self._lock:
            current = self._current
            mine = None
            if current is not None and current.asked.id == asked.id:
                mine = current.answers.get(user)
        if mine is None and (current is None or current.asked.id != asked.id):
            with self._db() as db:
                mine = db.scalar(
                    select(LiveAnswer.choice).where(
                        LiveAnswer.question_id == asked.id, LiveAnswer.user == user
                    )
                )
        return asked.model(my_answer=mine)

    def _current_asked(self) -> Asked | None:
        with self._lock:
            current = self._current
        if current is None:
            return None
        asked = current.asked
        age = (_naive(self.now()) - asked.opened_at).total_seconds()
        if asked.state != "open" and age > self.current_seconds:
            return None
        return asked

    # -- the API ------------------------------------------------------------------

    async def open(self, new: NewQuestion, by: str) -> dict[str, Any]:
        """Open a question (closing any open one); the teacher's view of it."""
        asked = await self._write(lambda: self._open_job(new, by))
        return self.teacher_model(asked)

    async def answer(self, user: str, question_id: int, choice: int) -> dict[str, Any]:
        """A student's (new) choice; their view of the question."""
        asked = await self._write(lambda: self._answer_job(user, question_id, choice))
        self._seen[user] = time.monotonic()
        return self.student_model(asked, user)

    async def close_question(self, question_id: int) -> dict[str, Any]:
        return self.teacher_model(await self._write(lambda: self._state_job(question_id, False)))

    async def reveal(self, question_id: int) -> dict[str, Any]:
        """Close (if open) and reveal: students now get the answer and explanation."""
        return self.teacher_model(await self._write(lambda: self._state_job(question_id, True)))

    async def current(self, user: str, teacher: bool, after: int | None = None) -> dict[str, Any]:
        """``{"version", "question", "server_time"}``; with ``after``, once the
        version differs from it (a change, or a client of a previous run), or
        after ``poll_seconds`` with the same version."""
        if not teacher:
            self._seen[user] = time.monotonic()
        if after is not None:
            if not teacher:
                self._polling[user] += 1
            try:
                await self._wait(after, teacher)
            finally:
                if not teacher:
                    self._polling[user] -= 1
                    self._seen[user] = time.monotonic()
        version = self.version if teacher else self.public_version
        asked = self._current_asked()
        question = None
        if asked is not None:
            question = self.teacher_model(asked) if teacher else self.student_model(asked, user)
        return {"version": version, "question": question, "server_time": iso(_naive(self.now()))}

    async def _wait(self, after: int, teacher: bool) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        end = loop.time() + self.poll_seconds
        while (self.version if teacher else self.public_version) == after:
            left = end - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self._changed[teacher].wait(), left)
            except TimeoutError:
                return

    async def get(self, question_id: int) -> dict[str, Any]:
        asked = await asyncio.to_thread(self._row, question_id)
        return self.teacher_model(asked)

    async def history(self) -> list[dict[str, Any]]:
        """Every question asked, newest first, with its counts (teachers)."""

        def read() -> tuple[list[Asked], dict[int, Counter]]:
            with self._db() as db:
                rows = db.scalars(
                    select(LiveQuestion).order_by(LiveQuestion.id.desc()).limit(HISTORY_LIMIT)
                ).all()
                ids = [r.id for r in rows]
                tallies: dict[int, Counter] = {i: Counter() for i in ids}
                if ids:
                    query = (
                        select(LiveAnswer.question_id, LiveAnswer.choice, func.count())
                        .where(LiveAnswer.question_id.in_(ids))
                        .group_by(LiveAnswer.question_id, LiveAnswer.choice)
                    )
                    for qid, choice, n in db.execute(query):
                        tallies[qid][choice] = n
                return [Asked.of(r) for r in rows], tallies

        rows, tallies = await asyncio.to_thread(read)
        online = self.online()
        with self._lock:
            current = self._current
        out = []
        for asked in rows:
            if current is not None and current.asked.id == asked.id:
                out.append(self.teacher_model(current.asked))
                continue
            model = asked.model(teacher=True)
            tally = tallies[asked.id]
            model["counts"] = [tally.get(i, 0) for i in range(len(asked.choices))]
            model["answered"] = sum(tally.values())
            model["online"] = online
            out.append(model)
        return out

    async def results_csv(self, question_id: int) -> str:
        """One row per student who answered: their latest choice (teachers)."""

        def read() -> str:
            asked = self._row(question_id)
            with self._db() as db:
                answers = db.scalars(
                    select(LiveAnswer)
                    .where(LiveAnswer.question_id == question_id)
                    .order_by(LiveAnswer.user)
                ).all()
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for a in answers:
                correct = (
                    "" if asked.answer is None else ("yes" if a.choice == asked.answer else "no")
                )
                writer.writerow(
                    [
                        asked.id,
                        iso(asked.opened_at),
                        a.user,
                        a.choice,
                        asked.choices[a.choice] if 0 <= a.choice < len(asked.choices) else "",
                        correct,
                        iso(a.answered_at),
                    ]
                )
            return out.getvalue()

        return await asyncio.to_thread(read)
