"""The course as the service serves it: students' and teachers' views.

The service reads the course from the same kind of source the servers used to
read themselves (:mod:`course_hub.content`: a folder, or
the teacher's git repository, the last good manifest kept on a bad push).
What leaves it depends on who asks: a student gets every notebook as the
students' version (:func:`course_hub.notebooks.student_bytes`: solutions
blanked, answers emptied, teacher notes gone) and the quiz without its
answers; a teacher gets the files as written. A notebook the service cannot
read is left out of a student's snapshot rather than sent unblanked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from ..content import ContentSource, GitSource
from ..errors import CourseError
from ..manifest import Manifest, Session, session_program_model
from ..notebooks import student_bytes

log = logging.getLogger(__name__)


def _hidden(name: str) -> bool:
    # .ipynb_checkpoints, .git, editors' swap files: never course content.
    return name.startswith(".") or name.endswith("~")


class CourseContent:
    """The long-lived view of the course source, with a per-session snapshot cache."""

    def __init__(self, source: ContentSource) -> None:
        self.source = source
        self._snapshots: dict[tuple[str, bool], tuple[tuple, dict]] = {}

    async def refresh(self) -> None:
        await self.source.refresh()

    def manifest(self) -> Manifest:
        return self.source.manifest()

    def session(self, session_id: str) -> Session:
        return self.manifest().session(session_id)

    @property
    def revision(self) -> str:
        """The content version: the git commit, else a digest of course.yml."""
        if isinstance(self.source, GitSource):
            return self.source.revision
        try:
            data = self.source.manifest_path.read_bytes()
        except OSError:
            return "unknown"
        return "folder-" + hashlib.sha256(data).hexdigest()[:12]

    # -- models ---------------------------------------------------------------

    @staticmethod
    def session_model(session: Session, now: dt.datetime) -> dict[str, Any]:
        """A session as students see it in the program (SessionModel): no quiz
        answers, no solutions."""
        return {
            **session_program_model(session, now),
            "notebooks": [nb.model_dump() for nb in session.notebooks],
        }

    def course_model(self, now: dt.datetime) -> dict[str, Any]:
        manifest = self.manifest()
        error = self.source.error
        return {
            "course": manifest.course.model_dump(),
            "sessions": [self.session_model(s, now) for s in manifest.sessions],
            "revision": self.revision,
            "content_error": error.message if error else None,
        }

    def presets(self) -> dict[str, dict[str, Any]]:
        """Session id -> the gateway options of its cluster preset."""
        return {
            s.id: s.cluster.options() for s in self.manifest().sessions if s.cluster is not None
        }

    def quiz(self, session_id: str, teacher: bool) -> dict[str, Any]:
        """The questions; answers and explanations for teachers only."""
        session = self.session(session_id)
        questions = []
        for i, q in enumerate(session.quiz):
            item: dict[str, Any] = {
                "index": i,
                "question": q.question,
                "choices": dict(sorted(q.choices.items())),
            }
            if teacher:
                item.update(answer=q.answer, explanation=q.explanation)
            questions.append(item)
        return {"session": session.id, "questions": questions}

    def check_answer(self, session_id: str, number: int, choice: object) -> dict[str, Any]:
        """A student's choice for question ``number`` (1-based), with the verdict."""
        session = self.session(session_id)
        if not 1 <= number <= len(session.quiz):
            raise CourseError(
                404, f"Session {session.title!r} has no question {number}.", "unknown"
            )
        q = session.quiz[number - 1]
        if not isinstance(choice, str) or choice not in q.choices:
            letters = ", ".join(sorted(q.choices))
            raise CourseError(400, f"Choose one of {letters}.", "invalid")
        return {
            "index": number - 1,
            "choice": choice,
            "correct": choice == q.answer,
            "answer": q.answer,
            "explanation": q.explanation,
        }

    # -- files ----------------------------------------------------------------

    def _files(self, session: Session) -> list[tuple[str, Path, os.stat_result]]:
        """Every regular file of the session's folder (no links, nothing hidden)."""
        root = self.source.root.resolve()
        folder = (root / session.source_folder).resolve()
        if not folder.is_relative_to(root) or not folder.is_dir():
            return []
        found = []
        for here, dirs, names in os.walk(folder, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not _hidden(d))
            for name in sorted(names):
                path = Path(here) / name
                if _hidden(name) or path.is_symlink():
                    continue
                st = path.stat()
                found.append((path.relative_to(folder).as_posix(), path, st))
        return sorted(found, key=lambda f: f[0])

    def snapshot(self, session_id: str, teacher: bool) -> dict[str, Any]:
        """Every file of a session, as the asker may see it (a blocking call)."""
        session = self.session(session_id)
        files = self._files(session)
        stamp = (
            self.revision,
            session.source_folder,
            tuple((rel, st.st_mtime_ns, st.st_size) for rel, _, st in files),
        )
        key = (session.id, teacher)
        cached = self._snapshots.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        out = []
        for rel, path, _ in files:
            data = path.read_bytes()
            if rel.endswith(".ipynb") and not teacher:
                try:
                    data = student_bytes(data)
                except Exception:  # any unreadable notebook: never send it unblanked
                    log.warning("Left %s out of the students' snapshot: unreadable", path)
                    continue
            out.append(
                {
                    "path": rel,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "content_b64": base64.b64encode(data).decode("ascii"),
                }
            )
        digest = hashlib.sha256()
        for f in out:
            digest.update(f"{f['path']}\0{f['sha256']}\n".encode())
        model = {
            "session": session.id,
            "revision": self.revision,
            "digest": digest.hexdigest()[:16],
            "version": "teacher" if teacher else "student",
            "files": out,
        }
        self._snapshots[key] = (stamp, model)
        return model
