"""Every deployment's gateway loads the no-client watch into its schedulers
(course_hub/hub/orphan_clusters.py; tests/integration/test_dead_kernel.py runs it)."""

from __future__ import annotations

import asyncio

from course_hub.hub import orphan_clusters
from course_hub.hub.cluster_env import SCHEDULER_ARGS

from .test_daskhub import gateway_config_after_snippets, rendered


def test_the_chart_loads_it_with_its_timeout():
    c = gateway_config_after_snippets(rendered("class"))
    assert c.KubeClusterConfig.scheduler_cmd == ["dask", "scheduler", *SCHEDULER_ARGS]
    assert c.KubeClusterConfig.environment["COURSE_CLUSTER_NO_CLIENT_TIMEOUT"] == "300"


def test_timeout_from_the_environment():
    assert orphan_clusters.timeout_from_env({}) == 300
    assert orphan_clusters.timeout_from_env({orphan_clusters.ENV: "12"}) == 12
    assert orphan_clusters.timeout_from_env({orphan_clusters.ENV: "0"}) == 0
    assert orphan_clusters.timeout_from_env({orphan_clusters.ENV: "soon"}) == 300


class Scheduler:
    def __init__(self) -> None:
        self.clients = {"fire-and-forget": None}
        self.services: dict = {}
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def test_only_a_cluster_that_had_a_client_and_lost_it_stops():
    async def scenario() -> list[bool]:
        s = Scheduler()
        task = asyncio.ensure_future(orphan_clusters.watch(s, 0.3, period=0.05))
        await asyncio.sleep(0.6)
        never_connected = s.closed  # started from the panel, never used: kept
        s.clients["Client-1"] = None
        await asyncio.sleep(0.6)
        connected = s.closed  # a notebook is using it: kept
        del s.clients["Client-1"]
        await asyncio.wait_for(task, 2)  # its kernel died: stopped
        return [never_connected, connected, s.closed]

    assert asyncio.run(scenario()) == [False, False, True]
