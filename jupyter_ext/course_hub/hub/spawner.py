"""The local hub's spawner: SimpleLocalProcessSpawner that starts and stops servers promptly.

Stopping: JupyterHub's local spawners stop a server with SIGINT first;
jupyter-server takes SIGINT as Ctrl-C in a terminal and exits without running
its cleanup, so extensions never hear of it (ours would not stop the student's
clusters). A SIGTERM makes jupyter-server shut down properly, as Docker and
Kubernetes stop containers.

Starting: after ``start()`` returns, the hub polls the new server over HTTP
with exponential backoff and jitter (0.2 s, then up to 0.4, 0.8, 1.6 s...). A
server that is ready after 2 s is typically noticed a second later; on class
day that second is added to every student's login. The spawner itself watches
the server's port every ``ready_poll_interval`` and returns once it listens,
so the hub's first check succeeds. jupyter-server binds its port from the
running event loop, after every extension is loaded: a port that accepts a
connection is a server that answers.
"""

from __future__ import annotations

import asyncio

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Float


class CourseLocalSpawner(SimpleLocalProcessSpawner):
    ready_poll_interval = Float(
        0.05,
        config=True,
        help="""Seconds between checks that a starting server listens on its port.

        A TCP connect on loopback costs microseconds; checking often returns
        the server to the hub as soon as it can answer. 0 turns the check off
        (the hub's own backoff alone then finds the server).""",
    )

    async def start(self):
        ip, port = await super().start()
        if self.ready_poll_interval > 0:
            await self._until_listening(ip or "127.0.0.1", port)
        return ip, port

    async def _until_listening(self, ip: str, port: int) -> None:
        """Return when the port accepts connections; raise if the process exits first.

        Gives up quietly after ``http_timeout``: the hub's own wait then
        reports the server that does not answer, as it always does.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.http_timeout
        while loop.time() < deadline:
            code = self.proc.poll() if getattr(self, "proc", None) is not None else None
            if code is not None:
                raise RuntimeError(
                    f"The server of {self.user.name} exited while starting "
                    f"(exit code {code}); the hub's log says why."
                )
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 1)
            except (OSError, TimeoutError):
                await asyncio.sleep(self.ready_poll_interval)
                continue
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
            return

    async def stop(self, now: bool = False) -> None:
        # now=True skips the SIGINT step: SIGTERM, then SIGKILL after term_timeout.
        await super().stop(now=True)
