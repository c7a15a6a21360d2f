"""Dask Gateway cluster options built from the course manifest.

The gateway offers every student the same form: worker cores and memory
within the course's limits, plus a ``session`` choice that applies a
session's preset from ``course.yml``. Notebooks can then write
``gateway.new_cluster(session="dask")`` and get what the teacher planned.
The options themselves are built by :mod:`.presets`, which the Kubernetes
values embed as source.

Every gateway we ship reads the presets from the course service
(:class:`ServiceClusterOptions`, ``COURSE_SERVICE_URL``): the service is the
one place the course lives on the hub side, so when a teacher's git repository
adds or changes a preset during the term, the gateway offers it within a
minute, with no restart and no second copy of the program to keep in step.
Without a service, :class:`LiveClusterOptions` reads a content source itself.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from ..content import ContentSource, FolderSource, content_source
from ..errors import CourseError
from ..manifest import Manifest, ManifestError
from .presets import GIB, build_options

__all__ = [
    "GIB",
    "LiveClusterOptions",
    "ServiceClusterOptions",
    "cluster_options",
    "cluster_options_from_env",
    "content_source_from_env",
    "manifest_presets",
]

log = logging.getLogger(__name__)


def manifest_presets(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Session id -> the preset's worker cores and memory (GiB)."""
    return {s.id: s.cluster.options() for s in manifest.sessions if s.cluster is not None}


def cluster_options(
    manifest: Manifest,
    max_cores: int = 4,
    max_memory_gib: float = 8.0,
    default_cores: int = 1,
    default_memory_gib: float = 2.0,
) -> Any:
    """Build ``c.Backend.cluster_options`` for a dask-gateway-server config.

    Raises ``ValueError`` naming the session if a preset does not fit within
    the limits, so that the gateway refuses to start rather than offer a
    preset that every student would see fail.
    """
    return build_options(
        manifest_presets(manifest), max_cores, max_memory_gib, default_cores, default_memory_gib
    )


def content_source_from_env(default_dir: Path | str, cache_dir: Path | str) -> ContentSource:
    """The course source the servers use, read from the same variables
    (``COURSE_CONTENT_REPO``, ``_BRANCH``, ``_SUBDIR``, else ``COURSE_CONTENT_DIR``
    or ``default_dir``), so that the gateway and the servers agree."""
    return content_source(
        os.environ.get("COURSE_CONTENT_REPO", ""),
        os.environ.get("COURSE_CONTENT_BRANCH") or "main",
        cache_dir,
        os.environ.get("COURSE_CONTENT_SUBDIR", ""),
        float(os.environ.get("COURSE_CONTENT_REFRESH_INTERVAL", "60")),
        os.environ.get("COURSE_CONTENT_DIR") or default_dir,
    )


class LiveClusterOptions:
    """``c.Backend.cluster_options`` as a callable: the presets of the current
    course, rebuilt when its manifest changes.

    Never fails a request: if the source cannot be fetched, or its manifest
    is broken, or a new preset is outside the limits, the last good options
    stay (the error is logged), and before any good manifest the form offers
    ``fallback`` or cores and memory only; the course extension then sends a
    session's cores and memory as a custom cluster.
    """

    def __init__(self, source: ContentSource, fallback: Any = None, **limits: Any) -> None:
        self.source = source
        self.limits = limits
        self._manifest: Manifest | None = None
        #: What to offer before a good manifest: e.g. the presets rendered from
        #: the course in the image (DaskHub); else cores and memory only.
        self._options: Any = fallback

    def check(self) -> None:
        """For start-up: raise on a broken local manifest or an impossible preset."""
        if isinstance(self.source, FolderSource):
            self._build(self.source.manifest())

    def _build(self, manifest: Manifest) -> Any:
        options = cluster_options(manifest, **self.limits)
        self._manifest, self._options = manifest, options
        return options

    async def __call__(self, user: Any = None) -> Any:
        try:
            await self.source.refresh()
        except CourseError as exc:
            log.warning("Course content for the cluster presets: %s", exc.message)
        try:
            manifest = self.source.manifest()
        except (ManifestError, OSError) as exc:
            log.error("Course manifest for the cluster presets: %s", exc)
            manifest = None
        if manifest is not None and manifest is not self._manifest:
            try:
                return self._build(manifest)
            except ValueError as exc:
                log.error("Keeping the previous cluster presets: %s", exc)
        if self._options is None:
            self._options = build_options({}, **self.limits)
        return self._options


class ServiceClusterOptions:
    """``c.Backend.cluster_options`` from the course service's ``api/presets``.

    The gateway asks the service with its own service token (the role
    ``course-gateway`` gives it ``access:services!service=course``), at most
    every ``refresh_interval`` seconds. Never fails a request: if the service
    is down or answers nonsense, or a new preset is outside the limits, the
    last good options stay (the error is logged); before any answer the form
    offers ``fallback`` (the presets rendered into the Kubernetes values), else
    cores and memory only.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        fallback: Any = None,
        refresh_interval: float = 30.0,
        timeout: float = 5.0,
        **limits: Any,
    ) -> None:
        self.url = url.rstrip("/") + "/api/presets"
        self.token = token if token is not None else os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self.limits = limits
        self._options: Any = fallback
        self._presets: dict[str, dict[str, Any]] | None = None
        self._fetched_at: float | None = None

    async def fetch(self) -> dict[str, dict[str, Any]]:
        """The service's presets: session id -> worker cores and memory (GiB)."""
        import aiohttp  # dask-gateway-server's own HTTP stack

        timeout = aiohttp.ClientTimeout(total=self.timeout)
        headers = {"Authorization": f"token {self.token}"}
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(self.url, headers=headers) as response:
                body = await response.text()
                if response.status != 200:
                    raise ValueError(f"{self.url} answered {response.status}: {body[:200]}")
        presets = json.loads(body)
        if not isinstance(presets, dict) or not all(
            isinstance(p, dict) and {"worker_cores", "worker_memory"} <= p.keys()
            for p in presets.values()
        ):
            raise ValueError(f"{self.url} answered no presets: {body[:200]}")
        return presets

    async def __call__(self, user: Any = None) -> Any:
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at >= self.refresh_interval:
            self._fetched_at = now
            try:
                presets = await self.fetch()
            except Exception as exc:  # any failure keeps the last good presets
                log.warning("Cluster presets from the course service: %s", exc)
                presets = None
            if presets is not None and presets != self._presets:
                try:
                    self._options = build_options(presets, **self.limits)
                    self._presets = presets
                except ValueError as exc:
                    log.error("Keeping the previous cluster presets: %s", exc)
        if self._options is None:
            self._options = build_options({}, **self.limits)
        return self._options


def cluster_options_from_env(
    default_dir: Path | str, cache_dir: Path | str, token: str | None = None, fallback: Any = None
) -> ServiceClusterOptions | LiveClusterOptions:
    """The gateway's options: from the course service when ``COURSE_SERVICE_URL``
    is set (every hub we ship), else from the content source of the environment."""
    url = os.environ.get("COURSE_SERVICE_URL", "")
    if url:
        return ServiceClusterOptions(url, token=token, fallback=fallback)
    return LiveClusterOptions(content_source_from_env(default_dir, cache_dir), fallback=fallback)
