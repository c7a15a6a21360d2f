"""The service's REST handlers, under ``<service prefix>api/``: one per resource.

Each handler authenticates in :meth:`ServiceHandler.prepare` with the hub
(:mod:`.auth`), then does its work through :class:`ServiceState`'s plain
objects (:class:`.content.CourseContent`, :class:`.store.HandInStore`), the
blocking parts in a thread. :class:`CourseError` is answered as JSON
``{"message", "reason"}`` with its status; anything else is a logged 500.
Routes that a hub service (the gateway) may call set ``allow_service``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthenticated, UserNotAllowed
from tornado import web

from ..errors import CourseError
from .auth import TeacherCheck, Who
from .content import CourseContent
from .handins import (
    MIB,
    assignment_of,
    check_deadline,
    check_notebook,
    check_notebook_name,
    check_size,
    read_ceiling,
    write_zip,
)
from .live import LiveQuiz
from .openapi import openapi_spec
from .store import HandInStore, utcnow

log = logging.getLogger(__name__)

STATE_KEY = "course_service"
RECEIPT_ID = r"[0-9a-f]{24}"


@dataclass
class ServiceState:
    """The long-lived objects the handlers share (kept in the web app settings)."""

    content: CourseContent
    store: HandInStore
    teachers: TeacherCheck
    hub_auth: HubOAuth
    max_handin_bytes: int
    prefix: str
    live: LiveQuiz | None = None
    #: The class view's records (:mod:`.class_view`) and the gateway it asks.
    record: Any = None
    gateway_url: str = ""

    def now(self) -> dt.datetime:
        return utcnow()


class ServiceHandler(HubOAuthenticated, web.RequestHandler):
    """Authenticated with the hub; errors as JSON sentences."""

    #: A hub service's token (the gateway's) may call this route.
    allow_service = False
    #: The status of a request without a (valid) hub login: 403 on the older
    #: routes; the live-quiz routes answer 401, as their contract says.
    login_status = 403
    state: ServiceState
    who: Who

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings[STATE_KEY].hub_auth

    @hub_auth.setter
    def hub_auth(self, auth: HubOAuth) -> None:  # HubAuthenticated's setter; unused
        pass

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def initialize(self) -> None:
        self.state = self.settings[STATE_KEY]

    async def prepare(self) -> None:
        self._refused: dict | None = None
        self.current_user = None  # never tornado's (blocking) get_current_user
        try:
            model = await self.hub_auth.get_user(self, sync=False)
        except web.HTTPError as exc:
            log.error("Authentication with the hub failed: %s", exc.log_message)
            raise CourseError(
                503,
                "The course service cannot reach the hub: try again in a minute.",
                "hub-unreachable",
            ) from None
        user = None
        if model:
            try:
                user = self.check_hub_user(model)
            except UserNotAllowed:
                self._refused = model
        if user is None:
            self.current_user = None
            if not self._browser():  # a browser's GET goes on to the hub's login page
                raise self._login_error()
            return
        token_auth = getattr(self, "_token_authenticated", False)
        if self.request.method not in ("GET", "HEAD", "OPTIONS") and not token_auth:
            try:  # a browser's cookie: the request must carry the XSRF token too
                self.hub_auth.check_xsrf_cookie(self)
            except web.HTTPError:
                raise CourseError(
                    403,
                    "This request has a login cookie but no XSRF token: send the _xsrf "
                    "cookie's value in an X-XSRFToken header.",
                    "xsrf",
                ) from None
        kind = user.get("kind", "user")
        if kind == "user":
            self.who = Who(
                user["name"], "user", await self.state.teachers.is_teacher(user["name"])
            )
        else:
            self.who = Who(user["name"], kind)
        self.current_user = user
        if self.who.is_service and not self.allow_service:
            raise CourseError(
                403,
                f"The {kind} {user['name']!r} may not use this part of the course API.",
                "forbidden",
            )

    def _browser(self) -> bool:
        """A browser navigating here without a login: sent to the hub's login page."""
        return (
            self.request.method == "GET"
            and "text/html" in self.request.headers.get("Accept", "")
            and "Authorization" not in self.request.headers
            and self._refused is None
        )

    def _login_error(self) -> CourseError:
        if self._refused is not None:
            return CourseError(
                403,
                f"{self._refused.get('name')!r} may not use the course service: the hub "
                "grants it with the scope access:services!service=course.",
                "forbidden",
            )
        return CourseError(
            self.login_status,
            "Log in to the hub first: the course service needs your hub login or token.",
            "login",
        )

    def get_login_url(self) -> str:
        """Browsers go to the hub's login; programs get a 403 sentence."""
        if self._browser():
            return super().get_login_url()
        raise self._login_error()

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, CourseError):
            log.info(
                "%s %s: %s %s", self.request.method, self.request.path, value.status, value.message
            )
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code == 403 and self.current_user is None and not isinstance(exc, CourseError):
            exc = self._login_error()  # @web.authenticated's bare 403, as a sentence
        if isinstance(exc, CourseError):
            self.set_status(exc.status)
            model = {"message": exc.message, "reason": exc.reason}
        elif isinstance(exc, web.HTTPError) and status_code < 500:
            model = {"message": exc.log_message or self._reason, "reason": "http"}
        elif status_code < 500:
            model = {"message": self._reason, "reason": "http"}
        else:
            model = {
                "message": "The course service failed; the error is in its log.",
                "reason": "internal",
            }
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        if self.get_status() == 401:
            self.set_header("WWW-Authenticate", 'token realm="jupyterhub"')
        self.finish(json.dumps(model))

    def reply(self, model: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(model))

    def require_teacher(self) -> None:
        if not self.who.teacher:
            raise CourseError(403, "Only teachers may do this.", "forbidden")

    def flag(self, name: str) -> bool:
        value = self.get_query_argument(name, "0")
        if value not in ("0", "1"):
            raise CourseError(400, f"{name} must be 1 or 0.", "invalid")
        return value == "1"

    async def content(self) -> CourseContent:
        await self.state.content.refresh()
        return self.state.content


