"""The published OpenAPI description: served, loadable, and matching the routes.

The integration tier fuzzes the API from this description
(tests/integration/test_fuzz.py); these tests keep it honest about which
operations exist.
"""

from __future__ import annotations

import re

import schemathesis

from course_hub.handlers import HANDLERS, openapi_spec

from .helpers import call

VERBS = {"get", "post", "patch", "delete", "put"}


def route_to_template(route: str) -> str:
    """``/course/api/sessions/(?P<session_id>[^/]+)`` -> ``/course/api/sessions/{session_id}``."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)(\{[^}]*\})?", r"{\1}", route).replace("\\.", ".")


def test_every_route_and_verb_is_described():
    spec = openapi_spec()
    described = {
        (path, verb) for path, item in spec["paths"].items() for verb in item if verb in VERBS
    }
    served = set()
    for route, handler in HANDLERS:
        for verb in VERBS:
            if verb in vars(handler):
                served.add((route_to_template(route), verb))
    assert described == served


def test_description_is_a_valid_openapi_document():
    schema = schemathesis.openapi.from_dict(openapi_spec())
    operations = [r.ok() for r in schema.get_all_operations()]
    # Every operation parses (which exist: test_every_route_and_verb_is_described).
    spec = openapi_spec()
    assert len(operations) == sum(v in VERBS for item in spec["paths"].values() for v in item)
    assert {op.method.upper() for op in operations} == {"GET", "POST", "PATCH", "DELETE"}


async def test_server_publishes_it_pointing_at_itself(jp_fetch, jp_base_url):
    status, spec = await call(jp_fetch, "GET", "openapi.json")
    assert status == 200
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"][0]["url"] == jp_base_url
    assert spec["paths"] == openapi_spec()["paths"]


async def test_open_refuses_unknown_fields(jp_fetch):
    status, body = await call(jp_fetch, "POST", "sessions/intro/open", body={"force": True})
    assert status == 400
    assert body["reason"] == "invalid"
    status, session = await call(jp_fetch, "GET", "sessions/intro")
    assert status == 200
    assert session["opened"] is False
