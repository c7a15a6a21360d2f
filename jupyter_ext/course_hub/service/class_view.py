"""The class at a glance: one row per student, for teachers, and their actions on it.

:func:`class_model` puts together, for each of the hub's users who is not a
teacher (the hub's accounts are the roster: they are made from it), what the
service knows and what it asks:

- the hub (its REST API, with the service's own token: ``read:users``,
  ``read:servers``): whether the server runs, the last activity;
- this service's database: the sessions a student opened (recorded when their
  server fetches a session snapshot), their first answer to each self-check
  question (recorded when the service checks it), their live-quiz answers
  (:mod:`.live`), their latest hand-in per assignment;
- the gateway (``GET <gateway>/api/v1/course/clusters``, a route of ours for
  hub admins, :mod:`course_hub.hub.class_clusters`): every cluster now, and
  the per-student limits. The request carries the *teacher's* token, which the
  service forwards (the service's own token is not an admin on the gateway).

Actions (stop a cluster, stop a server) are kept in ``class_actions``: who,
what, whom, when and how it went. Everything here is a plain class or
function; :class:`ClassRecord`'s methods block (the handlers call them in a
thread), :class:`HubClient` and :class:`GatewayClient` are async.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import quote

from sqlalchemy import Boolean, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import CourseError
from .live import LiveAnswer, LiveQuestion, iso
from .store import Base, HandIn, utcnow

log = logging.getLogger(__name__)

#: A student counts as online this many seconds after the hub last saw them.
ONLINE_SECONDS = 600.0
ACTIONS = ("stop-cluster", "stop-server")
ACTIONS_LIMIT = 200
GIB = 2**30


class ClassAction(Base):
    """A teacher's action on a student: kept for good."""

    __tablename__ = "class_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # UTC, naive
    by: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(255), default="")
    result: Mapped[str] = mapped_column(String(255))

    def model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "by": self.by,
            "action": self.action,
            "user": self.user,
            "target": self.target or None,
            "result": self.result,
        }


