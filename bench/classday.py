"""Class day at 9:00: N students log in at once. Measure it against any hub.

    python -m bench.classday                      # starts a local hub (make hub's) and runs
    python -m bench.classday --hub-url URL --admin-token T --students 40
    make bench BENCH_ARGS="--students 30 --arrival stagger"

Each simulated student runs the health check's journey (course_hub.healthcheck):
log in (with their own account, which the teacher's ``--admin-token`` made
through the hub's accounts API; on a workshop hub with ``--password``), start the server, open a session through the course API, create a
Gateway cluster with ``--workers`` workers, start a kernel, compute on the
cluster, stop it, stop the server, log out. In order, the run measures:

1. the floors (bench.floors): the same work without hub, proxy or gateway;
2. one student alone: the single-student time;
3. ``--students`` students, in a burst (all at once) or staggered over
   ``--stagger-seconds``;
4. with ``--prepared``: as many other students, whose servers the teacher
   prepared first (``course-hub prepare-class``'s code, through the course
   service), arrive in the same burst; both bursts are reported side by side;
5. the course API under load (bench.load): every student polling at once.

It prints every phase as a ratio to its floor, checks the targets, and
writes a JSON report and a PNG chart. The hub's, proxy's and gateway's CPU
and memory are sampled when they run on this machine (bench.resources).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests
from tqdm import tqdm

from course_hub.healthcheck import Step, run_health_check
from course_hub.hub.local import free_port_block
from course_hub.hubclient import HubError, HubUser, enroll
from course_hub.prepare_class import prepare_class

from . import chart
from .floors import measure_floors
from .load import api_under_load
from .resources import CATEGORIES, Sampler
from .stats import ratio, summary

REPO = Path(__file__).resolve().parents[1]
JOURNEY_STEPS = 9
TO_RESULT = (
    "log in",
    "start server",
    "open a session",
    "create a cluster",
    "start a kernel",
    "compute on it",
)
#: Journey phase -> its floor.
FLOOR_OF = {
    "start server": "server",
    "create a cluster": "cluster",
    "start a kernel": "kernel",
    "compute on it": "compute",
}


# ------------------------------------------------------------------- accounts
def enrol(args, hub_url: str, names: list[str]) -> None:
    """Each simulated student's own account, made as a teacher makes them (the
    hub's accounts API), before the clock starts; they then log in through the
    form with their password. A hub without that API (a workshop, another
    authenticator) keeps --password or the admin token's users."""
    missing = [n for n in names if n not in args.passwords]
    if not (args.admin_token and missing) or args.no_accounts_api:
        return
    try:
        args.passwords.update(enroll(hub_url, args.admin_token, missing))
    except HubError as exc:
        if "no accounts API" not in str(exc):
            raise
        args.no_accounts_api = True


def login_of(args, name: str) -> dict:
    """How ``name`` logs in: their own password, else the workshop's, else a token."""
    if name in args.passwords:
        return {"password": args.passwords[name], "admin_token": None}
    return {"password": args.password, "admin_token": args.admin_token}


# ------------------------------------------------------------------ local hub
@contextmanager
def local_hub(admin_password: str, log_path: Path):
    """``make hub``'s hub (course-hub hub) in a throw-away state folder."""
    port = free_port_block()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as state:
        env = dict(
            os.environ,
            COURSE_STATE_DIR=state,
            HUB_PORT=str(port),
            COURSE_ADMIN_PASSWORD=admin_password,
            COURSE_IDLE_TIMEOUT="3600",
        )
        log = open(log_path, "w")
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "course-hub"), "hub"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 180:
                if proc.poll() is not None:
                    raise RuntimeError(f"the local hub exited: see {log_path}")
                try:
                    if requests.get(f"{url}/hub/health", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.3)
            else:
                raise RuntimeError(f"the local hub did not start in 180 s: see {log_path}")
            yield url
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: stops servers and clusters too
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


