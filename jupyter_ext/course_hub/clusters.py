"""A student's Dask Gateway clusters, as JSON-safe models for the API.

The gateway's REST API knows a cluster's status and options but not its
workers, so for each running cluster the manager also asks the scheduler
(one ``identity`` call over a pooled TLS connection through the gateway's
proxy, with the cluster's own credentials from the report). All clusters of
the student are listed, whoever made them (this sidebar, a notebook,
dask-labextension), because the gateway identifies the student by their hub
token, the same token their kernels use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from dask_gateway import Gateway
from dask_gateway.client import (
    ClusterReport,
    ClusterStatus,
    GatewayClusterError,
    GatewayServerError,
    GatewayWarning,
)
from distributed.core import rpc

from .errors import CourseError
from .manifest import Manifest

log = logging.getLogger(__name__)

CONNECT_SNIPPET = """from dask_gateway import Gateway

gateway = Gateway()
cluster = gateway.connect({name})
client = cluster.get_client()
client"""

_SCALED_TO = re.compile(r"Scaling to (?P<n>\d+) instead")
_ADAPTED_TO = re.compile(r"maximum=(?P<max>\d+), minimum=(?P<min>\d+)` instead")

#: The gateway option that names a session preset (see course_hub.hub.gateway).
SESSION_OPTION = "session"

UNREACHABLE = (
    "The Dask Gateway cannot be reached right now. Wait a minute and try again; "
    "if it keeps failing, tell your teacher."
)


def _configured() -> bool:
    """Whether the dask config names a gateway (the hub sets DASK_GATEWAY__ADDRESS)."""
    import dask

    return bool(dask.config.get("gateway.address", None))


def connection_code(name: str) -> str:
    """Code that connects a notebook to the cluster, through the gateway's TLS proxy."""
    return CONNECT_SNIPPET.format(name=json.dumps(name))


@contextmanager
def gateway_errors(cluster: str | None = None) -> Iterator[None]:
    """Turn dask-gateway client exceptions into :class:`CourseError`.

    The client raises ``ValueError`` for the gateway's 404 and 422 answers,
    ``GatewayClusterError`` for 409 and ``GatewayServerError`` for 500;
    anything at the connection level means the gateway is unreachable.
    """
    try:
        yield
    except CourseError:
        raise
    except ValueError as exc:
        if cluster is not None:
            if cluster not in str(exc):
                # Not the gateway's "Cluster X not found" but its proxy's own 404:
                # the gateway is (re)starting and has not loaded its routes yet.
                raise CourseError(503, UNREACHABLE, "gateway-unreachable") from None
            raise CourseError(404, f"You have no cluster named {cluster!r}.", "unknown") from None
        raise CourseError(400, f"The gateway refused this request: {exc}", "invalid") from None
    except GatewayClusterError as exc:
        reason = "limit" if str(exc).startswith("Limit reached") else "conflict"
        raise CourseError(409, str(exc), reason) from None
    except GatewayServerError as exc:
        log.error("Dask Gateway internal error: %s", exc)
        raise CourseError(
            502, "The Dask Gateway had an internal error. Tell your teacher.", "gateway-error"
        ) from None
    except aiohttp.ClientResponseError as exc:
        if exc.status == 403 and cluster is not None:
            # Another student's cluster: do not even confirm that it exists.
            raise CourseError(404, f"You have no cluster named {cluster!r}.", "unknown") from None
        if exc.status in (401, 403):
            log.error("The gateway refused this server's credentials (%s)", exc.status)
            raise CourseError(
                502,
                "The Dask Gateway did not accept your login. Restart your server from "
                "the hub's control panel; if it keeps failing, tell your teacher.",
                "gateway-auth",
            ) from None
        status = 503 if exc.status >= 500 else 502
        raise CourseError(status, UNREACHABLE, "gateway-unreachable") from None
    except (aiohttp.ClientConnectionError, OSError, TimeoutError) as exc:
        log.warning("Dask Gateway unreachable: %r", exc)
        raise CourseError(503, UNREACHABLE, "gateway-unreachable") from None


def _int(body: dict, key: str, minimum: int = 0) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CourseError(400, f"{key} must be a whole number of at least {minimum}.", "invalid")
    return value


def parse_adaptive(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"minimum", "maximum"}:
        raise CourseError(
            400, "adaptive must be an object with 'minimum' and 'maximum'.", "invalid"
        )
    minimum = _int(value, "minimum") or 0
    maximum = _int(value, "maximum", 1)
    if maximum is None or minimum > maximum:
        raise CourseError(
            400, "adaptive needs a maximum of at least 1 and at least its minimum.", "invalid"
        )
    return {"minimum": minimum, "maximum": maximum}


