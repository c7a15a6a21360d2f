"""No endpoint of the extension answers without authentication, and every
one asks jupyter-server's authorizer too.

Walks every route of the course API as registered in the running server's
tornado application (not a hand-written list), so a handler added later
without ``@web.authenticated`` or ``@authorized`` fails this test.
"""

from __future__ import annotations

import re

from jupyter_server.serverapp import _has_tornado_web_authenticated
from tornado.web import RequestHandler

from course_hub.handlers import CourseHandler

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SAMPLES = {
    "session_id": "intro",
    "name": "abc123",
    "index": "1",
    "receipt_id": "r1",
    "question_id": "1",
    "job_id": "0123456789abcdef",
    "user": "ada",
}


def course_routes(web_app):
    """(path, handler class) for every registered course route."""
    found = []
    rules = list(web_app.default_router.rules)
    while rules:
        rule = rules.pop()
        target = rule.target
        if hasattr(target, "rules"):
            rules.extend(target.rules)
            continue
        regex = getattr(rule.matcher, "regex", None)
        if regex is None or "/course/" not in regex.pattern:
            continue
        path = regex.pattern.rstrip("$").replace("\\.", ".")  # handins\.zip
        for group, value in SAMPLES.items():
            path = re.sub(rf"\(\?P<{group}>[^)]*\)(\{{[^}}]*\}})?", value, path)
        found.append((path, target))
    return found


def has_authorized(method) -> bool:
    """Whether jupyter-server's ``@authorized`` wraps ``method`` (at any depth)."""
    while method is not None:
        code = getattr(method, "__code__", None)
        if code is not None and code.co_qualname.startswith("authorized."):
            return True
        method = getattr(method, "__wrapped__", None)
    return False


def implemented(handler: type, method: str) -> bool:
    return getattr(handler, method.lower()) is not getattr(RequestHandler, method.lower())


async def test_every_course_endpoint_requires_authentication(jp_serverapp, http_server_client):
    routes = course_routes(jp_serverapp.web_app)
    assert len(routes) >= 6, routes
    checked = 0
    for path, handler in routes:
        assert issubclass(handler, CourseHandler), path
        for method in METHODS:
            if not implemented(handler, method):
                continue
            # Decorated, not only protected by the server-wide setting (the
            # same check jupyter_server uses to warn about extensions).
            assert _has_tornado_web_authenticated(getattr(handler, method.lower())), (
                method,
                path,
            )
            # And authorized: a guest with read-only access may not write.
            assert has_authorized(getattr(handler, method.lower())), (method, path)
            for headers in ({}, {"Authorization": "token not-a-real-token"}):
                resp = await http_server_client.fetch(
                    path,
                    method=method,
                    headers=headers,
                    body=b"{}" if method in ("POST", "PUT", "PATCH") else None,
                    raise_error=False,
                    follow_redirects=False,
                )
                assert resp.code == 403, (method, path, headers, resp.code)
                assert b"sessions" not in (resp.body or b"")
                checked += 1
    assert checked >= 16
