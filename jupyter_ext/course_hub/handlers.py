"""REST handlers of the course API, under ``<base_url>/course/api/``.

One handler per resource; the work is done by :class:`~.sync.SessionSync`
and :class:`~.clusters.ClusterManager`, which return JSON-safe models, and,
when the hub runs the course service, by the service itself: quiz verdicts,
``me``, the hand-ins and the live quiz are forwarded to it with this server's hub token
(:mod:`.service_source`), its refusals passed on with their sentence and
status; without it the hand-in routes answer 404 (reason ``no-service``). Every
verb is ``@tornado.web.authenticated`` (logged in) and ``@authorized`` on the
``course`` resource (reads for GET, writes for the rest: a guest the owner
shared the server with read-only may look, not start or stop clusters; see
:mod:`.authorizer`); :class:`CourseError` becomes a JSON answer with its
status, anything else is a logged 500.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import yaml
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .clusters import ClusterManager, parse_adaptive, resolve_create
from .content import ContentSource
from .errors import CourseError
from .manifest import Session, session_program_model
from .quiz import QuizStore
from .service_source import ServiceClient, ServiceSource, answer_json
from .sync import SessionSync

STATE_KEY = "course_hub_state"
MAX_BODY = 64 * 1024
#: Seconds a forwarded live-quiz long-poll may take (the service answers within 25).
LONG_POLL_TIMEOUT = 40.0
#: What a guest without the right is told (see :mod:`.authorizer`).
REFUSED = {
    "read": "You may not see this course server: ask its owner to share it with you.",
    "write": (
        "You can look at this server but not change it: its owner shared it with you "
        "read-only. Ask them for write access, or work on your own server."
    ),
}
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RECEIPT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
NO_SERVICE = (
    "Hand-in is not available on this server: it is not connected to the course "
    "service on the hub."
)


class CourseState:
    """The long-lived objects the handlers share (kept in the web app settings)."""

    def __init__(
        self,
        source: ContentSource,
        sync: SessionSync,
        clusters: ClusterManager,
        quiz: QuizStore,
        teacher: bool = False,
        max_handin_bytes: int = 20 * 2**20,
    ):
        self.source = source
        self.sync = sync
        self.clusters = clusters
        self.quiz = quiz
        #: Without the service: whether this server's user is a teacher (COURSE_SOLUTIONS).
        self.teacher = teacher
        self.max_handin_bytes = max_handin_bytes

    @property
    def service(self) -> ServiceClient | None:
        """The course service's client, when the content comes from it."""
        return self.source.client if isinstance(self.source, ServiceSource) else None


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
    #: What ``@authorized`` checks: read (GET) or write (POST, PATCH, DELETE) the course.
    auth_resource = "course"

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A refusal by ``@authorized`` as a sentence, in the shape of a :class:`CourseError`."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code == 403 and getattr(exc, "log_message", "") in REFUSED.values():
            self.finish(json.dumps(CourseError(403, exc.log_message, "forbidden").to_model()))
            return
        super().write_error(status_code, **kwargs)

    def prepare(self) -> Any:
        self.state = self.settings[STATE_KEY]
        return super().prepare()

    def json_body(self, limit: int = MAX_BODY) -> dict:
        """The request body as an object; an empty body is ``{}``."""
        if len(self.request.body) > limit:
            raise CourseError(413, f"The request body is larger than {limit} bytes.", "size")
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
        # The assignment is read from the content here; hand-in itself needs the service.
        model = session_program_model(session)
        if isinstance(self.state.source, ServiceSource):
            model.update(self.state.source.session_extras(session.id))
        model.update(self.state.sync.status(session))
        return model

    def service(self) -> ServiceClient:
        """The course service, or a 404 saying this server has none."""
        client = self.state.service
        if client is None:
            raise CourseError(404, NO_SERVICE, "no-service")
        return client

    async def pass_through(self, path: str, query: dict[str, str] | None = None) -> None:
        """Answer with the service's answer to a GET: its bytes, type and file name."""
        client = self.service()
        resp = await client.fetch("GET", path, query=query, request_timeout=300)
        if resp.code >= 400:
            raise client.error(resp)
        disposition = resp.headers.get("Content-Disposition")
        if disposition:
            self.set_header("Content-Disposition", disposition)
        kind = resp.headers.get("Content-Type", "application/octet-stream")
        self.finish(resp.body, set_content_type=kind)

    async def forward(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict | None = None,
        request_timeout: float = 60,
    ) -> None:
        """Answer with the service's answer: its status, bytes, type and file name
        (a refusal as its :class:`CourseError`)."""
        client = self.service()
        data = None if method == "GET" else json.dumps(body or {}).encode()
        resp = await client.fetch(
            method,
            path,
            query=query,
            body=data,
            content_type="application/json" if data is not None else None,
            request_timeout=request_timeout,
        )
        if resp.code >= 400:
            raise client.error(resp)
        disposition = resp.headers.get("Content-Disposition")
        if disposition:
            self.set_header("Content-Disposition", disposition)
        self.set_status(resp.code)
        kind = resp.headers.get("Content-Type", "application/json")
        self.finish(resp.body, set_content_type=kind)

    def cluster_name(self, name: str) -> str:
        if not CLUSTER_NAME.match(name):
            raise CourseError(404, f"You have no cluster named {name!r}.", "unknown")
        return name


class SessionsHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
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
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, session_id: str) -> None:
        await self.state.source.refresh()
        self.reply(self.session_model(self.session(session_id)))


class OpenSessionHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["write"])
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
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, session_id: str) -> None:
        await self.state.source.refresh()
        session = self.session(session_id)
        client = self.state.service
        if client is None:
            self.reply(self.state.quiz.model(session))
            return
        quiz = await client.json("GET", f"api/sessions/{quote(session.id)}/quiz")
        questions = quiz.get("questions") if isinstance(quiz, dict) else None
        if not isinstance(questions, list):
            raise CourseError(503, "The course service sent an unusable quiz.", "service-error")
        self.reply(self.state.quiz.service_model(session.id, questions))


class QuizAnswerHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self, session_id: str, index: str) -> None:
        await self.state.source.refresh()
        session = self.session(session_id)
        body = self.json_body()
        if set(body) != {"choice"}:
            raise CourseError(400, 'Send {"choice": "A"} (a letter).', "invalid")
        client = self.state.service
        if client is None:
            self.reply(self.state.quiz.answer(session, int(index) - 1, body["choice"]))
            return
        if not isinstance(body["choice"], str):
            raise CourseError(400, 'Send {"choice": "A"} (a letter).', "invalid")
        where = f"api/sessions/{quote(session.id)}/quiz"
        verdict = await client.json(
            "POST",
            f"{where}/{int(index)}",
            body=json.dumps({"choice": body["choice"]}).encode(),
            content_type="application/json",
        )
        quiz = await client.json("GET", where)
        questions = quiz.get("questions") if isinstance(quiz, dict) else None
        position = int(index) - 1
        if not isinstance(verdict, dict) or not isinstance(questions, list):
            raise CourseError(503, "The course service sent an unusable answer.", "service-error")
        if not 0 <= position < len(questions):
            raise CourseError(
                404, f"Session {session.title!r} has no question {position + 1}.", "unknown"
            )
        text = str(questions[position].get("question", ""))
        self.state.quiz.record(session.id, text, body["choice"], verdict)
        self.reply(self.state.quiz.service_model(session.id, questions)["questions"][position])


