"""The gateway's cluster options: cores, memory and the course's session presets.

Self-contained on purpose (stdlib and dask_gateway_server only): the local and
compose gateway configs import it, and `course-hub render-values` embeds its
source in the DaskHub values' ``gateway.extraConfig``, where the gateway pod
runs the upstream dask-gateway-server image without this package. One source,
three deployments.

``presets`` maps a session id to ``{"worker_cores": int, "worker_memory": GiB}``.
"""

from __future__ import annotations

from typing import Any

GIB = 2**30


def check_presets(
    presets: dict[str, dict[str, Any]], max_cores: int, max_memory_gib: float
) -> None:
    """A preset outside the limits would fail for every student: refuse it now."""
    for sid, p in presets.items():
        if not 1 <= p["worker_cores"] <= max_cores:
            raise ValueError(
                f"session {sid!r}: worker_cores={p['worker_cores']} is outside the "
                f"gateway's limits 1-{max_cores}"
            )
        if not 1 <= p["worker_memory"] <= max_memory_gib:
            raise ValueError(
                f"session {sid!r}: worker_memory={p['worker_memory']} GiB is outside the "
                f"gateway's limits 1-{max_memory_gib} GiB"
            )


def build_options(
    presets: dict[str, dict[str, Any]],
    max_cores: int = 4,
    max_memory_gib: float = 8.0,
    default_cores: int = 1,
    default_memory_gib: float = 2.0,
) -> Any:
    """``c.Backend.cluster_options``: a ``session`` choice that applies a preset,
    else the cores and memory the student picks within the limits."""
    from dask_gateway_server.options import Float, Integer, Options, Select

    check_presets(presets, max_cores, max_memory_gib)

    def to_config(options: Any, user: Any) -> dict[str, Any]:
        cores, memory = options.worker_cores, options.worker_memory
        preset = presets.get(options.session)
        if preset is not None:
            cores, memory = preset["worker_cores"], preset["worker_memory"]
        # Limits default to these requests on Kubernetes; threads follow cores.
        return {
            "worker_cores": cores,
            "worker_threads": int(cores),
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
