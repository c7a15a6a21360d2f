"""Ready at 9:00: start the class's servers before the class, and keep them.

:class:`ClassPreparer` starts the servers of the roster (the hub's users who
are neither admins nor teachers) or of the listed students through the hub's
REST API, at most ``concurrency`` at a time (the hub's
``concurrent_spawn_limit``: beyond it the hub answers 429 and the spawn is
tried again after the delay it suggests). A job's progress is a model:
``total``, ``started``, ``ready``, ``failed`` and each failure's sentence.

The idle culler (stock ``jupyterhub-idle-culler``, the same in the three
deployments) culls a server whose ``last_activity`` is older than its
timeout. Until ``until`` + ``grace`` (the class's start and a few minutes),
the preparer posts a fresh ``last_activity`` for each prepared server through
the hub's activity API (scope ``users:activity``) every ``keepalive``
seconds, so the culler spares them; afterwards the server's activity is its
student's alone, and a server nobody came to is culled a timeout later. The
prepared names and their deadlines are kept in a JSON file, so a restart of
the service keeps them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import CourseError

log = logging.getLogger(__name__)

#: Most names one request may list.
MAX_STUDENTS = 2000
#: Jobs kept for their progress to be read, newest last.
MAX_JOBS = 20


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_request(body: dict, now: dt.datetime) -> tuple[list[str] | None, dt.datetime | None]:
    """``{students?: [names], until?: ISO}``, validated (:class:`CourseError` 400)."""
    unknown = set(body) - {"students", "until"}
    if unknown:
        raise CourseError(400, f"Unknown field(s): {', '.join(sorted(unknown))}.", "invalid")
    # An explicit null is refused, not read as "the whole roster".
    students = body.get("students")
    if "students" in body:
        if not isinstance(students, list) or not all(
            isinstance(s, str) and 0 < len(s) <= 255 for s in students
        ):
            raise CourseError(400, "students must be a list of user names.", "invalid")
        if not students or len(students) > MAX_STUDENTS:
            raise CourseError(
                400, f"students must name between 1 and {MAX_STUDENTS} users.", "invalid"
            )
        students = list(dict.fromkeys(students))
    until = body.get("until")
    if "until" in body:
        if not isinstance(until, str) or len(until) > 64:
            raise CourseError(400, "until must be a date and time (ISO 8601).", "invalid")
        try:
            until = dt.datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError:
            raise CourseError(
                400,
                "until must be a date and time (ISO 8601), e.g. 2026-12-07T09:00+01:00.",
                "invalid",
            ) from None
        if until.tzinfo is None:
            raise CourseError(400, "until must carry its time zone (e.g. +01:00 or Z).", "invalid")
        if until < now - dt.timedelta(minutes=1):
            raise CourseError(400, "until is in the past: give the class's start.", "invalid")
        if until > now + dt.timedelta(days=7):
            raise CourseError(400, "until must be within a week.", "invalid")
    return students, until


class HubAPI:
    """The few hub REST calls the preparer makes, with the service's token."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, dict]:
        """(status, JSON body or None, headers); a hub's 4xx/5xx is returned, not raised."""
        request = HTTPRequest(
            self.api_url + path,
            method=method,
            headers={
                "Authorization": f"token {self.token}",
                "Accept": "application/jupyterhub-pagination+json, application/json",
            },
            body=None if body is None and method == "GET" else json.dumps(body or {}),
            request_timeout=60,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.response is None:
                raise
            response = exc.response
        try:
            data = json.loads(response.body) if response.body else None
        except ValueError:
            data = None
        return response.code, data, dict(response.headers)


def hub_message(data: Any, code: int) -> str:
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return f"the hub answered HTTP {code}"


class ClassPreparer:
    """Starts a class's servers and keeps them from the culler until the class starts."""

    def __init__(
        self,
        hub: HubAPI,
        is_teacher: Callable[[dict], bool],
        concurrency: int = 100,
        grace_minutes: float = 30.0,
        keepalive_seconds: float = 60.0,
        spawn_timeout: float = 600.0,
        state_file: str | Path | None = None,
    ) -> None:
        self.hub = hub
        self.is_teacher = is_teacher
        self.concurrency = max(1, concurrency)
        self.grace = dt.timedelta(minutes=grace_minutes)
        self.keepalive_seconds = keepalive_seconds
        self.spawn_timeout = spawn_timeout
        self.state_file = Path(state_file) if state_file else None
        self.jobs: dict[str, dict[str, Any]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._semaphore = asyncio.Semaphore(self.concurrency)
        #: name -> until when its server's activity is kept fresh
        self.kept: dict[str, dt.datetime] = self._load()
        self._keeper: asyncio.Task | None = None

    # -- the prepared servers, kept from the culler -------------------------
    def _load(self) -> dict[str, dt.datetime]:
        if not self.state_file or not self.state_file.exists():
            return {}
        try:
            raw = json.loads(self.state_file.read_text())
            return {name: dt.datetime.fromisoformat(t) for name, t in raw.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            log.error("Ignoring %s (unreadable: %s)", self.state_file, exc)
            return {}

    def _save(self) -> None:
        if not self.state_file:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({name: t.isoformat() for name, t in self.kept.items()}))
        os.replace(tmp, self.state_file)

    def start_keeper(self) -> None:
        """Start the loop that refreshes prepared servers' activity (idempotent)."""
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.ensure_future(self._keep_loop())

    async def _keep_loop(self) -> None:
        while True:
            try:
                await self.keep_once()
            except Exception:
                log.exception("Refreshing the prepared servers' activity failed")
            await asyncio.sleep(self.keepalive_seconds)

    async def keep_once(self) -> None:
        """Post a fresh activity for each prepared server still within its deadline."""
        now = utcnow()
        expired = [name for name, until in self.kept.items() if until <= now]
        for name in expired:
            del self.kept[name]
        if expired:
            self._save()
            log.info("No longer keeping the prepared servers of %d student(s)", len(expired))
        await asyncio.gather(*(self._touch(name, now) for name in list(self.kept)))

    async def _touch(self, name: str, now: dt.datetime) -> None:
        body = {"servers": {"": {"last_activity": _iso(now)}}}
        code, data, _ = await self.hub.call(
            "POST", f"/users/{quote(name, safe='')}/activity", body
        )
        if code >= 300:  # no server (stopped by its student): nothing to keep
            log.debug("Activity of %s not refreshed: %s", name, hub_message(data, code))

    def keep(self, name: str, until: dt.datetime) -> None:
        self.kept[name] = max(until, self.kept.get(name, until))
        self._save()

    # -- jobs ------------------------------------------------------------------
    async def roster(self) -> list[str]:
        """The hub's users who are neither admins nor teachers."""
        names: list[str] = []
        offset = 0
        while True:
            code, data, _ = await self.hub.call("GET", f"/users?offset={offset}&limit=200")
            if code != 200:
                log.error("The hub answered %s listing users: %s", code, data)
                raise CourseError(
                    503, "The course service could not read the roster from the hub.", "hub"
                )
            items = data["items"] if isinstance(data, dict) else data
            names += [u["name"] for u in items if not self.is_teacher(u)]
            following = (
                (data.get("_pagination") or {}).get("next") if isinstance(data, dict) else None
            )
            if not following or not items:
                return names
            offset = following["offset"]

    async def prepare(
        self, students: list[str] | None, until: dt.datetime | None, by: str
    ) -> dict[str, Any]:
        """Start a job; returns its first model (its progress is :meth:`job`)."""
        names = students if students is not None else await self.roster()
        now = utcnow()
        keep_until = (until or now) + self.grace
        job_id = secrets.token_hex(8)
        job: dict[str, Any] = {
            "id": job_id,
            "by": by,
            "created": _iso(now),
            "until": _iso(until) if until else None,
            "keep_until": _iso(keep_until),
            "concurrency": self.concurrency,
            "total": len(names),
            "started": 0,
            "ready": 0,
            "failed": 0,
            "failures": [],
            "done": not names,
        }
        self.jobs[job_id] = job
        while len(self.jobs) > MAX_JOBS:
            self.jobs.pop(next(iter(self.jobs)))
        log.info(
            "%s prepares the class: %d server(s), kept until %s", by, len(names), job["keep_until"]
        )
        task = asyncio.ensure_future(self._run(job, names, keep_until))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return dict(job)

    def job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise CourseError(
                404, "No such preparation (the service keeps the last 20).", "unknown"
            )
        return {**job, "failures": list(job["failures"])}

    async def _run(self, job: dict, names: list[str], keep_until: dt.datetime) -> None:
        self.start_keeper()
        await asyncio.gather(*(self._one(job, name, keep_until) for name in names))
        job["done"] = True
        log.info(
            "Class prepared: %d ready, %d failed of %d", job["ready"], job["failed"], job["total"]
        )

    def _fail(self, job: dict, name: str, message: str) -> None:
        job["failed"] += 1
        job["failures"].append({"user": name, "message": message})
        log.warning("Preparing %s's server failed: %s", name, message)

    async def _one(self, job: dict, name: str, keep_until: dt.datetime) -> None:
        async with self._semaphore:
            try:
                message = await self._spawn(job, name)
            except Exception as exc:
                log.exception("Preparing %s's server", name)
                message = f"the course service could not ask the hub ({exc})."
        if message:
            self._fail(job, name, message)
            return
        job["ready"] += 1
        self.keep(name, keep_until)
        await self._touch(name, utcnow())

    async def _spawn(self, job: dict, name: str) -> str | None:
        """Start one server and wait until it is ready: None, or why it failed."""
        path = f"/users/{quote(name, safe='')}"
        loop = asyncio.get_running_loop()
        end = loop.time() + self.spawn_timeout
        while True:
            code, data, headers = await self.hub.call("POST", path + "/server")
            if code == 429:  # the hub's spawn limit: wait as it suggests
                delay = float(headers.get("Retry-After", "10") or 10)
                if loop.time() + delay > end:
                    return "the hub was too busy to start it in time (spawn limit)."
                await asyncio.sleep(min(delay, 30))
                continue
            break
        if code == 404:
            return (
                f"{name} is not a user of the hub: a student is one once logged in, "
                "or when on the hub's roster (allowed users)."
            )
        already = code == 400 and "already running" in hub_message(data, code)
        if code not in (201, 202) and not already:
            return f"the hub refused to start it: {hub_message(data, code)}"
        job["started"] += 1
        while loop.time() < end:
            code, user, _ = await self.hub.call("GET", path)
            if code != 200:
                return f"the hub could not tell whether it started: {hub_message(user, code)}"
            server = (user.get("servers") or {}).get("")
            if server and server.get("ready"):
                return None
            if not server or not server.get("pending"):
                return "it did not start: the hub's log says why (the spawner failed)."
            await asyncio.sleep(1.0)
        return f"it was not ready after {self.spawn_timeout:.0f} s."

    async def close(self) -> None:
        for task in [*self._tasks, *([self._keeper] if self._keeper else [])]:
            task.cancel()
