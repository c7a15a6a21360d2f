"""The course API with a real Dask Gateway and real worker processes."""

from __future__ import annotations

import asyncio
import sys
import time
from contextlib import asynccontextmanager

import dask
import threadpoolctl
from dask_gateway import BasicAuth, Gateway

from ..unit.helpers import call


async def wait_for(jp_fetch, name: str, workers: int, timeout: float = 90) -> dict:
    end = time.monotonic() + timeout
    model = None
    while time.monotonic() < end:
        status, model = await call(jp_fetch, "GET", f"clusters/{name}")
        if status == 200 and model["status"] == "running" and model["workers"] == workers:
            return model
        await asyncio.sleep(0.3)
    raise AssertionError(f"{name} never had {workers} workers: {model}")


@asynccontextmanager
async def client_of(gateway, name: str):
    """A Dask client of cluster ``name``, connected as alice through the real gateway."""
    async with Gateway(
        address=gateway.address,
        proxy_address=gateway.proxy_address,
        auth=BasicAuth(username="alice"),
        asynchronous=True,
    ) as gw:
        cluster = await gw.connect(name)
        try:
            async with cluster.get_client(set_as_default=False) as client:
                yield client
        finally:
            await cluster.close()  # the connection only: the cluster keeps running


async def compute(gateway, name: str) -> int:
    async with client_of(gateway, name) as client:
        futures = client.map(lambda x: x * x, range(100))
        return await client.submit(sum, futures)


async def worker_facts(gateway, name: str) -> dict:
    """What the workers really run with: their config, and whether they loaded a dashboard."""
    async with client_of(gateway, name) as client:
        ticks = await client.run(lambda: dask.config.get("distributed.admin.tick.interval"))
        methods = await client.run(
            lambda: dask.config.get("distributed.worker.multiprocessing-method")
        )
        bokeh = await client.run(lambda: "distributed.dashboard.worker" in sys.modules)
        # One BLAS thread per one-thread worker, though forked (cluster_env.FORKED_WORKER_ENV).
        blas = await client.run(
            lambda: sorted({i["num_threads"] for i in threadpoolctl.threadpool_info()})
        )
        scheduler_tick = await client.run_on_scheduler(
            lambda: dask.config.get("distributed.admin.tick.interval")
        )
    return {
        "ticks": set(ticks.values()) | {scheduler_tick},
        "worker_dashboards": list(bokeh.values()),
        "methods": set(methods.values()),
        "blas_threads": {n for threads in blas.values() for n in threads},
    }


async def test_real_workers_scale_up_and_down(jp_fetch, real_gateway):
    status, model = await call(jp_fetch, "POST", "clusters", body={"session": "dask"})
    assert status == 201, model
    name = model["name"]
    try:
        model = await wait_for(jp_fetch, name, 2)
        assert model["memory"] == 2 * 2 * 2**30  # the preset: 2 GiB per worker
        facts = await worker_facts(real_gateway, name)
        # Quiet when idle (course_hub/hub/cluster_env.py), and no worker dashboard.
        assert facts["ticks"] == {"500ms"}, facts
        assert facts["worker_dashboards"] == [False, False], facts
        assert facts["methods"] == {"fork"}, facts  # nannies fork their workers
        assert facts["blas_threads"] == {1}, facts  # and their workers use one BLAS thread
        assert await compute(real_gateway, name) == sum(x * x for x in range(100))
        status, _ = await call(jp_fetch, "PATCH", f"clusters/{name}", body={"workers": 1})
        assert status == 200
        await wait_for(jp_fetch, name, 1)
        status, model = await call(
            jp_fetch, "PATCH", f"clusters/{name}", body={"adaptive": {"minimum": 2, "maximum": 3}}
        )
        assert status == 200, model
        await wait_for(jp_fetch, name, 2)
    finally:
        status, _ = await call(jp_fetch, "DELETE", f"clusters/{name}")
    assert status == 204


async def test_clusters_survive_a_gateway_restart(jp_fetch, real_gateway):
    status, model = await call(
        jp_fetch, "POST", "clusters", body={"options": {"worker_cores": 1}, "workers": 1}
    )
    assert status == 201, model
    name = model["name"]
    try:
        await wait_for(jp_fetch, name, 1)
        real_gateway.stop()
        status, reply = await call(jp_fetch, "GET", "clusters")
        assert status == 503 and reply["reason"] == "gateway-unreachable"
        real_gateway.start()
        model = await wait_for(jp_fetch, name, 1)
        assert model["status"] == "running"
        assert await compute(real_gateway, name) == 328350
    finally:
        status, _ = await call(jp_fetch, "DELETE", f"clusters/{name}")
    assert status == 204


async def test_over_the_limit_is_capped_and_reported(jp_fetch, real_gateway):
    # 4 workers x 8 GiB is over the local gateway's 16 GiB per cluster: the
    # gateway caps the scale; the cluster that started is reported, not lost.
    status, model = await call(
        jp_fetch, "POST", "clusters", body={"options": {"worker_memory": 8}, "workers": 4}
    )
    assert status == 201, model
    assert "exceed resource limit" in model["warning"]
    await call(jp_fetch, "DELETE", f"clusters/{model['name']}")
    status, body = await call(jp_fetch, "GET", "clusters")
    assert body["clusters"] == []
