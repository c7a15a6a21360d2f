"""Session quizzes: questions from the manifest, each student's answers in their home.

The answer and explanation of a question are only sent once the student has
answered it. Answers are kept per question text (a teacher who edits a
question mid-term gets fresh answers for it), in ``~/.course-hub/quiz.json``,
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


def question_key(q: QuizQuestion) -> str:
    return hashlib.sha256(q.question.encode("utf-8")).hexdigest()[:16]


class QuizStore:
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
                item.update(
                    choice=entry["choice"],
                    correct=entry["choice"] == q.answer,
                    attempts=entry.get("attempts", 1),
                    answer=q.answer,
                    explanation=q.explanation,
                )
            else:
                item.update(choice=None, correct=None, attempts=0)
            questions.append(item)
        answered = [q for q in questions if q["choice"] is not None]
        return {
            "session": session.id,
            "questions": questions,
            "score": {
                "answered": len(answered),
                "correct": sum(q["correct"] for q in answered),
                "total": len(questions),
            },
        }

    def answer(self, session: Session, index: int, choice: object) -> dict:
        if not 0 <= index < len(session.quiz):
            raise CourseError(
                404, f"Session {session.title!r} has no question {index + 1}.", "unknown"
            )
        q = session.quiz[index]
        if not isinstance(choice, str) or choice not in q.choices:
            letters = ", ".join(sorted(q.choices))
            raise CourseError(400, f"Choose one of {letters}.", "invalid")
        with _lock:
            data = self._load()
            answers = data.setdefault(session.id, {})
            key = question_key(q)
            attempts = answers.get(key, {}).get("attempts", 0) + 1
            answers[key] = {
                "choice": choice,
                "attempts": attempts,
                "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            }
            self._save(data)
        return self.model(session)["questions"][index]
