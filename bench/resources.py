"""CPU and memory of the hub's processes on this machine, sampled in a thread.

Processes are grouped by what they are (from their command line): the hub,
the proxy, the gateway, students' servers, kernels, and Dask schedulers and
workers. CPU is computed per process from its CPU-time deltas, so processes
that come and go during a phase are counted while they live. Only processes
on the machine running the benchmark are seen: run it on the hub's machine to
get these figures (the latency figures work against any hub).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from itertools import pairwise

import psutil

#: Category -> substrings of the command line (first match wins, in this order).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "kernel": ("ipykernel_launcher",),
    "server": ("jupyterhub-singleuser", "course_hub.hub.spawner", "jupyter-labhub"),
    "dask": ("dask scheduler", "dask worker", "dask-scheduler", "dask-worker",
             "dask_gateway.scheduler_preload", "dask_gateway_server.backends",
             "bench.clusters"),  # the compute benchmark's bare LocalCluster
    "gateway": ("dask-gateway-server",),
    "proxy": ("configurable-http-proxy",),
    "service": ("course_hub.service", "course-hub-service"),
    "hub": ("jupyterhub", "jupyterhub-idle-culler", "course-hub hub"),
}  # fmt: skip


def category(cmdline: list[str]) -> str | None:
    text = " ".join(cmdline)
    if "bench.classday" in text or "pytest" in text:
        return None
    for name, needles in CATEGORIES.items():
        if any(n in text for n in needles):
            return name
    return None


class Sampler:
    """Samples every ``interval`` seconds; ``mark(name)`` starts a named window."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.samples: list[dict] = []  # {"t", "cpu": {cat: %}, "rss": {cat: bytes}, "n": {...}}
        self.windows: list[tuple[str, float]] = []
        self._last: dict[int, tuple[float, float]] = {}  # pid -> (cpu seconds, when)
        self._cats: dict[int, str] = {}  # pid -> category, for multiprocessing children
        self._machine: tuple[float, float] | None = None  # (busy cpu seconds, when)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-sampler")
        self.cpus = psutil.cpu_count() or 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def mark(self, name: str) -> None:
        self.windows.append((name, time.monotonic()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        now = time.monotonic()
        cpu: dict[str, float] = defaultdict(float)
        rss: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        seen = set()
        cats: dict[int, str] = {}
        for p in psutil.process_iter(["pid", "ppid", "cmdline"]):
            try:
                cmdline = p.info["cmdline"] or []
                cat = category(cmdline)
                if cat is None and any("multiprocessing" in part for part in cmdline):
                    # A Dask nanny's worker, a resource tracker: its parent's kind.
                    ppid = p.info["ppid"]
                    cat = cats.get(ppid) or self._cats.get(ppid)
                if cat is None:
                    continue
                cats[p.info["pid"]] = cat
                with p.oneshot():
                    times = p.cpu_times()
                    mem = p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            used = times.user + times.system
            pid = p.info["pid"]
            seen.add(pid)
            last = self._last.get(pid)
            if last is not None and now > last[1]:
                cpu[cat] += 100 * (used - last[0]) / (now - last[1])
            self._last[pid] = (used, now)
            rss[cat] += mem
            count[cat] += 1
        self._last = {pid: v for pid, v in self._last.items() if pid in seen}
        self._cats = cats
        t = psutil.cpu_times()
        busy = t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)
        machine = None
        if self._machine is not None and now > self._machine[1]:
            machine = 100 * (busy - self._machine[0]) / (now - self._machine[1]) / self.cpus
        self._machine = (busy, now)
        self.samples.append(
            {"t": now, "cpu": dict(cpu), "rss": dict(rss), "n": dict(count), "machine": machine}
        )

    def window(self, name: str) -> dict:
        """Mean and peak CPU (% of one core) and peak RSS (MB) per category in a window."""
        starts = dict(self.windows)
        if name not in starts:
            return {}
        t0 = starts[name]
        later = sorted(t for t in starts.values() if t > t0)
        t1 = later[0] if later else float("inf")
        inside = [s for s in self.samples if t0 <= s["t"] < t1]
        out: dict[str, dict] = {}
        for cat in CATEGORIES:
            cpus = [s["cpu"].get(cat, 0.0) for s in inside]
            mems = [s["rss"].get(cat, 0) for s in inside]
            procs = [s["n"].get(cat, 0) for s in inside]
            if not any(procs):
                continue
            out[cat] = {
                "cpu_seconds": round(_integral(inside, cat), 1),
                "cpu_mean_pct": round(sum(cpus) / len(cpus), 1),
                "cpu_peak_pct": round(max(cpus), 1),
                "rss_peak_mb": round(max(mems) / 2**20, 1),
                "processes_peak": max(procs),
            }
        totals = [sum(s["rss"].get(c, 0) for c in ("server", "kernel", "dask")) for s in inside]
        out["students_processes_peak_mb"] = round(max(totals, default=0) / 2**20, 1)
        busy = [s["machine"] for s in inside if s.get("machine") is not None]
        out["machine_busy_pct"] = round(sum(busy) / len(busy), 1) if busy else None
        out["samples"] = len(inside)
        return out


def _integral(samples: list[dict], cat: str) -> float:
    """CPU seconds a category used over consecutive samples (percent x time)."""
    total = 0.0
    for a, b in pairwise(samples):
        total += b["cpu"].get(cat, 0.0) / 100 * (b["t"] - a["t"])
    return total
