"""The class at a glance: the service's aggregation and the gateway's teachers-only route.

The aggregation (:func:`course_hub.service.class_view.class_model`) from hub
user models as JupyterHub 5 sends them, the service's own records (sessions
opened, first self-check answers, live answers, hand-ins) in a real SQLite
database, and a gateway answer. The gateway route
(:mod:`course_hub.hub.class_clusters`) on a real in-process gateway: a
teacher lists every student's cluster and stops one; a student is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from dask_gateway import BasicAuth, Gateway
from dask_gateway_server.auth import SimpleAuthenticator
from dask_gateway_server.models import User
from sqlalchemy.orm import Session
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets.config import Config

from course_hub.errors import CourseError
from course_hub.hub.class_clusters import ClassClusters
from course_hub.service.class_handlers import _parse_action
from course_hub.service.class_view import ClassRecord, class_model, student_status
from course_hub.service.live import LiveAnswer, LiveQuestion
from course_hub.service.store import HandInStore

from .conftest import LimitedInProcessBackend, start_gateway

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
GIB = 2**30


def user(name: str, **over) -> dict:
    return {"name": name, "admin": False, "groups": [], "servers": {}, **over}


def test_a_student_s_status_from_the_hub_model():
    running = user("a", servers={"": {"ready": True, "last_activity": "2026-12-04T09:58:00Z"}})
    assert student_status(running, NOW) == ("running", "2026-12-04T09:58:00.000Z")
    assert student_status(user("b", servers={"": {"ready": False}}), NOW)[0] == "starting"
    assert student_status(user("c", last_activity="2026-12-04T09:55:00Z"), NOW)[0] == "online"
    assert student_status(user("d", last_activity="2026-12-04T08:00:00Z"), NOW)[0] == "away"
    assert student_status(user("e", last_activity=None), NOW) == ("never", None)


def test_the_class_puts_together_hub_records_and_gateway(tmp_path):
    store = HandInStore(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    record = ClassRecord(store.engine)
    record.opened("alice", "intro")
    record.opened("alice", "intro")  # twice: one session
    record.opened("alice", "dask")
    record.first_answer("alice", "intro", 1, True)
    record.first_answer("alice", "intro", 1, False)  # a second try: the first counts
    record.first_answer("alice", "intro", 2, False)
    with Session(store.engine) as db, db.begin():
        q = LiveQuestion(
            text="Q?", choices='["a", "b"]', answer=1, state="revealed", opened_by="t",
            opened_at=NOW.replace(tzinfo=None),
        )  # fmt: skip
        db.add(q)
        db.flush()
        db.add(LiveAnswer(question_id=q.id, user="alice", choice=1, first_choice=0,
                          answered_at=NOW.replace(tzinfo=None)))  # fmt: skip
        db.add(LiveAnswer(question_id=q.id, user="bob", choice=0, first_choice=0,
                          answered_at=NOW.replace(tzinfo=None)))  # fmt: skip
    store.add("alice", "exam", "exam.ipynb", b"{}", False, NOW - dt.timedelta(hours=2))
    store.add("alice", "exam", "exam.ipynb", b"{1}", True, NOW - dt.timedelta(hours=1))
    users = [
        user("teacher", admin=True),
        user("ta", groups=["teachers"]),
        user("alice", servers={"": {"ready": True, "last_activity": "2026-12-04T09:59:00Z"}}),
        user("bob", last_activity=None),
    ]
    gateway = {
        "clusters": [
            {
                "name": "c1",
                "user": "alice",
                "status": "RUNNING",
                "workers": 2,
                "cores": 3.0,
                "memory": 6 * GIB,
            },
            {
                "name": "c2",
                "user": "teacher",
                "status": "RUNNING",
                "workers": 1,
                "cores": 2.0,
                "memory": 2 * GIB,
            },
        ],
        "limits": {"max_clusters": 2, "max_cores": 8.0, "max_memory_gib": 16.0},
    }
    view = class_model(users, {"teacher", "ta"}, record.activity(), gateway, None, NOW)
    rows = {r["name"]: r for r in view["students"]}
    assert list(rows) == ["alice", "bob"]  # teachers are not in the roster
    alice = rows["alice"]
    assert alice["status"] == "running" and alice["server_url"] == "/user/alice/"
    assert alice["sessions"] == ["intro", "dask"]
    assert alice["selfcheck"] == {"answered": 2, "correct": 1}
    assert alice["live"] == {"answered": 1, "correct": 1}
    assert rows["bob"]["live"] == {"answered": 1, "correct": 0}
    [handin] = alice["handins"]
    assert handin["session"] == "exam" and handin["late"] and handin["count"] == 2
    assert alice["clusters"] == [
        {"name": "c1", "status": "RUNNING", "workers": 2, "cores": 3.0, "memory": 6 * GIB}
    ]
    assert rows["bob"]["clusters"] == [] and rows["bob"]["status"] == "never"
    # The teacher's own cluster is not the class's.
    assert view["totals"] == {
        "students": 2, "servers_running": 1, "online": 1, "clusters": 1, "workers": 2,
        "cores": 3.0, "memory": 6 * GIB,
    }  # fmt: skip
    assert view["capacity"] == {"max_clusters": 4.0, "max_cores": 16.0, "max_memory": 32 * GIB}
    assert view["gateway_error"] is None
    # Without the gateway: clusters unknown (null), and why.
    blind = class_model(users, {"teacher", "ta"}, {}, None, "no gateway", NOW)
    assert blind["students"][0]["clusters"] is None and blind["totals"]["clusters"] is None
    assert blind["gateway_error"] == "no gateway" and blind["capacity"] is None
    store.close()


def test_actions_are_recorded_newest_first(tmp_path):
    store = HandInStore(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    record = ClassRecord(store.engine)
    record.add_action("teacher", "stop-cluster", "alice", "c1", "stopped 1")
    record.add_action("teacher", "stop-server", "bob", "", "stopped")
    first, second = record.actions()
    assert (first["action"], first["user"], first["target"]) == ("stop-server", "bob", None)
    assert (second["by"], second["target"], second["result"]) == ("teacher", "c1", "stopped 1")
    assert second["at"].endswith("Z")
    store.close()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": "stop-everything", "user": "alice"},
        {"action": "stop-server"},
        {"action": "stop-server", "user": ""},
        {"action": "stop-server", "user": "alice", "cluster": "c1"},
        {"action": "stop-cluster", "user": "alice", "cluster": 3},
        {"action": "stop-cluster", "user": "alice", "extra": 1},
    ],
)
def test_an_action_must_be_well_formed(body):
    with pytest.raises(CourseError) as caught:
        _parse_action(body)
    assert caught.value.status == 400


def test_a_well_formed_action():
    assert _parse_action({"action": "stop-cluster", "user": "alice"}) == (
        "stop-cluster",
        "alice",
        None,
    )


class BasicWithTeacher(SimpleAuthenticator):
    """Basic auth in which the user "teacher" is a hub admin and "tom" is in the
    teachers' group without being one."""

    async def authenticate(self, request):
        who = await super().authenticate(request)
        groups = ["teachers"] if who.name == "tom" else []
        return User(who.name, groups=groups, admin=who.name == "teacher")


