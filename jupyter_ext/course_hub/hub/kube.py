"""The DaskHub gateway's backend: dask-gateway's KubeBackend with per-student limits.

A module of its own because importing the Kubernetes backend needs
kubernetes_asyncio, which only the gateway pod uses.
"""

from __future__ import annotations

from dask_gateway_server.backends.kubernetes import KubeBackend

from .limits import StudentLimits


class LimitedKubeBackend(StudentLimits, KubeBackend):
    """KubeBackend that refuses what would take a student over their limits.

    ``KubeBackend.list_clusters`` knows a cluster only once the informer has
    seen its DaskCluster object, a while after ``start_cluster`` returned:
    :class:`StudentLimits` counts it as a reservation until then. The limits
    hold per gateway process: run one gateway API pod (the chart's default).
    """
