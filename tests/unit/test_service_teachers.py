"""Who is a teacher: the service asks the hub (a real HTTP stand-in of
``GET /hub/api/users/<name>`` here) with its own token, and reuses the answer
for ``ttl`` seconds. Admins and members of the teachers' group are teachers;
an unknown user is not; a hub that does not answer is a 503 sentence."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from tornado import web
from tornado.httpserver import HTTPServer

from course_hub.errors import CourseError
from course_hub.service.auth import TeacherCheck

USERS = {
    "alice": {"name": "alice", "admin": False, "groups": []},
    "boss": {"name": "boss", "admin": True, "groups": []},
    "ta": {"name": "ta", "admin": False, "groups": ["teachers"]},
    "a b@c": {"name": "a b@c", "admin": False, "groups": ["staff"]},
}


class UserHandler(web.RequestHandler):
    def get(self, name: str) -> None:
        self.application.settings["seen"].append((name, self.request.headers["Authorization"]))
        if self.application.settings["down"]:
            raise web.HTTPError(502)
        if name not in USERS:
            raise web.HTTPError(404)
        self.finish(json.dumps(USERS[name]))


def run(check_body) -> list:
    async def main() -> list:
        seen: list = []
        settings = {"seen": seen, "down": False}
        app = web.Application([(r"/hub/api/users/([^/]+)", UserHandler)], **settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        server = HTTPServer(app)
        server.add_sockets([sock])
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hub/api"
        try:
            await check_body(url, app.settings)
        finally:
            server.stop()
        return seen

    return asyncio.run(main())


def test_admins_and_the_group_are_teachers_asked_with_the_service_token():
    async def body(url, _settings):
        check = TeacherCheck(url, "service-token", "teachers", ttl=30)
        assert [await check.is_teacher(n) for n in ("alice", "boss", "ta", "nobody")] == [
            False,
            True,
            True,
            False,
        ]
        staff = TeacherCheck(url, "service-token", "staff")
        assert await staff.is_teacher("a b@c") and not await staff.is_teacher("ta")

    seen = run(body)
    assert {auth for _, auth in seen} == {"token service-token"}
    assert ("a b@c", "token service-token") in seen  # sent URL-quoted, decoded by the hub


def test_answers_are_reused_for_ttl_seconds():
    async def body(url, settings):
        check = TeacherCheck(url, "t", "teachers", ttl=0.3)
        assert await check.is_teacher("boss")
        settings["down"] = True  # cached: the hub is not asked again
        assert await check.is_teacher("boss")
        await asyncio.sleep(0.35)
        with pytest.raises(CourseError) as info:
            await check.is_teacher("boss")
        assert info.value.status == 503 and info.value.reason == "hub-unreachable"

    assert len(run(body)) == 2


def test_a_hub_that_cannot_be_reached():
    async def body(_url, _settings):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        check = TeacherCheck(f"http://127.0.0.1:{port}/hub/api", "t", "teachers")
        with pytest.raises(CourseError) as info:
            await check.is_teacher("boss")
        assert info.value.status == 503 and "Try again" in info.value.message

    run(body)