class MeHandler(CourseHandler):
    """Who this server's user is for the course: ``{"name", "teacher"}``."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        client = self.state.service
        if client is None:
            name = getattr(self.current_user, "username", "") or ""
            self.reply({"name": name, "teacher": self.state.teacher})
            return
        me = await client.json("GET", "api/me")
        if not isinstance(me, dict):
            raise CourseError(503, "The course service sent an unusable answer.", "service-error")
        self.reply({"name": str(me.get("name", "")), "teacher": bool(me.get("teacher"))})


class HandinHandler(CourseHandler):
    """Hand in a notebook as last saved in the student's session folder."""

    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self, session_id: str) -> None:
        body = self.json_body()
        notebook = body.get("notebook")
        if set(body) != {"notebook"} or not isinstance(notebook, str):
            raise CourseError(
                400, 'Send {"notebook": "<path>"}: a notebook of the session.', "invalid"
            )
        client = self.service()
        await self.state.source.refresh()
        session = self.session(session_id)
        if notebook not in {nb.path for nb in session.notebooks}:
            raise CourseError(
                404, f"Session {session.title!r} has no notebook {notebook!r}.", "unknown"
            )
        data = self.saved_notebook(session, notebook)
        resp = await client.fetch(
            "POST",
            f"api/sessions/{quote(session.id)}/handins",
            query={"notebook": notebook},
            body=data,
            content_type="application/x-ipynb+json",
            request_timeout=300,
        )
        if resp.code >= 400:
            raise client.error(resp)
        receipt = answer_json(resp)
        if not isinstance(receipt, dict):
            raise CourseError(
                503,
                "The course service did not send a receipt; hand in again to be sure.",
                "service-error",
            )
        self.log.info("Handed in %s/%s: %s", session.id, notebook, receipt.get("id"))
        self.reply(receipt, status=201)

    def saved_notebook(self, session: Session, notebook: str) -> bytes:
        """The notebook's bytes as last saved in ``<course_dir>/<session>/``."""
        folder = self.state.sync.target(session)
        path = folder.joinpath(*PurePosixPath(notebook).parts)
        where = self.state.sync.relpath(path)
        missing = CourseError(
            404,
            f"There is no {where} in your home: open the session first, then save your "
            "work in that notebook.",
            "missing",
        )
        try:
            if path.is_symlink() or not path.is_file():
                raise missing
            if not path.resolve().is_relative_to(folder.resolve()):
                raise missing
            size = path.stat().st_size
            if size > self.state.max_handin_bytes:
                limit = self.state.max_handin_bytes / 2**20
                raise CourseError(
                    413,
                    f"{where} is {size / 2**20:.1f} MiB, more than the {limit:g} MiB a "
                    "hand-in may be. Clear large outputs (Edit > Clear Outputs of All "
                    "Cells), save, and hand in again.",
                    "size",
                )
            return path.read_bytes()
        except OSError:
            raise missing from None


class HandinsHandler(CourseHandler):
    """The session's hand-ins: a student's own; a teacher's, everyone's."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, session_id: str) -> None:
        client = self.service()
        query = {}
        for name in ("user", "latest"):
            value = self.get_query_argument(name, None)
            if value is not None:
                query[name] = value
        reply = await client.json(
            "GET", f"api/sessions/{quote(session_id, safe='')}/handins", query=query
        )
        self.reply(reply)


class HandinsZipHandler(CourseHandler):
    """Teachers: every student's latest hand-in and an index, as one zip."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, session_id: str) -> None:
        await self.pass_through(f"api/sessions/{quote(session_id, safe='')}/handins.zip")


class HandinFileHandler(CourseHandler):
    """One hand-in's notebook as it was handed in (its owner or a teacher)."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, receipt_id: str) -> None:
        if not RECEIPT_ID.match(receipt_id):
            raise CourseError(404, "There is no such hand-in.", "unknown")
        await self.pass_through(f"api/handins/{quote(receipt_id)}")


class LiveHandler(CourseHandler):
    """The current live question (long-polled with ``after``); teachers open one."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        after = self.get_query_argument("after", None)
        query = {"after": after} if after is not None else None
        # The service answers a long-poll within 25 s: wait longer than that.
        await self.forward("GET", "api/live", query=query, request_timeout=LONG_POLL_TIMEOUT)

    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self) -> None:
        await self.forward("POST", "api/live", body=self.json_body())


class LiveHistoryHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        await self.forward("GET", "api/live/history")


class LiveQuestionHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, question_id: str) -> None:
        await self.forward("GET", f"api/live/{int(question_id)}")


class LiveAnswerHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self, question_id: str) -> None:
        await self.forward("POST", f"api/live/{int(question_id)}/answer", body=self.json_body())


class LiveCloseHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self, question_id: str) -> None:
        await self.forward("POST", f"api/live/{int(question_id)}/close")


class LiveRevealHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self, question_id: str) -> None:
        await self.forward("POST", f"api/live/{int(question_id)}/reveal")


class LiveResultsHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, question_id: str) -> None:
        await self.forward("GET", f"api/live/{int(question_id)}/results.csv")


class ClassHandler(CourseHandler):
    """Teachers: the class at a glance (the service asks the gateway with this
    server's token, which reaches the gateway as the teacher)."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        await self.forward("GET", "api/class")


class ClassActionsHandler(CourseHandler):
    """Teachers: the actions taken on students (GET), take one (POST)."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        await self.forward("GET", "api/class/actions")

    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self) -> None:
        await self.forward("POST", "api/class/actions", body=self.json_body())


