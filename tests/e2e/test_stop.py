"""Ctrl-C on `make hub` stops everything it started, running clusters included."""

from __future__ import annotations

import time

import requests

from ..hubclient import Deadline
from .conftest import cmdline, crash_the_hub, start_hub


def test_ctrl_c_stops_servers_and_clusters(tmp_path):
    hub = start_hub(tmp_path, "e2e-stop")
    try:
        student = hub.student("carol")
        student.login()
        student.start_server()
        r = student.api("POST", "/clusters", json={"session": "dask"})
        assert r.status_code == 201, r.text
        student.wait_cluster(r.json()["name"], 2)
        procs = hub.processes()
        running = [cmdline(p) for p in procs]
        workers = {p.pid for p in procs if "dask worker" in cmdline(p)}
        # Each worker is a nanny and the worker process it forked (same command line).
        nannies = [p for p in procs if p.pid in workers and p.ppid() not in workers]
        assert len(nannies) == 2, running
        assert len(workers) == 4, running
        assert any("jupyterhub-singleuser" in c for c in running), running
    finally:
        elapsed = hub.stop()
    assert hub.proc.returncode == 0, hub.log_tail()
    hub.wait_all_stopped()
    print(f"\nCtrl-C to everything stopped: {elapsed:.1f} s")
    assert "stopping the hub" in hub.log_path.read_text()


def test_servers_and_clusters_survive_a_hub_crash(tmp_path):
    """The hub dies (SIGKILL): the launcher restarts it; the student's server,
    cluster and files are all still there, and Ctrl-C still stops everything."""
    hub = start_hub(tmp_path, "e2e-restart")
    try:
        dora = hub.student("dora")
        dora.login()
        dora.start_server()
        r = dora.api("POST", "/clusters", json={"workers": 1})
        assert r.status_code == 201, r.text
        name = r.json()["name"]
        dora.wait_cluster(name, 1)
        dora.save("notes.txt", {"type": "file", "format": "text", "content": "before the crash"})
        status = lambda: requests.get(  # noqa: E731
            f"{dora.server_url}/api/status", headers=dora.headers, timeout=10
        ).json()
        started = status()["started"]

        back = crash_the_hub(hub, timeout=90)
        print(f"\nhub back after a crash in {back:.1f} s")
        assert status()["started"] == started  # the very same server
        deadline = Deadline(30, "the restarted gateway to know the cluster")
        while deadline:  # the new gateway loads its routes within a second or so
            r = dora.api("GET", f"/clusters/{name}")
            if r.status_code != 503:
                break
            time.sleep(0.5)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "running" and r.json()["workers"] == 1  # the cluster too
        assert dora.contents("notes.txt")["content"] == "before the crash"
        assert "restarting it" in hub.log_path.read_text()
    finally:
        hub.stop()
    hub.wait_all_stopped()
