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

Workers serve no dashboard of their own: nothing routes to it (students open
the scheduler's, behind their login), and not importing bokeh saves 0.3 to
0.5 s of CPU per worker start, 40 workers at once on class day.
"""

from __future__ import annotations

#: Environment of every scheduler and worker (``c.ClusterConfig.environment``).
CLASSROOM_DASK_ENV: dict[str, str] = {
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "500ms",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "1s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "250ms",
    "DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL": "100ms",
    "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD": "fork",
}

#: Appended to the worker command (``c.ClusterConfig.worker_cmd``).
WORKER_ARGS: list[str] = ["--no-dashboard"]
