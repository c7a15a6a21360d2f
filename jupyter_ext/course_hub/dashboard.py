"""Dask dashboards through the student's own server, with the student's hub token.

Dashboard links point at ``<server>/proxy/<gateway-host:port>/<prefix>/clusters/<name>/``
(``DASK_GATEWAY__PUBLIC_ADDRESS``), which jupyter-server-proxy forwards to the
gateway. The gateway only serves a dashboard to its cluster's owner or a
teacher (:mod:`course_hub.hub.dashboards`), so the request must say who asks:
this handler takes over that one route of jupyter-server-proxy and sends the
server's own hub token (``$JUPYTERHUB_API_TOKEN``, the owner's), never the
browser's cookies. A classmate opening the same address through their own
server sends their token, and the gateway refuses it.

Only dashboard pages (GET and the bokeh websockets, no ``..`` in the path) get
the token: anything else under the gateway's host goes through
jupyter-server-proxy unchanged, so a guest on a shared server cannot act on
the owner's clusters with it (nor read their credentials from the gateway's API).

Only where the gateway checks the token and strips it (the local and compose
hubs set ``CourseHub.dashboard_token``): where a scheduler serves its own
dashboard (DaskHub's Traefik routes) the token would reach a process that runs
its owner's code, so a crafted link to a classmate's dashboard could steal it.

The route is added before jupyter-server-proxy's own (extensions load in
alphabetical order and ``course_hub`` sorts first; a unit test checks it).
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote

from jupyter_server_proxy.handlers import RemoteProxyHandler
from tornado import web

#: ``.../proxy/<host>:<port><path>`` in a public address.
PUBLIC_ADDRESS = re.compile(r"proxy/(?P<host>[^/:@]+):(?P<port>\d+)(?P<path>/[^?#]*)?$")


def dashboard_route(public_address: str | None) -> str | None:
    """The server route (regex, without base_url) of the dashboards under
    ``public_address``, or None if dashboards do not go through this server's proxy."""
    match = PUBLIC_ADDRESS.search(public_address or "")
    if not match:
        return None
    path = (match["path"] or "").rstrip("/")
    return (
        rf"/proxy/({re.escape(match['host'])}):({match['port']})"
        rf"({re.escape(path)}/clusters/[^/]+/.*)"
    )


class DashboardProxyHandler(RemoteProxyHandler):
    """jupyter-server-proxy's handler for the gateway's dashboard pages, adding
    this server's hub token so the gateway can check who asks."""

    auth_resource = "dask-dashboards"

    def _check_host_allowlist(self, host: str) -> bool:
        return True  # the route itself matches the gateway's host:port only

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        await super().prepare(*args, **kwargs)
        if self.request.method not in ("GET", "HEAD"):
            raise web.HTTPError(405, "Dashboards are read-only.")
        # No way out of the dashboard (clusters/x/../../api/...) with the token.
        if {".", ".."} & set(unquote(self.request.path).split("/")):
            raise web.HTTPError(404)
        user = self.current_user
        if user and not self.authorizer.is_authorized(self, user, "read", self.auth_resource):
            raise web.HTTPError(403, "You may not see this server's Dask dashboards.")

    def proxy_request_headers(self) -> Any:
        headers = super().proxy_request_headers()
        # The hub's cookies (and whatever the browser sent) are not the gateway's business.
        for name in ("Cookie", "Authorization"):
            if name in headers:
                del headers[name]
        token = os.environ.get("JUPYTERHUB_API_TOKEN")
        if token:
            headers["Authorization"] = f"jupyterhub {token}"
        return headers