class MeHandler(ServiceHandler):
    @web.authenticated
    async def get(self) -> None:
        self.reply({"name": self.who.name, "teacher": self.who.teacher})


class CourseHandler(ServiceHandler):
    allow_service = True

    @web.authenticated
    async def get(self) -> None:
        content = await self.content()
        self.reply(content.course_model(self.state.now()))


class PresetsHandler(ServiceHandler):
    allow_service = True

    @web.authenticated
    async def get(self) -> None:
        content = await self.content()
        self.reply(content.presets())


class SnapshotHandler(ServiceHandler):
    @web.authenticated
    async def get(self, session_id: str) -> None:
        content = await self.content()
        model = await asyncio.to_thread(content.snapshot, session_id, self.who.teacher)
        if self.state.record is not None:  # the class view: sessions a student opened
            await asyncio.to_thread(self.state.record.opened, self.who.name, session_id)
        self.reply(model)


class QuizHandler(ServiceHandler):
    @web.authenticated
    async def get(self, session_id: str) -> None:
        content = await self.content()
        self.reply(content.quiz(session_id, self.who.teacher))


class QuizAnswerHandler(ServiceHandler):
    """A student's answer to one question: the verdict, the answer, the explanation."""

    @web.authenticated
    async def post(self, session_id: str, number: str) -> None:
        body = json_object(self.request.body)
        if set(body) != {"choice"}:
            raise CourseError(400, 'Send {"choice": "A"} (a letter).', "invalid")
        content = await self.content()
        verdict = content.check_answer(session_id, int(number), body["choice"])
        if self.state.record is not None:  # the class view: the first answer counts
            await asyncio.to_thread(
                self.state.record.first_answer,
                self.who.name,
                session_id,
                int(number),
                bool(verdict["correct"]),
            )
        self.reply(verdict)


@web.stream_request_body
class HandInsHandler(ServiceHandler):
    """GET: receipts (a student's own; a teacher's view of everyone's). POST: hand in."""

    async def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._deferred: CourseError | None = None
        # A streamed request answered before its body is read closes the
        # connection under the proxy's feet: refusals wait for the body (bounded
        # by the server's max_body_size) and are raised by the verb.
        if self.request.method == "POST":
            # Read (and drop) a body over the limit, to answer with a sentence
            # rather than a closed connection; far beyond it, refuse at once.
            self.request.connection.set_max_body_size(read_ceiling(self.state.max_handin_bytes))
        try:
            await super().prepare()
        except CourseError as exc:
            self._deferred = exc
            return
        if self.request.method != "POST" or self.current_user is None:
            return
        limit = self.state.max_handin_bytes
        try:
            length = int(self.request.headers.get("Content-Length", "0") or 0)
        except ValueError:
            length = 0
        check_size(length if length > read_ceiling(limit) else 0, limit)

    def refuse_deferred(self) -> None:
        if self._deferred is not None:
            raise self._deferred

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.state.max_handin_bytes:
            self._chunks.append(chunk)
        else:
            self._chunks = []  # over the limit: keep nothing

    @web.authenticated
    async def get(self, session_id: str) -> None:
        self.refuse_deferred()
        content = await self.content()
        session = content.session(session_id)
        assignment = assignment_of(session)
        user = self.get_query_argument("user", None)
        if user is not None and not 0 < len(user) <= 255:
            raise CourseError(400, "user must be a user name.", "invalid")
        if not self.who.teacher:
            if user not in (None, self.who.name):
                raise CourseError(403, "You may only see your own hand-ins.", "forbidden")
            user = self.who.name
        latest = self.flag("latest")
        receipts = await asyncio.to_thread(self.state.store.list, session.id, user, latest)
        self.reply({"assignment": assignment.model(self.state.now()), "handins": receipts})

    @web.authenticated
    async def post(self, session_id: str) -> None:
        self.refuse_deferred()
        now = self.state.now()  # the service's clock, when the hand-in arrived
        content = await self.content()
        session = content.session(session_id)
        notebook = check_notebook_name(session, self.get_query_argument("notebook", None))
        late = check_deadline(session, now)
        check_size(self._received, self.state.max_handin_bytes)
        data = b"".join(self._chunks)
        self._chunks = []
        await asyncio.to_thread(check_notebook, data, self.state.max_handin_bytes)
        receipt = await asyncio.to_thread(
            self.state.store.add, self.who.name, session.id, notebook, data, late, now
        )
        log.info(
            "Hand-in %s: %s %s/%s, %d bytes%s",
            receipt["id"],
            self.who.name,
            session.id,
            notebook,
            len(data),
            " (late)" if late else "",
        )
        self.set_header("Location", f"{self.state.prefix}api/handins/{receipt['id']}")
        self.reply(receipt, status=201)


