"""What a student sees when the course or the gateway is broken: a clear 503."""

from __future__ import annotations

import socket

import pytest

from ..conftest import server_config
from .helpers import call


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broken_course(tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "course.yml").write_text(
        "course: {id: c}\nsessions:\n  - {id: s, title: S, duration: forever}\n"
    )
    return root


@pytest.fixture
def jp_server_config(broken_course, cache_dir):
    return server_config(
        content_dir=str(broken_course),
        cache_dir=str(cache_dir),
        gateway_address=f"http://127.0.0.1:{closed_port()}",
    )


async def test_invalid_manifest_names_file_and_fields(jp_fetch, broken_course):
    status, body = await call(jp_fetch, "GET", "sessions")
    assert status == 503
    assert body["reason"] == "manifest-invalid"
    assert str(broken_course / "course.yml") in body["message"]
    assert "course.title: Field required" in body["message"]
    assert "sessions[0] (id 's').duration: duration must look like" in body["message"]
    status, body = await call(jp_fetch, "POST", "sessions/s/open")
    assert status == 503


async def test_gateway_unreachable(jp_fetch):
    for method, path, body in [
        ("GET", "clusters", None),
        ("GET", "cluster-options", None),
        ("GET", "clusters/abc", None),
        ("DELETE", "clusters/abc", None),
    ]:
        status, reply = await call(jp_fetch, method, path, body=body)
        assert status == 503, (method, path, reply)
        assert reply["reason"] == "gateway-unreachable"
        assert "cannot be reached" in reply["message"]