# ------------------------------------------------------------------- journeys
def journeys(args, hub_url: str, n: int, prefix: str, arrival: str, label: str) -> dict:
    """Run ``n`` students' journeys; per student steps, failures, login-to-result."""
    bar = tqdm(total=n * JOURNEY_STEPS, desc=label, unit="step", leave=True)
    lock = threading.Lock()
    start = threading.Barrier(n)

    def tick(step: Step) -> None:
        with lock:
            bar.update(1)
            if not step.ok:
                bar.write(f"  FAIL {step.name}: {step.detail[:160]}")

    enrol(args, hub_url, [f"{prefix}{i + 1:02d}" for i in range(n)])

    def one(i: int) -> dict:
        start.wait()
        delay = args.stagger_seconds * i / n if arrival == "stagger" else 0.0
        time.sleep(delay)
        t0 = time.monotonic()
        name = f"{prefix}{i + 1:02d}"
        report = run_health_check(
            hub_url,
            user=name,
            **login_of(args, name),
            session=args.session,
            timeout=args.timeout,
            workers=args.workers,
            logout=True,
            on_step=tick,
        )
        steps = {s.name: round(s.seconds, 3) for s in report.steps}
        with lock:
            bar.update(JOURNEY_STEPS - len(report.steps))  # steps skipped after a failure
        to_result = (
            round(sum(steps[p] for p in TO_RESULT), 3)
            if all(s.ok for s in report.steps) and all(p in steps for p in TO_RESULT)
            else None
        )
        return {
            "user": report.user,
            "arrival": round(delay, 2),
            "ok": report.ok,
            "steps": steps,
            "login_to_result": to_result,
            "total": round(time.monotonic() - t0, 3),
            "failures": [{"step": s.name, "reason": s.detail} for s in report.steps if not s.ok],
        }

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as pool:
        students = list(pool.map(one, range(n)))
    bar.close()
    return _aggregate(students, time.monotonic() - t0)


def _aggregate(students: list[dict], wall_seconds: float) -> dict:
    """Per-phase and login-to-result figures over the students' journeys."""
    phases = sorted({p for s in students for p in s["steps"]}, key=_journey_order)
    return {
        "students": students,
        "wall_seconds": round(wall_seconds, 2),
        "failures": sum(not s["ok"] for s in students),
        "phases": {p: summary(s["steps"][p] for s in students if p in s["steps"]) for p in phases},
        "login_to_result": summary(
            s["login_to_result"] for s in students if s["login_to_result"] is not None
        ),
    }


def single_runs(args, hub_url: str, run_id: str) -> dict:
    """One student alone, ``--single-repeat`` times in a row: medians, like the floors."""
    runs = [
        journeys(
            args, hub_url, 1, f"bench-{run_id}-one{k}-", "burst",
            f"1 student ({k + 1}/{args.single_repeat})",
        )
        for k in range(max(1, args.single_repeat))
    ]  # fmt: skip
    students = [s for r in runs for s in r["students"]]
    return _aggregate(students, sum(r["wall_seconds"] for r in runs))


def prepared_burst(args, hub_url: str, prefix: str) -> dict:
    """The roster prepared first (as a teacher would, before 9:00), then the burst."""
    n = args.students
    names = [f"{prefix}{i + 1:02d}" for i in range(n)]
    enrol(args, hub_url, names)
    # On the hub's roster (allowed users are hub users), as a class is before 9:00.
    r = requests.post(
        f"{hub_url}/hub/api/users",
        json={"usernames": names},
        headers={"Authorization": f"token {args.admin_token}"},
        timeout=60,
    )
    if r.status_code not in (201, 409):
        raise HubError(f"adding the roster to the hub: {r.status_code} {r.text[:200]}")
    print(f"preparing the class: {n} servers through the course service ...", flush=True)
    t0 = time.monotonic()
    job = prepare_class(hub_url, args.admin_token, students=names)
    prepare = {
        "seconds": round(time.monotonic() - t0, 2),
        "ready": job["ready"],
        "failed": job["failed"],
        "failures": job["failures"],
        "concurrency": job.get("concurrency"),
    }
    print(f"  {job['ready']} of {n} ready in {prepare['seconds']:.1f} s, {job['failed']} failed")
    time.sleep(args.settle_seconds)  # the spawns' aftermath (the servers' start-up) is over
    result = journeys(args, hub_url, n, prefix, args.arrival, f"{n} students (prepared)")
    result["prepare"] = prepare
    return result


