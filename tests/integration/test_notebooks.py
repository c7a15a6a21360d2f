"""Every notebook of the course, teacher's version, top to bottom (nbclient),
against a real Dask Gateway and local Spark, with small sizes as parameters.

The notebooks assert their key results themselves; this test checks them from
outside too, so that weakening a notebook's own assert cannot hide a wrong
result: after the last cell, one more cell in the same kernel prints the
notebook's named results as JSON (pi, k-means centres, test RMSE...), and the
thresholds below judge them. Each run's time, parameters and results go to
``.test-artifacts/notebooks/timings.json`` (with the executed notebooks), and
the terminal summary lists the times (conftest.py).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from course_hub.manifest import load_manifest
from course_hub.notebooks import assigned_parameters, inject_parameters

from .conftest import NOTEBOOK_ARTIFACTS, record_notebook_run

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "course"
MANIFEST = load_manifest(COURSE / "course.yml", COURSE)
NOTEBOOKS = [f"{s.source_folder}/{nb.path}" for s in MANIFEST.sessions for nb in s.notebooks]
# Small data for CI; a class runs the defaults in each notebook's parameters cell.
PARAMETERS = {
    "big-data/01-mapreduce-by-hand.ipynb": {"DOCUMENTS": 2000, "RECORDS": 20000},
    "dask/01-check-your-environment.ipynb": {"SAMPLES": 2_000_000, "CHUNK": 500_000},
    "evaluation/00-getting-started.ipynb": {"SAMPLES": 2_000_000, "CHUNK": 500_000},
    # More workers than the local gateway's limit: the notebook sees the cap.
    "kubernetes/01-first-gateway-cluster.ipynb": {
        "WORKERS": 6,
        "SAMPLES": 20_000_000,
        "CHUNK": 2_000_000,
        "WAIT_TIMEOUT": 120,
    },
    "spark/01-spark-wordcount.ipynb": {"REPEAT": 100, "SAMPLES": 50_000, "PARTITIONS": 4},
    "spark/02-mapreduce-with-spark.ipynb": {
        "SAMPLES": 100_000,
        "GAMES": 2000,
        "POINTS": 5000,
        "PARTITIONS": 4,
    },
    "dask/02-dask-hands-on.ipynb": {
        "ROWS": 200_000,
        "PARTITIONS": 4,
        "ARRAY_SIZE": 2000,
        "SAMPLES": 4000,
    },
    "evaluation/01-taxi-fare.ipynb": {
        "BASELINE_ROWS": 100_000,
        "ROWS": 400_000,
        "PARTITIONS": 8,
        "WORKERS": 2,
        "SEARCH_FRACTION": 0.1,
        "N_ITER": 4,
        "PI_SAMPLES": 1_000_000,
    },
}
# hub_config/local/dask_gateway_config.py: workers per cluster, unless the environment says.
GATEWAY_MAX_WORKERS = int(os.environ.get("COURSE_CLUSTER_MAX_WORKERS", "4"))


# --- The key results of each notebook: the variables to read, and their check.


def assert_pi(estimate: float, samples: int) -> None:
    """Within 5 standard errors of pi: a Monte Carlo estimate is almost never further."""
    tolerance = 5 * 4 * math.sqrt(math.pi / 4 * (1 - math.pi / 4) / samples)
    assert abs(estimate - math.pi) < tolerance, (
        f"pi estimated as {estimate} from {samples:,} samples: more than {tolerance:.4f} off"
    )


def assert_centres(found: list, true: list, tolerance: float) -> None:
    """Each true centre has a found one within ``tolerance`` (numbers or points)."""
    assert len(found) == len(true), (found, true)
    for centre in true:
        distance = min(math.dist(_point(c), _point(centre)) for c in found)
        assert distance < tolerance, f"no centre found near {centre}: {found}"


def _point(x: float | list[float]) -> list[float]:
    return x if isinstance(x, list) else [x]


def check_gateway_cluster(r: dict) -> None:
    assert_pi(r["pi_estimate"], r["SAMPLES"])
    assert r["workers_granted"] == min(r["WORKERS"], GATEWAY_MAX_WORKERS), r
    assert r["n_workers"] == r["workers_granted"], r


def check_spark(r: dict) -> None:
    assert_pi(r["pi_estimate"], r["SAMPLES"])
    # 1-D k-means: centres 5 and 6 standard deviations apart, POINTS / 3 points each.
    assert_centres(r["centroids"], r["TRUE_CENTERS"], 0.15)


def check_dask(r: dict) -> None:
    # dask-ml KMeans on blobs of standard deviation 0.5, SAMPLES / 3 points each.
    assert_centres(r["kmeans_centers"], r["true_centers"], 0.1)


def check_evaluation(r: dict) -> None:
    assert_pi(r["pi_estimate"], r["PI_SAMPLES"])
    # The generated fares (course_hub.data) have 2 USD of noise plus what the features
    # cannot see (the route's detour, traffic): measured with the CI sizes, 3.8 USD for
    # the linear model and the SGD search, 3.6 for the forest.
    assert r["lr_rmse"] < 4.3, r
    assert r["sgd_rmse"] < 4.3, r
    assert r["forest_rmse"] < 4.2, r
    assert r["forest_rmse"] < r["lr_rmse"], r


RESULTS: dict[str, tuple[list[str], Callable[[dict], None]]] = {
    "kubernetes/01-first-gateway-cluster.ipynb": (
        ["pi_estimate", "SAMPLES", "WORKERS", "workers_granted", "n_workers", "run_times"],
        check_gateway_cluster,
    ),
    "spark/01-spark-wordcount.ipynb": (
        ["pi_estimate", "SAMPLES"],
        lambda r: assert_pi(r["pi_estimate"], r["SAMPLES"]),
    ),
    "spark/02-mapreduce-with-spark.ipynb": (
        ["pi_estimate", "SAMPLES", "centroids", "TRUE_CENTERS"],
        check_spark,
    ),
    "dask/01-check-your-environment.ipynb": (
        ["pi_estimate", "SAMPLES"],
        lambda r: assert_pi(r["pi_estimate"], r["SAMPLES"]),
    ),
    "dask/02-dask-hands-on.ipynb": (["kmeans_centers", "true_centers"], check_dask),
    "evaluation/00-getting-started.ipynb": (
        ["pi_estimate", "SAMPLES"],
        lambda r: assert_pi(r["pi_estimate"], r["SAMPLES"]),
    ),
    "evaluation/01-taxi-fare.ipynb": (
        ["pi_estimate", "PI_SAMPLES", "baseline_rmse", "lr_rmse", "sgd_rmse", "forest_rmse"],
        check_evaluation,
    ),
}
MARKER = "course-hub-results:"


def results_cell(names: list[str]) -> NotebookNode:
    """A cell printing the named variables as JSON (a missing name fails the cell)."""
    return nbformat.v4.new_code_cell(
        "import json as _json\n"
        f"print({MARKER!r}, _json.dumps({{_name: globals()[_name] for _name in {names!r}}},"
        " default=lambda o: o.tolist() if hasattr(o, 'tolist') else repr(o)))"
    )


def printed_results(cell: NotebookNode) -> dict:
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    line = next(line for line in text.splitlines() if line.startswith(MARKER))
    return json.loads(line.removeprefix(MARKER))


# --- The tests


@pytest.fixture
def gateway_env(real_gateway, monkeypatch):
    """What a student's kernel has on the hub, for the kernels nbclient starts."""
    monkeypatch.setenv("DASK_GATEWAY__ADDRESS", real_gateway.address)
    monkeypatch.setenv("DASK_GATEWAY__PROXY_ADDRESS", real_gateway.proxy_address)
    monkeypatch.setenv("DASK_GATEWAY__AUTH__TYPE", "basic")
    monkeypatch.setenv("DASK_GATEWAY__AUTH__KWARGS__USERNAME", "notebooks")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return real_gateway


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_teacher_solution_runs(path, gateway_env, tmp_path):
    parameters = PARAMETERS.get(path, {})
    nb = inject_parameters(nbformat.read(COURSE / path, as_version=4), parameters)
    names, check = RESULTS.get(path, ([], None))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    run = {"seconds": None, "parameters": parameters, "outcome": "failed", "results": {}}
    start = time.monotonic()
    try:
        with client.setup_kernel():
            client.execute(cleanup_kc=False)
            run["seconds"] = round(time.monotonic() - start, 1)
            if names:
                nb.cells.append(results_cell(names))
                client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
                run["results"] = printed_results(nb.cells[-1])
        if check:
            check(run["results"])
        run["outcome"] = "passed"
    finally:
        if run["seconds"] is None:
            run["seconds"] = round(time.monotonic() - start, 1)
        record_notebook_run(path, run)
        nbformat.write(nb, NOTEBOOK_ARTIFACTS / path.replace("/", "__"))


@pytest.mark.parametrize("path", sorted(PARAMETERS))
def test_ci_parameters_are_the_notebooks(path):
    """Every CI size is a name the notebook's parameters cell assigns."""
    nb = nbformat.read(COURSE / path, as_version=4)
    assert set(PARAMETERS[path]) <= assigned_parameters(nb)
    injected = inject_parameters(nb, PARAMETERS[path])
    assert len(injected.cells) == len(nb.cells) + 1


def test_every_notebook_with_parameters_runs_small_in_ci():
    with_sizes = {
        p for p in NOTEBOOKS if assigned_parameters(nbformat.read(COURSE / p, as_version=4))
    }
    assert with_sizes == set(PARAMETERS)


def test_a_misspelt_parameter_fails_loudly():
    nb = nbformat.read(COURSE / "spark/02-mapreduce-with-spark.ipynb", as_version=4)
    with pytest.raises(ValueError, match="not assigned in the notebook's parameters cell: SAMPLE"):
        inject_parameters(nb, {"SAMPLE": 10, "GAMES": 20})
