"""The two clusters the compute benchmark compares, and what their workers went through.

(a) :func:`gateway_cluster`: a student's cluster from the platform's gateway
    with a session's preset, created with the student's hub token through the
    real gateway, exactly as a notebook's ``Gateway().new_cluster(session=...)``
    does (the addresses a student's server gets: :func:`gateway_environment`),
    so scheduler traffic is TLS through the gateway's proxy and every setting of
    :mod:`course_hub.hub.cluster_env` applies.
(b) :func:`local_cluster`: a bare ``distributed.LocalCluster`` with the same
    workers, threads and memory limit, in this same environment, with
    distributed's defaults. It runs in a process of its own (``python -m
    bench.clusters``), as (a)'s scheduler does, so neither shares the GIL with
    the benchmark's client.

:class:`WorkerMemory` samples each worker's memory during a run,
:func:`worker_stats` reads the bytes each spilled to disk; comparing worker
processes before and after tells whether a worker was restarted (its nanny
starts a new process under the same name). One cluster at a time: its client
is the default one, as in a notebook.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import cloudpickle
import psutil

from course_hub.hub.local import LocalLayout
from course_hub.hub.wiring import gateway_environment

REPO = Path(__file__).resolve().parents[1]
GIB = 2**30


def gateway_addresses(hub_url: str) -> tuple[str, str]:
    """The gateway's address and proxy address, as a student's server on this hub gets them."""
    port = urlparse(hub_url).port or 80
    layout = LocalLayout(REPO, REPO, REPO, port)  # only its ports are used
    env = gateway_environment(
        f"127.0.0.1:{layout.gateway_http_port}", f"127.0.0.1:{layout.gateway_tcp_port}"
    )
    return env["DASK_GATEWAY__ADDRESS"], env["DASK_GATEWAY__PROXY_ADDRESS"]


@contextlib.contextmanager
def gateway_cluster(hub_url: str, token: str, session: str, workers: int) -> Iterator[Any]:
    """A Gateway cluster with ``session``'s preset and ``workers`` workers; its client."""
    from dask_gateway import GatewayCluster, JupyterHubAuth

    address, proxy = gateway_addresses(hub_url)
    # What Gateway().new_cluster(session=...) makes, with this student's token.
    cluster = GatewayCluster(address, proxy, auth=JupyterHubAuth(api_token=token), session=session)
    try:
        cluster.scale(workers)
        with cluster.get_client() as client:
            client.wait_for_workers(workers, timeout=300)
            yield client
    finally:
        cluster.shutdown()
        # dask-gateway closes its Gateway again when collected, and that second
        # close raises (its loop is stopped): forget the loop it has stopped.
        del cluster.gateway._loop_runner


@contextlib.contextmanager
def local_cluster(workers: int, threads: int, memory_bytes: int) -> Iterator[Any]:
    """A bare LocalCluster (distributed's defaults) in its own process; its client."""
    from distributed import Client

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.clusters", str(workers), str(threads), str(memory_bytes)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the LocalCluster process exited ({proc.wait()})")
        with Client(json.loads(line)["address"]) as client:
            client.wait_for_workers(workers, timeout=300)
            yield client
    finally:
        proc.stdin.close()  # it stops its cluster and exits
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def spec(client: Any) -> dict:
    """Workers, threads per worker and memory limit per worker, as the scheduler has them."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return {
        "workers": len(workers),
        "threads": sorted({w["nthreads"] for w in workers}),
        "memory_limit_gib": sorted({round(w["memory_limit"] / GIB, 3) for w in workers}),
        "scheduler": client.scheduler.address.split("://")[0],
    }


def _stats(dask_worker: Any) -> dict:
    """On a worker: its name, its process and the bytes it has spilled to disk."""
    metrics = getattr(dask_worker.data, "cumulative_metrics", {})
    return {
        "name": str(dask_worker.name),
        "pid": os.getpid(),
        "spilled_bytes": int(metrics.get(("disk-write", "bytes"), 0)),
    }


# Workers cannot import the bench package (a gateway's run in their own folder):
# send this module's functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def worker_stats(client: Any) -> list[dict]:
    """Every worker's :func:`_stats`, by name."""
    return sorted(client.run(_stats).values(), key=lambda w: w["name"])


class WorkerMemory:
    """Each worker's peak resident memory, sampled from this machine (both clusters'
    workers run here). A worker's own ``ru_maxrss`` would not do: a forked worker
    (the gateway's) counts from its fork, a spawned one from its start."""

    def __init__(self, client: Any, interval: float = 0.25) -> None:
        self.client = client
        self.peak: dict[str, int] = {}
        self._pids: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def __enter__(self) -> WorkerMemory:
        self._refresh()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _refresh(self) -> None:
        self._pids = {w["pid"]: w["name"] for w in worker_stats(self.client)}

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            gone = False
            for pid, name in list(self._pids.items()):
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    gone = True  # restarted: its nanny's new process is found below
                    continue
                self.peak[name] = max(self.peak.get(name, 0), rss)
            if gone:
                with contextlib.suppress(Exception):  # the cluster may be going: keep sampling
                    self._refresh()

    def mb(self) -> dict[str, float]:
        return {name: round(rss / 2**20, 1) for name, rss in sorted(self.peak.items())}


def restarted(before: list[dict], after: list[dict]) -> list[str]:
    """Workers whose process changed (a nanny's restart) or that are gone."""
    now = {w["name"]: w["pid"] for w in after}
    return sorted(w["name"] for w in before if now.get(w["name"]) != w["pid"])


def _serve(workers: int, threads: int, memory_bytes: int) -> None:
    """``python -m bench.clusters W T BYTES``: print the address, serve until stdin closes."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=threads,
        memory_limit=memory_bytes,
        processes=True,
        dashboard_address=":0",  # as a gateway scheduler's: served, on a free port
        silence_logs=40,
    )
    print(json.dumps({"address": cluster.scheduler_address}), flush=True)
    sys.stdin.read()
    cluster.close(timeout=30)


if __name__ == "__main__":
    _serve(*(int(a) for a in sys.argv[1:4]))
