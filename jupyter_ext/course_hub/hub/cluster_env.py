"""How students' Dask schedulers and workers run: quiet when idle, no worker dashboard.

Every deployment (local, compose, DaskHub) gives its gateway these settings,
so that a class's clusters cost little while students read, think and type.

Why: an idle Dask process is not free. Its event loop is checked every 20 ms
("tick"), its system monitor samples every 500 ms, a worker's and its nanny's
memory monitors every 100 ms, and a worker's statistical profiler walks the
stacks every 10 ms. Measured on the 2-core course machine, an idle cluster of
one scheduler and two workers (with nannies) used 11.7% of a core; 20 students
means 2.3 cores, more than the machine has, before anyone computes. With the
settings below the same cluster uses 2.6% (docs/performance.md).

What a student loses: the dashboard's system page refreshes every second
rather than twice a second; the profile page samples 10 times a second rather
than 100 (still plenty to see where time goes); the nanny checks memory four
times a second (a worker over its limit is still restarted); "event loop
unresponsive" warnings notice blocking after 0.5 s rather than 20 ms.

A worker's nanny forks its worker process rather than spawning a fresh
Python that imports Dask all over again: the worker is ready in 0.41 s rather
than 0.72 s, with 0.45 rather than 0.73 CPU-seconds, and the nanny still
watches its memory and restarts it. (distributed supports "fork" as a
``multiprocessing-method``; its risk, a lock held by another thread at the
moment of the fork, is small in a nanny that has just started, and a worker
that never connects is replaced by the gateway after its start timeout.)

A forked worker inherits its nanny's C libraries as they were set up when the
nanny started, so what distributed sets just before it starts a worker
(``distributed.nanny.pre-spawn-environ``: one BLAS thread per worker, and
glibc's ``MALLOC_TRIM_THRESHOLD_``, which lets workers give freed memory back)
came too late for them: OpenBLAS ran two threads in each of a cluster's
one-thread workers, and a worker kept the memory of the arrays it freed (711
MB still resident after freeing 700 MB of arrays, against 32 MB with the
variable set at start). Busy clusters paid for both (more threads than cores,
and spilling and restarts sooner at the evaluation's sizes), idle ones nothing.
So the same variables are set for the whole process, from its start
(:data:`FORKED_WORKER_ENV`): a forked worker then runs as a spawned one does.

Workers serve no dashboard of their own: nothing routes to it (students open
the scheduler's, behind their login), and not importing bokeh saves 0.3 to
0.5 s of CPU per worker start, 40 workers at once on class day.
"""

from __future__ import annotations

from collections.abc import Mapping

#: distributed's ``nanny.pre-spawn-environ`` (its defaults), from the nanny's
#: start: read by glibc and OpenBLAS when a process starts, before any fork.
FORKED_WORKER_ENV: dict[str, str] = {
    "MALLOC_TRIM_THRESHOLD_": "65536",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}

#: Environment of every scheduler and worker (``c.ClusterConfig.environment``).
CLASSROOM_DASK_ENV: dict[str, str] = {
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "500ms",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "1s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "250ms",
    "DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL": "100ms",
    "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD": "fork",
    **FORKED_WORKER_ENV,
}

#: Appended to the scheduler command (``c.ClusterConfig.scheduler_cmd``): a
#: cluster whose notebook is gone stops within minutes (course_hub/hub/orphan_clusters.py);
#: the dashboard answers only requests its gateway forwards (course_hub/hub/dashboard_key.py).
SCHEDULER_ARGS: list[str] = [
    "--preload",
    "course_hub.hub.orphan_clusters",
    "--preload",
    "course_hub.hub.dashboard_key",
]


def scheduler_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The gateway's own settings its schedulers read (``COURSE_CLUSTER_NO_CLIENT_TIMEOUT``)."""
    name = "COURSE_CLUSTER_NO_CLIENT_TIMEOUT"
    return {name: environ[name]} if environ.get(name) else {}


#: Appended to the worker command (``c.ClusterConfig.worker_cmd``).
WORKER_ARGS: list[str] = ["--no-dashboard"]
