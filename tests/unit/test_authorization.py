"""Authorization, not only authentication: a logged-in guest allowed only to
read (a server shared read-only) may look at the course API, never change it.

The server runs with a jupyter-server Authorizer that allows reads only; every
route of the course API that writes answers 403 with a sentence, every read
answers 200. The decision itself (:class:`course_hub.authorizer.CourseAuthorizer`
on JupyterHub's scopes) is checked below without HTTP.
"""

from __future__ import annotations

import pytest
from jupyter_server.auth import Authorizer

from course_hub.authorizer import CourseAuthorizer, granted_actions
from course_hub.handlers import REFUSED

from .helpers import call


class ReadOnlyAuthorizer(Authorizer):
    """Allows what a guest with a read-only share may do: read."""

    def is_authorized(self, handler, user, action, resource):
        return action == "read"


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config.ServerApp.authorizer_class = ReadOnlyAuthorizer
    return jp_server_config


READS = [
    "sessions",
    "sessions/dask",
    "sessions/dask/quiz",
    "clusters",
    "cluster-options",
    "openapi.json",
    "me",
]
WRITES = [
    ("POST", "sessions/dask/open", {}),
    ("POST", "sessions/dask/quiz/1", {"choice": "A"}),
    ("POST", "sessions/dask/handin", {"notebook": "cluster.ipynb"}),
    ("POST", "clusters", {"workers": 0}),
    ("PATCH", "clusters/abc123", {"workers": 2}),
    ("DELETE", "clusters/abc123", None),
]


async def test_a_read_only_guest_reads_but_never_writes(jp_fetch, gateway, jp_root_dir):
    for path in READS:
        status, body = await call(jp_fetch, "GET", path)
        assert status == 200, (path, status, body)
    for method, path, body in WRITES:
        status, reply = await call(jp_fetch, method, path, body=body)
        assert status == 403, (method, path, status, reply)
        assert reply == {"status": 403, "message": REFUSED["write"], "reason": "forbidden"}
    # Nothing happened: no cluster, no notebook copied into the home.
    assert (await call(jp_fetch, "GET", "clusters"))[1] == {"clusters": []}
    assert not (jp_root_dir / "course").exists()
    assert await gateway.app.backend.list_clusters() == []


class HubUser:
    """What jupyterhub-singleuser's identity provider gives an authorizer."""

    def __init__(self, name: str, scopes: list[str], kind: str = "user", admin: bool = False):
        self.hub_user = {"name": name, "kind": kind, "scopes": scopes, "admin": admin}


@pytest.fixture
def on_alices_server(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("JUPYTERHUB_SERVER_NAME", "")
    return CourseAuthorizer()


def allowed(authorizer, user, resource: str = "course") -> set[str]:
    return {
        a
        for a in ("read", "write", "execute")
        if authorizer.is_authorized(None, user, a, resource)
    }


def test_the_owner_may_do_everything(on_alices_server):
    # Whatever the token's scopes: a student's own API tokens keep working.
    assert allowed(on_alices_server, HubUser("alice", ["access:servers!server=alice/"])) == {
        "read",
        "write",
        "execute",
    }


def test_a_plain_share_is_read_only(on_alices_server):
    bob = HubUser("bob", ["access:servers!server=alice/"])
    assert allowed(on_alices_server, bob) == {"read"}
    assert allowed(on_alices_server, bob, "contents") == {"read"}
    # A service named like the owner is not the owner.
    assert allowed(on_alices_server, HubUser("alice", [], kind="service")) == {"read"}


def test_write_and_execute_come_from_the_hubs_custom_scopes(on_alices_server):
    write = HubUser("bob", ["custom:jupyter_server:write:*!server=alice/"])
    assert allowed(on_alices_server, write) == {"read", "write"}
    full = HubUser("bob", ["custom:jupyter_server:execute:*!server=alice/"])
    assert allowed(on_alices_server, full) == {"read", "write", "execute"}
    helper = HubUser("tutor", ["custom:jupyter_server:execute:*"])
    assert allowed(on_alices_server, helper) == {"read", "write", "execute"}
    teacher = HubUser("teacher", ["access:servers"], admin=True)
    assert allowed(on_alices_server, teacher) == {"read", "write", "execute"}
    # Granted on another student's server: nothing more here.
    elsewhere = HubUser("bob", ["custom:jupyter_server:execute:*!server=carol/"])
    assert allowed(on_alices_server, elsewhere) == {"read"}
    only_course = granted_actions(
        {"custom:jupyter_server:write:course!user=alice"}, "alice", "alice/", "course"
    )
    assert only_course == {"read", "write"}
    assert granted_actions(
        {"custom:jupyter_server:write:course!user=alice"}, "alice", "alice/", "contents"
    ) == {"read"}


def test_outside_jupyterhub_everything_is_allowed(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert allowed(CourseAuthorizer(), object()) == {"read", "write", "execute"}
