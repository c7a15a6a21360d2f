"""The course from the hub's course service, with the student's own token.

When the hub runs the ``course`` service (``COURSE_SERVICE_URL`` set in the
server's environment), a student's server has no course source of its own:

- the program comes from ``api/course`` (no quiz answers, no solutions in it);
- a session's files come from ``api/sessions/<id>/snapshot``, already as the
  student version for a student (the service blanks the solutions; the
  server never sees the teacher's notebooks unless its user is a teacher),
  and :class:`~.sync.SessionSync` builds its per-session upstream from those
  bytes, so the merge into the home keeps every guarantee it has;
- quizzes are checked, and hand-ins stored, by the service.

Every request carries ``Authorization: token $JUPYTERHUB_API_TOKEN``. When
the service cannot be reached the last good program is kept (and said so),
and what needs the service answers 503 with a sentence.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

from .content import ContentSource
from .errors import CourseError
from .manifest import ClusterPreset, CourseInfo, Manifest, ManifestError, Notebook, parse_manifest

log = logging.getLogger(__name__)

UNREACHABLE = (
    "The course service on the hub did not answer. Try again in a minute; if it keeps "
    "failing, tell your teacher."
)
_SESSION_KEYS = {"id", "title", "duration", "self_paced", "summary", "slides", "cluster"}


def answer_json(resp: HTTPResponse) -> Any:
    """The answer's JSON, or None if it is not JSON."""
    try:
        return json.loads(resp.body or b"null")
    except ValueError:
        return None


@dataclass
class Snapshot:
    """One session's files as the service gave them (already the right version)."""

    session: str
    revision: str
    version: str
    files: dict[str, bytes] = field(default_factory=dict)


class ServiceClient:
    """Requests to the course service, as this server's user."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout

    def endpoint(self, path: str, query: dict[str, str] | None = None) -> str:
        url = self.url + path.lstrip("/")
        return f"{url}?{urlencode(query)}" if query else url

    async def fetch(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        request_timeout: float | None = None,
    ) -> HTTPResponse:
        """One request; a 4xx comes back as it is, a 5xx or no answer is a 503 CourseError."""
        headers = {"Authorization": f"token {self.token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        request = HTTPRequest(
            self.endpoint(path, query),
            method=method,
            headers=headers,
            body=body,
            request_timeout=request_timeout or self.timeout,
            connect_timeout=10,
            follow_redirects=False,
        )
        try:
            resp = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (TimeoutError, OSError, HTTPClientError) as exc:
            log.warning("Course service %s %s: %s", method, request.url, exc)
            raise CourseError(503, UNREACHABLE, "service-unreachable") from None
        if resp.code == 599 or resp.code >= 500 or 300 <= resp.code < 400:
            log.warning(
                "Course service %s %s answered %s: %s",
                method,
                request.url,
                resp.code,
                (resp.body or b"")[:500],
            )
            raise CourseError(503, UNREACHABLE, "service-unreachable")
        return resp

    @staticmethod
    def error(resp: HTTPResponse) -> CourseError:
        """The service's refusal, its sentence and status passed on."""
        body = answer_json(resp)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return CourseError(resp.code, body["message"], str(body.get("reason") or ""))
        if resp.code in (401, 403):
            message = (
                "The course service refused this server's login. Restart your server "
                "(File > Hub Control Panel); if it keeps happening, tell your teacher."
            )
            return CourseError(resp.code, message, "forbidden")
        return CourseError(resp.code, UNREACHABLE, "service-error")

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        """A JSON answer; a refusal is raised as a :class:`CourseError`."""
        resp = await self.fetch(method, path, **kw)
        if resp.code >= 400:
            raise self.error(resp)
        body = answer_json(resp)
        if body is None:
            log.warning("Course service %s %s: not JSON", method, path)
            raise CourseError(503, UNREACHABLE, "service-unreachable")
        return body


def _manifest_from(program: dict, where: str) -> Manifest:
    """The service's program as a :class:`Manifest` (no quiz, no solutions in it)."""
    course = {k: v for k, v in program["course"].items() if k in CourseInfo.model_fields}
    sessions = []
    for raw in program["sessions"]:
        s = {k: v for k, v in raw.items() if k in _SESSION_KEYS}
        if s.get("cluster"):
            s["cluster"] = {
                k: v for k, v in s["cluster"].items() if k in ClusterPreset.model_fields
            }
        s["notebooks"] = [
            {k: v for k, v in nb.items() if k in Notebook.model_fields}
            for nb in raw.get("notebooks", [])
        ]
        sessions.append(s)
    return parse_manifest({"course": course, "sessions": sessions}, where)


