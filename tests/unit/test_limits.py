"""Per-student limits, enforced by the gateway: 409 and a sentence, nothing half started."""

from __future__ import annotations

import pytest
from dask_gateway import BasicAuth, Gateway
from traitlets.config import Config

from course_hub.hub.limits import StudentLimits

from .conftest import mini_server_config, serve_as_alice, start_gateway
from .helpers import call


@pytest.fixture
def gateway(jp_asyncio_loop, mini_course):
    c = Config()
    c.StudentLimits.max_clusters = 2
    c.ClusterConfig.scheduler_cores = 1
    c.StudentLimits.max_cores = 3  # schedulers count: 1 core each by default
    c.StudentLimits.max_memory_gib = 64
    yield from serve_as_alice(jp_asyncio_loop, start_gateway(jp_asyncio_loop, mini_course, c))


@pytest.fixture
def jp_server_config(mini_course, gateway, cache_dir):
    return mini_server_config(mini_course, gateway, cache_dir)


async def active(gateway, user="alice"):
    async with Gateway(
        address=gateway.address, proxy_address=gateway.proxy_address,
        auth=BasicAuth(username=user), asynchronous=True,
    ) as gw:  # fmt: skip
        return [c.name for c in await gw.list_clusters()]


async def test_cores_across_clusters(jp_fetch, gateway):
    # Scheduler (1 core) + 2 workers x 1 core: all of the 3 cores.
    status, first = await call(jp_fetch, "POST", "clusters", body={"session": "dask"})
    assert status == 201, first
    # Even a second scheduler would not fit.
    status, reply = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    assert status == 409, reply
    assert reply["reason"] == "limit"
    assert reply["message"] == (
        "Limit reached: your clusters may use 3 cores in all and this would make 4. "
        "Scale a cluster down or stop one, then try again."
    )
    assert await active(gateway) == [first["name"]]  # nothing half started
    # Scaling or adapting the first one beyond the budget is refused; within it, fine.
    status, reply = await call(jp_fetch, "PATCH", f"clusters/{first['name']}", body={"workers": 3})
    assert status == 409 and reply["reason"] == "limit", reply
    status, reply = await call(
        jp_fetch,
        "PATCH",
        f"clusters/{first['name']}",
        body={"adaptive": {"minimum": 0, "maximum": 9}},
    )
    assert status == 409, reply
    status, reply = await call(jp_fetch, "PATCH", f"clusters/{first['name']}", body={"workers": 1})
    assert status == 200, reply
    # Now a second cluster's scheduler fits; its preset's two workers would not.
    status, reply = await call(jp_fetch, "POST", "clusters", body={"session": "dask"})
    assert status == 409 and "would make 5" in reply["message"], reply
    assert await active(gateway) == [first["name"]]
    await call(jp_fetch, "DELETE", f"clusters/{first['name']}")


async def test_clusters_at_once(jp_fetch, gateway):
    names = []
    for _ in range(2):
        status, model = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
        assert status == 201, model
        names.append(model["name"])
    status, reply = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    assert status == 409
    assert "you may have 2 cluster(s) at once and you have 2" in reply["message"]
    # Another student is not counted against alice.
    async with Gateway(
        address=gateway.address, proxy_address=gateway.proxy_address,
        auth=BasicAuth(username="bob"), asynchronous=True,
    ) as bob:  # fmt: skip
        theirs = await bob.submit()
        await bob.stop_cluster(theirs)
    for name in names:
        await call(jp_fetch, "DELETE", f"clusters/{name}")
    status, model = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    assert status == 201  # stopping frees the places
    await call(jp_fetch, "DELETE", f"clusters/{model['name']}")


def test_teachers_have_their_own_limits():
    limits = StudentLimits(max_clusters=1, admin_max_clusters=None, admin_max_cores=40)
    assert limits.limits_for("ada", admin=False) == (1, 8.0, 16.0)
    assert limits.limits_for("teacher", admin=True) == (None, 40.0, None)
    assert limits._check("ada", False, cores=9, memory=0).startswith("Limit reached")
    assert limits._check("teacher", True, cores=39, memory=10**12) is None
