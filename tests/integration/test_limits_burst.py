"""Per-student limits under bursts, and teachers' exemption across gateway restarts,
on the real dask-gateway-server process (the local hub's config: real scheduler and
worker processes).

The burst gateway follows a teacher's git repository (``COURSE_CONTENT_REPO``, read
again on every request): a real deployment mode, and one where each cluster start
waits on git between the usage check and the start. The admin test runs a real
JupyterHub (``DummyAuthenticator``, ``teacher`` an admin, users' tokens from
``JupyterHub.api_tokens``) and the gateway with the hub's real authenticator
(``CourseHubAuthenticator``), so whether a user is a teacher comes from the hub.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import requests
from dask_gateway import BasicAuth, Gateway, JupyterHubAuth
from dask_gateway.client import GatewayClusterError

from course_hub.hub.local import free_port_block

from ..conftest import git
from ..hubclient import Deadline
from .conftest import ARTIFACTS, HERE, REPO, run_gateway

CHP = REPO / "hub_config" / "local" / "node_modules" / ".bin" / "configurable-http-proxy"


@pytest.fixture(scope="module")
def limited_gateway(tmp_path_factory):
    """2 clusters and 3 cores a student (2 schedulers of 1 core + 1 worker)."""
    tmp = tmp_path_factory.mktemp("limits")
    teacher = tmp / "teacher"
    shutil.copytree(REPO / "course", teacher)
    git("init", "-q", "-b", "main", cwd=teacher)
    git("add", "-A", cwd=teacher)
    git("commit", "-qm", "course", cwd=teacher)
    yield from run_gateway(
        tmp,
        "integration-limits.log",
        COURSE_CONTENT_REPO=f"file://{teacher}",
        COURSE_CONTENT_BRANCH="main",
        COURSE_CONTENT_REFRESH_INTERVAL="0",
        COURSE_USER_MAX_CLUSTERS="2",
        COURSE_USER_MAX_CORES="3",
    )


@asynccontextmanager
async def gateway_as(gateway, auth):
    async with Gateway(
        address=gateway.address, proxy_address=gateway.proxy_address, auth=auth, asynchronous=True
    ) as gw:
        yield gw


async def burst(calls) -> tuple[list, float]:
    """Run the calls at once: (each one's result or exception, in order; seconds)."""
    t0 = time.monotonic()
    out = await asyncio.gather(*calls, return_exceptions=True)
    return out, time.monotonic() - t0


async def test_a_burst_of_new_clusters_leaves_max_clusters(limited_gateway):
    async with gateway_as(limited_gateway, BasicAuth(username="carol")) as gw:
        out, seconds = await burst(gw.new_cluster() for _ in range(20))
        clusters = [c for c in out if not isinstance(c, Exception)]
        errors = [e for e in out if isinstance(e, Exception)]
        try:
            print(
                f"\n20 concurrent new_cluster -> {len(clusters)} created, "
                f"{len(errors)} x 409, {seconds:.1f} s"
            )
            assert len(clusters) == 2, out
            assert len(errors) == 18
            for exc in errors:
                assert isinstance(exc, GatewayClusterError), exc
                assert str(exc) == (
                    "Limit reached: you may have 2 cluster(s) at once and you have 2. "
                    "Stop one (Course panel: Stop), then try again."
                )
            listed = await gw.list_clusters()
            assert sorted(c.name for c in listed) == sorted(c.name for c in clusters)
        finally:
            for cluster in clusters:
                await cluster.shutdown()


async def test_a_burst_of_scale_requests_stays_within_the_cores(limited_gateway):
    """Two running clusters take 2 of the 3 cores; 20 scale requests to 1 worker
    at once, 10 per cluster: one worker in all may run."""
    async with gateway_as(limited_gateway, BasicAuth(username="dave")) as gw:
        clusters = [await gw.new_cluster(), await gw.new_cluster()]
        try:
            targets = [c.name for c in clusters] * 10
            out, seconds = await burst(gw.scale_cluster(name, 1) for name in targets)
            errors = [e for e in out if isinstance(e, Exception)]
            refused = {n for n, r in zip(targets, out, strict=True) if isinstance(r, Exception)}
            print(
                f"\n20 concurrent scale -> {20 - len(errors)} ok, {len(errors)} x 409, "
                f"{seconds:.1f} s"
            )
            assert len(errors) == 10 and len(refused) == 1, out
            assert all(isinstance(e, GatewayClusterError) for e in errors), errors
            assert "may use 3 cores in all and this would make 4" in str(errors[0])
            # What really runs: one worker in all.
            deadline = Deadline(60, "one worker to join")
            while deadline:
                counts = [await workers(c) for c in clusters]
                if sum(counts) == 1:
                    break
                await asyncio.sleep(0.5)
            else:
                deadline.fail(str(counts))
            await asyncio.sleep(2)  # and it stays so
            assert sum([await workers(c) for c in clusters]) == 1
        finally:
            for cluster in clusters:
                await cluster.shutdown()


async def workers(cluster) -> int:
    async with cluster.get_client(set_as_default=False) as client:
        return len((await client.scheduler.identity())["workers"])


# --- Teachers: admin status from the hub, on every request -------------------------


class Hub:
    """A real JupyterHub: ``teacher`` (admin) and ``student``, each with a token."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port_block(3)
        self.tokens = {name: secrets.token_hex(16) for name in ("teacher", "student")}
        self.gateway_token = secrets.token_hex(16)
        self.api_url = f"http://127.0.0.1:{self.port + 1}/hub/api"
        self.dir = tmp
        self.log_path = ARTIFACTS / "integration-limits-hub.log"
        config = tmp / "jupyterhub_config.py"
        config.write_text(
            f"""c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{self.port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{self.port + 1}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.port + 2}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.admin_users = {{"teacher"}}
c.Authenticator.allowed_users = {{"student"}}
c.JupyterHub.api_tokens = {{v: k for k, v in {self.tokens!r}.items()}}
c.JupyterHub.services = [{{"name": "dask-gateway", "api_token": {self.gateway_token!r}}}]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service=dask-gateway"]}},
]
"""
        )
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
            cwd=tmp,
            stdout=open(self.log_path, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = Deadline(60, "the hub to answer")
        while deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if requests.get(self.api_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        deadline.fail(self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the hub's own session
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub"))
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def hub_gateway(hub, tmp_path_factory):
    """The local hub's gateway config with the hub's authenticator: a student may
    use 3 cores; teachers have no limit."""
    tmp = tmp_path_factory.mktemp("hub-gateway")
    config = tmp / "gateway_config.py"
    config.write_text(
        f"""c = get_config()  # noqa: F821