def _journey_order(phase: str) -> int:
    order = [p for p, _ in chart.PHASES]
    return order.index(phase) if phase in order else len(order)


# ------------------------------------------------------------------- API load
def load_phase(args, hub_url: str, n: int, prefix: str, mark=lambda name: None) -> dict:
    """Servers up with one scheduler each, then everybody polls; then clean up.

    ``mark("api-poll")`` is called when the polling starts, and
    ``mark("api-cleanup")`` when it ends, so resources are sampled for the
    polling alone.
    """

    def up(i: int) -> tuple[HubUser, str | None]:
        name = f"{prefix}{i + 1:02d}"
        login = login_of(args, name)
        if login["admin_token"]:
            who = HubUser.from_admin_token(hub_url, name, args.admin_token)
        else:
            who = HubUser(hub_url, name, password=login["password"])
            who.login()
        who.start_server(timeout=args.timeout)
        r = who.api("POST", "/clusters", json={"workers": 0})
        return who, (r.json()["name"] if r.status_code == 201 else None)

    with ThreadPoolExecutor(max_workers=n) as pool:
        ready = list(pool.map(up, range(n)))
    try:
        print(f"API load: {n} students polling for {args.api_seconds:.0f} s ...", flush=True)
        mark("api-poll")
        report = api_under_load([who for who, _ in ready], args.api_seconds, args.api_interval)
        mark("api-cleanup")
        report["clusters_running"] = sum(1 for _, cluster in ready if cluster)
    finally:

        def down(item: tuple[HubUser, str | None]) -> None:
            who, cluster = item
            try:
                if cluster:
                    who.api("DELETE", f"/clusters/{cluster}")
                who.stop_server(timeout=args.timeout)
            except (OSError, ValueError) as exc:
                print(f"  clean-up of {who.name}: {exc}", file=sys.stderr)

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(down, ready))
    return report


# -------------------------------------------------------------------- targets
def targets(result: dict) -> list[dict]:
    floors = {k: v["seconds"] for k, v in result["floors"].items()}
    floor_sum = sum(floors[f] for f in FLOOR_OF.values())
    single = result["single"]["login_to_result"]["p50"]
    burst = result["burst"]
    p95 = burst["login_to_result"]["p95"]
    load = result["api_load"]
    p99 = round(max((load[p]["p99"] or 0) for p in ("/sessions", "/clusters")), 1)
    n = result["config"]["students"]
    prepared = result.get("prepared")
    rows = [
        {
            "target": f"{n} students ({result['config']['arrival']}): zero failures",
            "value": burst["failures"],
            "limit": 0,
            "met": burst["failures"] == 0,
        },
        {
            "target": "1 student, login to result <= 1.5 x sum of floors",
            "value": single,
            "limit": round(1.5 * floor_sum, 2),
            "ratio": ratio(single, floor_sum),
            "met": single is not None and single <= 1.5 * floor_sum,
        },
        {
            "target": f"{n} students: p95 login to result <= 3 x one student's",
            "value": p95,
            "limit": round(3 * single, 2) if single else None,
            "ratio": ratio(p95, single),
            "met": bool(single and p95 is not None and p95 <= 3 * single),
            # The floors' CPU alone, n times over, on this machine's cores:
            # no hub can bring a burst below this.
            "cpu_bound_seconds": cpu_bound(result),
        },
    ]
    if prepared:
        pp95 = prepared["login_to_result"]["p95"]
        rows += [
            {
                "target": f"{n} prepared students: zero failures (preparation included)",
                "value": prepared["failures"] + prepared["prepare"]["failed"],
                "limit": 0,
                "met": prepared["failures"] + prepared["prepare"]["failed"] == 0,
            },
            {
                "target": f"{n} prepared students: p95 login to result <= 3 x one student's",
                "value": pp95,
                "limit": round(3 * single, 2) if single else None,
                "ratio": ratio(pp95, single),
                "met": bool(single and pp95 is not None and pp95 <= 3 * single),
            },
        ]
    rows += [
        {
            "target": f"API p99 < 50 ms with {load['students']} students polling",
            "value": p99,
            "limit": 50,
            "met": p99 < 50 and not load["errors"],
        },
    ]
    return rows


