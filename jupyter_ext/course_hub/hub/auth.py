"""The gateway's JupyterHub authenticator, answering 401 to tokens the hub refuses.

JupyterHub 5 answers 403 when asked who owns an invalid token; the upstream
authenticator turns that into a 500 "permission failure". A made-up or
expired token is a client error: the gateway now answers 401, so clients see
"authentication required" and no server error is logged as a crash.
"""

from __future__ import annotations

from aiohttp import web
from dask_gateway_server.auth import JupyterHubAuthenticator, unauthorized


class CourseHubAuthenticator(JupyterHubAuthenticator):
    async def authenticate(self, request):  # type: ignore[no-untyped-def]
        try:
            return await super().authenticate(request)
        except web.HTTPInternalServerError as exc:
            if exc.reason.startswith("Permission failure"):
                raise unauthorized("jupyterhub") from None
            raise
