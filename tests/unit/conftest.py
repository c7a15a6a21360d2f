"""Unit tier: the extension in a real Jupyter server (pytest-jupyter) with a
real Dask Gateway running in-process (InProcessBackend on 127.0.0.1:0), as
dask-gateway's own tests build one. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import dask
import pytest
from dask_gateway_server.app import DaskGateway
from dask_gateway_server.backends.inprocess import InProcessBackend
from traitlets.config import Config

from course_hub.hub.gateway import cluster_options
from course_hub.hub.limits import StudentLimits
from course_hub.manifest import load_manifest

from ..conftest import server_config

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@dataclass
class GatewayInfo:
    address: str
    proxy_address: str
    app: DaskGateway


class LimitedInProcessBackend(StudentLimits, InProcessBackend):
    """The in-process backend with the per-student limits every real one has."""


def start_gateway(loop, manifest_root: Path, config: Config | None = None) -> GatewayInfo:
    c = Config()
    c.DaskGateway.backend_class = LimitedInProcessBackend
    c.DaskGateway.address = "127.0.0.1:0"
    c.Proxy.address = "127.0.0.1:0"
    c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
    c.DaskGateway.log_level = "WARN"
    c.ClusterConfig.cluster_max_workers = 3
    c.Backend.cluster_options = cluster_options(
        load_manifest(manifest_root / "course.yml", manifest_root)
    )
    if config is not None:
        c.merge(config)
    app = DaskGateway(config=c)
    app.initialize([])
    loop.run_until_complete(app.setup())
    loop.run_until_complete(app.backend.proxy._proxy_contacted)
    info = GatewayInfo(
        address=f"http://{app.backend.proxy.address}",
        proxy_address=f"gateway://{app.backend.proxy.tcp_address}",
        app=app,
    )
    loop.run_until_complete(_routed(info))
    return info


async def _routed(info: GatewayInfo) -> None:
    """Wait until the gateway's proxy serves the API. ``_proxy_contacted`` is
    set when the proxy first asks for its routes, not when it applied them: a
    request right then got the proxy's own 404 about one run in six."""
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{info.address}/api/health") as resp:
                if resp.status == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the gateway's proxy never routed {info.address}/api")


def serve_as_alice(loop, info: GatewayInfo) -> Iterator[GatewayInfo]:
    """A gateway fixture's body: the extension's Gateway client authenticates as
    "alice" (basic auth) while the test runs; the gateway stops afterwards."""
    with dask.config.set(
        {"gateway.auth.type": "basic", "gateway.auth.kwargs": {"username": "alice"}}
    ):
        yield info
    loop.run_until_complete(info.app.cleanup())


def mini_server_config(mini_course: Path, gateway: GatewayInfo, cache_dir: Path, **more) -> Config:
    """The extension on the mini course and the test gateway, plus what a module sets."""
    return server_config(
        content_dir=str(mini_course),
        cache_dir=str(cache_dir),
        gateway_address=gateway.address,
        gateway_proxy_address=gateway.proxy_address,
        **more,
    )


@pytest.fixture
def gateway(jp_asyncio_loop, mini_course):
    yield from serve_as_alice(jp_asyncio_loop, start_gateway(jp_asyncio_loop, mini_course))


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def jp_server_config(mini_course, gateway, cache_dir):
    return mini_server_config(mini_course, gateway, cache_dir, cluster_start_timeout=60.0)