def cpu_bound(result: dict) -> float | None:
    """Least wall time for N students' floors, all CPU, spread over every core."""
    per_student = sum(f.get("cpu_seconds", 0.0) for f in result["floors"].values())
    cores = result["machine"].get("cpus") or 1
    return round(result["config"]["students"] * per_student / cores, 1) if per_student else None


def print_report(result: dict) -> None:
    floors = {k: v["seconds"] for k, v in result["floors"].items()}
    single = {p: v["p50"] for p, v in result["single"]["phases"].items()}  # median of the runs
    phases = result["burst"]["phases"]
    n = result["config"]["students"]
    print(f"\n{'phase':<18}{'floor':>8}{'1 alone':>9}{'x floor':>9}"
          f"{f'{n}: p50':>10}{'p95':>8}{'max':>8}{'x floor':>9}")  # fmt: skip
    for phase, s in phases.items():
        f = floors.get(FLOOR_OF.get(phase, ""), None)
        one = single.get(phase)
        cells = [
            f"{f:8.2f}" if f else f"{'-':>8}",
            f"{one:9.2f}" if one is not None else f"{'-':>9}",
            f"{ratio(one, f):8.1f}x" if f and one else f"{'':>9}",
            f"{s['p50']:10.2f}",
            f"{s['p95']:8.2f}",
            f"{s['max']:8.2f}",
            f"{ratio(s['p50'], f):8.1f}x" if f else f"{'':>9}",
        ]
        print(f"{phase:<18}" + "".join(cells))
    ltr = result["burst"]["login_to_result"]
    one = result["single"]["login_to_result"]["p50"]
    print(f"{'login to result':<18}{sum(floors[v] for v in FLOOR_OF.values()):8.2f}"
          f"{one or 0:9.2f}{'':9}{ltr['p50'] or 0:10.2f}{ltr['p95'] or 0:8.2f}"
          f"{ltr['max'] or 0:8.2f}")  # fmt: skip
    if result.get("prepared"):
        print_side_by_side(result)
    load = result["api_load"]
    for p in ("/sessions", "/clusters"):
        print(f"API GET {p:<10} p50 {load[p]['p50']:.1f} ms  p99 {load[p]['p99']:.1f} ms  "
              f"({load[p]['n']} requests)")  # fmt: skip
    poll = result["resources"].get("api-poll", {})
    if poll:
        busy = {c: poll[c]["cpu_mean_pct"] for c in CATEGORIES if c in poll}
        print(f"while polling: machine {poll.get('machine_busy_pct')}% busy; CPU % of one core "
              f"{busy}")  # fmt: skip
    if load["errors"]:
        print(f"API errors: {len(load['errors'])}, e.g. {load['errors'][:3]}")
    res = result["resources"].get("burst", {})
    n = result["config"]["students"]
    print(f"burst: machine {res.get('machine_busy_pct')}% busy (all cores) over "
          f"{result['burst']['wall_seconds']:.0f} s; CPU % of one core:")  # fmt: skip
    for cat in ("hub", "proxy", "gateway", "server", "kernel", "dask"):
        if cat in res:
            r = res[cat]
            print(f"  {cat:<8} mean {r['cpu_mean_pct']:6.1f}%  peak {r['cpu_peak_pct']:6.1f}%  "
                  f"{r['cpu_seconds']:7.1f} CPU-s ({r['cpu_seconds'] / n:5.1f}/student)  "
                  f"RSS peak {r['rss_peak_mb']:7.1f} MB")  # fmt: skip
    if res.get("memory_per_student_mb"):
        print(f"memory per student (server + kernel + Dask, peak): "
              f"{res['memory_per_student_mb']:.0f} MB")  # fmt: skip
    failures = [f for s in result["burst"]["students"] for f in s["failures"]]
    for f in failures[:10]:
        print(f"failure: {f['step']}: {f['reason'][:200]}")
    print()
    for t in result["targets"]:
        mark = "MET " if t["met"] else "MISS"
        extra = f" (x{t['ratio']:.2f})" if t.get("ratio") else ""
        print(f"[{mark}] {t['target']}: {t['value']} vs {t['limit']}{extra}")
        if t.get("cpu_bound_seconds"):
            per = sum(f.get("cpu_seconds", 0.0) for f in result["floors"].values())
            print(f"       the floors alone use {per:.1f} CPU-s per student: {n} students "
                  f"need >= {t['cpu_bound_seconds']} s on {result['machine'].get('cpus')} "
                  "cores, whatever the hub does")  # fmt: skip


