"""Owner-only dashboards for the Kubernetes gateway.

On Kubernetes the dask-gateway controller gives each cluster a Traefik
IngressRoute, ``<prefix>/clusters/<namespace>.<name>/``, straight to the
scheduler's dashboard service (port 8787), which checks nobody. This backend
serves the same paths in the gateway API pod, for the cluster's owner and
teachers only (:mod:`.dashboards`; the schedulers' dashboards are reached at
their service address, ``http://<service>.<namespace>:8787``). The chart
(hub_config/helm/course-hub) routes those paths here, ahead of the
controller's routes:

- an IngressRoute of the chart, ``PathPrefix(`<prefix>/clusters/`)`` with a
  high ``priority`` (the controller's use the default, their rule's length),
  to the gateway API service through dask-gateway's ``api-prefix`` middleware;
- NetworkPolicies: the gateway API pod to the schedulers' 8787 (Traefik's
  8787 then unneeded);
- ``c.DaskGateway.backend_class`` set to this class, and the servers'
  ``COURSE_DASHBOARD_TOKEN=1`` (course_hub/dashboard.py).

The schedulers also run the course's preloads (``SCHEDULER_ARGS`` in the
chart's gateway config): a dashboard answers only with its cluster's key
(:mod:`.dashboard_key`), which this gateway derives from the token it reads
from the cluster's credentials Secret and adds when forwarding; so should a
controller route or a pod reach 8787, it gets 403, not the dashboard.
"""

from __future__ import annotations

from traitlets import default

from .class_clusters import ClassClusters
from .dashboards import OwnerOnlyDashboards
from .kube import LimitedKubeBackend


class LimitedKubeDashboardsBackend(ClassClusters, OwnerOnlyDashboards, LimitedKubeBackend):
    """LimitedKubeBackend whose gateway serves dashboards to their owner only,
    and the class's clusters to teachers (:mod:`.class_clusters`)."""

    @default("dashboard_host")
    def _dashboard_host_default(self) -> str:
        return ""  # schedulers are pods: reach them at the address they report
