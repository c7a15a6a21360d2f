"""Dask Gateway cluster options built from the course manifest.

The gateway offers every student the same form: worker cores and memory
within the course's limits, plus a ``session`` choice that applies a
session's preset from ``course.yml``. Notebooks can then write
``gateway.new_cluster(session="dask")`` and get what the teacher planned.
The options themselves are built by :mod:`.presets`, which the Kubernetes
values embed as source.
"""

from __future__ import annotations

from typing import Any

from ..manifest import Manifest
from .presets import GIB, build_options

__all__ = ["GIB", "cluster_options", "manifest_presets"]


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
