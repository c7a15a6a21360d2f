"""The class view's REST handlers, under ``<service prefix>api/class``: teachers only.

``GET api/class``: a row per student (:func:`.class_view.class_model`).
``GET api/class/actions``: the teachers' actions, newest first. ``POST
api/class/actions``: do one and record it (who, what, whom, when):
``{"action": "stop-cluster", "user": "alice", "cluster": "<name>"}`` (no
``cluster``: every cluster of hers) or ``{"action": "stop-server", "user":
"alice"}``. The gateway is asked with the requester's own token (see
:mod:`.class_view`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado import web

from ..errors import CourseError
from .class_view import ACTIONS, ClassRecord, GatewayClient, HubClient, class_model
from .handlers import ServiceHandler, json_object


class ClassBase(ServiceHandler):
    login_status = 401  # as the live quiz's and the class preparation's routes

    async def prepare(self) -> None:
        await super().prepare()
        if self.current_user is not None:
            self.require_teacher_sentence()

    def require_teacher_sentence(self) -> None:
        if not self.who.teacher:
            raise CourseError(
                403,
                "Only teachers see the class and act on students' servers and clusters.",
                "forbidden",
            )

    @property
    def record(self) -> ClassRecord:
        record = self.state.record
        if record is None:
            raise CourseError(503, "The class view is not running on this service.", "no-class")
        return record

    @property
    def hub(self) -> HubClient:
        return HubClient(self.hub_auth.api_url, self.hub_auth.api_token)

    @property
    def gateway(self) -> GatewayClient:
        return GatewayClient(self.state.gateway_url)

    def teacher_token(self) -> str:
        return self.hub_auth.get_token(self) or ""


class ClassHandler(ClassBase):
    @web.authenticated
    async def get(self) -> None:
        users, activity = await asyncio.gather(
            self.hub.users(), asyncio.to_thread(self.record.activity)
        )
        teachers = {str(u.get("name")) for u in users if self.state.teachers.of(u)}
        gateway: dict[str, Any] | None = None
        problem = None
        try:
            gateway = await self.gateway.clusters(self.teacher_token())
        except CourseError as exc:
            problem = exc.message
        self.reply(class_model(users, teachers, activity, gateway, problem, self.state.now()))


class ClassActionsHandler(ClassBase):
    @web.authenticated
    async def get(self) -> None:
        self.reply({"actions": await asyncio.to_thread(self.record.actions)})

    @web.authenticated
    async def post(self) -> None:
        body = json_object(self.request.body)
        action, user, cluster = _parse_action(body)
        if action == "stop-server":
            result = await self.hub.stop_server(user)
            target = ""
        else:
            target, result = await self._stop_clusters(user, cluster)
        model = await asyncio.to_thread(
            self.record.add_action, self.who.name, action, user, target, result
        )
        self.reply(model, status=201)

    async def _stop_clusters(self, user: str, cluster: str | None) -> tuple[str, str]:
        token = self.teacher_token()
        listed = await self.gateway.clusters(token)
        theirs = [str(c.get("name")) for c in listed["clusters"] if c.get("user") == user]
        if cluster is not None:
            if cluster not in theirs:
                raise CourseError(404, f"{user!r} has no cluster named {cluster!r}.", "unknown")
            theirs = [cluster]
        for name in theirs:
            await self.gateway.stop(name, token)
        if not theirs:
            return "", "no-cluster"
        return ",".join(theirs)[:255], f"stopped {len(theirs)}"


def _parse_action(body: dict) -> tuple[str, str, str | None]:
    usage = (
        'Send {"action": "stop-cluster" or "stop-server", "user": "<name>"} '
        '(and "cluster": "<name>" to stop one cluster).'
    )
    if not set(body) <= {"action", "user", "cluster"} or body.get("action") not in ACTIONS:
        raise CourseError(400, usage, "invalid")
    user = body.get("user")
    if not isinstance(user, str) or not 0 < len(user) <= 255:
        raise CourseError(400, usage, "invalid")
    cluster = body.get("cluster")
    if cluster is not None and (
        body["action"] != "stop-cluster"
        or not isinstance(cluster, str)
        or not 0 < len(cluster) <= 255
    ):
        raise CourseError(400, usage, "invalid")
    return body["action"], user, cluster


def class_handlers(api: str) -> list[tuple[str, type]]:
    """The class view's routes under ``<prefix>api/``."""
    return [
        (api + "class", ClassHandler),
        (api + "class/actions", ClassActionsHandler),
    ]
