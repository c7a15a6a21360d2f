"""Stop the students' containers when the compose stack stops, not when the hub does.

The compose hub keeps students' servers running across its own restarts
(``cleanup_servers = False``): ``docker compose restart hub``, a crash or an
upgrade of the hub image does not interrupt anybody's kernel. But then the
hub can no longer be what stops them on ``docker compose down``, and Docker
refuses to remove a network that still has containers on it.

The janitor is a compose service that does nothing until it is stopped. It
is only stopped with the whole stack (``down`` or ``stop``), because no other
service depends on it. Then it stops and removes every container the hub
spawned on the stack's network (found by the label DockerSpawner gives them,
see hub_config/compose); the students' home volumes stay. Each server stops
its own Dask clusters on the way out (``CourseHub.stop_clusters_on_exit``),
which is why the janitor is ordered before the gateway.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("course_hub.janitor")

#: The label DockerSpawner puts on each student's container (extra_create_kwargs).
ROLE_LABEL = "org.course-hub.role"
ROLE = "student-server"


def student_containers(client: Any, network: str) -> list[Any]:
    """The containers the hub spawned on ``network``, running or not."""
    return client.containers.list(
        all=True, filters={"label": f"{ROLE_LABEL}={ROLE}", "network": network}
    )


def stop_students(client: Any, network: str, timeout: int = 30) -> list[str]:
    """Stop and remove the students' containers in parallel; return their names."""
    containers = student_containers(client, network)

    def stop(container: Any) -> str:
        try:
            container.stop(timeout=timeout)
            container.remove(force=True)
        except Exception as exc:  # already gone, or removed by DockerSpawner meanwhile
            log.info("%s: %s", container.name, exc)
        return container.name

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(stop, containers))


def run(network: str, timeout: int = 30) -> int:
    """Wait for SIGTERM or SIGINT, then stop the students' containers."""
    import docker  # the hub image has it (DockerSpawner's dependency)

    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(name)s] %(message)s")
    client = docker.from_env()
    client.ping()  # fail at start, not at the end, if the socket is missing
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    running = len(student_containers(client, network))
    log.info("Watching network %s (%d student container(s) now)", network, running)
    while not stopping.wait(3600):
        pass
    names = stop_students(client, network, timeout)
    log.info("The stack is stopping: stopped %d student container(s)", len(names))
    return 0
