"""A forgotten cluster stops by itself after the gateway's idle timeout.

The local hub's gateway config with ``COURSE_CLUSTER_IDLE_TIMEOUT`` set to a
few seconds (a class uses 30 minutes): the scheduler, idle with no client,
shuts itself down and the gateway forgets the cluster, whoever started it.
The sidebar's own polling (the identity call) does not count as activity.
"""

from __future__ import annotations

import asyncio
import time

import dask
import pytest

from ..unit.helpers import call
from .conftest import run_gateway

IDLE_SECONDS = 4


@pytest.fixture(scope="module")
def real_gateway(tmp_path_factory):
    """This module's gateway: the same config, a short idle timeout."""
    tmp = tmp_path_factory.mktemp("idle-gateway")
    with dask.config.set(
        {"gateway.auth.type": "basic", "gateway.auth.kwargs": {"username": "idler"}}
    ):
        yield from run_gateway(
            tmp, "idle-gateway.log", COURSE_CLUSTER_IDLE_TIMEOUT=str(IDLE_SECONDS)
        )


async def test_an_idle_cluster_stops_by_itself(jp_fetch, real_gateway):
    status, model = await call(jp_fetch, "POST", "clusters", body={"workers": 1})
    assert status == 201, model
    name = model["name"]
    started = time.monotonic()
    end = started + 120
    statuses = []
    while time.monotonic() < end:
        # Polling as the sidebar does, every second: this must not keep it alive.
        status, listing = await call(jp_fetch, "GET", "clusters")
        assert status == 200
        mine = [c for c in listing["clusters"] if c["name"] == name]
        statuses.append(mine[0]["status"] if mine else "gone")
        if statuses[-1] in ("gone", "stopped", "failed"):
            break
        await asyncio.sleep(1)
    elapsed = time.monotonic() - started
    print(f"\nidle cluster stopped after {elapsed:.1f} s (idle timeout {IDLE_SECONDS} s)")
    assert statuses[-1] in ("gone", "stopped", "failed"), statuses
    assert "running" in statuses  # it did start, then stopped on its own
    assert elapsed >= IDLE_SECONDS
    status, body = await call(jp_fetch, "GET", f"clusters/{name}")
    assert status == 404 or body["status"] != "running"