class HandInHandler(ServiceHandler):
    """One hand-in's bytes, as received (its owner or a teacher)."""

    @web.authenticated
    async def get(self, receipt_id: str) -> None:
        stored = await asyncio.to_thread(self.state.store.get, receipt_id)
        if stored is None or not (self.who.teacher or stored.receipt["user"] == self.who.name):
            raise CourseError(404, "There is no such hand-in.", "unknown")
        data = await asyncio.to_thread(stored.path.read_bytes)
        r = stored.receipt
        filename = r["notebook"].rsplit("/", 1)[-1]
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", f'attachment; filename="{_ascii(filename)}"')
        self.set_header("X-Handin-Sha256", r["sha256"])
        self.finish(data)


class HandInsZipHandler(ServiceHandler):
    """Every student's latest hand-in of a session, and index.csv (teachers)."""

    @web.authenticated
    async def get(self, session_id: str) -> None:
        self.require_teacher()
        content = await self.content()
        session = content.session(session_id)
        assignment_of(session)
        store = self.state.store

        def build() -> Any:
            latest = store.list(session.id, latest=True)
            return write_zip(latest, store.counts(session.id), store.path_for)

        out = await asyncio.to_thread(build)
        try:
            self.set_header("Content-Type", "application/zip")
            self.set_header(
                "Content-Disposition", f'attachment; filename="{session.id}-handins.zip"'
            )
            while chunk := await asyncio.to_thread(out.read, MIB):
                self.write(chunk)
                await self.flush()
            self.finish()
        finally:
            out.close()


class OpenAPIHandler(ServiceHandler):
    allow_service = True

    @web.authenticated
    async def get(self) -> None:
        spec = openapi_spec()
        spec["servers"] = [{"url": self.state.prefix, "description": "This course service."}]
        self.reply(spec)


class NotFoundHandler(ServiceHandler):
    """Anything else under the prefix: a JSON 404 (after authentication)."""

    allow_service = True

    @web.authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        raise CourseError(404, "There is no such course service resource.", "unknown")

    post = put = patch = delete = get


def json_object(body: bytes, limit: int = 64 * 1024) -> dict:
    """A small JSON object request body; an empty body is ``{}``."""
    if len(body) > limit:
        raise CourseError(413, f"The request body is larger than {limit} bytes.", "size")
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CourseError(400, "The request body is not valid JSON.", "invalid") from None
    if not isinstance(value, dict):
        raise CourseError(400, "The request body must be a JSON object.", "invalid")
    return value


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


_SESSION = r"(?P<session_id>[^/]+)"


def handlers(prefix: str) -> list[tuple[str, type]]:
    """The routes under the service prefix (``/services/course/``)."""
    from .class_handlers import class_handlers
    from .live_handlers import live_handlers  # they build on ServiceHandler, above
    from .prepare_handlers import prepare_handlers

    api = prefix + "api/"
    return [
        (api + "me", MeHandler),
        (api + "course", CourseHandler),
        (api + "presets", PresetsHandler),
        (api + "openapi.json", OpenAPIHandler),
        (api + f"sessions/{_SESSION}/snapshot", SnapshotHandler),
        (api + f"sessions/{_SESSION}/quiz", QuizHandler),
        (api + f"sessions/{_SESSION}/quiz/(?P<number>[0-9]{{1,4}})", QuizAnswerHandler),
        (api + f"sessions/{_SESSION}/handins", HandInsHandler),
        (api + f"sessions/{_SESSION}/handins.zip", HandInsZipHandler),
        (api + f"handins/(?P<receipt_id>{RECEIPT_ID})", HandInHandler),
        (api + "handins/(?P<receipt_id>[^/]+)", NotFoundHandler),
        *live_handlers(api),
        *class_handlers(api),
        *prepare_handlers(api),
        (prefix + "(.*)", NotFoundHandler),
    ]
