"""Every student's Dask clusters, for teachers: two gateway routes of our own.

dask-gateway's API lists and stops only the caller's own clusters
(``dask_gateway_server/routes.py``: ``list_clusters(username=user.name)``,
``has_permissions`` is ownership). The course service's class view needs the
whole class's, so :class:`ClassClusters`, placed before a backend class that
has :class:`.limits.StudentLimits` (local, compose and Kubernetes classes),
adds to the gateway's web application:

- ``GET /api/v1/course/clusters``: every active cluster (its owner, status,
  workers now and the workers it may have, cores and memory it counts
  against its owner's limits) and the per-student limits;
- ``DELETE /api/v1/course/clusters/{cluster_name}``: stop any cluster (204,
  also when it is already gone).

Both for teachers only (hub admins and the ``teacher_group``'s members, see
:meth:`.limits.StudentLimits.is_teacher`), authenticated by the gateway's own
authenticator (a hub token, as every gateway request): the course service
forwards the teacher's token, never one of its own. Otherwise 401 (no or a
bad token) or 403, with a sentence.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from traitlets.config import LoggingConfigurable

from .limits import ACTIVE, _get

ROUTE = "/api/v1/course/clusters"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class ClassClusters(LoggingConfigurable):
    """Mixin: put it before a backend class that has :class:`.limits.StudentLimits`."""

    async def setup(self, app: web.Application) -> None:
        await super().setup(app)  # type: ignore[misc]
        self.serve_class_clusters(app)

    def serve_class_clusters(self, app: web.Application) -> None:
        """Add the teachers' routes to ``app`` (``setup`` calls it; tests too)."""
        self._course_active_workers: dict[str, int] = getattr(self, "_course_active_workers", {})
        app.router.add_get(ROUTE, self._class_clusters_handler)
        app.router.add_delete(ROUTE + "/{cluster_name}", self._class_stop_handler)

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict) -> None:
        if not hasattr(self, "_course_active_workers"):
            self._course_active_workers = {}
        if isinstance(msg.get("active_workers"), list):
            self._course_active_workers[cluster_name] = len(msg["active_workers"])
        await super().on_cluster_heartbeat(cluster_name, msg)  # type: ignore[misc]

    async def _admin(self, request: web.Request) -> web.Response | None:
        """None for a hub admin; else the refusal to answer."""
        try:
            user = await request.app["authenticator"].authenticate(request)
        except web.HTTPUnauthorized:
            return _error(401, "Log in: send a teacher's hub token.")
        except Exception:  # a made-up token makes the authenticator fail
            self.log.info("Class clusters: the token was refused", exc_info=True)
            return _error(401, "This token is not valid on the hub.")
        if isinstance(user, tuple):
            user = user[0]
        if not self.is_teacher(user):  # type: ignore[attr-defined]
            self.log.warning("Class clusters refused to %s", getattr(user, "name", "?"))
            return _error(403, "Only teachers see and stop the class's clusters.")
        request["user"] = user
        return None

    def cluster_model(self, cluster: Any) -> dict[str, Any]:
        """One cluster as the class view shows it (memory in bytes)."""
        self._limit_state()  # type: ignore[attr-defined]
        may_have = self._workers(cluster.name)  # type: ignore[attr-defined]
        active = getattr(self, "_course_active_workers", {}).get(cluster.name, 0)
        config = cluster.config
        return {
            "name": cluster.name,
            "user": cluster.username,
            "status": cluster.status.name,
            "workers": active,
            "target_workers": max(may_have, active),
            "cores": _get(config, "scheduler_cores")
            + max(may_have, active) * _get(config, "worker_cores"),
            "memory": _get(config, "scheduler_memory")
            + max(may_have, active) * _get(config, "worker_memory"),
            "start_time": cluster.start_time,
        }

    async def _class_clusters_handler(self, request: web.Request) -> web.Response:
        refused = await self._admin(request)
        if refused is not None:
            return refused
        clusters = await self.list_clusters(statuses=ACTIVE)  # type: ignore[attr-defined]
        return web.json_response(
            {
                "clusters": [self.cluster_model(c) for c in clusters],
                "limits": {
                    "max_clusters": self.max_clusters,  # type: ignore[attr-defined]
                    "max_cores": self.max_cores,  # type: ignore[attr-defined]
                    "max_memory_gib": self.max_memory_gib,  # type: ignore[attr-defined]
                },
            }
        )

    async def _class_stop_handler(self, request: web.Request) -> web.Response:
        refused = await self._admin(request)
        if refused is not None:
            return refused
        name = request.match_info["cluster_name"]
        cluster = await self.get_cluster(name)  # type: ignore[attr-defined]
        if cluster is not None:
            self.log.info(
                "Cluster %s of %s stopped by teacher %s",
                name,
                cluster.username,
                request["user"].name,
            )
            await self.stop_cluster(name)  # type: ignore[attr-defined]
        return web.Response(status=204)