class SessionOpen(Base):
    """A student's server fetched a session's files (the first and latest time)."""

    __tablename__ = "class_session_opens"
    __table_args__ = (UniqueConstraint("user", "session"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    session: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime)


class QuizFirstAnswer(Base):
    """A student's first answer to a self-check question (the one the score counts)."""

    __tablename__ = "class_quiz_first_answers"
    __table_args__ = (UniqueConstraint("user", "session", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    session: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(DateTime)


TABLES = [ClassAction.__table__, SessionOpen.__table__, QuizFirstAnswer.__table__]


def _naive(when: dt.datetime | None = None) -> dt.datetime:
    return (when or utcnow()).astimezone(dt.UTC).replace(tzinfo=None)


class ClassRecord:
    """What the service records for the class view (blocking methods)."""

    def __init__(self, engine: Engine) -> None:
        Base.metadata.create_all(engine, tables=TABLES)
        self._db = sessionmaker(engine, expire_on_commit=False)

    def opened(self, user: str, session: str, when: dt.datetime | None = None) -> None:
        now = _naive(when)
        try:
            with self._db.begin() as db:
                row = db.scalar(
                    select(SessionOpen).where(
                        SessionOpen.user == user, SessionOpen.session == session
                    )
                )
                if row is None:
                    db.add(SessionOpen(user=user, session=session, first_at=now, last_at=now))
                else:
                    row.last_at = now
        except IntegrityError:
            pass  # two fetches at once both inserted: the unique constraint kept one

    def first_answer(self, user: str, session: str, number: int, correct: bool) -> None:
        try:
            with self._db.begin() as db:
                exists = db.scalar(
                    select(QuizFirstAnswer.id).where(
                        QuizFirstAnswer.user == user,
                        QuizFirstAnswer.session == session,
                        QuizFirstAnswer.number == number,
                    )
                )
                if exists is None:
                    db.add(
                        QuizFirstAnswer(
                            user=user, session=session, number=number, correct=correct, at=_naive()
                        )
                    )
        except IntegrityError:
            pass  # another request recorded the first answer meanwhile: it stays first

    def add_action(
        self, by: str, action: str, user: str, target: str, result: str
    ) -> dict[str, Any]:
        row = ClassAction(
            at=_naive(), by=by, action=action, user=user, target=target, result=result
        )
        with self._db.begin() as db:
            db.add(row)
        return row.model()

    def actions(self, limit: int = ACTIONS_LIMIT) -> list[dict[str, Any]]:
        query = select(ClassAction).order_by(ClassAction.id.desc()).limit(limit)
        with self._db() as db:
            return [r.model() for r in db.scalars(query)]

    def activity(self) -> dict[str, dict[str, Any]]:
        """Per user: sessions opened, self-check first answers, live answers, hand-ins."""
        out: dict[str, dict[str, Any]] = {}

        def row(user: str) -> dict[str, Any]:
            return out.setdefault(
                user,
                {
                    "sessions": [],
                    "selfcheck": {"answered": 0, "correct": 0},
                    "live": {"answered": 0, "correct": 0},
                    "handins": {},
                },
            )

        with self._db() as db:
            for o in db.scalars(select(SessionOpen).order_by(SessionOpen.first_at)):
                row(o.user)["sessions"].append(o.session)
            for a in db.scalars(select(QuizFirstAnswer)):
                r = row(a.user)["selfcheck"]
                r["answered"] += 1
                r["correct"] += int(a.correct)
            live = select(LiveAnswer.user, LiveAnswer.choice, LiveQuestion.answer).join(
                LiveQuestion, LiveQuestion.id == LiveAnswer.question_id
            )
            for user, choice, answer in db.execute(live):
                r = row(user)["live"]
                r["answered"] += 1
                r["correct"] += int(answer is not None and choice == answer)
            handins = select(HandIn).order_by(HandIn.received.desc(), HandIn.id.desc())
            for h in db.scalars(handins):
                kept = row(h.user)["handins"]
                if h.session not in kept:  # the newest first: the latest per assignment
                    kept[h.session] = {
                        "session": h.session,
                        "received": iso(h.received),
                        "late": h.late,
                        "count": 0,
                    }
                kept[h.session]["count"] += 1
        for r in out.values():
            r["handins"] = sorted(r["handins"].values(), key=lambda h: h["session"])
        return out


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def student_status(user: dict[str, Any], now: dt.datetime) -> tuple[str, str | None]:
    """(status, last activity) of a hub user model: running, starting, online,
    away (seen before) or never (the hub never saw them)."""
    server = (user.get("servers") or {}).get("")
    last = _parse_time(user.get("last_activity"))
    if server:
        last = max(filter(None, [last, _parse_time(server.get("last_activity"))]), default=None)
        if server.get("ready"):
            return "running", iso(last)
        return "starting", iso(last)
    if last is None:
        return "never", None
    if (now - last).total_seconds() <= ONLINE_SECONDS:
        return "online", iso(last)
    return "away", iso(last)


def class_model(
    users: list[dict[str, Any]],
    teachers: set[str],
    activity: dict[str, dict[str, Any]],
    gateway: dict[str, Any] | None,
    gateway_error: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The class view: a row per student, the totals against the limits."""
    clusters: dict[str, list[dict[str, Any]]] = {}
    for c in (gateway or {}).get("clusters") or []:
        clusters.setdefault(str(c.get("user")), []).append(
            {
                "name": c.get("name"),
                "status": c.get("status"),
                "workers": int(c.get("workers") or 0),
                "cores": float(c.get("cores") or 0),
                "memory": float(c.get("memory") or 0),
            }
        )
    empty = {
        "sessions": [],
        "selfcheck": {"answered": 0, "correct": 0},
        "live": {"answered": 0, "correct": 0},
        "handins": [],
    }
    students = []
    for user in sorted(users, key=lambda u: str(u.get("name"))):
        name = str(user.get("name"))
        if name in teachers:
            continue
        status, last = student_status(user, now)
        mine = activity.get(name, empty)
        students.append(
            {
                "name": name,
                "status": status,
                "last_activity": last,
                "server_url": f"/user/{quote(name, safe='')}/",
                "sessions": mine["sessions"],
                "selfcheck": mine["selfcheck"],
                "live": mine["live"],
                "handins": mine["handins"],
                "clusters": clusters.get(name, []) if gateway is not None else None,
            }
        )
    in_class = {s["name"] for s in students}
    counted = [c for who, cs in clusters.items() if who in in_class for c in cs]
    limits = (gateway or {}).get("limits")
    totals = {
        "students": len(students),
        "servers_running": sum(s["status"] == "running" for s in students),
        "online": sum(s["status"] in ("running", "starting", "online") for s in students),
        "clusters": len(counted) if gateway is not None else None,
        "workers": sum(c["workers"] for c in counted) if gateway is not None else None,
        "cores": sum(c["cores"] for c in counted) if gateway is not None else None,
        "memory": sum(c["memory"] for c in counted) if gateway is not None else None,
    }
    capacity = None
    if isinstance(limits, dict):
        n = len(students)

        def times(value: object) -> float | None:
            return None if value is None else float(value) * n  # type: ignore[arg-type]

        capacity = {
            "max_clusters": times(limits.get("max_clusters")),
            "max_cores": times(limits.get("max_cores")),
            "max_memory": times(
                None if limits.get("max_memory_gib") is None else limits["max_memory_gib"] * GIB
            ),
        }
    return {
        "generated": iso(_naive(now)),
        "students": students,
        "totals": totals,
        "limits": limits,
        "capacity": capacity,
        "gateway_error": gateway_error,
    }


class HubClient:
    """The hub's REST API with the service's own token."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token

    async def _fetch(self, method: str, path: str) -> Any:
        request = HTTPRequest(
            f"{self.api_url}/{path}",
            method=method,
            headers={
                "Authorization": f"token {self.token}",
                "Accept": "application/jupyterhub-pagination+json",
            },
            request_timeout=20,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.code < 500 and exc.code != 599:
                return exc
            log.error("The hub answered %s to %s %s", exc.code, method, path)
            raise _hub_down() from None
        except OSError as exc:
            log.error("Cannot reach the hub API at %s: %s", self.api_url, exc)
            raise _hub_down() from None
        if method == "DELETE":
            return response.code
        return json.loads(response.body) if response.body else None

    async def users(self) -> list[dict[str, Any]]:
        """Every user of the hub (every page)."""
        found: list[dict[str, Any]] = []
        offset = 0
        for _ in range(1000):
            page = await self._fetch("GET", f"users?offset={offset}&limit=200")
            if isinstance(page, HTTPClientError):
                log.error("The hub refused the users list: %s", page.code)
                raise _hub_down()
            items = page.get("items", []) if isinstance(page, dict) else page
            found.extend(items)
            following = (
                (page.get("_pagination") or {}).get("next") if isinstance(page, dict) else None
            )
            if not following or not items:
                break
            offset = int(following.get("offset", offset + len(items)))
        return found

    async def stop_server(self, name: str) -> str:
        """Stop a user's default server: ``stopped``, ``stopping`` or ``not-running``.

        The hub answers 204 to a stop whether or not a server was running, so
        the user's model is read first: the record must not say a teacher
        stopped a server that was never there."""
        path = f"users/{quote(name, safe='')}"
        model = await self._fetch("GET", path)
        if isinstance(model, HTTPClientError):
            if model.code == 404:
                raise CourseError(404, f"There is no user named {name!r} on the hub.", "unknown")
            log.warning("The hub answered %s when reading %s", model.code, name)
            raise _hub_down()
        if "" not in ((model or {}).get("servers") or {}):  # no default server, not even pending
            return "not-running"
        result = await self._fetch("DELETE", f"{path}/server")
        if isinstance(result, HTTPClientError):
            if result.code == 404:
                raise CourseError(404, f"There is no user named {name!r} on the hub.", "unknown")
            log.warning("The hub answered %s when stopping %s's server", result.code, name)
            raise CourseError(
                409,
                f"The hub refused to stop {name!r}'s server ({result.code}).",
                "hub-refused",
            )
        return "stopping" if result == 202 else "stopped"


def _hub_down() -> CourseError:
    return CourseError(
        503, "The course service cannot read the class from the hub: try again.", "hub-unreachable"
    )


class GatewayClient:
    """The class's clusters, asked of the gateway with the teacher's own token."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def _fetch(self, method: str, path: str, token: str) -> Any:
        if not self.url:
            # 4xx: a state of this deployment, not a failure (no gateway was wired).
            raise CourseError(
                404,
                "This hub's course service knows no Dask Gateway (COURSE_GATEWAY_URL): "
                "it cannot list nor stop clusters.",
                "no-gateway",
            )
        request = HTTPRequest(
            f"{self.url}/api/v1/course/clusters{path}",
            method=method,
            headers={"Authorization": f"jupyterhub {token}"},
            request_timeout=20,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.code in (401, 403):
                raise CourseError(
                    403,
                    "The Dask Gateway did not accept this login as a teacher's: use the "
                    "Course panel (your server's token reaches the gateway).",
                    "gateway-refused",
                ) from None
            log.error("The gateway answered %s to %s %s", exc.code, method, path)
            raise CourseError(
                502, f"The Dask Gateway answered {exc.code}.", "gateway-error"
            ) from None
        except OSError as exc:
            log.error("Cannot reach the gateway at %s: %s", self.url, exc)
            raise CourseError(
                503, "The Dask Gateway does not answer.", "gateway-unreachable"
            ) from None
        return json.loads(response.body) if response.body else None

    async def clusters(self, token: str) -> dict[str, Any]:
        model = await self._fetch("GET", "", token)
        if not isinstance(model, dict) or not isinstance(model.get("clusters"), list):
            raise CourseError(502, "The Dask Gateway sent an unusable answer.", "gateway-error")
        return model

    async def stop(self, name: str, token: str) -> None:
        await self._fetch("DELETE", "/" + quote(name, safe=""), token)


__all__ = [
    "ACTIONS",
    "ClassRecord",
    "GatewayClient",
    "HubClient",
    "class_model",
    "student_status",
    "utcnow",
]
