"""The course service's OpenAPI description: a valid document that describes
exactly the routes and verbs the service serves (the integration tier fuzzes
the service from it: tests/integration/test_service.py)."""

from __future__ import annotations

import re

import schemathesis

from course_hub.service.handlers import NotFoundHandler, handlers
from course_hub.service.openapi import openapi_spec

VERBS = {"get", "post", "patch", "delete", "put"}
PREFIX = "/services/course/"


def route_to_template(route: str) -> str:
    path = "/" + route.removeprefix(PREFIX)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)(\{[^}]*\})?", r"{\1}", path)
    return path.replace("\\.", ".")


def test_every_route_and_verb_is_described():
    spec = openapi_spec()
    described = {
        (path, verb) for path, item in spec["paths"].items() for verb in item if verb in VERBS
    }
    served = set()
    for route, handler in handlers(PREFIX):
        if handler is NotFoundHandler:
            continue
        for verb in VERBS:
            if any(verb in vars(k) for k in handler.__mro__ if k.__module__.startswith("course")):
                served.add((route_to_template(route), verb))
    assert described == served


def test_the_description_is_a_valid_openapi_document():
    schema = schemathesis.openapi.from_dict(openapi_spec())
    operations = [r.ok() for r in schema.get_all_operations()]
    # Every operation parses (the routes themselves: test_every_route_and_verb_is_described).
    spec = openapi_spec()
    assert len(operations) == sum(v in VERBS for item in spec["paths"].values() for v in item)
    assert spec_errors() == []


def spec_errors() -> list[str]:
    """Every error answer refers to the Error schema (a sentence and a reason)."""
    spec = openapi_spec()
    bad = []
    for path, item in spec["paths"].items():
        for verb, op in item.items():
            if verb not in VERBS:
                continue
            for status, answer in op["responses"].items():
                if int(status) >= 400 and "$ref" not in answer:
                    bad.append(f"{verb.upper()} {path} {status}")
    return bad
