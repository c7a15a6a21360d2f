"""A Gateway cluster whose notebook is gone stops within minutes (scheduler preload).

A kernel that dies (killed, out of memory, its server stopped) cannot shut its
cluster down; the gateway's idle timeout (``COURSE_CLUSTER_IDLE_TIMEOUT``, 30
minutes) would stop it eventually, but a shorter one would also stop clusters
that a student's notebook is connected to while she reads. What tells the two
apart is the scheduler's list of clients: a notebook using its cluster holds a
client connection; a dead kernel's connection closes with it.

So: once a cluster has had a client, and then has none (the scheduler's own
``fire-and-forget`` entry aside) for ``COURSE_CLUSTER_NO_CLIENT_TIMEOUT``
seconds (default 300; 0 turns it off), it shuts down through the gateway, as
the idle timeout does. A cluster that never had a client (started from the
Course panel, not yet connected) is left to the idle timeout. A kernel restart
or ``client.close()`` followed by a new ``gateway.connect(name)`` within the
timeout keeps the cluster.

Loaded by every deployment's gateway with ``dask scheduler --preload
course_hub.hub.orphan_clusters`` (:data:`.cluster_env.SCHEDULER_ARGS`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

ENV = "COURSE_CLUSTER_NO_CLIENT_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
#: The scheduler's own client entry, never a notebook.
INTERNAL_CLIENTS = {"fire-and-forget"}


def timeout_from_env(environ: dict[str, str] | None = None) -> float:
    """Seconds without a client before the cluster stops (0: never); bad values: default."""
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_TIMEOUT
    except ValueError:
        log.warning("%s=%r is not a number of seconds: using %s", ENV, raw, DEFAULT_TIMEOUT)
        return DEFAULT_TIMEOUT


def clients(scheduler: Any) -> int:
    """How many clients (notebooks, scripts) are connected to ``scheduler``."""
    return sum(1 for name in scheduler.clients if name not in INTERNAL_CLIENTS)


async def watch(scheduler: Any, seconds: float, period: float | None = None) -> None:
    """Shut the cluster down once it has had clients and then none for ``seconds``."""
    period = period or min(5.0, max(seconds / 4, 0.25))
    loop = asyncio.get_running_loop()
    had_client = False
    alone_since: float | None = None
    while True:
        await asyncio.sleep(period)
        if clients(scheduler):
            had_client, alone_since = True, None
            continue
        if not had_client:
            continue
        now = loop.time()
        if alone_since is None:
            alone_since = now
        elif now - alone_since >= seconds:
            log.warning("No client for %.0f s (its notebook is gone): shutting down", seconds)
            await shutdown(scheduler)
            return


async def shutdown(scheduler: Any) -> None:
    """Through the gateway (it then forgets the cluster), as its idle timeout does."""
    service = scheduler.services.get("gateway")
    if service is not None:
        await service.gateway.shutdown()
    else:  # not started by a gateway
        await scheduler.close()


def dask_setup(scheduler: Any) -> None:
    """distributed's preload hook: start the watch on the scheduler's event loop."""
    timeout = timeout_from_env()
    if timeout <= 0:
        return
    scheduler._course_orphan_watch = asyncio.ensure_future(watch(scheduler, timeout))
