"""The course API under load: every student's sidebar polling at once.

Each simulated student has a running server with one running cluster (a
scheduler, no workers: the listing then asks a live scheduler for its
workers, as it does in class). Every student polls ``GET sessions`` and
``GET clusters`` alternately, every ``interval`` seconds (the sidebar's fast
rate is 1 s, its normal one 5 s), for ``seconds``. Latency is measured at
the client, through the hub's proxy, so it is what a browser sees.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from course_hub.hubclient import HubUser

from .stats import summary

ENDPOINTS = ("/sessions", "/clusters")


def poll(
    student: HubUser, seconds: float, interval: float, start: threading.Barrier
) -> dict[str, list]:
    """Poll until ``seconds`` have passed; latencies in ms per endpoint, and errors."""
    out: dict[str, list] = defaultdict(list)
    http = requests.Session()
    http.headers.update(student.headers)
    start.wait()
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        path = ENDPOINTS[i % len(ENDPOINTS)]
        i += 1
        t0 = time.monotonic()
        try:
            r = http.get(f"{student.server_url}/course/api{path}", timeout=30)
            ms = 1000 * (time.monotonic() - t0)
            if r.status_code == 200:
                out[path].append(ms)
            else:
                out["errors"].append(f"{path}: {r.status_code}")
        except requests.RequestException as exc:
            out["errors"].append(f"{path}: {type(exc).__name__}")
        time.sleep(max(0.0, interval / len(ENDPOINTS) - (time.monotonic() - t0)))
    http.close()
    return out


def api_under_load(students: list[HubUser], seconds: float, interval: float) -> dict:
    start = threading.Barrier(len(students))
    with ThreadPoolExecutor(max_workers=len(students)) as pool:
        results = list(pool.map(lambda s: poll(s, seconds, interval, start), students))
    report: dict = {"students": len(students), "seconds": seconds, "interval": interval}
    for path in ENDPOINTS:
        report[path] = summary(ms for r in results for ms in r.get(path, []))
    report["errors"] = [e for r in results for e in r.get("errors", [])]
    every = [ms for r in results for path in ENDPOINTS for ms in r.get(path, [])]
    report["all"] = summary(every)
    report["requests_per_second"] = round(len(every) / seconds, 1)
    return report