def _safe_path(path: object) -> str | None:
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return None
    p = PurePosixPath(path)
    if p.is_absolute() or any(part in ("", ".", "..") for part in p.parts):
        return None
    return p.as_posix()


class ServiceSource(ContentSource):
    """The program and each session's files, from the course service."""

    def __init__(self, client: ServiceClient, refresh_interval: float = 10.0) -> None:
        super().__init__()
        self.client = client
        self.refresh_interval = refresh_interval
        self._fetched_at = 0.0
        self._revision = ""
        self._extra: dict[str, dict] = {}

    @property
    def root(self) -> Path:
        raise CourseError(503, "The course files come from the course service.", "content")

    @property
    def revision(self) -> str:
        return self._revision or "unknown"

    def describe(self) -> str:
        return f"course service {self.client.url}"

    def session_extras(self, session_id: str) -> dict:
        """What the service says of a session beyond the manifest fields:
        ``quiz_questions`` and ``assignment`` (the contract's AssignmentModel)."""
        return self._extra.get(session_id, {"quiz_questions": 0, "assignment": None})

    async def refresh(self, force: bool = False) -> None:
        """Load the program again (at most every ``refresh_interval`` seconds).

        Without an answer the last good program stays and ``error`` says why;
        only when there never was one is the request refused (503).
        """
        async with self._lock:
            fresh = time.monotonic() - self._fetched_at < self.refresh_interval
            if self._fetched_at and fresh and not force:
                return
            try:
                program = await self.client.json("GET", "api/course")
                manifest = _manifest_from(program, self.client.endpoint("api/course"))
            except (CourseError, KeyError, TypeError, AttributeError) as exc:
                if isinstance(exc, CourseError) and not isinstance(exc, ManifestError):
                    problem = exc
                else:
                    log.warning("The course service's program is unusable: %s", exc)
                    problem = CourseError(503, UNREACHABLE, "service-unreachable")
                self._fetched_at = time.monotonic()
                if self._manifest is None:
                    raise problem from None
                self.error = CourseError(
                    503,
                    f"{problem.message} (The program shown is the one loaded last.)",
                    problem.reason,
                )
                return
            self._manifest = manifest
            self._revision = str(program.get("revision") or "")
            self._extra = {
                raw["id"]: {
                    "quiz_questions": int(raw.get("quiz_questions") or 0),
                    "assignment": raw.get("assignment"),
                }
                for raw in program["sessions"]
            }
            content_error = program.get("content_error")
            self.error = (
                CourseError(503, content_error, "manifest-invalid") if content_error else None
            )
            self._fetched_at = time.monotonic()

    def manifest(self) -> Manifest:
        if self._manifest is None:
            raise CourseError(503, UNREACHABLE, "service-unreachable")
        return self._manifest

    async def snapshot(self, session_id: str) -> Snapshot:
        """The session's files, checked (paths inside the folder, sizes and sha256)."""
        body = await self.client.json(
            "GET", f"api/sessions/{quote(session_id, safe='')}/snapshot", request_timeout=120
        )
        bad = CourseError(
            503,
            f"The course service sent the files of session {session_id!r} damaged; nothing "
            "was changed in your folder. Try again; if it keeps failing, tell your teacher.",
            "content",
        )
        try:
            snap = Snapshot(session_id, str(body.get("revision") or ""), str(body["version"]))
            for item in body["files"]:
                path = _safe_path(item["path"])
                data = base64.b64decode(item["content_b64"], validate=True)
                if (
                    path is None
                    or path in snap.files
                    or len(data) != item["size"]
                    or hashlib.sha256(data).hexdigest() != item["sha256"]
                ):
                    log.warning("Snapshot of %s: bad file entry %r", session_id, item.get("path"))
                    raise bad
                snap.files[path] = data
        except (KeyError, TypeError, AttributeError, binascii.Error):
            log.warning("Snapshot of %s: unusable answer", session_id)
            raise bad from None
        return snap