def resolve_create(body: dict, manifest: Manifest) -> dict[str, Any]:
    """Turn a create request into options, a worker count and adaptive bounds.

    ``{"session": "dask"}`` takes the session's preset; ``options``,
    ``workers`` and ``adaptive`` given next to it override the preset.
    """
    unknown = set(body) - {"session", "options", "workers", "adaptive"}
    if unknown:
        raise CourseError(400, f"Unknown field(s): {', '.join(sorted(unknown))}.", "invalid")
    options: dict[str, Any] = {}
    workers: int | None = None
    adaptive: dict[str, int] | None = None
    session_id = body.get("session")
    if session_id is not None:
        if not isinstance(session_id, str):
            raise CourseError(400, "session must be a session id.", "invalid")
        session = manifest.session(session_id)
        if session.cluster is None:
            raise CourseError(
                400, f"Session {session.title!r} does not use a Dask cluster.", "no-preset"
            )
        options.update(session.cluster.options())
        workers = session.cluster.workers
        if session.cluster.adaptive:
            adaptive = session.cluster.adaptive.model_dump()
    extra = body.get("options") or {}
    if not isinstance(extra, dict):
        raise CourseError(400, "options must be an object of cluster options.", "invalid")
    if session_id is not None:
        # The gateway's "session" option applies the preset; changed cores or
        # memory make the cluster a custom one.
        custom = any(extra.get(k, v) != v for k, v in options.items())
        options[SESSION_OPTION] = "custom" if custom else session_id
    options.update(extra)
    # The session whose preset these options are, if nothing overrode it.
    preset = session_id if session_id and options.get(SESSION_OPTION) == session_id else None
    if "workers" in body:
        workers = _int(body, "workers")
        adaptive = None
    if "adaptive" in body:
        adaptive = parse_adaptive(body["adaptive"])
    return {"options": options, "workers": workers, "adaptive": adaptive, "preset": preset}


def _fit_session_choice(options: dict[str, Any], opts: Any) -> dict[str, Any]:
    """Send the session preset's cores and memory as such when the gateway
    does not offer that session.

    The servers read the course from its source (a teacher's git repository
    can add a session during the term) and the gateway may know an older
    program, or none (a plain gateway). The preset's values are in
    ``options`` already, so the cluster gets what the session asks for either
    way; only the label is lost.
    """
    session = options[SESSION_OPTION]
    field = opts._fields[SESSION_OPTION]  # the client keeps no public per-field spec
    choices = list(getattr(field, "options", None) or [])
    if session in choices:
        return options
    rest = {k: v for k, v in options.items() if k != SESSION_OPTION}
    log.warning(
        "The gateway offers no preset for session %r (it offers %s): sending its "
        "cores and memory as a custom cluster.",
        session,
        ", ".join(map(str, choices)) or "none",
    )
    if "custom" in choices:
        rest[SESSION_OPTION] = "custom"
    return rest


