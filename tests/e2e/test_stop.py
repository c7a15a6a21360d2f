"""Ctrl-C on `make hub` stops everything it started, running clusters included."""

from __future__ import annotations

from .conftest import start_hub


def test_ctrl_c_stops_servers_and_clusters(tmp_path):
    hub = start_hub(tmp_path, "e2e-stop")
    try:
        student = hub.student("carol")
        student.login()
        student.start_server()
        r = student.api("POST", "/clusters", json={"session": "dask"})
        assert r.status_code == 201, r.text
        student.wait_cluster(r.json()["name"], 2)
        running = [" ".join(p.cmdline()) for p in hub.processes()]
        assert sum("dask worker" in c for c in running) == 2, running
        assert any("jupyterhub-singleuser" in c for c in running), running
    finally:
        elapsed = hub.stop()
    assert hub.proc.returncode == 0, hub.log_tail()
    hub.wait_all_stopped()
    print(f"\nCtrl-C to everything stopped: {elapsed:.1f} s")
    assert "stopping the hub" in hub.log_path.read_text()