load_subconfig({str(HERE / "gateway_config.py")!r})  # noqa: F821
c.DaskGateway.authenticator_class = "course_hub.hub.auth.CourseHubAuthenticator"
"""
    )
    yield from run_gateway(
        tmp,
        "integration-limits-hub-gateway.log",
        config_file=config,
        JUPYTERHUB_API_URL=hub.api_url,
        JUPYTERHUB_API_TOKEN=hub.gateway_token,
        JUPYTERHUB_SERVICE_NAME="dask-gateway",
        COURSE_USER_MAX_CORES="3",
    )


async def test_a_teacher_is_exempt_after_a_gateway_restart(hub, hub_gateway):
    teacher = JupyterHubAuth(api_token=hub.tokens["teacher"])
    student = JupyterHubAuth(api_token=hub.tokens["student"])
    async with gateway_as(hub_gateway, teacher) as gw:
        theirs = await gw.submit()
    async with gateway_as(hub_gateway, student) as gw:
        mine = await gw.submit()
    for auth, name in ((teacher, theirs), (student, mine)):
        async with gateway_as(hub_gateway, auth) as gw:
            await (await gw.connect(name)).close()  # running

    t0 = time.monotonic()
    hub_gateway.stop()
    hub_gateway.start()
    print(f"\ngateway restarted in {time.monotonic() - t0:.1f} s")

    # 1 scheduler + 3 workers = 4 cores: beyond a student's 3.
    async with gateway_as(hub_gateway, teacher) as gw:
        await gw.scale_cluster(theirs, 3)
    async with gateway_as(hub_gateway, student) as gw:
        with pytest.raises(GatewayClusterError) as refused:
            await gw.scale_cluster(mine, 3)
        assert str(refused.value) == (
            "Limit reached: your clusters may use 3 cores in all and this would make 4. "
            "Scale a cluster down or stop one, then try again."
        )
        await gw.scale_cluster(mine, 2)  # within the limit: fine
    for auth, name in ((teacher, theirs), (student, mine)):
        async with gateway_as(hub_gateway, auth) as gw:
            await gw.stop_cluster(name)
