"""The floors: what each phase costs with no hub, no proxy and no gateway.

Each floor runs in the benchmark's own environment, on this machine, in a
fresh process (so imports are paid, as in a real server or kernel):

- ``server``: a bare ``jupyter server`` from start to its first answer, with
  the same installed extensions as a student's server;
- ``kernel``: a bare Python kernel (jupyter_client) from start to ready;
- ``cluster``: a ``distributed.LocalCluster`` with the same number of worker
  processes, from creation to all workers connected;
- ``compute``: a fresh Python that imports dask, connects a client to that
  cluster and runs the journey's computation (what "compute on it" does in
  the student's kernel, minus the gateway).

Each is measured ``repeat`` times; the median is the floor. Each floor's CPU
time (its processes' user + system seconds) is kept too: N students need at
least N times that, whatever the hub does, which bounds how fast a burst on
this machine can be.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

from course_hub.healthcheck import COMPUTE

_CLUSTER_SCRIPT = """
import json, sys, time
from distributed import Client, LocalCluster
workers = int(sys.argv[1])
t0 = time.monotonic()
cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                       dashboard_address=None, silence_logs=50)
client = Client(cluster)
client.wait_for_workers(workers)
t1 = time.monotonic()
print(json.dumps({"address": cluster.scheduler_address, "cluster": t1 - t0}), flush=True)
sys.stdin.readline()  # keep it up until the compute floor is measured
client.close()
cluster.close()
"""

_COMPUTE_SCRIPT = """
import time
t0 = time.monotonic()
from distributed import Client
client = Client({address!r})
{compute}
client.close()
print("floor-seconds", time.monotonic() - t0, "floor-cpu", time.process_time())
"""


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def server_floor() -> tuple[float, float]:
    port, token = _free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=f"{tmp}/config",
            JUPYTER_RUNTIME_DIR=f"{tmp}/runtime",
            JUPYTER_DATA_DIR=f"{tmp}/data",
        )
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [
                _bin("jupyter-server"),
                "--no-browser",
                "--allow-root",
                f"--ServerApp.port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.root_dir={tmp}",
                f"--IdentityProvider.token={token}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.monotonic() - t0 < 120:
                try:
                    r = requests.get(
                        f"http://127.0.0.1:{port}/api/status",
                        headers={"Authorization": f"token {token}"},
                        timeout=2,
                    )
                    if r.ok:
                        return time.monotonic() - t0, _tree_cpu(proc.pid)
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            raise RuntimeError("a bare jupyter server did not answer within 120 s")
        finally:
            proc.terminate()
            proc.wait(30)


def kernel_floor() -> tuple[float, float]:
    from jupyter_client.manager import KernelManager

    t0 = time.monotonic()
    km = KernelManager(kernel_name="python3")
    km.start_kernel(stderr=subprocess.DEVNULL)
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        pid = getattr(km.provisioner, "pid", None)
        return time.monotonic() - t0, _tree_cpu(pid) if pid else 0.0
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def cluster_and_compute_floors(workers: int) -> tuple[float, float, float, float]:
    """(cluster seconds, compute seconds, cluster CPU seconds, compute CPU seconds)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLUSTER_SCRIPT, str(workers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("LocalCluster did not start")
        info = json.loads(line)
        cluster_cpu = _tree_cpu(proc.pid)
        script = _COMPUTE_SCRIPT.format(address=info["address"], compute=COMPUTE)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
        )
        if "health-check-result 4000000" not in out.stdout:
            raise RuntimeError(f"the bare computation failed: {out.stderr[-500:]}")
        compute = float(out.stdout.split("floor-seconds")[1].split()[0])
        own = float(out.stdout.split("floor-cpu")[1].split()[0])
        compute_cpu = own + _tree_cpu(proc.pid) - cluster_cpu
        return info["cluster"], compute, cluster_cpu, compute_cpu
    finally:
        if proc.stdin:
            proc.stdin.write("\n")
            proc.stdin.flush()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure_floors(workers: int, repeat: int = 3) -> dict[str, dict]:
    """Median (and every run) of each floor's seconds, and the median CPU seconds."""
    runs: dict[str, list[float]] = {"server": [], "kernel": [], "cluster": [], "compute": []}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):
        for name, (seconds, used) in (("server", server_floor()), ("kernel", kernel_floor())):
            runs[name].append(seconds)
            cpu[name].append(used)
        cluster, compute, cluster_cpu, compute_cpu = cluster_and_compute_floors(workers)
        runs["cluster"].append(cluster)
        runs["compute"].append(compute)
        cpu["cluster"].append(cluster_cpu)
        cpu["compute"].append(compute_cpu)
    return {
        k: {
            "seconds": statistics.median(v),
            "runs": v,
            "cpu_seconds": round(statistics.median(cpu[k]), 2),
        }
        for k, v in runs.items()
    }
