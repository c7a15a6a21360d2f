"""A scheduler's dashboard answers its own gateway only (a scheduler preload).

Why: in the local and compose gateways every student's schedulers and workers
run beside the gateway (compose: each as the student's own OS account), and a
scheduler's dashboard listens on loopback there. The gateway checks who opens
``/clusters/<name>/`` (:mod:`.dashboards`), but a student's own Dask code (a
task, ``client.run_on_scheduler``) runs on the same loopback and could open a
classmate's dashboard at ``127.0.0.1:<port>`` around that check: her task
names, call stacks and logs, and routes that act (``/api/v1``).

So every request to the scheduler's HTTP server (distributed's
``http_application``: bokeh pages and websockets, JSON, info, metrics,
``/health``) must carry :data:`HEADER` with a key only the gateway and that
cluster's own processes can compute: an HMAC of the cluster's API token, which
dask-gateway gives each scheduler (``DASK_GATEWAY_API_TOKEN``; on Kubernetes
the path of the mounted file holding it) and keeps per cluster
(``cluster.token``). Anything else gets 403. Derived rather than the token
itself, so the dashboard key cannot act on the gateway's API. In compose a
classmate's processes run as another account and cannot read this
scheduler's environment; on ``make hub`` everyone is one OS account, so the
key stops an address, not a student who reads other processes' environment.

Nothing needs the dashboard without the key: the gateway talks to a scheduler
through its own API port (dask-gateway's scheduler preload; the Kubernetes
readiness probe is ``/api/health`` on 8788), and no probe uses the dashboard.

The guard is in place before the first request: distributed imports preloads
in ``Scheduler.__init__`` before it creates the HTTP server, and importing this
module in a gateway's scheduler (the token in its environment) makes it build
a guarded application. ``dask_setup`` guards it again should that change.

Loaded by every deployment's gateway: ``dask scheduler --preload
course_hub.hub.dashboard_key`` (:data:`.cluster_env.SCHEDULER_ARGS`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tornado import web

log = logging.getLogger(__name__)

#: The request header the gateway adds when it forwards a dashboard request.
HEADER = "X-Course-Dashboard-Key"
TOKEN_ENV = "DASK_GATEWAY_API_TOKEN"  # noqa: S105 (a variable name)
_PURPOSE = b"course-hub scheduler dashboard v1"


def dashboard_key(api_token: str) -> str:
    """The dashboard key of the cluster whose API token is ``api_token`` ("" for none)."""
    if not api_token:
        return ""
    return hmac.new(api_token.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def token_from_env(environ: Mapping[str, str] | None = None) -> str:
    """This scheduler's API token, as dask-gateway's own preload reads it."""
    raw = (os.environ if environ is None else environ).get(TOKEN_ENV, "")
    if "/" in raw:  # Kubernetes: the path of the cluster's mounted secret
        try:
            return Path(raw).read_text()
        except OSError:
            log.error("Cannot read the cluster's API token at %s", raw)
            return ""
    return raw


class Refused(web.RequestHandler):
    """What a request without the key gets, whatever its path and method."""

    def check_xsrf_cookie(self) -> None:
        """No XSRF check first: the answer is 403 anyway."""

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("This Dask dashboard opens through the gateway, for its owner only.\n")


def guard(app: web.Application, key: str) -> None:
    """Make ``app`` refuse (403) every request whose :data:`HEADER` is not ``key``
    (all of them if ``key`` is empty). Websockets too: their upgrade is refused."""
    if getattr(app, "_course_dashboard_guarded", False):
        return
    find = app.find_handler
    expected = key.encode()

    def find_handler(request: Any, **kwargs: Any) -> Any:
        given = request.headers.get(HEADER, "").encode("utf-8", "replace")
        if expected and hmac.compare_digest(given, expected):
            return find(request, **kwargs)
        return app.get_handler_delegate(request, Refused)

    app.find_handler = find_handler  # type: ignore[method-assign]
    app._course_dashboard_guarded = True  # type: ignore[attr-defined]


def guard_new_applications(key: str) -> None:
    """Make distributed guard every HTTP application it creates in this process."""
    import distributed.node

    base = distributed.node.RoutingApplication
    if getattr(base, "_course_guards", False):
        return

    class GuardedRoutingApplication(base):  # type: ignore[misc, valid-type]
        _course_guards = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guard(self, key)

    distributed.node.RoutingApplication = GuardedRoutingApplication  # type: ignore[misc]


def dask_setup(scheduler: Any) -> None:
    """distributed's preload hook: the scheduler's HTTP server needs the key."""
    key = dashboard_key(token_from_env())
    if not key:
        log.error("No %s: this scheduler's dashboard refuses every request", TOKEN_ENV)
    app = getattr(scheduler, "http_application", None)
    if app is not None:
        if not getattr(app, "_course_dashboard_guarded", False):
            log.warning("The dashboard was not guarded from its start: guarded now")
        guard(app, key)


# A gateway's scheduler: guard the HTTP application distributed is about to create.
if os.environ.get(TOKEN_ENV):
    guard_new_applications(dashboard_key(token_from_env()))
