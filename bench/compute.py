"""Compute benchmark: the course's work at real sizes, on our cluster and on a bare one.

    python -m bench.compute --rows 2e6,20e6          # make bench-compute
    python -m bench.compute --rows 20e6 --full       # and the full table (55 M rows) once

In one run, for each size: the taxi table is generated once into
``--data-dir`` (CSV, as the course reads it; reused while rows and seed are
the same), then the course's workloads (bench.workloads) run on

(a) a cluster from the platform's gateway with ``--session``'s preset, created
    by a student with her hub token against a throw-away local hub (the one
    ``make hub`` runs, started as bench.classday starts it; or ``--hub-url``, a
    local hub already running on this machine), TLS and all;
(b) a bare ``distributed.LocalCluster`` with the same workers, threads and
    memory limit, in the same environment (bench.clusters).

Each cluster is fresh for each size. Before working, each sits idle for
``--idle-seconds`` (its idle CPU is measured: the price of a cluster a student
keeps open while reading). Per step it reports seconds on each and the ratio
(a)/(b); per run the peak memory of each worker, the bytes spilled to disk,
whether a worker was restarted, and the Dask processes' CPU (bench.resources).
With ``--repeat 2`` the order alternates (a, b then b, a) and the fastest run
counts, which tames a shared machine's noise. It writes a JSON report and a
PNG chart, and exits 1 if a target was missed (every step of (a) within 1.15x
of (b) at 20 M rows; both clusters compute the same results; no failure, no
restart).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
from tqdm import tqdm

from course_hub.hubclient import HubUser, enroll
from course_hub.manifest import load_manifest
from course_hub.taxi_files import plain_write, read_manifest, write_taxi

from . import chart
from .classday import local_hub
from .clusters import (
    WorkerMemory,
    gateway_cluster,
    local_cluster,
    restarted,
    spec,
    worker_stats,
)
from .resources import Sampler
from .workloads import STEPS, Workload, same

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / ".test-artifacts" / "bench"
FULL_ROWS = 55_000_000  # the Kaggle train.csv
TARGET_ROWS = 20_000_000
TARGET_RATIO = 1.15
KINDS = {"gateway": "(a) gateway cluster", "local": "(b) bare LocalCluster"}


def label(rows: int) -> str:
    return f"{rows / 1e6:g} M" if rows >= 1_000_000 else f"{rows:,}"


# ----------------------------------------------------------------------- data
def prepare_data(rows: int, seed: int, data_dir: Path, jobs: int | None) -> dict:
    """The table's CSV files for ``rows``: reused if complete, else generated and timed."""
    folder = data_dir / f"taxi-{rows}-seed{seed}"
    have = read_manifest(folder)
    info: dict = {"path": str(folder), "glob": str(folder / "part-*.csv")}
    if have and have["rows"] == rows and have["seed"] == seed and have["format"] == "csv":
        return {**info, "bytes": have["bytes"], "files": len(have["files"]), "reused": True}
    print(f"generating {rows:,} rows into {folder} ...", flush=True)
    partitions = max(1, round(rows / 5e6))
    w = write_taxi(folder, rows, partitions, "csv", seed, jobs=jobs)
    plain = plain_write(folder, w.bytes)
    return {
        **info,
        "bytes": w.bytes,
        "files": len(w.paths),
        "reused": False,
        "seconds": round(w.seconds, 1),
        "mb_per_s": round(w.mb_per_s, 1),
        "plain_write_mb_per_s": round(w.bytes / 1e6 / plain, 1) if plain > 0 else None,
        "peak_rss_mb": w.peak_rss_mb,
    }


