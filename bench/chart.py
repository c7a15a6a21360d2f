"""The PNGs: the class day (each student's journey as stacked phases, next to
the floors, and the API latency under load), and the compute benchmark (each
step's time on both clusters)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: a file
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

#: Phases drawn, in journey order, with the floor each is compared with.
PHASES = [
    ("log in", None),
    ("start server", "server"),
    ("open a session", None),
    ("create a cluster", "cluster"),
    ("start a kernel", "kernel"),
    ("compute on it", "compute"),
    ("stop the cluster", None),
    ("stop the server", None),
    ("log out", None),
]
COLORS = plt.get_cmap("tab10").colors


def draw(result: dict, path: Path) -> None:
    burst = result["burst"]["students"]
    single = result["single"]["students"]
    floors = result["floors"]
    rows = [("floors", {p: floors[f]["seconds"] for p, f in PHASES if f})]
    rows += [("1 student", single[0]["steps"])] if single else []
    rows += [(f"#{i + 1}", s["steps"]) for i, s in enumerate(burst)]

    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(13, 0.32 * len(rows) + 2.5), gridspec_kw={"width_ratios": [3, 1]}
    )
    for y, (_, steps) in enumerate(rows):
        left = 0.0
        for i, (phase, _) in enumerate(PHASES):
            width = steps.get(phase)
            if width:
                ax.barh(y, width, left=left, color=COLORS[i % 10])
                left += width
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the student's arrival")
    n = len(burst)
    ax.set_title(f"Class-day journey: {n} students ({result['config']['arrival']}), by phase")
    handles = [Patch(color=COLORS[i % 10], label=p) for i, (p, _) in enumerate(PHASES)]
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=5)

    load = result.get("api_load") or {}
    names = [p for p in ("/sessions", "/clusters") if p in load]
    for i, p in enumerate(names):
        ax2.bar(
            i - 0.2, load[p]["p50"] or 0, 0.4, color=COLORS[0], label="p50" if i == 0 else None
        )
        ax2.bar(
            i + 0.2, load[p]["p99"] or 0, 0.4, color=COLORS[3], label="p99" if i == 0 else None
        )
    ax2.axhline(50, color="gray", linestyle="--", linewidth=1, label="target p99 50 ms")
    ax2.set_xticks(range(len(names)), [f"GET {p}" for p in names])
    ax2.set_ylabel("ms")
    ax2.set_title(f"Course API, {load.get('students', 0)} students polling")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_compute(result: dict, path: Path) -> None:
    """bench.compute: seconds per step on (a) and (b), one panel per size, ratios beside."""
    sizes, steps = result["sizes"], result["steps"]
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(5.5 * len(sizes) + 2.5, 0.42 * len(steps) + 2.5),
        squeeze=False, sharey=True,
    )  # fmt: skip
    where = range(len(steps))
    for ax, size in zip(axes[0], sizes, strict=True):
        a = [s["gateway"] or 0 for s in size["steps"]]
        b = [s["local"] or 0 for s in size["steps"]]
        ax.barh([i - 0.2 for i in where], a, 0.4, color=COLORS[0], label="(a) gateway cluster")
        ax.barh([i + 0.2 for i in where], b, 0.4, color=COLORS[1], label="(b) bare LocalCluster")
        for i, s in enumerate(size["steps"]):
            text = f" {s['ratio']:.2f}x" if s["ratio"] else " failed"
            ax.text(max(a[i], b[i]), i, text, va="center", fontsize=8)
        ax.set_title(f"{size['rows']:,} rows")
        ax.set_xlabel("seconds (the faster run of each)")
        ax.margins(x=0.15)
    axes[0][0].set_yticks(list(where), steps)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    p = result["config"]["preset"]
    fig.suptitle(
        f"The course's work on the '{result['config']['session']}' preset ({p['workers']} "
        f"workers x {p['threads']} thread, {p['memory_gib']:g} GiB): (a)/(b) beside the bars"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
