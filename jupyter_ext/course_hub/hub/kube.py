"""The DaskHub gateway's backend: dask-gateway's KubeBackend with per-student limits.

A module of its own because importing the Kubernetes backend needs
kubernetes_asyncio, which only the gateway pod uses.
"""

from __future__ import annotations

from dask_gateway_server.backends.kubernetes import KubeBackend

from .limits import StudentLimits


class LimitedKubeBackend(StudentLimits, KubeBackend):
    """KubeBackend that refuses what would take a student over their limits."""
