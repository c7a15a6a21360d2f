"""'Prepare the class' without HTTP (course_hub/service/prepare.py), against a fake
hub API that spawns in a few ticks: the roster leaves teachers out, never more
spawns at a time than the limit, the hub's 429 is waited out, each failure has
its sentence, ready servers' activity is refreshed until their deadline (and
kept across a restart), and bad requests are refused with a 400."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from course_hub.errors import CourseError
from course_hub.service import prepare as prep
from course_hub.service.prepare import ClassPreparer, parse_request


class FakeHub:
    """The hub's users, servers and activity API, as the preparer calls them."""

    def __init__(self, users: dict[str, dict], limit: int = 100, broken: set[str] = frozenset()):
        self.users = users
        self.limit = limit
        self.broken = set(broken)
        self.pending: dict[str, int] = {}  # name -> polls left before ready
        self.ready: set[str] = set()
        self.most_pending = 0
        self.throttled = 0
        self.activity: dict[str, list[str]] = {}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, dict]:
        await asyncio.sleep(0)
        parts = path.split("?")[0].strip("/").split("/")
        if parts == ["users"]:
            items = [{"name": n, **u} for n, u in self.users.items()]
            return 200, {"items": items, "_pagination": {"next": None}}, {}
        name = parts[1]
        if name not in self.users:
            return 404, {"status": 404, "message": "Not Found"}, {}
        if method == "POST" and parts[2:] == ["server"]:
            if name in self.ready:
                return 400, {"message": f"{name} is already running"}, {}
            if len(self.pending) >= self.limit:
                self.throttled += 1
                return 429, {"message": "Too many users trying to log in"}, {"Retry-After": "0"}
            self.pending[name] = 3
            self.most_pending = max(self.most_pending, len(self.pending))
            return 202, None, {}
        if method == "POST" and parts[2:] == ["activity"]:
            if name not in self.ready:
                return 400, {"message": f"No such server '' for user {name}"}, {}
            self.activity.setdefault(name, []).append(body["servers"][""]["last_activity"])
            return 200, None, {}
        if method == "GET":
            if name in self.pending:
                self.pending[name] -= 1
                if self.pending[name] <= 0:
                    del self.pending[name]
                    if name in self.broken:
                        return 200, {"name": name, "servers": {}}, {}
                    self.ready.add(name)
            server = None
            if name in self.ready:
                server = {"ready": True, "pending": None}
            elif name in self.pending:
                server = {"ready": False, "pending": "spawn"}
            return 200, {"name": name, "servers": {"": server} if server else {}}, {}
        raise AssertionError((method, path))


def teacher(user: dict) -> bool:
    return bool(user.get("admin")) or "teachers" in (user.get("groups") or [])


def run(coro):
    return asyncio.run(coro)


async def finish(p: ClassPreparer, job: dict) -> dict:
    for _ in range(2000):
        model = p.job(job["id"])
        if model["done"]:
            return model
        await asyncio.sleep(0.001)
    raise AssertionError("the preparation did not finish")


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    real_sleep = asyncio.sleep
    monkeypatch.setattr(prep.asyncio, "sleep", lambda s: real_sleep(min(s, 0.001)))


def roster(n: int) -> dict[str, dict]:
    users = {f"s{i:02d}": {"admin": False, "groups": []} for i in range(n)}
    users["prof"] = {"admin": True, "groups": []}
    users["ta"] = {"admin": False, "groups": ["teachers"]}
    return users


def test_the_roster_starts_at_the_spawn_limit_and_teachers_are_left_out(tmp_path):
    async def go() -> tuple[dict, FakeHub, ClassPreparer]:
        hub = FakeHub(roster(12), limit=100)
        p = ClassPreparer(hub, teacher, concurrency=4, state_file=tmp_path / "kept.json")
        job = await p.prepare(None, None, "prof")
        assert job["total"] == 12 and job["concurrency"] == 4 and not job["done"]
        model = await finish(p, job)
        await p.close()
        return model, hub, p

    model, hub, p = run(go())
    assert (model["started"], model["ready"], model["failed"]) == (12, 12, 0)
    assert model["failures"] == []
    assert hub.most_pending <= 4  # never more spawns at once than the limit
    assert {"prof", "ta"}.isdisjoint(hub.ready)
    assert set(p.kept) == hub.ready
    assert all(hub.activity[name] for name in hub.ready)  # touched once ready


