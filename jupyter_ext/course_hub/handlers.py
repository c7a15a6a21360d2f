"""REST handlers of the course API, under ``<base_url>/course/api/``.

One handler per resource; the work is done by :class:`~.sync.SessionSync`
and :class:`~.clusters.ClusterManager`, which return JSON-safe models. Every
verb is ``@tornado.web.authenticated``; :class:`CourseError` becomes a JSON
answer with its status, anything else is a logged 500.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

import yaml
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .clusters import ClusterManager, parse_adaptive, resolve_create
from .content import ContentSource
from .errors import CourseError
from .manifest import Session
from .quiz import QuizStore
from .sync import SessionSync

STATE_KEY = "course_hub_state"
MAX_BODY = 64 * 1024
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class CourseState:
    """The long-lived objects the handlers share (kept in the web app settings)."""

    def __init__(
        self,
        source: ContentSource,
        sync: SessionSync,
        clusters: ClusterManager,
        quiz: QuizStore,
    ):
        self.source = source
        self.sync = sync
        self.clusters = clusters
        self.quiz = quiz


def course_api(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Answer a :class:`CourseError` as JSON with its status; let the rest propagate."""

    @functools.wraps(method)
    async def wrapper(self: CourseHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except CourseError as exc:
            self.log.info("course api %s %s: %s", self.request.method, exc.status, exc.message)
            self.set_status(exc.status)
            self.finish(json.dumps(exc.to_model()))

    return wrapper


class CourseHandler(APIHandler):
    state: CourseState

    def prepare(self) -> Any:
        self.state = self.settings[STATE_KEY]
        return super().prepare()

    def json_body(self) -> dict:
        """The request body as an object; an empty body is ``{}``."""
        if len(self.request.body) > MAX_BODY:
            raise CourseError(413, f"The request body is larger than {MAX_BODY} bytes.", "size")
        if not self.request.body.strip():
            return {}
        try:
            body = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise CourseError(400, "The request body is not valid JSON.", "invalid") from None
        if not isinstance(body, dict):
            raise CourseError(400, "The request body must be a JSON object.", "invalid")
        return body

    def reply(self, model: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(model))

    def session(self, session_id: str) -> Session:
        return self.state.source.manifest().session(session_id)

    def session_model(self, session: Session) -> dict:
        model = {
            "id": session.id,
            "title": session.title,
            "duration": session.duration,
            "duration_minutes": session.duration_minutes,
            "self_paced": session.self_paced,
            "summary": session.summary,
            "slides": [s.model_dump() for s in session.slides],
            "cluster": session.cluster.model_dump() if session.cluster else None,
            "quiz_questions": len(session.quiz),
        }
        model.update(self.state.sync.status(session))
        return model

    def cluster_name(self, name: str) -> str:
        if not CLUSTER_NAME.match(name):
            raise CourseError(404, f"You have no cluster named {name!r}.", "unknown")
        return name


class SessionsHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def get(self) -> None:
        await self.state.source.refresh()
        manifest = self.state.source.manifest()
        error = self.state.source.error
        self.reply(
            {
                "course": manifest.course.model_dump(),
                "sessions": [self.session_model(s) for s in manifest.sessions],
                "content_error": error.message if error else None,
            }
        )


class SessionHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def get(self, session_id: str) -> None:
        await self.state.source.refresh()
        self.reply(self.session_model(self.session(session_id)))


class OpenSessionHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def post(self, session_id: str) -> None:
        if self.json_body():
            raise CourseError(
                400, "Opening a session takes no fields: send {} or nothing.", "invalid"
            )
        await self.state.source.refresh()
        session = self.session(session_id)
        report = await self.state.sync.open(session)
        report["notebooks"] = self.state.sync.status(session)["notebooks"]
        self.reply(report)


class QuizHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def get(self, session_id: str) -> None:
        await self.state.source.refresh()
        self.reply(self.state.quiz.model(self.session(session_id)))


class QuizAnswerHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def post(self, session_id: str, index: str) -> None:
        session = self.session(session_id)
        body = self.json_body()
        if set(body) != {"choice"}:
            raise CourseError(400, 'Send {"choice": "A"} (a letter).', "invalid")
        self.reply(self.state.quiz.answer(session, int(index) - 1, body["choice"]))


class ClustersHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def get(self) -> None:
        self.reply({"clusters": await self.state.clusters.list()})

    @web.authenticated
    @course_api
    async def post(self) -> None:
        body = self.json_body()
        await self.state.source.refresh()  # the session's current preset
        request = resolve_create(body, self.state.source.manifest())
        model = await self.state.clusters.create(**request)
        self.reply(model, status=201)


class ClusterOptionsHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def get(self) -> None:
        self.reply(await self.state.clusters.options())


class ClusterHandler(CourseHandler):
    @web.authenticated
    @course_api
    async def get(self, name: str) -> None:
        self.reply(await self.state.clusters.get(self.cluster_name(name)))

    @web.authenticated
    @course_api
    async def patch(self, name: str) -> None:
        name = self.cluster_name(name)
        body = self.json_body()
        unknown = set(body) - {"workers", "adaptive"}
        if unknown or len(body) != 1:
            raise CourseError(
                400, "Send exactly one of 'workers' (a number) or 'adaptive'.", "invalid"
            )
        if "workers" in body:
            workers = body["workers"]
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
                raise CourseError(400, "workers must be a whole number of at least 0.", "invalid")
            model = await self.state.clusters.update(name, workers=workers)
        else:
            adaptive = parse_adaptive(body["adaptive"])
            if adaptive is None:
                raise CourseError(400, "adaptive needs 'minimum' and 'maximum'.", "invalid")
            model = await self.state.clusters.update(name, adaptive=adaptive)
        self.reply(model)

    @web.authenticated
    @course_api
    async def delete(self, name: str) -> None:
        await self.state.clusters.stop(self.cluster_name(name))
        self.set_status(204)
        self.finish()


class OpenAPIHandler(CourseHandler):
    """This API's OpenAPI description, pointing at this very server."""

    @web.authenticated
    @course_api
    async def get(self) -> None:
        spec = openapi_spec()
        spec["servers"] = [{"url": self.base_url, "description": "This Jupyter server."}]
        self.reply(spec)


@functools.cache
def _openapi_text() -> str:
    return files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")


def openapi_spec() -> dict:
    """The OpenAPI description shipped with the package (a fresh copy)."""
    return yaml.safe_load(_openapi_text())


_SESSION = r"(?P<session_id>[^/]+)"
_CLUSTER = r"(?P<name>[^/]+)"

HANDLERS = [
    (r"/course/api/openapi.json", OpenAPIHandler),
    (r"/course/api/sessions", SessionsHandler),
    (rf"/course/api/sessions/{_SESSION}", SessionHandler),
    (rf"/course/api/sessions/{_SESSION}/open", OpenSessionHandler),
    (rf"/course/api/sessions/{_SESSION}/quiz", QuizHandler),
    (rf"/course/api/sessions/{_SESSION}/quiz/(?P<index>[0-9]{{1,4}})", QuizAnswerHandler),
    (r"/course/api/clusters", ClustersHandler),
    (r"/course/api/cluster-options", ClusterOptionsHandler),
    (rf"/course/api/clusters/{_CLUSTER}", ClusterHandler),
]
