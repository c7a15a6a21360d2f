"""A cluster whose kernel died stops within COURSE_CLUSTER_NO_CLIENT_TIMEOUT;
a cluster a live notebook is connected to keeps running.

Two real IPython kernels (jupyter_client, as a Jupyter server starts them)
each start a Gateway cluster and connect a client, on a real gateway with the
local hub's config and a no-client timeout of a few seconds (a class: 5
minutes). One kernel is killed (SIGKILL: no atexit, nothing shuts its cluster
down); its cluster stops by itself, the other one's does not.
"""

from __future__ import annotations

import os
import signal
import time

import dask
import pytest
from dask_gateway import Gateway
from jupyter_client.manager import start_new_kernel

from ..hubclient import Deadline
from .conftest import run_gateway

NO_CLIENT_SECONDS = 6

CELL = """
from dask_gateway import Gateway
gateway = Gateway({address!r}, proxy_address={proxy!r}, auth="basic")
cluster = gateway.new_cluster()
cluster.scale(1)
client = cluster.get_client()
client.wait_for_workers(1, timeout=120)
assert client.submit(sum, [1, 2]).result() == 3
print("NAME", cluster.name)
"""


@pytest.fixture(scope="module")
def real_gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dead-kernel-gateway")
    with dask.config.set(
        {"gateway.auth.type": "basic", "gateway.auth.kwargs": {"username": "orphan"}}
    ):
        yield from run_gateway(
            tmp,
            "dead-kernel-gateway.log",
            COURSE_CLUSTER_NO_CLIENT_TIMEOUT=str(NO_CLIENT_SECONDS),
            COURSE_CLUSTER_IDLE_TIMEOUT="600",  # so the idle timeout cannot be what stops it
        )


def run(client, code: str, timeout: float = 180) -> str:
    out: list[str] = []

    def output(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=output)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


def test_a_dead_kernels_cluster_stops_a_live_ones_keeps_running(real_gateway):
    env = {**real_gateway.env, "DASK_GATEWAY__AUTH__KWARGS__USERNAME": "orphan"}
    code = CELL.format(address=real_gateway.address, proxy=real_gateway.proxy_address)
    kernels = [start_new_kernel(env=env) for _ in range(2)]
    gateway = Gateway(real_gateway.address, proxy_address=real_gateway.proxy_address)
    try:
        (dead_km, dead_kc), (_live_km, live_kc) = kernels
        dead = run(dead_kc, code).split("NAME ", 1)[1].split()[0]
        live = run(live_kc, code).split("NAME ", 1)[1].split()[0]
        # SIGKILL, as the kernel's out-of-memory death: it cannot say goodbye.
        process = dead_km.provisioner.process
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        killed = time.monotonic()
        deadline = Deadline(NO_CLIENT_SECONDS + 60, f"the dead kernel's cluster {dead} to stop")
        while deadline:
            running = {c.name for c in gateway.list_clusters()}
            if dead not in running:
                break
            time.sleep(0.5)
        else:
            deadline.fail(running)
        seconds = time.monotonic() - killed
        print(
            f"\ncluster of the killed kernel stopped {seconds:.1f} s after the kill "
            f"(no-client timeout {NO_CLIENT_SECONDS} s)"
        )
        assert seconds >= NO_CLIENT_SECONDS - 1
        # The live notebook's cluster is still there and still computes.
        assert live in {c.name for c in gateway.list_clusters()}
        assert "4" in run(live_kc, "print(client.submit(sum, [2, 2]).result())")
        run(live_kc, "client.shutdown()")
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            if km.is_alive():
                km.shutdown_kernel(now=True)
        for report in gateway.list_clusters():
            gateway.stop_cluster(report.name)
        gateway.close()