class ClusterManager:
    """The clusters of the student whose token the gateway client carries."""

    def __init__(
        self,
        gateway_kwargs: dict[str, Any] | None = None,
        start_timeout: float = 120.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.gateway_kwargs = dict(gateway_kwargs or {})
        self.start_timeout = start_timeout
        self.connect_timeout = connect_timeout
        self._gateway: Gateway | None = None
        self._rpcs: dict[str, rpc] = {}
        # What this server asked for; a cluster made elsewhere shows None.
        self._requested: dict[str, int] = {}
        self._adaptive: dict[str, dict[str, int]] = {}

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            try:
                self._gateway = Gateway(asynchronous=True, **self.gateway_kwargs)
            except (ValueError, TypeError, ImportError) as exc:
                log.error("Dask Gateway client is not configured: %s", exc)
                raise CourseError(
                    503,
                    "This server is not connected to a Dask Gateway. Tell your teacher.",
                    "gateway-unconfigured",
                ) from None
        return self._gateway

    # ------------------------------------------------------------------ reads
    async def options(self) -> dict:
        """The gateway's cluster options, as the gateway describes them."""
        with gateway_errors():
            opts = await self.gateway.cluster_options(use_local_defaults=False)
        fields = []
        for key in opts:
            f = opts._fields[key]  # the client keeps no public per-field spec
            fields.append(
                {
                    "field": key,
                    "label": f.label,
                    "type": type(f).__name__.lower(),
                    "default": f.get(),
                    "min": getattr(f, "min", None),
                    "max": getattr(f, "max", None),
                    "options": list(getattr(f, "options", []) or []) or None,
                }
            )
        return {"fields": fields}

    async def list(self) -> list[dict]:
        with gateway_errors():
            reports = await self.gateway.list_clusters()
        reports.sort(key=lambda r: r.start_time)
        return await self._models(reports)

    async def get(self, name: str) -> dict:
        report = await self._report(name)
        return (await self._models([report], prune=False))[0]

    async def _report(self, name: str, wait: bool = False) -> ClusterReport:
        with gateway_errors(cluster=name):
            return await self.gateway.get_cluster(name, wait=wait)

    # ----------------------------------------------------------------- writes
    async def create(
        self,
        options: dict[str, Any],
        workers: int | None = None,
        adaptive: dict[str, int] | None = None,
        preset: str | None = None,
    ) -> dict:
        """Start a cluster, wait until it runs, then scale it; never leave half of one.

        ``preset`` names the session of the course whose preset ``options``
        carry (see :func:`resolve_create`).
        """
        with gateway_errors():
            opts = await self.gateway.cluster_options()
        if SESSION_OPTION not in opts:
            # A gateway without our presets: cores and memory are sent as such.
            options = {k: v for k, v in options.items() if k != SESSION_OPTION}
        elif preset is not None:
            options = _fit_session_choice(options, opts)
        for key, value in options.items():
            if key not in opts:
                known = ", ".join(sorted(opts)) or "none"
                raise CourseError(
                    400, f"Unknown cluster option {key!r} (available: {known}).", "invalid"
                )
            try:
                opts[key] = value
            except (TypeError, ValueError) as exc:
                raise CourseError(400, f"Invalid value for {key}: {exc}", "invalid") from None
        with gateway_errors():
            name = await self.gateway.submit(opts)
        warning = None
        try:
            report = await self._wait_running(name)
            warning = await self._apply_scale(name, workers, adaptive)
        except BaseException:
            await self._stop_quietly(name)
            raise
        workers, adaptive = self._capped(warning, workers, adaptive)
        if workers is not None and adaptive is None:
            self._requested[name] = workers
        if adaptive is not None:
            self._adaptive[name] = adaptive
        model = (await self._models([report], prune=False))[0]
        if warning:
            model["warning"] = warning
        return model

    async def update(
        self, name: str, workers: int | None = None, adaptive: dict[str, int] | None = None
    ) -> dict:
        report = await self._report(name)
        if report.status != ClusterStatus.RUNNING:
            raise CourseError(
                409,
                f"Cluster {name!r} is {report.status.name.lower()}; only a running cluster "
                "can be scaled.",
                "not-running",
            )
        warning = await self._apply_scale(name, workers, adaptive)
        workers, adaptive = self._capped(warning, workers, adaptive)
        if adaptive is not None:
            self._adaptive[name] = adaptive
            self._requested.pop(name, None)
        elif workers is not None:
            self._requested[name] = workers
            self._adaptive.pop(name, None)
        model = await self.get(name)
        if warning:
            model["warning"] = warning
        return model

    async def stop(self, name: str) -> None:
        await self._report(name)  # 404 for unknown clusters and other students' ones
        with gateway_errors(cluster=name):
            await self.gateway.stop_cluster(name)
        await self._forget(name)

    async def stop_all(self) -> int:
        """Stop every cluster of the student; return how many (errors are only logged)."""
        if self._gateway is None and not self.gateway_kwargs and not _configured():
            return 0
        try:
            async with asyncio.timeout(self.connect_timeout * 2):
                reports = await self.gateway.list_clusters()
                for r in reports:
                    await self.gateway.stop_cluster(r.name)
                return len(reports)
        except Exception as exc:  # shutting down: never fail the server's exit
            log.warning("Could not stop the clusters on exit: %r", exc)
            return 0

    async def close(self) -> None:
        """Drop connections; the clusters themselves keep running."""
        for name in list(self._rpcs):
            await self._close_rpc(name)
        if self._gateway is not None:
            await self._gateway.close()
            self._gateway = None

    # ---------------------------------------------------------------- helpers
    async def _wait_running(self, name: str) -> ClusterReport:
        try:
            async with asyncio.timeout(self.start_timeout):
                while True:
                    report = await self._report(name, wait=True)
                    if report.status == ClusterStatus.RUNNING:
                        return report
                    if report.status == ClusterStatus.FAILED:
                        raise CourseError(
                            502,
                            "Your cluster failed to start. Try again with fewer workers or "
                            "less memory; if it keeps failing, tell your teacher.",
                            "start-failed",
                        )
                    if report.status >= ClusterStatus.STOPPING:
                        raise CourseError(
                            409, "Your cluster was stopped while starting.", "stopped"
                        )
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise CourseError(
                504,
                f"Your cluster did not start within {self.start_timeout:.0f} s and was "
                "stopped. The class may be using all the machines: try again later.",
                "start-timeout",
            ) from None

    async def _apply_scale(
        self, name: str, workers: int | None, adaptive: dict[str, int] | None
    ) -> str | None:
        """Scale or adapt; return the gateway's warning if it capped the request."""
        with warnings.catch_warnings(record=True) as caught, gateway_errors(cluster=name):
            warnings.simplefilter("always", GatewayWarning)
            if adaptive is not None:
                await self.gateway.adapt_cluster(name, **adaptive)
            elif workers is not None:
                await self.gateway.scale_cluster(name, workers)
        for w in caught:
            if issubclass(w.category, GatewayWarning):
                return str(w.message)
        return None

    @staticmethod
    def _capped(warning: str | None, workers: int | None, adaptive: dict | None):
        """What the gateway actually applied, read from its capping message."""
        if warning and workers is not None and (m := _SCALED_TO.search(warning)):
            workers = int(m["n"])
        if warning and adaptive is not None and (m := _ADAPTED_TO.search(warning)):
            adaptive = {"minimum": int(m["min"]), "maximum": int(m["max"])}
        return workers, adaptive

    async def _stop_quietly(self, name: str) -> None:
        try:
            await self.gateway.stop_cluster(name)
        except Exception:
            log.warning("Could not stop half-started cluster %s", name, exc_info=True)
        await self._forget(name)

    async def _forget(self, name: str) -> None:
        self._requested.pop(name, None)
        self._adaptive.pop(name, None)
        await self._close_rpc(name)

    async def _stats(self, report: ClusterReport) -> dict[str, int] | None:
        """Workers, threads and memory, straight from the cluster's scheduler.

        One ``identity`` call over a pooled TLS connection through the
        gateway's proxy. (Subscribing to worker events would be pushier, but
        the scheduler keeps one such subscription per cluster: ours would steal
        it from the student's notebook widget.)
        """
        if report.status != ClusterStatus.RUNNING or report.security is None:
            return None
        conn = self._rpcs.get(report.name)
        if conn is None:
            conn = rpc(
                report.scheduler_address,
                connection_args=report.security.get_connection_args("client"),
                timeout=self.connect_timeout,
            )
            self._rpcs[report.name] = conn
        try:
            async with asyncio.timeout(self.connect_timeout):
                ident = await conn.identity(n_workers=0)
        except Exception as exc:
            log.info("Could not reach the scheduler of %s: %r", report.name, exc)
            await self._close_rpc(report.name)
            return None
        return {
            "workers": int(ident.get("n_workers", 0)),
            "cores": int(ident.get("total_threads", 0)),
            "memory": int(ident.get("total_memory", 0)),
        }

    async def _models(self, reports: list[ClusterReport], prune: bool = True) -> list[dict]:
        running = {r.name for r in reports if r.status == ClusterStatus.RUNNING}
        stale = set(self._rpcs) - running if prune else {r.name for r in reports} - running
        for name in stale:
            await self._close_rpc(name)
        stats = await asyncio.gather(*(self._stats(r) for r in reports))
        return [self._model(r, st) for r, st in zip(reports, stats, strict=True)]

    async def _close_rpc(self, name: str) -> None:
        conn = self._rpcs.pop(name, None)
        if conn is not None:
            try:
                await conn.close_rpc()
            except Exception:
                log.debug("Error closing connection to %s", name, exc_info=True)

    def _model(self, report: ClusterReport, stats: dict[str, int] | None) -> dict:
        running = report.status == ClusterStatus.RUNNING
        if stats is None:
            # Not running: nothing; running but unreachable for now: unknown.
            stats = (
                {"workers": None, "cores": None, "memory": None}
                if running
                else {
                    "workers": 0,
                    "cores": 0,
                    "memory": 0,
                }
            )
        options = dict(report.options or {})
        session = options.get(SESSION_OPTION)
        return {
            "name": report.name,
            "status": report.status.name.lower(),
            "options": options,
            "session": session if session and session != "custom" else None,
            "workers": stats["workers"],
            "workers_requested": self._requested.get(report.name),
            "adaptive": self._adaptive.get(report.name),
            "cores": stats["cores"],
            "memory": stats["memory"],
            "dashboard_link": report.dashboard_link if running else None,
            "start_time": report.start_time.timestamp() if report.start_time else None,
            "connection_code": connection_code(report.name),
        }
