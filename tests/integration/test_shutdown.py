"""``client.shutdown()`` on a Gateway cluster's client returns and stops the cluster.

The dask-tutorial ends with it; with dask-gateway 2026.3 it deadlocked
(course_hub/compat/gateway_shutdown.py). The student's code runs as a notebook
would, in a Python process of its own (a hang fails on its timeout rather than
blocking the run), against the real gateway with the local hub's config.
"""

from __future__ import annotations

import subprocess
import sys
import time

from dask_gateway import Gateway

from ..hubclient import Deadline

STUDENT = """
import time
from dask_gateway import Gateway
gateway = Gateway({address!r}, proxy_address={proxy!r}, auth="basic")
cluster = gateway.new_cluster()
cluster.scale(1)
client = cluster.get_client()
client.wait_for_workers(1, timeout=120)
print("NAME", cluster.name, flush=True)
print("SUM", client.submit(sum, [1, 2]).result(), flush=True)
t0 = time.monotonic()
client.shutdown()
print("SHUTDOWN", round(time.monotonic() - t0, 2), flush=True)
"""


def test_client_shutdown_returns_and_stops_the_cluster(real_gateway):
    code = STUDENT.format(address=real_gateway.address, proxy=real_gateway.proxy_address)
    env = {**real_gateway.env, "DASK_GATEWAY__AUTH__KWARGS__USERNAME": "alice"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "SUM 3" in out, out
    name = out.split("NAME ", 1)[1].split()[0]
    seconds = float(out.split("SHUTDOWN ", 1)[1].split()[0])
    print(f"\nclient.shutdown() returned in {seconds} s (whole run {time.monotonic() - t0:.1f} s)")
    assert seconds < 30
    gateway = Gateway(real_gateway.address, proxy_address=real_gateway.proxy_address, auth="basic")
    try:
        deadline = Deadline(30, f"cluster {name} to be stopped")
        while deadline:
            running = [c.name for c in gateway.list_clusters()]
            if name not in running:
                break
            time.sleep(0.5)
        else:
            deadline.fail(running)
    finally:
        gateway.close()
