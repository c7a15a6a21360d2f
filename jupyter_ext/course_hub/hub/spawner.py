"""The local hub's spawner: SimpleLocalProcessSpawner that stops servers cleanly.

JupyterHub's local spawners stop a server with SIGINT first; jupyter-server
takes SIGINT as Ctrl-C in a terminal and exits without running its cleanup, so
extensions never hear of it (ours would not stop the student's clusters). A
SIGTERM makes jupyter-server shut down properly, as Docker and Kubernetes stop
containers.
"""

from __future__ import annotations

from jupyterhub.spawner import SimpleLocalProcessSpawner


class CourseLocalSpawner(SimpleLocalProcessSpawner):
    async def stop(self, now: bool = False) -> None:
        # now=True skips the SIGINT step: SIGTERM, then SIGKILL after term_timeout.
        await super().stop(now=True)
