"""Dask dashboards for their cluster's owner only, checked by the gateway.

A real in-process gateway with the course's dashboard mixin: its proxy no
longer routes ``/clusters/<name>/`` to the scheduler; the gateway serves it to
the owner (the real bokeh page), and refuses anyone else (403), anyone without
credentials (401) and unknown clusters (404). The student's server routes
dashboard addresses to the handler that adds its hub token, ahead of
jupyter-server-proxy's own route. The Kubernetes backend's handler, with a
stand-in Kubernetes API and a stand-in scheduler dashboard, does the same.
"""

from __future__ import annotations

import base64
import socket
from urllib.parse import urlparse

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from aiohttp.test_utils import TestClient, TestServer
from dask_gateway import BasicAuth, Gateway
from dask_gateway_server.auth import SimpleAuthenticator
from dask_gateway_server.models import User
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler
from traitlets.config import Config

from course_hub.dashboard import DashboardProxyHandler, dashboard_route
from course_hub.hub.dashboard_key import TOKEN_ENV, dashboard_key, guard, token_from_env
from course_hub.hub.dashboards import OwnerOnlyDashboards

from .conftest import LimitedInProcessBackend, mini_server_config, serve_as_alice, start_gateway


class DashboardsInProcessBackend(OwnerOnlyDashboards, LimitedInProcessBackend):
    """The in-process backend with owner-only dashboards, as every DB-backed one we ship."""


@pytest.fixture
def gateway(jp_asyncio_loop, mini_course):
    c = Config()
    c.DaskGateway.backend_class = DashboardsInProcessBackend
    yield from serve_as_alice(jp_asyncio_loop, start_gateway(jp_asyncio_loop, mini_course, c))


PUBLIC = "/user/alice/proxy/gateway.example:8000/services/dask-gateway"


@pytest.fixture
def jp_server_config(mini_course, gateway, cache_dir):
    config = mini_server_config(
        mini_course, gateway, cache_dir, gateway_public_address=PUBLIC, dashboard_token=True
    )
    # jupyter-server-proxy too, whose generic /proxy/<host>:<port>/ route must come second.
    config.ServerApp.jpserver_extensions["jupyter_server_proxy"] = True
    return config


def basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:".encode()).decode()}


async def test_a_dashboard_opens_for_its_owner_only(gateway):
    client = Gateway(
        address=gateway.address,
        proxy_address=gateway.proxy_address,
        auth=BasicAuth(username="alice"),
        asynchronous=True,
    )
    async with client:
        cluster = await client.new_cluster()
        try:
            # The proxy keeps the scheduler route only; no path route to the dashboard.
            routes = gateway.app.backend.proxy.routes
            assert not [r for r in routes.values() if "/clusters/" in r.get("path", "")]
            url = f"{gateway.address}/clusters/{cluster.name}/status"
            http = AsyncHTTPClient()
            r = await http.fetch(url, headers=basic("alice"), raise_error=False)
            assert r.code == 200 and b"bokeh" in r.body.lower()
            r = await http.fetch(url, headers=basic("bob"), raise_error=False)
            assert r.code == 403 and b"another student" in r.body
            r = await http.fetch(url, raise_error=False)
            assert r.code == 401 and b"bokeh" not in r.body.lower()
            r = await http.fetch(
                f"{gateway.address}/clusters/nope/status",
                headers=basic("alice"),
                raise_error=False,
            )
            assert r.code == 404
        finally:
            await cluster.shutdown()


def test_the_route_of_dashboards_under_a_public_address():
    assert dashboard_route(None) is None
    assert dashboard_route("/services/dask-gateway") is None  # not through the server
    route = dashboard_route("{JUPYTERHUB_SERVICE_PREFIX}proxy/gateway:8000/services/dask-gateway")
    assert route == r"/proxy/(gateway):(8000)(/services/dask\-gateway/clusters/[^/]+/.*)"


def handler_for(web_app, path: str) -> type:
    request = HTTPServerRequest(
        start_line=RequestStartLine("GET", path, "HTTP/1.1"), headers=HTTPHeaders({"Host": "x"})
    )
    return web_app.find_handler(request).handler_class


async def test_the_server_sends_dashboards_through_its_token_handler(jp_serverapp, jp_base_url):
    from jupyter_server_proxy.handlers import RemoteProxyHandler

    web_app = jp_serverapp.web_app
    base = jp_base_url.rstrip("/")
    dashboard = f"{base}/proxy/gateway.example:8000/services/dask-gateway/clusters/abc/status"
    assert handler_for(web_app, dashboard) is DashboardProxyHandler
    # Anything else under the gateway's host (its API) is jupyter-server-proxy's, unchanged.
    api = f"{base}/proxy/gateway.example:8000/services/dask-gateway/api/v1/clusters"
    assert handler_for(web_app, api) is RemoteProxyHandler
    other = f"{base}/proxy/other.example:8000/services/dask-gateway/clusters/abc/status"
    assert handler_for(web_app, other) is RemoteProxyHandler


class Reported:
    def __init__(self, dashboard_address: str):
        self.dashboard_address = dashboard_address


