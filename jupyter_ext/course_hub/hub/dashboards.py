"""Dask dashboards for their cluster's owner and teachers only, checked by the gateway.

dask-gateway routes ``<prefix>/clusters/<name>/`` of its HTTP proxy straight to
the cluster's scheduler dashboard, which checks nobody: anyone who can reach
the gateway's HTTP port (every student's server, through jupyter-server-proxy
or directly in compose) and knows a cluster's name sees its dashboard.

:class:`OwnerOnlyDashboards`, placed before a database-backed backend (local,
compose), takes that route away from the proxy, so those paths reach the
gateway's own web application through the proxy's catch-all route, and serves
them there: the requester is authenticated by the gateway's authenticator (a
hub token, ``Authorization: jupyterhub <token>``, which the student's own
server adds: :mod:`course_hub.dashboard`) and must be the cluster's owner or a
hub admin (teacher); then the page, its static files and the bokeh websockets
are forwarded to the scheduler, with the cluster's dashboard key: schedulers
answer nobody else (:mod:`.dashboard_key`), so students' own Dask code beside
the gateway cannot go around this check on loopback. Otherwise 401 (no or a
bad token), 403 (someone else's cluster) or 404 (no such running cluster),
each with a sentence.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from traitlets import Float, Unicode
from traitlets.config import LoggingConfigurable

from .backend import StudentAccountsBackend
from .class_clusters import ClassClusters
from .dashboard_key import HEADER, dashboard_key
from .limits import LimitedUnsafeLocalBackend

#: Request headers never forwarded to a scheduler (hop-by-hop, or credentials).
DROPPED_REQUEST = {
    "host",
    "authorization",
    "cookie",
    "connection",
    "keep-alive",
    "upgrade",
    "transfer-encoding",
    "te",
    "proxy-authorization",
    "content-length",
    HEADER.lower(),  # the gateway sets it, never the requester
}
#: Response headers a forwarded answer does not copy (aiohttp sets its own).
DROPPED_RESPONSE = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "set-cookie",
}
WEBSOCKET_HEADERS = {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"}


class OwnerOnlyDashboards(LoggingConfigurable):
    """Mixin: put it before a database-backed dask-gateway backend class."""

    dashboard_auth_cache_seconds = Float(
        30.0,
        help="""Seconds a checked token is remembered by the dashboard route (a page
        loads some twenty files; each would otherwise ask the hub).""",
        config=True,
    )

    dashboard_host = Unicode(
        "127.0.0.1",
        help="""Interface the schedulers' dashboards listen on. Loopback: only this
        gateway (which checks who asks) reaches them, not other containers on the
        network (compose) nor other machines. The schedulers run beside the
        gateway in the local and compose backends. Empty: dask-gateway's default
        (every interface).""",
        config=True,
    )

    def get_scheduler_command(self, cluster: Any) -> list[str]:
        cmd = list(super().get_scheduler_command(cluster))
        if self.dashboard_host and "--dashboard-address" in cmd:
            cmd[cmd.index("--dashboard-address") + 1] = f"{self.dashboard_host}:0"
        return cmd

    def _dashboard_url(self, cluster: Any) -> str:
        """Where this gateway reaches the cluster's dashboard (the scheduler
        reports its comm host, the dashboard listens on ``dashboard_host``)."""
        url = urlparse(cluster.dashboard_address)
        if self.dashboard_host not in ("", "0.0.0.0") and url.port:  # noqa: S104 (a comparison)
            return f"{url.scheme}://{self.dashboard_host}:{url.port}"
        return cluster.dashboard_address.rstrip("/")

    async def setup(self, app: web.Application) -> None:
        await super().setup(app)
        self.serve_dashboards(app)

    def serve_dashboards(self, app: web.Application) -> None:
        """Serve ``/clusters/<name>/`` of ``app`` through the owner check
        (``setup`` calls it; tests call it on a backend set up by hand)."""
        self._dashboard_session = aiohttp.ClientSession(auto_decompress=False)
        self._dashboard_users: dict[str, tuple[float, Any]] = {}
        app.router.add_route("*", "/clusters/{cluster_name}/{tail:.*}", self._dashboard_handler)
        self.log.info("Dask dashboards: for their cluster's owner and teachers only")

    async def cleanup(self) -> None:
        session = getattr(self, "_dashboard_session", None)
        if session is not None:
            await session.close()
        await super().cleanup()

    async def _check_cluster_proxied(self, cluster: Any) -> None:
        # dask-gateway's own version also routes /clusters/<name> to the
        # scheduler's dashboard: only the scheduler (SNI) route here.
        if not cluster.added_to_proxies:
            self.log.info("Adding cluster %s scheduler route to the proxy", cluster.name)
            await self.proxy.add_route(
                kind="SNI", sni=cluster.name, target=cluster.scheduler_address
            )
            cluster.added_to_proxies = True

    async def _dashboard_user(self, request: web.Request) -> Any:
        """The authenticated requester (the gateway's authenticator, briefly cached)."""
        header = request.headers.get("Authorization", "")
        key = hashlib.sha256(header.encode()).hexdigest()
        now = time.monotonic()
        cached = self._dashboard_users.get(key)
        if header and cached and now - cached[0] < self.dashboard_auth_cache_seconds:
            return cached[1]
        authenticator = request.app["authenticator"]
        user = await authenticator.authenticate(request)
        if isinstance(user, tuple):
            user = user[0]
        if header:
            if len(self._dashboard_users) > 1000:
                self._dashboard_users.clear()
            self._dashboard_users[key] = (now, user)
        return user

    async def _dashboard_handler(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["cluster_name"]
        try:
            user = await self._dashboard_user(request)
        except web.HTTPUnauthorized as exc:
            return _refusal(401, "Log in: a Dask dashboard opens for its owner only.", exc.headers)
        cluster = await self.get_cluster(name)
        if cluster is None or not cluster.dashboard_address:
            return _refusal(404, f"There is no running Dask cluster named {name!r}.")
        teacher = getattr(self, "is_teacher", lambda u: bool(u.admin))(user)
        if cluster.username != user.name and not teacher:
            self.log.warning("Dashboard of %s refused to %s", name, user.name)
            return _refusal(403, "This Dask dashboard belongs to another student's cluster.")
        key = dashboard_key(cluster.token)
        if not key:  # Kubernetes: the cluster's credentials are not read yet
            return _refusal(503, "The cluster's dashboard is starting; try again in a moment.")
        url = f"{self._dashboard_url(cluster)}/{request.match_info['tail']}"
        if request.query_string:
            url += f"?{request.query_string}"
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._forward_websocket(request, url, key)
        return await self._forward_http(request, url, key)

    async def _forward_http(self, request: web.Request, url: str, key: str) -> web.StreamResponse:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in DROPPED_REQUEST and k.lower() not in WEBSOCKET_HEADERS
        }
        headers[HEADER] = key
        body = await request.read() if request.can_read_body else None
        try:
            async with self._dashboard_session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                content = await upstream.read()
                reply = web.Response(status=upstream.status, body=content)
                for k, v in upstream.headers.items():
                    if k.lower() not in DROPPED_RESPONSE:
                        reply.headers.add(k, v)
                return reply
        except aiohttp.ClientError:
            return _refusal(502, "The cluster's dashboard does not answer; try again.")

    async def _forward_websocket(
        self, request: web.Request, url: str, key: str
    ) -> web.StreamResponse:
        protocols = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        ]
        protocols = [p for p in protocols if p]
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in DROPPED_REQUEST
            and k.lower() not in WEBSOCKET_HEADERS
            and k.lower() != "sec-websocket-protocol"
        }
        headers[HEADER] = key
        try:
            upstream = await self._dashboard_session.ws_connect(
                url.replace("http", "ws", 1), headers=headers, protocols=protocols
            )
        except aiohttp.ClientError:
            return _refusal(502, "The cluster's dashboard does not answer; try again.")
        client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else ())
        await client.prepare(request)

        async def relay(source: Any, sink: Any) -> None:
            async for msg in source:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await sink.send_str(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await sink.send_bytes(msg.data)
                else:
                    break

        tasks = [
            asyncio.ensure_future(relay(client, upstream)),
            asyncio.ensure_future(relay(upstream, client)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await upstream.close()
            await client.close()
        return client


def _refusal(status: int, message: str, headers: Any = None) -> web.Response:
    extra = (
        {"WWW-Authenticate": headers["WWW-Authenticate"]}
        if headers and "WWW-Authenticate" in headers
        else {}
    )
    return web.json_response({"error": message}, status=status, headers=extra)


class LocalDashboardsBackend(ClassClusters, OwnerOnlyDashboards, LimitedUnsafeLocalBackend):
    """The hub without Docker: local processes, per-student limits, owner-only
    dashboards, the class's clusters for teachers (:mod:`.class_clusters`)."""


class AccountsDashboardsBackend(ClassClusters, OwnerOnlyDashboards, StudentAccountsBackend):
    """Compose: each student's own OS account, per-student limits, owner-only
    dashboards, the class's clusters for teachers."""
