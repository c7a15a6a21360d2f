"""The live quiz's REST handlers, under ``<service prefix>api/live``.

The work is :class:`.live.LiveQuiz`'s; these check who asks (teachers open,
close, reveal and see the counts; students answer and see their own choice)
and the request's shape. Without a valid hub login they answer 401.
"""

from __future__ import annotations

from tornado import web

from ..errors import CourseError
from .handlers import ServiceHandler, json_object
from .live import LiveQuiz, parse_choice, parse_question

_ID = r"(?P<question_id>[0-9]{1,9})"


class LiveBase(ServiceHandler):
    login_status = 401

    @property
    def live(self) -> LiveQuiz:
        live = self.state.live
        if live is None:
            raise CourseError(503, "The live quiz is not running on this service.", "no-live")
        return live


class LiveHandler(LiveBase):
    """GET: the current question (long-poll with ``after``). POST: open one (teachers)."""

    @web.authenticated
    async def get(self) -> None:
        values = self.get_query_arguments("after")
        after = None
        if values:
            raw = values[0]
            if len(values) > 1 or not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
                raise CourseError(
                    400, "after must be a version number, as a previous answer gave it.", "invalid"
                )
            after = int(raw)
        self.reply(await self.live.current(self.who.name, self.who.teacher, after))

    @web.authenticated
    async def post(self) -> None:
        self.require_teacher()
        body = json_object(self.request.body)
        # The course is refreshed only to open one of its questions.
        content = await self.content() if "session" in body else self.state.content
        new = parse_question(body, content.manifest)
        self.reply(await self.live.open(new, self.who.name), status=201)


class LiveHistoryHandler(LiveBase):
    @web.authenticated
    async def get(self) -> None:
        self.require_teacher()
        self.reply({"questions": await self.live.history()})


class LiveQuestionHandler(LiveBase):
    @web.authenticated
    async def get(self, question_id: str) -> None:
        self.require_teacher()
        self.reply(await self.live.get(int(question_id)))


class LiveAnswerHandler(LiveBase):
    @web.authenticated
    async def post(self, question_id: str) -> None:
        if self.who.teacher:
            raise CourseError(
                403,
                "Teachers do not answer live questions: log in as a student to try one.",
                "forbidden",
            )
        choice = parse_choice(json_object(self.request.body))
        self.reply(await self.live.answer(self.who.name, int(question_id), choice))


class LiveCloseHandler(LiveBase):
    @web.authenticated
    async def post(self, question_id: str) -> None:
        self.require_teacher()
        self.reply(await self.live.close_question(int(question_id)))


class LiveRevealHandler(LiveBase):
    @web.authenticated
    async def post(self, question_id: str) -> None:
        self.require_teacher()
        self.reply(await self.live.reveal(int(question_id)))


class LiveResultsHandler(LiveBase):
    """One row per student who answered, as CSV (teachers)."""

    @web.authenticated
    async def get(self, question_id: str) -> None:
        self.require_teacher()
        text = await self.live.results_csv(int(question_id))
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header(
            "Content-Disposition", f'attachment; filename="live-question-{int(question_id)}.csv"'
        )
        self.finish(text.encode("utf-8"))


def live_handlers(api: str) -> list[tuple[str, type]]:
    """The live quiz's routes under ``<prefix>api/``."""
    return [
        (api + "live", LiveHandler),
        (api + "live/history", LiveHistoryHandler),
        (api + f"live/{_ID}", LiveQuestionHandler),
        (api + f"live/{_ID}/answer", LiveAnswerHandler),
        (api + f"live/{_ID}/close", LiveCloseHandler),
        (api + f"live/{_ID}/reveal", LiveRevealHandler),
        (api + f"live/{_ID}/results\\.csv", LiveResultsHandler),
    ]