def test_where_each_gateway_reaches_a_dashboard():
    from course_hub.hub.dashboards import AccountsDashboardsBackend, LocalDashboardsBackend
    from course_hub.hub.kube_dashboards import LimitedKubeDashboardsBackend

    # Local and compose: the scheduler beside the gateway listens on loopback only.
    for backend in (LocalDashboardsBackend(), AccountsDashboardsBackend()):
        assert (
            backend._dashboard_url(Reported("http://10.0.0.5:41234")) == "http://127.0.0.1:41234"
        )
    # Kubernetes: a scheduler pod, at the service address it reports.
    kube = LimitedKubeDashboardsBackend()
    assert kube._dashboard_url(Reported("http://dask-x.sdd:8787")) == "http://dask-x.sdd:8787"


# --- Kubernetes: LimitedKubeDashboardsBackend's own handler, the API stood in for ---


class StandInDNS(AbstractResolver):
    """The cluster's DNS: a scheduler Service's name (``dask-<id>.<namespace>``,
    port 8787, as the backend reports it) to a stand-in dashboard on loopback."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        if host not in self.ports:
            raise OSError(f"stand-in DNS: no Service {host}")
        return [
            {"hostname": host, "host": "127.0.0.1", "port": self.ports[host],
             "family": socket.AF_INET, "proto": 0, "flags": socket.AI_NUMERICHOST}
        ]  # fmt: skip

    async def close(self) -> None:
        pass


class StatusPage(RequestHandler):
    def get(self) -> None:
        self.finish("stand-in bokeh status page")


def stand_in_dashboard(api_token: str) -> tuple[HTTPServer, int]:
    """A scheduler pod's dashboard: a tornado app guarded by the course's preload
    with the key of the cluster whose API token (its mounted Secret) is ``api_token``."""
    app = Application([(r"/status", StatusPage)])
    guard(app, dashboard_key(api_token))
    server = HTTPServer(app)
    [sock] = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    return server, sock.getsockname()[1]


class BasicWithTeacher(SimpleAuthenticator):
    """Basic auth in which the user "teacher" is a hub admin."""

    async def authenticate(self, request):
        user = await super().authenticate(request)
        return User(user.name, admin=user.name == "teacher")


@pytest.mark.filterwarnings("ignore:It is recommended to use web.AppKey")  # as the gateway's app
async def test_kubernetes_dashboards_open_for_their_owner_only():
    """The real LimitedKubeDashboardsBackend, its cluster from the stand-in
    Kubernetes API (test_limits.StandInKubernetes: Running, Service, credentials
    Secret), its ``/clusters/<name>/`` handler in an aiohttp app as the gateway
    serves it, forwarding to the Service's address."""
    from course_hub.hub.kube_dashboards import LimitedKubeDashboardsBackend

    from .test_limits import kube_backend, until

    kube_limits = {"backend_class": LimitedKubeDashboardsBackend, "running": True}
    async with kube_backend(lag=0.05, **kube_limits) as backend:
        name = await backend.start_cluster(User("alice"), {})
        await until(lambda: name in backend.clusters, "the informer to report the cluster")
        cluster = backend.clusters[name]
        host = urlparse(cluster.dashboard_address)
        assert (host.port, host.hostname) == (8787, f"dask-{name.split('.')[1]}.default")
        server, port = stand_in_dashboard(backend.informer.tokens[name])
        app = web.Application()
        app["authenticator"] = BasicWithTeacher()
        backend.serve_dashboards(app)
        await backend._dashboard_session.close()
        backend._dashboard_session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(resolver=StandInDNS({host.hostname: port})),
        )
        try:
            async with TestClient(TestServer(app)) as http:

                async def get(path: str, user: str | None = None) -> tuple[int, str]:
                    r = await http.get(path, headers=basic(user) if user else {})
                    return r.status, await r.text()

                page = f"/clusters/{name}/status"
                assert await get(page, "alice") == (200, "stand-in bokeh status page")
                assert await get(page, "teacher") == (200, "stand-in bokeh status page")
                status, body = await get(page, "bob")
                assert status == 403 and "another student" in body
                status, body = await get(page)
                assert status == 401 and "stand-in" not in body
                status, body = await get("/clusters/default.nope/status", "alice")
                assert status == 404 and "no running Dask cluster" in body
            # The Service's port itself, without the key the gateway adds: 403.
            async with aiohttp.ClientSession() as direct:
                async with direct.get(f"http://127.0.0.1:{port}/status") as r:
                    assert r.status == 403
        finally:
            await backend._dashboard_session.close()
            server.stop()


def test_the_dashboard_key_reads_the_kubernetes_token_file(tmp_path):
    secret = tmp_path / "api-token"
    secret.write_text("abc")
    assert token_from_env({TOKEN_ENV: str(secret)}) == "abc"  # a scheduler pod
    assert token_from_env({TOKEN_ENV: "abc"}) == "abc"  # local and compose
    assert token_from_env({TOKEN_ENV: str(tmp_path / "gone")}) == ""
    assert dashboard_key("abc") != dashboard_key("abd") and dashboard_key("") == ""