def print_side_by_side(result: dict) -> None:
    """The burst without and with preparation, phase by phase (p50 / p95 seconds)."""
    n = result["config"]["students"]
    cold, warm = result["burst"], result["prepared"]
    print(
        f"\n{n} in a burst{'':<6}{'not prepared p50':>17}{'p95':>8}{'prepared p50':>14}{'p95':>8}"
    )
    for phase in cold["phases"]:
        a, b = cold["phases"][phase], warm["phases"].get(phase, {})
        print(f"{phase:<20}{a['p50']:17.2f}{a['p95']:8.2f}"
              f"{b.get('p50') or 0:14.2f}{b.get('p95') or 0:8.2f}")  # fmt: skip
    a, b = cold["login_to_result"], warm["login_to_result"]
    print(f"{'login to result':<20}{a['p50'] or 0:17.2f}{a['p95'] or 0:8.2f}"
          f"{b['p50'] or 0:14.2f}{b['p95'] or 0:8.2f}")  # fmt: skip
    prep = warm["prepare"]
    print(
        f"preparation before the burst: {prep['ready']} ready, {prep['failed']} failed, "
        f"{prep['seconds']:.1f} s (at most {prep['concurrency']} spawns at a time)"
    )


# ----------------------------------------------------------------------- main
def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.classday", description=__doc__.split("\n")[0]
    )
    p.add_argument("--hub-url", help="a running hub; default: start a local one (make hub's)")
    p.add_argument(
        "--password",
        default=os.environ.get("COURSE_PASSWORD"),
        help="a workshop hub's shared password (default: $COURSE_PASSWORD)",
    )
    p.add_argument(
        "--admin-token",
        help="a teacher's API token: enrols the students (their own passwords); on a hub "
        "without per-student accounts, makes them with tokens (no login form)",
    )
    p.add_argument("--students", type=int, default=20, help="simulated students (default 20)")
    p.add_argument("--arrival", choices=["burst", "stagger"], default="burst")
    p.add_argument(
        "--stagger-seconds",
        type=float,
        default=60,
        help="with --arrival stagger: arrivals spread over this many seconds",
    )
    p.add_argument("--workers", type=int, default=2, choices=[1, 2], help="workers per cluster")
    p.add_argument("--session", default="dask", help="session to open (default: dask)")
    p.add_argument("--api-seconds", type=float, default=20, help="API polling duration")
    p.add_argument(
        "--api-interval",
        type=float,
        default=1.0,
        help="seconds between a student's two polls of both endpoints",
    )
    p.add_argument(
        "--prepared",
        action="store_true",
        help="also a burst of as many students whose servers were prepared first "
        "(course-hub prepare-class), reported side by side with the unprepared burst",
    )
    p.add_argument(
        "--no-cold-burst",
        action="store_true",
        help="with --prepared: skip the unprepared burst (a previous run has it)",
    )
    p.add_argument(
        "--settle-seconds",
        type=float,
        default=10,
        help="with --prepared: pause between the preparation and the burst",
    )
    p.add_argument("--floors-repeat", type=int, default=3)
    p.add_argument(
        "--single-repeat", type=int, default=3,
        help="one-student journeys, one after the other; the median is the single time",
    )  # fmt: skip
    p.add_argument("--timeout", type=float, default=600, help="seconds per step")
    p.add_argument(
        "--out", type=Path, help="JSON report (default: bench/results/classday-<time>.json)"
    )
    p.add_argument("--chart", type=Path, help="PNG chart (default: next to the JSON)")
    p.set_defaults(passwords={}, no_accounts_api=False)
    args = p.parse_args(argv)  # fmt: skip
    if args.students < 1:
        p.error("--students must be at least 1")
    if args.hub_url and not (args.password or args.admin_token):
        p.error("give --admin-token (or, for a workshop hub, --password) for --hub-url")
    return args