def test_the_hubs_429_is_waited_out_and_failures_have_sentences():
    async def go() -> tuple[dict, FakeHub]:
        users = roster(6)
        hub = FakeHub(users, limit=2, broken={"s03"})
        hub.ready.add("s05")  # already running: counts as ready
        p = ClassPreparer(hub, teacher, concurrency=5)
        job = await p.prepare(["s00", "s01", "s02", "s03", "s04", "s05", "ghost"], None, "prof")
        model = await finish(p, job)
        await p.close()
        return model, hub

    model, hub = run(go())
    assert hub.throttled > 0 and hub.most_pending <= 2
    assert (model["total"], model["ready"], model["failed"]) == (7, 5, 2)
    failures = {f["user"]: f["message"] for f in model["failures"]}
    assert failures["ghost"].startswith("ghost is not a user of the hub: ")
    assert "did not start" in failures["s03"]


def test_activity_is_refreshed_until_the_deadline_and_kept_across_a_restart(tmp_path):
    state = tmp_path / "kept.json"
    now = prep.utcnow()

    async def go() -> tuple[FakeHub, ClassPreparer]:
        hub = FakeHub(roster(2))
        hub.ready |= {"s00", "s01"}
        p = ClassPreparer(hub, teacher, state_file=state)
        p.keep("s00", now + dt.timedelta(minutes=5))
        p.keep("s01", now - dt.timedelta(seconds=1))  # its class started long ago
        await p.keep_once()
        again = ClassPreparer(hub, teacher, state_file=state)  # the service restarted
        await again.keep_once()
        return hub, again

    hub, again = run(go())
    assert len(hub.activity["s00"]) == 2 and "s01" not in hub.activity
    assert set(again.kept) == {"s00"}
    assert Path(state).exists()


def test_the_grace_counts_from_until_or_from_now():
    async def go() -> tuple[dict, dict]:
        p = ClassPreparer(FakeHub({}), teacher, grace_minutes=10)
        until = prep.utcnow() + dt.timedelta(hours=1)
        with_until = await p.prepare([], until, "prof")
        without = await p.prepare([], None, "prof")
        await p.close()
        return with_until, without

    with_until, without = run(go())
    keep = dt.datetime.fromisoformat(with_until["keep_until"].replace("Z", "+00:00"))
    until = dt.datetime.fromisoformat(with_until["until"].replace("Z", "+00:00"))
    assert keep - until == dt.timedelta(minutes=10)
    assert without["until"] is None and without["done"] and without["total"] == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"students": "alice"}, "list of user names"),
        ({"students": None}, "list of user names"),  # not "the whole roster"
        ({"until": None}, "ISO 8601"),
        ({"students": []}, "between 1 and"),
        ({"students": [""]}, "list of user names"),
        ({"students": [3]}, "list of user names"),
        ({"until": "tomorrow"}, "ISO 8601"),
        ({"until": "2030-01-01T09:00"}, "time zone"),
        ({"until": "2000-01-01T09:00Z"}, "in the past"),
        ({"until": "2099-01-01T09:00Z"}, "within a week"),
        ({"until": 9}, "ISO 8601"),
        ({"cohort": "a"}, "Unknown field"),
    ],
)
def test_bad_requests_are_refused_with_a_sentence(body, words):
    with pytest.raises(CourseError) as err:
        parse_request(body, prep.utcnow())
    assert err.value.status == 400 and words in err.value.message


def test_a_good_request_is_parsed():
    now = prep.utcnow()
    students, until = parse_request(
        {"students": ["a", "b", "a"], "until": (now + dt.timedelta(hours=2)).isoformat()}, now
    )
    assert students == ["a", "b"] and until is not None and until > now
    assert parse_request({}, now) == (None, None)


def test_an_unknown_job_is_404():
    p = ClassPreparer(FakeHub({}), teacher)
    with pytest.raises(CourseError) as err:
        p.job("0" * 16)
    assert err.value.status == 404
