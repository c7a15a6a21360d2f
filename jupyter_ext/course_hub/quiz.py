"""Session quizzes: questions from the manifest, each student's answers in their home.

With the hub's course service the manifest a server gets holds no answers:
the questions come from the service and each answer is checked by it
(:mod:`.service_source`); the verdict is kept here with the answer.

The answer and explanation of a question are only sent once the student has
answered it, so only the first answer is a real test: the score counts each
question's first answer (``first_choice``, ``first_correct``), while ``choice``
and ``correct`` are the latest try, shown as the student's current answer.
Answers are kept per question text (a teacher who edits a question mid-term
gets fresh answers for it), in ``~/.course-hub/quiz.json``,
written atomically so an interrupted write never loses earlier answers.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import threading
from pathlib import Path

from .errors import CourseError
from .manifest import QuizQuestion, Session

_lock = threading.Lock()
#: A question not answered yet.
UNANSWERED = {
    "choice": None,
    "correct": None,
    "first_choice": None,
    "first_correct": None,
    "attempts": 0,
}


def question_key(q: QuizQuestion | str) -> str:
    text = q if isinstance(q, str) else q.question
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _score(session_id: str, questions: list[dict]) -> dict:
    answered = [q for q in questions if q["choice"] is not None]
    return {
        "session": session_id,
        "questions": questions,
        "score": {
            "answered": len(answered),
            # The first answer counts: after it the answer is shown.
            "correct": sum(bool(q["first_correct"]) for q in answered),
            "total": len(questions),
        },
    }


class QuizStore:
    """A student's answers, in their home; the questions come from the manifest
    (:meth:`model`, :meth:`answer`) or are checked by the course service
    (:meth:`service_model`, :meth:`record`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged file: keep it aside rather than overwrite what it held.
            self.path.rename(self.path.with_suffix(".damaged.json"))
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    def model(self, session: Session) -> dict:
        saved = self._load().get(session.id, {})
        questions = []
        for i, q in enumerate(session.quiz):
            entry = saved.get(question_key(q))
            item = {"index": i, "question": q.question, "choices": dict(sorted(q.choices.items()))}
            if entry:
                first = entry.get("first_choice", entry["choice"])
                item.update(
                    choice=entry["choice"],
                    correct=entry["choice"] == q.answer,
                    first_choice=first,
                    first_correct=first == q.answer,
                    attempts=entry.get("attempts", 1),
                    answer=q.answer,
                    explanation=q.explanation,
                )
            else:
                item.update(UNANSWERED)
            questions.append(item)
        return _score(session.id, questions)

    def answer(self, session: Session, index: int, choice: object) -> dict:
        if not 0 <= index < len(session.quiz):
            raise CourseError(
                404, f"Session {session.title!r} has no question {index + 1}.", "unknown"
            )
        q = session.quiz[index]
        if not isinstance(choice, str) or choice not in q.choices:
            letters = ", ".join(sorted(q.choices))
            raise CourseError(400, f"Choose one of {letters}.", "invalid")
        self.record(session.id, q.question, choice)
        return self.model(session)["questions"][index]

    def record(
        self, session_id: str, question: str, choice: str, verdict: dict | None = None
    ) -> None:
        """Keep one answer (and, from the service, its verdict: correct, answer, explanation)."""
        with _lock:
            data = self._load()
            answers = data.setdefault(session_id, {})
            key = question_key(question)
            old = answers.get(key, {})
            attempts = old.get("attempts", 0) + 1
            entry = {
                "choice": choice,
                "attempts": attempts,
                "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                # The first answer is kept for the score (older files: their choice).
                "first_choice": old.get("first_choice", old.get("choice", choice)),
            }
            if verdict is not None:
                entry.update(
                    correct=bool(verdict.get("correct")),
                    answer=str(verdict.get("answer") or ""),
                    explanation=str(verdict.get("explanation") or ""),
                )
                first = old.get("first_correct", old.get("correct", entry["correct"]))
                entry["first_correct"] = bool(first)
            answers[key] = entry
            self._save(data)

    def service_model(self, session_id: str, questions: list[dict]) -> dict:
        """The service's questions (no answers) with this student's answers and verdicts."""
        saved = self._load().get(session_id, {})
        items = []
        for i, q in enumerate(questions):
            choices = q.get("choices") or {}
            item = {
                "index": i,
                "question": str(q.get("question", "")),
                "choices": dict(sorted(choices.items())),
            }
            entry = saved.get(question_key(item["question"]))
            if entry and "correct" in entry:
                item.update(
                    choice=entry["choice"],
                    correct=entry["correct"],
                    first_choice=entry.get("first_choice", entry["choice"]),
                    first_correct=bool(entry.get("first_correct", entry["correct"])),
                    attempts=entry.get("attempts", 1),
                    answer=entry.get("answer", ""),
                    explanation=entry.get("explanation", ""),
                )
            else:
                item.update(UNANSWERED)
            items.append(item)
        return _score(session_id, items)