class ClassInProcessBackend(ClassClusters, LimitedInProcessBackend):
    """The in-process backend with the class's clusters route, as every one we ship."""


@pytest.fixture
def gateway(jp_asyncio_loop, mini_course):
    c = Config()
    c.DaskGateway.backend_class = ClassInProcessBackend
    c.DaskGateway.authenticator_class = BasicWithTeacher
    info = start_gateway(jp_asyncio_loop, mini_course, c)
    yield info
    jp_asyncio_loop.run_until_complete(info.app.cleanup())


def basic(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:".encode()).decode()}


async def test_teachers_list_and_stop_every_student_s_cluster(gateway):
    alice = Gateway(address=gateway.address, auth=BasicAuth("alice"), asynchronous=True)
    cluster = await alice.new_cluster()
    http = AsyncHTTPClient()
    route = f"{gateway.address}/api/v1/course/clusters"
    try:
        for who, status in (("alice", 403), (None, 401)):
            with pytest.raises(HTTPClientError) as refused:
                await http.fetch(route, headers=basic(who) if who else {})
            assert refused.value.code == status
            assert b"error" in refused.value.response.body
        r = await http.fetch(route, headers=basic("tom"))  # a teacher by the group
        assert [c["user"] for c in json.loads(r.body)["clusters"]] == ["alice"]
        r = await http.fetch(route, headers=basic("teacher"))
        model = json.loads(r.body)
        [listed] = model["clusters"]
        assert listed["name"] == cluster.name and listed["user"] == "alice"
        assert listed["cores"] > 0 and listed["memory"] > 0
        assert model["limits"]["max_clusters"] == 2
        with pytest.raises(HTTPClientError) as refused:
            await http.fetch(f"{route}/{cluster.name}", method="DELETE", headers=basic("bob"))
        assert refused.value.code == 403
        r = await http.fetch(f"{route}/{cluster.name}", method="DELETE", headers=basic("teacher"))
        assert r.code == 204
        assert [c.name for c in await alice.list_clusters()] == []
    finally:
        await cluster.close()
        await alice.close()


def test_the_wiring_tells_the_service_where_the_gateway_is():
    """The service asks the gateway where students' servers do, with the rights it needs."""
    from course_hub.hub.wiring import wire_course

    c = Config()
    c.Spawner.environment = {"DASK_GATEWAY__ADDRESS": "http://127.0.0.1:9/services/dask-gateway"}
    service = wire_course(c, url="http://127.0.0.1:10101", state_dir="/tmp/x", environ={})
    assert (
        service["environment"]["COURSE_GATEWAY_URL"] == "http://127.0.0.1:9/services/dask-gateway"
    )
    [role] = [r for r in c.JupyterHub.load_roles if r["name"] == "course-service"]
    assert {"read:users", "read:servers", "servers"} <= set(role["scopes"])
