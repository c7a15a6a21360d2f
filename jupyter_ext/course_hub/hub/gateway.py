"""Dask Gateway cluster options built from the course manifest.

The gateway offers every student the same form: worker cores and memory
within the course's limits, plus a ``session`` choice that applies a
session's preset from ``course.yml``. Notebooks can then write
``gateway.new_cluster(session="dask")`` and get what the teacher planned.
"""

from __future__ import annotations

from typing import Any

from ..manifest import Manifest

GIB = 2**30


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
    from dask_gateway_server.options import Float, Integer, Options, Select

    presets = {s.id: s.cluster for s in manifest.sessions if s.cluster is not None}
    for sid, preset in presets.items():
        if not 1 <= preset.worker_cores <= max_cores:
            raise ValueError(
                f"session {sid!r}: worker_cores={preset.worker_cores} is outside the "
                f"gateway's limits 1-{max_cores}"
            )
        if not 1 <= preset.worker_memory <= max_memory_gib:
            raise ValueError(
                f"session {sid!r}: worker_memory={preset.worker_memory} GiB is outside the "
                f"gateway's limits 1-{max_memory_gib} GiB"
            )

    def to_config(options: Any, user: Any) -> dict[str, Any]:
        cores, memory = options.worker_cores, options.worker_memory
        preset = presets.get(options.session)
        if preset is not None:
            cores, memory = preset.worker_cores, preset.worker_memory
        return {
            "worker_cores": cores,
            "worker_threads": cores,
            "worker_memory": int(memory * GIB),
        }

    return Options(
        Select(
            "session",
            ["custom", *presets],
            default="custom",
            label="Session preset (sets cores and memory)",
        ),
        Integer("worker_cores", default_cores, min=1, max=max_cores, label="Worker cores"),
        Float(
            "worker_memory",
            default_memory_gib,
            min=1,
            max=max_memory_gib,
            label="Worker memory (GiB)",
        ),
        handler=to_config,
    )