def run(args: argparse.Namespace, hub_url: str) -> dict:
    run_id = secrets.token_hex(2)
    sampler = Sampler()
    sampler.start()
    result: dict = {
        "config": {
            "hub_url": hub_url,
            "students": args.students,
            "arrival": args.arrival,
            "stagger_seconds": args.stagger_seconds if args.arrival == "stagger" else 0,
            "workers": args.workers,
            "session": args.session,
            "api_seconds": args.api_seconds,
            "api_interval": args.api_interval,
            "single_repeat": args.single_repeat,
            "prepared": args.prepared,
        },
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    try:
        sampler.mark("floors")
        print(f"floors: a bare server, kernel, LocalCluster({args.workers}) and computation, "
              f"x{args.floors_repeat} ...", flush=True)  # fmt: skip
        result["floors"] = measure_floors(args.workers, args.floors_repeat)
        sampler.mark("single")
        result["single"] = single_runs(args, hub_url, run_id)
        if not (args.prepared and args.no_cold_burst):
            sampler.mark("burst")
            result["burst"] = journeys(
                args, hub_url, args.students, f"bench-{run_id}-s", args.arrival,
                f"{args.students} students",
            )  # fmt: skip
        if args.prepared:
            sampler.mark("prepared")
            result["prepared"] = prepared_burst(args, hub_url, f"bench-{run_id}-p")
            if args.no_cold_burst:
                result["burst"] = result["prepared"]
        sampler.mark("api")
        result["api_load"] = load_phase(
            args, hub_url, args.students, f"bench-{run_id}-s", mark=sampler.mark
        )
        sampler.mark("end")
    finally:
        sampler.stop()
    windows = ("single", "burst", "prepared", "api", "api-poll")
    result["resources"] = {
        w: sampler.window(w) for w in windows if w != "prepared" or args.prepared
    }
    peak = result["resources"]["burst"].get("students_processes_peak_mb")
    if peak:
        result["resources"]["burst"]["memory_per_student_mb"] = round(peak / args.students, 1)
    result["targets"] = targets(result)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or REPO / "bench" / "results" / f"classday-{stamp}.json"
    png = args.chart or out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.hub_url:
        result = run(args, args.hub_url.rstrip("/"))
    else:
        admin_password = secrets.token_urlsafe(32)
        log = out.with_suffix(".hub.log")
        print(f"starting a local hub (log: {log}) ...", flush=True)
        with local_hub(admin_password, log) as url:
            teacher = HubUser(url, "teacher", password=admin_password)
            teacher.login()
            args.admin_token = teacher.token
            result = run(args, url)
    out.write_text(json.dumps(result, indent=1) + "\n")
    chart.draw(result, png)
    print_report(result)
    print(f"\nreport: {out}\nchart:  {png}")
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