# ----------------------------------------------------------------------- runs
def run_one(kind: str, client, rows: int, data: dict, args, sampler: Sampler, bar) -> dict:
    """Idle, then every step on one fresh cluster; what its workers went through."""
    tag = f"{rows}-{kind}-{time.monotonic():.0f}"
    before = worker_stats(client)
    sampler.mark(f"{tag}-idle")
    time.sleep(args.idle_seconds)
    sampler.mark(f"{tag}-work")
    with WorkerMemory(client) as memory:
        steps = run_steps(kind, Workload(client, data["glob"], int(args.pi_samples)), rows, bar)
    sampler.mark(f"{tag}-end")
    after = worker_stats(client)
    peaks = memory.mb()
    for w in after:
        w["peak_rss_mb"] = peaks.get(w["name"])
    idle, busy = sampler.window(f"{tag}-idle"), sampler.window(f"{tag}-work")
    return {
        "kind": kind,
        "spec": spec(client),
        "steps": steps,
        "workers": after,
        "peak_worker_rss_mb": max(peaks.values(), default=None),
        "spilled_bytes": sum(w["spilled_bytes"] for w in after),
        "restarted": restarted(before, after),
        "idle_cpu_pct": idle.get("dask", {}).get("cpu_mean_pct"),
        "dask_cpu_seconds": busy.get("dask", {}).get("cpu_seconds"),
        "machine_busy_pct": busy.get("machine_busy_pct"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def run_steps(kind: str, work: Workload, rows: int, bar) -> list[dict]:
    """Every step in order; after a failure the rest are skipped (they need its result)."""
    steps: list[dict] = []
    failed = False
    for step in STEPS:
        bar.set_description(f"{label(rows)} {kind}: {step}")
        if failed:
            steps.append({"step": step, "skipped": True})
        else:
            try:
                seconds, result = work.run(step)
                steps.append({"step": step, "seconds": round(seconds, 3), "result": result})
            except Exception as exc:  # a worker killed, out of memory: reported, not fatal
                failed = True
                steps.append({"step": step, "error": f"{type(exc).__name__}: {exc}"[:500]})
                bar.write(f"  FAIL {kind} {step}: {exc}"[:300])
        bar.update(1)
    return steps


def one_size(rows: int, repeat: int, data: dict, args, login: dict, preset, sampler, bar):
    """Both clusters at one size, ``repeat`` times, alternating which goes first."""
    runs: dict[str, list[dict]] = {"gateway": [], "local": []}
    for r in range(repeat):
        for kind in ("gateway", "local") if r % 2 == 0 else ("local", "gateway"):
            t0 = time.monotonic()
            if kind == "gateway":
                student = HubUser(**login)  # a fresh login: its token expires in an hour
                student.login()
                cm = gateway_cluster(student.hub_url, student.token, args.session, preset.workers)
            else:
                cm = local_cluster(preset.workers, preset.worker_cores,
                                   int(preset.worker_memory * 2**30))  # fmt: skip
            with cm as client:
                ready = time.monotonic() - t0
                run = run_one(kind, client, rows, data, args, sampler, bar)
            runs[kind].append({"order": r, "ready_seconds": round(ready, 2), **run})
    return {"rows": rows, "data": data, "runs": runs, "steps": compare(runs)}


def compare(runs: dict[str, list[dict]]) -> list[dict]:
    """Per step: the fastest run of each cluster, the ratio, and whether results agree."""
    out = []
    for i, step in enumerate(STEPS):
        row: dict = {"step": step}
        results = {}
        for kind, rs in runs.items():
            done = [r["steps"][i] for r in rs if "seconds" in r["steps"][i]]
            row[kind] = min((s["seconds"] for s in done), default=None)
            row[f"{kind}_failed"] = len(done) < len(rs)
            results[kind] = [s["result"] for s in done]
        a, b = row["gateway"], row["local"]
        row["ratio"] = round(a / b, 3) if a is not None and b else None
        every = results["gateway"] + results["local"]
        row["same_result"] = (
            bool(every)
            and len(every) == sum(map(len, runs.values()))
            and all(same(every[0], r) for r in every[1:])
        )
        out.append(row)
    return out


# -------------------------------------------------------------------- targets
def targets(result: dict) -> list[dict]:
    sizes = result["sizes"]
    by_rows = {s["rows"]: s for s in sizes}
    at = TARGET_ROWS if TARGET_ROWS in by_rows else max(by_rows)
    steps = by_rows[at]["steps"]
    ratios = [(s["ratio"], s["step"]) for s in steps if s["ratio"] is not None]
    worst = max(ratios, default=(None, None))
    note = "" if at == TARGET_ROWS else f" (the target is set for {label(TARGET_ROWS)} rows)"
    runs = [(s["rows"], r) for s in sizes for rs in s["runs"].values() for r in rs]
    failures = [
        f"{label(rows)} {r['kind']}: {st['step']}"
        for rows, r in runs
        for st in r["steps"]
        if "error" in st
    ]
    differ = [f"{label(s['rows'])}: {st['step']}" for s in sizes for st in s["steps"]
              if not st["same_result"]]  # fmt: skip
    restarts = [f"{label(rows)} {r['kind']}: {w}" for rows, r in runs for w in r["restarted"]]
    # The targets are the platform's, (a)'s: what a bare LocalCluster (b) went
    # through is shown beside them ([SEEN]), as the comparison's own trouble.
    bare = [t for t in failures + restarts if " local: " in t]
    failures = [t for t in failures if " local: " not in t]
    restarts = [t for t in restarts if " local: " not in t]
    rows = [
        {
            "target": f"every step of (a) within {TARGET_RATIO}x of (b) at {label(at)} rows{note}",
            "value": worst[0],
            "step": worst[1],
            "limit": TARGET_RATIO,
            "met": len(ratios) == len(steps) and worst[0] is not None and worst[0] <= TARGET_RATIO,
        },
        {"target": "both clusters computed the same results", "value": differ, "met": not differ},
        {
            "target": "every step of (a) completed, no worker of (a) restarted",
            "value": failures + restarts,
            "met": not failures and not restarts,
        },
    ]
    if bare:
        rows.append({"target": "(b), not a target: steps failed or workers restarted",
                     "value": bare, "met": None})  # fmt: skip
    if FULL_ROWS in by_rows:
        full = [r for rows, r in runs if rows == FULL_ROWS and r["kind"] == "gateway"]
        rows.append({
            "target": f"{label(FULL_ROWS)} rows with the {result['config']['session']} preset: "
                      "every step done, no worker restarted",
            "met": all("seconds" in st for r in full for st in r["steps"])
                   and not any(r["restarted"] for r in full),
        })  # fmt: skip
    return rows


def print_report(result: dict) -> None:
    for size in result["sizes"]:
        print(f"\n{label(size['rows'])} rows ({size['data']['bytes'] / 1e6:,.0f} MB of CSV)")
        print(f"  {'step':<32}{'(a) s':>9}{'(b) s':>9}{'(a)/(b)':>9}  same")
        for s in size["steps"]:
            a, b = s["gateway"], s["local"]
            cells = [f"{a:9.2f}" if a is not None else f"{'FAIL':>9}",
                     f"{b:9.2f}" if b is not None else f"{'FAIL':>9}",
                     f"{s['ratio']:8.2f}x" if s["ratio"] else f"{'':>9}"]  # fmt: skip
            print(
                f"  {s['step']:<32}" + "".join(cells) + f"  {'yes' if s['same_result'] else 'NO'}"
            )
        for kind, rs in size["runs"].items():
            for r in rs:
                print(f"  {KINDS[kind]}: ready {r['ready_seconds']:.1f} s, idle "
                      f"{r['idle_cpu_pct']}% of a core, worker peak {r['peak_worker_rss_mb']} MB, "
                      f"spilled {r['spilled_bytes'] / 1e6:.0f} MB, restarted {r['restarted'] or 'none'}, "
                      f"Dask CPU {r['dask_cpu_seconds']} s, machine {r['machine_busy_pct']}% busy")  # fmt: skip
    print()
    for t in result["targets"]:
        value = f": {t['value']}" if t.get("value") not in (None, []) else ""
        step = f" ({t['step']})" if t.get("step") else ""
        mark = "SEEN" if t["met"] is None else "MET " if t["met"] else "MISS"
        print(f"[{mark}] {t['target']}{value}{step}")


# ----------------------------------------------------------------------- main
def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compute", description=__doc__.split("\n")[0])
    p.add_argument("--rows", default="2e6,20e6", help="sizes, comma-separated (%(default)s)")
    p.add_argument("--full", action="store_true", help=f"also the full table, {FULL_ROWS:,} rows")
    p.add_argument("--session", default="evaluation", help="preset of course.yml (%(default)s)")
    p.add_argument("--repeat", type=int, default=1, help="runs per cluster and size")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--pi-samples", type=float, default=4e8, help="points for pi (%(default)g)")
    p.add_argument("--idle-seconds", type=float, default=10, help="idle before the work")
    p.add_argument("--jobs", type=int, help="processes generating the data (default: cores)")
    p.add_argument("--data-dir", type=Path, default=ARTIFACTS / "data",
                   help="generated tables, reused between runs (git-ignored)")  # fmt: skip
    p.add_argument(
        "--hub-url",
        help="a running local hub (make hub) on this machine: its gateway's clusters run here",
    )
    p.add_argument("--admin-token", help="with --hub-url: a teacher's token, to enrol a student")
    p.add_argument("--note", default="", help="kept in the report, e.g. 'shared machine'")
    p.add_argument("--out", type=Path, help="JSON report (default: .test-artifacts/bench/)")
    p.add_argument("--chart", type=Path, help="PNG chart (default: next to the JSON)")
    args = p.parse_args(argv)
    try:
        args.sizes = [int(float(r)) for r in args.rows.split(",") if r.strip()]
    except ValueError:
        p.error(f"--rows: sizes like 2e6,20e6, not {args.rows!r}")
    if args.full and FULL_ROWS not in args.sizes:
        args.sizes.append(FULL_ROWS)
    if not args.sizes or min(args.sizes) < 1000:
        p.error("--rows: at least 1000 rows per size")
    if args.hub_url and not args.admin_token:
        p.error("--hub-url needs --admin-token (a teacher's API token)")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


@contextlib.contextmanager
def hub(args: argparse.Namespace, log: Path) -> Iterator[tuple[str, str]]:
    """``--hub-url`` and its teacher's token, else a throw-away local hub (bench.classday's)."""
    if args.hub_url:
        yield args.hub_url.rstrip("/"), args.admin_token
        return
    admin_password = secrets.token_urlsafe(32)
    print(f"starting a local hub (log: {log}) ...", flush=True)
    with local_hub(admin_password, log) as url:
        teacher = HubUser(url, "teacher", password=admin_password)
        teacher.login()
        yield url, teacher.token


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    preset = load_manifest(REPO / "course" / "course.yml").session(args.session).cluster
    if preset is None:
        print(f"session {args.session!r} has no cluster preset in course.yml", file=sys.stderr)
        return 2
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or ARTIFACTS / f"compute-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {rows: prepare_data(rows, args.seed, args.data_dir, args.jobs) for rows in args.sizes}
    result: dict = {
        "config": {"sizes": args.sizes, "session": args.session, "repeat": args.repeat,
                   "seed": args.seed, "pi_samples": int(args.pi_samples),
                   "idle_seconds": args.idle_seconds, "note": args.note,
                   "preset": {"workers": preset.workers, "threads": preset.worker_cores,
                              "memory_gib": preset.worker_memory}},
        "machine": {"cpus": psutil.cpu_count(),
                    "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
                    "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_start": [round(x, 2) for x in os.getloadavg()]},
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "steps": list(STEPS),
    }  # fmt: skip
    sampler = Sampler()
    with hub(args, out.with_suffix(".hub.log")) as (url, admin_token):
        name = f"bench-compute-{secrets.token_hex(2)}"
        login = {"hub_url": url, "name": name, "password": enroll(url, admin_token, [name])[name]}
        runs = sum(1 if rows == FULL_ROWS else args.repeat for rows in args.sizes)
        bar = tqdm(total=2 * runs * len(STEPS), unit="step", desc="compute")
        sampler.start()
        try:
            result["sizes"] = [
                one_size(rows, 1 if rows == FULL_ROWS else args.repeat, data[rows], args,
                         login, preset, sampler, bar)
                for rows in args.sizes
            ]  # fmt: skip
        finally:
            sampler.stop()
            bar.close()
    result["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = targets(result)
    out.write_text(json.dumps(result, indent=1) + "\n")
    png = args.chart or out.with_suffix(".png")
    chart.draw_compute(result, png)
    print_report(result)
    print(f"\nreport: {out}\nchart:  {png}")
    return 0 if all(t["met"] is not False for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
