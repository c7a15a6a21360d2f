"""The course API under load: every student's sidebar polling at once.

Each simulated student has a running server with one running cluster (a
scheduler, no workers: the listing then asks a live scheduler for its
workers, as it does in class). Every student polls ``GET sessions`` and
``GET clusters`` alternately, every ``interval`` seconds (the sidebar's fast
rate is 1 s, its normal one 5 s), for ``seconds``, each at its own phase
within the interval (as sidebars opened at different moments do). Latency is measured at
the client, through the hub's proxy, so it is what a browser sees.

Each student polls from a process of its own, as each browser is its own
client. (Twenty polling threads in one Python process measured their own
GIL: the same hub gave GET clusters a p99 of 75-95 ms from threads and
13-15 ms from processes.)
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections import defaultdict

import requests

from course_hub.hubclient import HubUser

from .stats import summary

ENDPOINTS = ("/sessions", "/clusters")


def poll(server_url: str, token: str, seconds: float, interval: float, start_at: float) -> dict:
    """Poll from ``start_at`` (wall clock) for ``seconds``; latencies in ms per endpoint."""
    out: dict[str, list] = defaultdict(list)
    http = requests.Session()
    http.headers["Authorization"] = f"token {token}"
    time.sleep(max(0.0, start_at - time.time()))
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        path = ENDPOINTS[i % len(ENDPOINTS)]
        i += 1
        t0 = time.monotonic()
        try:
            r = http.get(f"{server_url}/course/api{path}", timeout=30)
            ms = 1000 * (time.monotonic() - t0)
            if r.status_code == 200:
                out[path].append(ms)
            else:
                out["errors"].append(f"{path}: {r.status_code}")
        except requests.RequestException as exc:
            out["errors"].append(f"{path}: {type(exc).__name__}")
        time.sleep(max(0.0, interval / len(ENDPOINTS) - (time.monotonic() - t0)))
    http.close()
    return dict(out)


def _poll(job: tuple) -> dict:
    return poll(*job)


def _ready(_: int) -> int:
    return os.getpid()


def api_under_load(students: list[HubUser], seconds: float, interval: float) -> dict:
    """Every student polls from a process of its own, all starting at the same moment."""
    with multiprocessing.get_context("spawn").Pool(len(students)) as pool:
        # Every process up and idle first, so each takes exactly one student.
        pool.map(_ready, range(len(students)), chunksize=1)
        start_at = time.time() + 1.0
        # Each sidebar's timer runs from when its page was opened: students poll
        # at their own phase within the interval, not all in the same millisecond.
        phases = random.Random(len(students)).sample(range(1000), len(students))  # noqa: S311
        jobs = [
            (s.server_url, s.token, seconds, interval, start_at + interval * ph / 1000)
            for s, ph in zip(students, phases, strict=True)
        ]
        results = pool.map(_poll, jobs, chunksize=1)
    report: dict = {"students": len(students), "seconds": seconds, "interval": interval}
    for path in ENDPOINTS:
        report[path] = summary(ms for r in results for ms in r.get(path, []))
    report["errors"] = [e for r in results for e in r.get("errors", [])]
    every = [ms for r in results for path in ENDPOINTS for ms in r.get(path, [])]
    report["all"] = summary(every)
    report["requests_per_second"] = round(len(every) / seconds, 1)
    return report
