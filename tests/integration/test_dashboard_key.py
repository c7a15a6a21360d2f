"""A scheduler's dashboard answers its gateway only (course_hub/hub/dashboard_key.py).

The local hub's real gateway config, real scheduler processes: alice opens her
dashboard through the gateway (the page and bokeh's websocket), while code bob
runs on his own cluster, beside hers on the same machine, finds her
dashboard's loopback port refused without the key and with his own cluster's
key, and his own dashboard open with his key.
"""

from __future__ import annotations

import base64
import re
from contextlib import asynccontextmanager

import aiohttp
from dask_gateway import BasicAuth, Gateway


@asynccontextmanager
async def cluster_of(gateway, user: str):
    """A new cluster of ``user`` and a client of it; stopped afterwards."""
    async with Gateway(
        address=gateway.address, proxy_address=gateway.proxy_address,
        auth=BasicAuth(username=user), asynchronous=True,
    ) as gw:  # fmt: skip
        cluster = await gw.new_cluster()
        try:
            async with cluster.get_client(set_as_default=False) as client:
                yield cluster, client
        finally:
            await cluster.shutdown()


def basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:".encode()).decode()}


async def test_a_dashboard_answers_its_gateway_only(real_gateway):
    async with (
        cluster_of(real_gateway, "alice") as (hers, alice),
        cluster_of(real_gateway, "bob") as (_, bob),
    ):
        # (Functions defined here: the schedulers cannot import the tests.)
        def dashboard_port(dask_scheduler) -> int:
            return dask_scheduler.services["dashboard"].port

        her_port = await alice.run_on_scheduler(dashboard_port)
        his_port = await bob.run_on_scheduler(dashboard_port)

        # Through the gateway (it adds her cluster's key): the page and its websocket.
        page_url = f"{real_gateway.address}/clusters/{hers.name}/status"
        async with aiohttp.ClientSession() as http:
            async with http.get(page_url, headers=basic("alice")) as r:
                page = await r.text()
                assert r.status == 200 and "bokeh" in page.lower(), page[:500]
            token = re.search(r'"token":\s*"([^"]+)"|token\s*=\s*"([^"]+)"', page)
            assert token, page[:2000]
            async with http.ws_connect(
                page_url.replace("http", "ws", 1) + "/ws",
                headers=basic("alice"),
                protocols=("bokeh", token.group(1) or token.group(2)),
            ) as ws:
                first = await ws.receive(timeout=30)
                assert first.type == aiohttp.WSMsgType.TEXT and first.data, first
            async with http.get(page_url, headers=basic("bob")) as r:
                assert r.status == 403

        # Bob's own cluster code, on the machine where her scheduler runs.
        async def probe(port: int, own_key: bool = False, path: str = "/status", ws: bool = False):
            # On the scheduler's event loop, which serves its own dashboard: ask from a thread.
            import asyncio
            import urllib.error
            import urllib.request

            from course_hub.hub.dashboard_key import HEADER, dashboard_key, token_from_env

            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
            if own_key:
                request.add_header(HEADER, dashboard_key(token_from_env()))
            if ws:
                request.add_header("Connection", "Upgrade")
                request.add_header("Upgrade", "websocket")
                request.add_header("Sec-WebSocket-Version", "13")
                request.add_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")

            def ask() -> int:
                try:
                    with urllib.request.urlopen(request, timeout=10) as reply:
                        return reply.status
                except urllib.error.HTTPError as refused:
                    return refused.code

            return await asyncio.to_thread(ask)

        async def from_bob(*args, **kwargs) -> int:
            return await bob.run_on_scheduler(probe, *args, **kwargs)

        assert await from_bob(her_port) == 403
        assert await from_bob(her_port, path="/status/ws", ws=True) == 403
        assert await from_bob(her_port, path="/health") == 403  # nothing is left open
        assert await from_bob(her_port, path="/api/v1/retire_workers") == 403
        assert await from_bob(her_port, own_key=True) == 403  # a classmate's key
        assert await from_bob(his_port, own_key=True) == 200  # his own cluster's key
