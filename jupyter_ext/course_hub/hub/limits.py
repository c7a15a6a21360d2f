"""Per-student limits for the Dask Gateway, on every backend we ship.

dask-gateway limits each cluster, not each user (upstream removed its per-user
limit), so one student could start clusters until the class runs out of
machines. This mixin, placed before a backend class, refuses with 409 and a
sentence:

- a new cluster when the student already has ``max_clusters`` running;
- a new cluster, a scale or an adapt request that would take the student's
  clusters, all together (schedulers included), beyond ``max_cores`` or
  ``max_memory_gib``.

Teachers (hub admins) have their own limits, unlimited by default. The
worker count of each cluster comes from its heartbeats (what its scheduler
wants), so the accounting survives a gateway restart.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from dask_gateway_server import models
from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import UnsafeLocalBackend
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

GIB = 2**30
ACTIVE = [models.ClusterStatus.PENDING, models.ClusterStatus.RUNNING]


class StudentLimits(LoggingConfigurable):
    """Mixin: put it before a dask-gateway backend class."""

    max_clusters = Integer(2, help="Clusters a student may have at once (0: none).", config=True)
    max_cores = Float(
        8.0, help="Cores a student's clusters may use in all, schedulers included.", config=True
    )
    max_memory_gib = Float(
        16.0, help="Memory (GiB) a student's clusters may use in all.", config=True
    )
    admin_max_clusters = Integer(
        None,
        allow_none=True,
        help="Clusters for teachers (hub admins); None: no limit.",
        config=True,
    )
    admin_max_cores = Float(
        None, allow_none=True, help="Cores for teachers; None: no limit.", config=True
    )
    admin_max_memory_gib = Float(
        None, allow_none=True, help="Memory (GiB) for teachers; None: no limit.", config=True
    )

    def _limit_state(self) -> tuple[dict[str, int], set[str]]:
        if not hasattr(self, "_course_targets"):
            self._course_targets: dict[str, int] = {}
            self._course_admins: set[str] = set()
        return self._course_targets, self._course_admins

    def limits_for(
        self, username: str, admin: bool
    ) -> tuple[int | None, float | None, float | None]:
        if admin:
            return self.admin_max_clusters, self.admin_max_cores, self.admin_max_memory_gib
        return self.max_clusters, self.max_cores, self.max_memory_gib

    async def _usage(self, username: str, exclude: str | None = None) -> tuple[int, float, float]:
        """(clusters, cores, bytes) of the student's active clusters, but ``exclude``."""
        targets, _ = self._limit_state()
        clusters = await self.list_clusters(username=username, statuses=ACTIVE)
        count, cores, memory = 0, 0.0, 0.0
        for c in clusters:
            if c.name == exclude:
                continue
            n = targets.get(c.name, 0)
            count += 1
            cores += _get(c.config, "scheduler_cores") + n * _get(c.config, "worker_cores")
            memory += _get(c.config, "scheduler_memory") + n * _get(c.config, "worker_memory")
        return count, cores, memory

    def _check(self, username: str, admin: bool, cores: float, memory: float) -> str | None:
        _, max_cores, max_gib = self.limits_for(username, admin)
        if max_cores is not None and cores > max_cores + 1e-9:
            return (
                f"Limit reached: your clusters may use {max_cores:g} cores in all and this "
                f"would make {cores:g}. Scale a cluster down or stop one, then try again."
            )
        if max_gib is not None and memory > max_gib * GIB + 1:
            return (
                f"Limit reached: your clusters may use {max_gib:g} GiB in all and this would "
                f"make {memory / GIB:.1f} GiB. Scale a cluster down or stop one, then try again."
            )
        return None

    async def start_cluster(self, user: Any, cluster_options: dict) -> str:
        _, admins = self._limit_state()
        if user.admin:
            admins.add(user.name)
        max_clusters, _, _ = self.limits_for(user.name, user.admin)
        count, cores, memory = await self._usage(user.name)
        if max_clusters is not None and count >= max_clusters:
            raise web.HTTPConflict(
                reason=(
                    f"Limit reached: you may have {max_clusters} cluster(s) at once and you "
                    f"have {count}. Stop one (Course panel: Stop), then try again."
                )
            )
        _, config = await self.process_cluster_options(user, cluster_options)
        problem = self._check(
            user.name,
            user.admin,
            cores + float(config.scheduler_cores),
            memory + float(config.scheduler_memory),
        )
        if problem:
            raise web.HTTPConflict(reason=problem)
        return await super().start_cluster(user, cluster_options)

    async def forward_message_to_scheduler(self, cluster: Any, msg: dict) -> None:
        op = msg.get("op")
        if op in ("scale", "adapt") and msg.get("active", True):
            wanted = msg.get("count") if op == "scale" else msg.get("maximum")
            if wanted is not None:
                _, admins = self._limit_state()
                admin = cluster.username in admins
                _, cores, memory = await self._usage(cluster.username, exclude=cluster.name)
                cores += _get(cluster.config, "scheduler_cores") + wanted * _get(
                    cluster.config, "worker_cores"
                )
                memory += _get(cluster.config, "scheduler_memory") + wanted * _get(
                    cluster.config, "worker_memory"
                )
                problem = self._check(cluster.username, admin, cores, memory)
                if problem:
                    raise PublicException(problem)
        await super().forward_message_to_scheduler(cluster, msg)
        if op == "scale":
            self._limit_state()[0][cluster.name] = int(msg.get("count", 0))

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict) -> None:
        # The scheduler's own target: what the cluster may grow to right now.
        if "count" in msg:
            self._limit_state()[0][cluster_name] = int(msg["count"])
        await super().on_cluster_heartbeat(cluster_name, msg)


def _get(config: Any, key: str) -> float:
    value = config.get(key, 0) if hasattr(config, "get") else getattr(config, key, 0)
    return float(value or 0)


class LimitedUnsafeLocalBackend(StudentLimits, UnsafeLocalBackend):
    """The local hub's backend (``make hub``), with per-student limits."""