class ClassPrepareHandler(CourseHandler):
    """Teachers: start the class's servers before it starts (the service's job)."""

    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self) -> None:
        if not self.request.body.strip():  # the whole roster is asked for, never implied
            raise CourseError(400, "Send a JSON object: {} prepares the whole roster.", "invalid")
        # A roster of up to 2000 names (the service's limit) fits in 1 MiB, not in
        # the 64 KB of the other requests: too many names get the service's 400.
        await self.forward("POST", "api/class/prepare", body=self.json_body(limit=1024 * 1024))


class ClassPrepareJobHandler(CourseHandler):
    """Teachers: a preparation's progress."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, job_id: str) -> None:
        await self.forward("GET", f"api/class/prepare/{job_id}")


class ClustersHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        self.reply({"clusters": await self.state.clusters.list()})

    @web.authenticated
    @authorized(message=REFUSED["write"])
    @course_api
    async def post(self) -> None:
        body = self.json_body()
        await self.state.source.refresh()  # the session's current preset
        request = resolve_create(body, self.state.source.manifest())
        model = await self.state.clusters.create(**request)
        self.reply(model, status=201)


class ClusterOptionsHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self) -> None:
        self.reply(await self.state.clusters.options())


class ClusterHandler(CourseHandler):
    @web.authenticated
    @authorized(message=REFUSED["read"])
    @course_api
    async def get(self, name: str) -> None:
        self.reply(await self.state.clusters.get(self.cluster_name(name)))

    @web.authenticated
    @authorized(message=REFUSED["write"])
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
    @authorized(message=REFUSED["write"])
    @course_api
    async def delete(self, name: str) -> None:
        await self.state.clusters.stop(self.cluster_name(name))
        self.set_status(204)
        self.finish()


class OpenAPIHandler(CourseHandler):
    """This API's OpenAPI description, pointing at this very server."""

    @web.authenticated
    @authorized(message=REFUSED["read"])
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
_RECEIPT = r"(?P<receipt_id>[^/]+)"
_QUESTION = r"(?P<question_id>[0-9]{1,9})"

HANDLERS = [
    (r"/course/api/openapi.json", OpenAPIHandler),
    (r"/course/api/sessions", SessionsHandler),
    (rf"/course/api/sessions/{_SESSION}", SessionHandler),
    (rf"/course/api/sessions/{_SESSION}/open", OpenSessionHandler),
    (rf"/course/api/sessions/{_SESSION}/quiz", QuizHandler),
    (rf"/course/api/sessions/{_SESSION}/quiz/(?P<index>[0-9]{{1,4}})", QuizAnswerHandler),
    (rf"/course/api/sessions/{_SESSION}/handin", HandinHandler),
    (rf"/course/api/sessions/{_SESSION}/handins", HandinsHandler),
    (rf"/course/api/sessions/{_SESSION}/handins\.zip", HandinsZipHandler),
    (rf"/course/api/handins/{_RECEIPT}", HandinFileHandler),
    (r"/course/api/me", MeHandler),
    (r"/course/api/live", LiveHandler),
    (r"/course/api/live/history", LiveHistoryHandler),
    (rf"/course/api/live/{_QUESTION}", LiveQuestionHandler),
    (rf"/course/api/live/{_QUESTION}/answer", LiveAnswerHandler),
    (rf"/course/api/live/{_QUESTION}/close", LiveCloseHandler),
    (rf"/course/api/live/{_QUESTION}/reveal", LiveRevealHandler),
    (rf"/course/api/live/{_QUESTION}/results\.csv", LiveResultsHandler),
    (r"/course/api/class/prepare", ClassPrepareHandler),
    (r"/course/api/class/prepare/(?P<job_id>[0-9a-f]{16})", ClassPrepareJobHandler),
    (r"/course/api/class", ClassHandler),
    (r"/course/api/class/actions", ClassActionsHandler),
    (r"/course/api/clusters", ClustersHandler),
    (r"/course/api/cluster-options", ClusterOptionsHandler),
    (rf"/course/api/clusters/{_CLUSTER}", ClusterHandler),
]
