"""The local spawner hands a server to the hub as soon as its port listens.

Real processes: a Python program that binds its port after a delay, and one
that exits before binding.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from course_hub.hub.spawner import CourseLocalSpawner

LISTEN_LATE = """
import socket, sys, time
time.sleep(float(sys.argv[2]))
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(30)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawner_for(proc: subprocess.Popen, **config) -> CourseLocalSpawner:
    spawner = CourseLocalSpawner(user=SimpleNamespace(name="ana"), **config)
    spawner.proc = proc
    return spawner


def test_returns_once_the_port_listens():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", LISTEN_LATE, str(port), "0.6"])
    try:
        spawner = spawner_for(proc, http_timeout=20)
        t0 = time.monotonic()
        asyncio.run(spawner._until_listening("127.0.0.1", port))
        waited = time.monotonic() - t0
        # It waited for the bind, and the port accepts connections now.
        assert waited >= 0.5
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_a_server_that_exits_while_starting_is_reported():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    try:
        spawner = spawner_for(proc, http_timeout=20)
        with pytest.raises(RuntimeError, match=r"ana exited while starting \(exit code 3\)"):
            asyncio.run(spawner._until_listening("127.0.0.1", port))
    finally:
        proc.wait()


def test_gives_up_quietly_after_http_timeout():
    """The hub's own wait then reports the server that never answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        spawner = spawner_for(proc, http_timeout=1)
        asyncio.run(spawner._until_listening("127.0.0.1", port))
        assert proc.poll() is None
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        proc.kill()
        proc.wait()
