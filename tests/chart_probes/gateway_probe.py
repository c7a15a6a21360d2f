"""Start dask-gateway-server from the dask-gateway chart's rendered configuration.

Run with the gateway pod's /etc/dask-gateway (the chart's ConfigMap) and
environment, in our single-user image (it runs the gateway) or on a test
machine. ``DaskGateway.initialize`` is the server's own start up to
``setup()``: it loads the chart's dask_gateway_config.py (with every
gateway.extraConfig snippet) and builds the authenticator and the backend.
The backend then answers for a student and a teacher as it would for a new
cluster: the options form, each session preset, the limits. Prints one line,
``PROBE {json}``.

    python3 gateway_probe.py /etc/dask-gateway/dask_gateway_config.py
"""

import asyncio
import json
import sys


async def main(config_file: str) -> dict:
    from dask_gateway_server.app import DaskGateway
    from dask_gateway_server.models import User

    app = DaskGateway()
    app.initialize(["--config", config_file])
    backend, auth = app.backend, app.authenticator
    student = User("ada")
    options = await backend.get_cluster_options(student)
    presets = {}
    sessions = list(options.fields[0].options) if options.fields else []
    for session in sessions:
        _, config = await backend.process_cluster_options(student, {"session": session})
        presets[session] = {
            "worker_cores": config.worker_cores,
            "worker_memory": config.worker_memory,
            "worker_cores_limit": config.worker_cores_limit,
            "worker_memory_limit": config.worker_memory_limit,
        }
    refused = []
    for request in ({"worker_cores": 5}, {"worker_memory": 9}):
        try:
            await backend.process_cluster_options(student, request)
        except Exception as exc:  # PublicException: the student sees it
            refused.append(f"{type(exc).__name__}: {exc}")
    _, config = await backend.process_cluster_options(student, {})
    return {
        "backend_class": f"{type(backend).__module__}.{type(backend).__name__}",
        "authenticator_class": f"{type(auth).__module__}.{type(auth).__name__}",
        "jupyterhub_api_url": getattr(auth, "jupyterhub_api_url", None),
        "jupyterhub_service_name": getattr(auth, "jupyterhub_service_name", None),
        "api_token_set": bool(getattr(auth, "jupyterhub_api_token", "")),
        "address": app.address,
        "api_url": backend.api_url,
        "gateway_instance": backend.gateway_instance,
        "option_fields": [f.field for f in options.fields],
        "sessions": sessions,
        "presets": presets,
        "refused": refused,
        "limits": {
            "max_clusters": backend.max_clusters,
            "max_cores": backend.max_cores,
            "max_memory_gib": backend.max_memory_gib,
        },
        "cluster": {
            "image": config.image,
            "cluster_max_workers": config.cluster_max_workers,
            "cluster_max_cores": config.cluster_max_cores,
            "cluster_max_memory": config.cluster_max_memory,
            "idle_timeout": config.idle_timeout,
            "scheduler_cores": config.scheduler_cores,
            "scheduler_cores_limit": config.scheduler_cores_limit,
            "scheduler_memory": config.scheduler_memory,
            "scheduler_memory_limit": config.scheduler_memory_limit,
            "worker_threads": config.worker_threads,
            "worker_cmd": list(config.worker_cmd),
            "scheduler_extra_pod_config": config.scheduler_extra_pod_config,
            "worker_extra_pod_config": config.worker_extra_pod_config,
            "image_pull_policy": config.image_pull_policy,
            "environment": dict(config.environment),
        },
    }


if __name__ == "__main__":
    report = asyncio.run(main(sys.argv[1]))
    print("PROBE " + json.dumps(report, sort_keys=True), flush=True)
