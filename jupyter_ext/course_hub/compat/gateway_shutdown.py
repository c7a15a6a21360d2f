"""``client.shutdown()`` on a Gateway cluster's client returns (dask-gateway 2026.3).

distributed's ``Client._shutdown`` runs on the client's event loop and does
``await self.cluster.close()``. A synchronous ``GatewayCluster.close()`` (the
notebook's case: ``cluster.get_client()`` shares the cluster's loop) runs its
stop coroutine on that same loop and blocks the loop's own thread waiting for
it: a deadlock, and the dask-tutorial's last cell never returns.

The fix: called from its own event loop's thread, ``close()`` returns the stop
coroutine (what it already returns when asynchronous), which the client then
awaits; the cluster is stopped as ``close()`` always does. Everywhere else the
original ``close()`` runs unchanged.
"""

from __future__ import annotations

import asyncio
import functools
from importlib.metadata import version
from types import ModuleType
from typing import Any

# The release this fix is written for (docs/upstream-reports.md); a newer
# dask-gateway is left as it is.
FIXED_RELEASE = "2026.3.0"


def _on_own_loop(cluster: Any) -> bool:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return running is cluster.loop.asyncio_loop


def patch(module: ModuleType) -> None:
    """Replace ``module.GatewayCluster.close`` (``module`` is ``dask_gateway.client``)."""
    if version("dask-gateway") != FIXED_RELEASE:
        return
    cls = module.GatewayCluster
    original = cls.close
    if getattr(original, "__course_hub_fix__", False):
        return

    @functools.wraps(original)
    def close(self, shutdown=None):
        if not self.asynchronous and self.status != "closed" and _on_own_loop(self):
            return self._stop_internal(shutdown=shutdown)
        return original(self, shutdown=shutdown)

    close.__course_hub_fix__ = True
    cls.close = close
