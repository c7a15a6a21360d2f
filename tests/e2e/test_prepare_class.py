"""Ready at 9:00 on the real local hub: `course-hub prepare-class` starts the
roster's servers (through the course service, with a teacher's token), and the
stock idle culler spares them while it culls a server nobody prepared.

A hub of its own, with the culler's timeout at 20 s (it looks every 10 s) and
the prepared servers' activity refreshed every 3 s for a minute and a half.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ..hubclient import Deadline
from .conftest import start_hub

pytestmark = pytest.mark.e2e

IDLE_TIMEOUT = 20


@pytest.fixture(scope="module")
def culling_hub(tmp_path_factory):
    hub = start_hub(
        tmp_path_factory.mktemp("prepare-hub"),
        "e2e-prepare-hub",
        env={
            "COURSE_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
            "COURSE_PREPARED_KEEPALIVE": "3",
            "COURSE_PREPARED_GRACE": "1.5",
        },
    )
    yield hub
    hub.stop()
    hub.wait_all_stopped()


def server(hub, name: str) -> dict | None:
    r = requests.get(
        f"{hub.url}/hub/api/users/{name}",
        headers={"Authorization": f"token {hub.admin_token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return (r.json().get("servers") or {}).get("")


def test_prepare_class_starts_the_roster_and_the_culler_spares_it(culling_hub):
    hub = culling_hub
    prepared = [hub.student("prep") for _ in range(2)]
    for s in prepared:  # on the hub's roster: they logged in once, earlier in the term
        s.login()
    names = [s.name for s in prepared]
    assert all(server(hub, n) is None for n in names)  # logged in, no server yet

    t0 = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "course-hub"), "prepare-class", "--hub", hub.url],
        env={**os.environ, "JUPYTERHUB_ADMIN_TOKEN": hub.admin_token},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, (done.stdout, done.stderr, hub.log_tail())
    # The whole roster: both students, not the teacher (an admin).
    assert "2 of 2 server(s) ready, 0 failed" in done.stdout, done.stdout
    assert all((server(hub, n) or {}).get("ready") for n in names)
    assert server(hub, "teacher") is None
    print(f"\nprepare-class: 2 servers ready in {time.monotonic() - t0:.1f} s")

    # A student nobody prepared starts a server and leaves it idle.
    idle = hub.student("idle")
    idle.login()
    idle.start_server()
    deadline = Deadline(IDLE_TIMEOUT * 4, "the culler to stop the unprepared idle server")
    while deadline:
        if server(hub, idle.name) is None:
            break
        time.sleep(1)
    else:
        deadline.fail(hub.log_tail())
    culled_after = time.monotonic() - t0
    # The prepared ones, idle for longer than the timeout too, are still there.
    assert culled_after > IDLE_TIMEOUT
    for n in names:
        assert (server(hub, n) or {}).get("ready"), (n, hub.log_tail())
    assert "Culling server" in hub.log_path.read_text()

    # An unknown student is a failure with its sentence, and a non-zero exit.
    bad = subprocess.run(
        [
            str(Path(sys.executable).parent / "course-hub"),
            "prepare-class",
            "--hub-url",
            hub.url,
            "--token",
            hub.admin_token,
            "--students",
            f"{names[0]},nobody-here",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    assert "nobody-here: nobody-here is not a user of the hub" in bad.stdout
    assert "1 of 2 server(s) ready, 1 failed" in bad.stdout
