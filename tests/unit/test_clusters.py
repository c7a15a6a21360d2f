"""Clusters through the course API, against a real in-process Dask Gateway."""

from __future__ import annotations

import asyncio
import time

import pytest
from dask_gateway import BasicAuth, Gateway

from .helpers import call


async def wait_workers(jp_fetch, name: str, n: int, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    model = None
    while time.monotonic() < end:
        status, model = await call(jp_fetch, "GET", f"clusters/{name}")
        assert status == 200, model
        if model["workers"] == n:
            return model
        await asyncio.sleep(0.2)
    raise AssertionError(f"cluster {name} never reached {n} workers: {model}")


def client_as(gateway, user: str) -> Gateway:
    return Gateway(
        address=gateway.address,
        proxy_address=gateway.proxy_address,
        auth=BasicAuth(username=user),
        asynchronous=True,
    )


async def test_lifecycle_with_a_session_preset(jp_fetch, gateway):
    status, body = await call(jp_fetch, "GET", "clusters")
    assert (status, body) == (200, {"clusters": []})

    status, model = await call(jp_fetch, "POST", "clusters", body={"session": "dask"})
    assert status == 201, model
    name = model["name"]
    assert model["status"] == "running"
    assert model["session"] == "dask"
    assert model["options"] == {"session": "dask", "worker_cores": 1, "worker_memory": 1.0}
    assert model["workers_requested"] == 2
    assert f'gateway.connect("{name}")' in model["connection_code"]
    assert model["dashboard_link"].endswith(f"/clusters/{name}/status")

    model = await wait_workers(jp_fetch, name, 2)
    assert model["cores"] == 2
    assert isinstance(model["memory"], int)  # in-process workers have no memory limit

    # (Scaling down retires real worker processes: the e2e tier tests it.)
    status, model = await call(jp_fetch, "PATCH", f"clusters/{name}", body={"workers": 3})
    assert status == 200 and model["workers_requested"] == 3
    assert "warning" not in model
    await wait_workers(jp_fetch, name, 3)

    # The connection code works (the gateway's TLS proxy, not tls://...).
    async with client_as(gateway, "alice") as gw:
        cluster = await gw.connect(name)
        async with cluster.get_client(set_as_default=False) as client:
            assert await client.submit(sum, [1, 2, 39]) == 42
        await cluster.close()

    status, model = await call(
        jp_fetch, "PATCH", f"clusters/{name}", body={"adaptive": {"minimum": 0, "maximum": 2}}
    )
    assert status == 200 and model["adaptive"] == {"minimum": 0, "maximum": 2}

    status, _ = await call(jp_fetch, "DELETE", f"clusters/{name}")
    assert status == 204
    status, body = await call(jp_fetch, "GET", "clusters")
    assert [c for c in body["clusters"] if c["status"] in ("pending", "running")] == []


async def test_explicit_options_and_limits(jp_fetch, gateway):
    status, model = await call(
        jp_fetch,
        "POST",
        "clusters",
        body={"options": {"worker_cores": 2, "worker_memory": 1.5}, "workers": 0},
    )
    assert status == 201, model
    assert model["session"] is None
    assert model["options"]["worker_cores"] == 2
    # Over the gateway's per-cluster limit (3 workers): capped, and the student is told.
    status, scaled = await call(
        jp_fetch, "PATCH", f"clusters/{model['name']}", body={"workers": 9}
    )
    assert status == 200
    assert "exceed resource limit of 3 workers" in scaled["warning"]
    assert scaled["workers_requested"] == 3
    status, adapted = await call(
        jp_fetch,
        "PATCH",
        f"clusters/{model['name']}",
        body={"adaptive": {"minimum": 1, "maximum": 10}},
    )
    assert status == 200 and adapted["adaptive"] == {"minimum": 1, "maximum": 3}
    await call(jp_fetch, "DELETE", f"clusters/{model['name']}")


async def test_session_preset_with_an_override_is_custom(jp_fetch, gateway):
    status, model = await call(
        jp_fetch,
        "POST",
        "clusters",
        body={"session": "dask", "options": {"worker_cores": 2}, "workers": 0},
    )
    assert status == 201, model
    assert model["options"]["session"] == "custom"
    assert model["options"]["worker_cores"] == 2
    await call(jp_fetch, "DELETE", f"clusters/{model['name']}")


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"options": {"worker_cores": 99}}, 400, "Invalid value for worker_cores"),
        ({"options": {"gpus": 1}}, 400, "Unknown cluster option 'gpus'"),
        ({"options": {"session": "nope"}}, 400, "Invalid value for session"),
        ({"session": "intro"}, 400, "does not use a Dask cluster"),
        ({"session": "nope"}, 404, "There is no session 'nope'"),
        ({"session": 3}, 400, "session must be a session id"),
        ({"workers": -1}, 400, "workers must be a whole number"),
        ({"workers": True}, 400, "workers must be a whole number"),
        ({"adaptive": {"minimum": 3, "maximum": 1}}, 400, "adaptive needs a maximum"),
        ({"colour": "red"}, 400, "Unknown field(s): colour"),
        ({"options": [1]}, 400, "options must be an object"),
    ],
)
async def test_bad_create_requests(jp_fetch, gateway, body, status, text):
    code, reply = await call(jp_fetch, "POST", "clusters", body=body)
    assert code == status, reply
    assert text in reply["message"]
    async with client_as(gateway, "alice") as gw:
        assert await gw.list_clusters() == []  # nothing half-started


@pytest.mark.parametrize(
    "body",
    [{}, {"workers": "two"}, {"workers": 1, "adaptive": None}, {"adaptive": None}, {"x": 1}],
)
async def test_bad_patch_requests(jp_fetch, gateway, body):
    _, model = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    name = model["name"]
    code, reply = await call(jp_fetch, "PATCH", f"clusters/{name}", body=body)
    assert code == 400, reply
    await call(jp_fetch, "DELETE", f"clusters/{name}")


async def test_clusters_made_in_code_are_listed_others_are_not(jp_fetch, gateway):
    async with client_as(gateway, "alice") as mine, client_as(gateway, "bob") as theirs:
        own = await mine.submit()
        other = await theirs.submit()
        try:
            status, body = await call(jp_fetch, "GET", "clusters")
            assert status == 200
            assert [c["name"] for c in body["clusters"]] == [own]
            for method, kw in [("GET", {}), ("DELETE", {}), ("PATCH", {"body": {"workers": 1}})]:
                code, reply = await call(jp_fetch, method, f"clusters/{other}", **kw)
                assert code == 404, (method, reply)
                assert reply["message"] == f"You have no cluster named {other!r}."
            assert (await theirs.get_cluster(other)).status.name in ("PENDING", "RUNNING")
        finally:
            await mine.stop_cluster(own)
            await theirs.stop_cluster(other)


async def test_unknown_and_malformed_cluster_names(jp_fetch, gateway):
    for name in ["0123456789abcdef", "..", "a%20b", "%2e%2e"]:
        code, reply = await call(jp_fetch, "GET", f"clusters/{name}")
        assert code == 404, (name, reply)


async def test_cluster_options_come_from_the_gateway(jp_fetch, gateway):
    status, body = await call(jp_fetch, "GET", "cluster-options")
    assert status == 200
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["session"]["options"] == ["custom", "dask"]
    assert (fields["worker_cores"]["min"], fields["worker_cores"]["max"]) == (1, 4)
