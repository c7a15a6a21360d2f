"""Who is asking: JupyterHub's own service auth, and who is a teacher.

Requests are authenticated by :class:`jupyterhub.services.auth.HubOAuth`: a
browser through the hub's OAuth (a cookie), a program with an
``Authorization: token <hub token>`` header (a student's server sends its
user's token, the gateway its service token). The hub grants access with the
scope ``access:services!service=course``.

Whether a user is a teacher is decided here, per request, from the hub and not
from the token's scopes (a student's server token carries only what the
student may do): the service looks the user up with its own service token and
treats hub admins and members of the ``teacher_group`` as teachers. Answers
are cached for ``ttl`` seconds at most (between half and all of it, so that
a class arriving at once is not asked about again all at once), so a teacher
made or unmade on the hub counts within that time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import CourseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Who:
    """The authenticated caller."""

    name: str
    kind: str  # "user" or "service"
    teacher: bool = False

    @property
    def is_service(self) -> bool:
        return self.kind != "user"


class TeacherCheck:
    """Asks the hub whether a user is an admin or in the teachers' group (cached)."""

    def __init__(self, api_url: str, api_token: str, group: str, ttl: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_token = api_token
        self.group = group
        self.ttl = ttl
        self._cache: dict[str, tuple[float, bool]] = {}  # name -> (expires, teacher)
        self._asking: dict[str, asyncio.Future[bool]] = {}

    def forget(self) -> None:
        self._cache.clear()

    async def is_teacher(self, name: str) -> bool:
        hit = self._cache.get(name)
        now = time.monotonic()
        if hit and now < hit[0]:
            return hit[1]
        # One question to the hub per user at a time, however many requests wait.
        pending = self._asking.get(name)
        if pending is None:
            pending = asyncio.ensure_future(self._ask(name))
            self._asking[name] = pending
            pending.add_done_callback(lambda _: self._asking.pop(name, None))
        return await asyncio.shield(pending)

    def of(self, model: dict | None) -> bool:
        """The rule itself, on a hub user model: an admin or in :attr:`group`.

        Every part of the service that tells teachers from students (the
        checks, the class view's roster, preparing the class) uses this."""
        return bool(model) and (
            bool(model.get("admin")) or self.group in (model.get("groups") or [])
        )

    async def _ask(self, name: str) -> bool:
        model = await self._user(name)
        teacher = self.of(model)
        # Each answer lives between ttl/2 and ttl: a class that arrived at once
        # (a live question opening, a lecture starting) would otherwise have
        # every student asked about again in the same second, each answer
        # waiting behind the others'.
        self._cache[name] = (time.monotonic() + self.ttl * random.uniform(0.5, 1.0), teacher)  # noqa: S311
        return teacher

    async def _user(self, name: str) -> dict | None:
        request = HTTPRequest(
            f"{self.api_url}/users/{quote(name, safe='')}",
            headers={"Authorization": f"token {self.api_token}"},
            request_timeout=10,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.code == 404:
                return None
            log.error("The hub answered %s when asked about user %s", exc.code, name)
            raise self._unreachable() from None
        except OSError as exc:
            log.error("Cannot reach the hub API at %s: %s", self.api_url, exc)
            raise self._unreachable() from None
        return json.loads(response.body)

    @staticmethod
    def _unreachable() -> CourseError:
        return CourseError(
            503,
            "The course service could not check your rights with the hub. Try again in a minute.",
            "hub-unreachable",
        )
