"""Per-student limits for the Dask Gateway, on every backend we ship.

dask-gateway limits each cluster, not each user (upstream removed its per-user
limit), so one student could start clusters until the class runs out of
machines. This mixin, placed before a backend class, refuses with 409 and a
sentence:

- a new cluster when the student already has ``max_clusters`` running;
- a new cluster, a scale or an adapt request that would take the student's
  clusters, all together (schedulers included), beyond ``max_cores`` or
  ``max_memory_gib``.

Bursts cannot slip through. Each student's requests are checked and acted on
one at a time (an ``asyncio.Lock`` per student, in this gateway process), and
a cluster just started counts as a *reservation* until the backend reports it:
the database backends (local, compose) list it as soon as ``start_cluster``
returns, but the Kubernetes backend only once its informer has seen the
DaskCluster object, a second or more later. The reservation ends when
``get_cluster`` finds the cluster (from then on it is counted from
``list_clusters``), when the start fails, or after ``reservation_timeout``.

A cluster counts with the most workers it may have: the count its scheduler
reports in heartbeats (which survives a gateway restart), a scale not yet
confirmed by a heartbeat, and an adaptive cluster's maximum.

Teachers have their own limits, unlimited by default. A teacher is a hub admin
or a member of ``teacher_group`` (the course service's rule, the same
variables): read from each request, ``user.admin`` and ``user.groups`` as the
gateway's authenticator reports them (JupyterHub's ``/hub/api/user``, cached by
the gateway for ``Authenticator.cache_max_age``, 300 s by default), so it
survives gateway restarts. Scale and adapt requests reach the backend
without a user; a middleware keeps the request in a context variable, and its
authenticated user is the cluster's owner (dask-gateway's routes refuse
anyone else).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from dask_gateway_server import models
from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import UnsafeLocalBackend
from traitlets import Float, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

GIB = 2**30
ACTIVE = [models.ClusterStatus.PENDING, models.ClusterStatus.RUNNING]

#: The gateway request being handled, set by :func:`remember_request`.
current_request: contextvars.ContextVar[web.Request | None] = contextvars.ContextVar(
    "course_hub_gateway_request", default=None
)


@web.middleware
async def remember_request(request: web.Request, handler: Any) -> web.StreamResponse:
    """Keep the request where the backend can read its authenticated user."""
    token = current_request.set(request)
    try:
        return await handler(request)
    finally:
        current_request.reset(token)


def requesting_user() -> models.User | None:
    """The authenticated user of the gateway request being handled, if any."""
    request = current_request.get()
    return request.get("user") if request is not None else None


@dataclass
class Reservation:
    """A cluster started but not yet reported by the backend."""

    cores: float
    memory: float
    since: float
    name: str | None = None


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
    teacher_group = Unicode(
        help="""Hub group whose members are teachers here, as hub admins are: their
        own limits, the class's clusters and every dashboard. Default:
        $COURSE_SERVICE_TEACHER_GROUP, else $COURSE_TEACHER_GROUP, else
        teachers (what the course service reads).""",
        config=True,
    )

    @default("teacher_group")
    def _teacher_group_default(self) -> str:
        for name in ("COURSE_SERVICE_TEACHER_GROUP", "COURSE_TEACHER_GROUP"):
            if os.environ.get(name):
                return os.environ[name]
        return "teachers"

    def is_teacher(self, user: Any) -> bool:
        """A hub admin, or in :attr:`teacher_group` (the gateway's ``User``)."""
        if user is None:
            return False
        groups = getattr(user, "groups", None) or ()
        return bool(getattr(user, "admin", False)) or self.teacher_group in groups

    reservation_timeout = Float(
        300.0,
        help="""Seconds a started cluster counts against its student while the
        backend does not report it yet (Kubernetes: until the informer sees its
        DaskCluster). Past that the reservation is dropped, with a warning.""",
        config=True,
    )
    scale_grace = Float(
        30.0,
        help="""Seconds a scale request counts with its new worker count even
        when heartbeats still report another one (a heartbeat sent before the
        scheduler got the request).""",
        config=True,
    )

    def _limit_state(self) -> None:
        if not hasattr(self, "_course_targets"):
            # Worker count from heartbeats; scale requests not yet confirmed
            # (count, when); adaptive maxima; a lock and reservations per student.
            self._course_targets: dict[str, int] = {}
            self._course_scaled: dict[str, tuple[int, float]] = {}
            self._course_adaptive: dict[str, int] = {}
            self._course_locks: dict[str, asyncio.Lock] = {}
            self._course_pending: dict[str, dict[str, Reservation]] = {}

    def _student_lock(self, username: str) -> asyncio.Lock:
        self._limit_state()
        return self._course_locks.setdefault(username, asyncio.Lock())

    async def setup(self, app: web.Application) -> None:
        # The app is not frozen yet: the middleware sees every request.
        app.middlewares.append(remember_request)
        await super().setup(app)  # type: ignore[misc]

    def limits_for(
        self, username: str, teacher: bool
    ) -> tuple[int | None, float | None, float | None]:
        if teacher:
            return self.admin_max_clusters, self.admin_max_cores, self.admin_max_memory_gib
        return self.max_clusters, self.max_cores, self.max_memory_gib

    def _workers(self, cluster_name: str) -> int:
        """The most workers the cluster may have now (see the module docstring)."""
        scaled = self._course_scaled.get(cluster_name, (0, 0.0))[0]
        return max(
            self._course_targets.get(cluster_name, 0),
            scaled,
            self._course_adaptive.get(cluster_name, 0),
        )

    async def _usage(self, username: str, exclude: str | None = None) -> tuple[int, float, float]:
        """(clusters, cores, bytes) of the student's active clusters and
        reservations, but ``exclude``. Call it holding the student's lock."""
        self._limit_state()
        count, cores, memory = 0, 0.0, 0.0
        # Reservations first: a cluster reported meanwhile is then counted
        # twice (refusing too much for a moment), never zero times.
        pending = self._course_pending.get(username, {})
        now = time.monotonic()
        for key, r in list(pending.items()):
            if r.name is not None and await self.get_cluster(r.name) is not None:
                del pending[key]
            elif now - r.since > self.reservation_timeout:
                self.log.warning(
                    "Cluster %s of %s not reported after %.0f s: no longer reserved",
                    r.name,
                    username,
                    now - r.since,
                )
                del pending[key]
            elif exclude is None or r.name != exclude:
                count += 1
                cores += r.cores
                memory += r.memory
        for c in await self.list_clusters(username=username, statuses=ACTIVE):
            if c.name == exclude:
                continue
            n = self._workers(c.name)
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
        async with self._student_lock(user.name):
            teacher = self.is_teacher(user)
            max_clusters, _, _ = self.limits_for(user.name, teacher)
            count, cores, memory = await self._usage(user.name)
            if max_clusters is not None and count >= max_clusters:
                raise web.HTTPConflict(
                    reason=(
                        f"Limit reached: you may have {max_clusters} cluster(s) at once and "
                        f"you have {count}. Stop one (Course panel: Stop), then try again."
                    )
                )
            _, config = await self.process_cluster_options(user, cluster_options)
            reservation = Reservation(
                float(config.scheduler_cores), float(config.scheduler_memory), time.monotonic()
            )
            problem = self._check(
                user.name, teacher, cores + reservation.cores, memory + reservation.memory
            )
            if problem:
                raise web.HTTPConflict(reason=problem)
            pending = self._course_pending.setdefault(user.name, {})
            key = uuid.uuid4().hex
            pending[key] = reservation
            try:
                reservation.name = await super().start_cluster(user, cluster_options)  # type: ignore[misc]
            except BaseException:
                pending.pop(key, None)
                raise
            return reservation.name

    async def forward_message_to_scheduler(self, cluster: Any, msg: dict) -> None:
        op = msg.get("op")
        if op not in ("scale", "adapt"):
            return await super().forward_message_to_scheduler(cluster, msg)  # type: ignore[misc]
        active = op == "scale" or msg.get("active", True)
        async with self._student_lock(cluster.username):
            if active:
                wanted = msg.get("count") if op == "scale" else msg.get("maximum")
                others = await self._usage(cluster.username, exclude=cluster.name)
                self._check_workers(cluster, wanted, others)
            await super().forward_message_to_scheduler(cluster, msg)  # type: ignore[misc]
            if op == "scale":
                self._course_adaptive.pop(cluster.name, None)  # scale ends adaptivity
                self._course_scaled[cluster.name] = (int(msg["count"]), time.monotonic())
            elif active and msg.get("maximum") is not None:
                self._course_adaptive[cluster.name] = int(msg["maximum"])
            else:  # adaptivity off, or unbounded (only for users without limits)
                self._course_adaptive.pop(cluster.name, None)

    def _check_workers(
        self, cluster: Any, wanted: int | None, others: tuple[int, float, float]
    ) -> None:
        """Raise ``PublicException`` (409) if ``cluster`` with ``wanted`` workers
        would take its owner beyond their limits."""
        user = requesting_user()
        # The requester is the owner (dask-gateway's routes refuse anyone else)
        # or an admin; no request (not from the API): a student's limits.
        admin = self.is_teacher(user)
        _, max_cores, max_gib = self.limits_for(cluster.username, admin)
        if wanted is None:
            if max_cores is None and max_gib is None:
                return
            raise PublicException(
                "Limit reached: an adaptive cluster needs a maximum number of workers here."
            )
        _, cores, memory = others
        cores += _get(cluster.config, "scheduler_cores") + wanted * _get(
            cluster.config, "worker_cores"
        )
        memory += _get(cluster.config, "scheduler_memory") + wanted * _get(
            cluster.config, "worker_memory"
        )
        problem = self._check(cluster.username, admin, cores, memory)
        if problem:
            raise PublicException(problem)

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict) -> None:
        # The scheduler's own target: what the cluster may grow to right now.
        self._limit_state()
        if "count" in msg:
            count = int(msg["count"])
            self._course_targets[cluster_name] = count
            scaled = self._course_scaled.get(cluster_name)
            if scaled and (scaled[0] == count or time.monotonic() - scaled[1] > self.scale_grace):
                del self._course_scaled[cluster_name]
        await super().on_cluster_heartbeat(cluster_name, msg)  # type: ignore[misc]


def _get(config: Any, key: str) -> float:
    value = config.get(key, 0) if hasattr(config, "get") else getattr(config, key, 0)
    return float(value or 0)


class LimitedUnsafeLocalBackend(StudentLimits, UnsafeLocalBackend):
    """The local hub's backend (``make hub``), with per-student limits."""
