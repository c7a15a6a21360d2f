"""Every notebook of the course, teacher's version, top to bottom (nbclient),
against a real Dask Gateway and local Spark, with small sizes as parameters.

The notebooks assert their key results themselves (pi within a tolerance,
k-means centroids, RMSE thresholds); a failing assert fails the test with
the cell and its traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_hub.manifest import load_manifest
from course_hub.notebooks import inject_parameters

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "course"
MANIFEST = load_manifest(COURSE / "course.yml", COURSE)
NOTEBOOKS = [f"{s.source_folder}/{nb.path}" for s in MANIFEST.sessions for nb in s.notebooks]
# Small data for CI; a class runs the defaults in each notebook's parameters cell.
PARAMETERS = {
    "big-data/01-mapreduce-by-hand.ipynb": {"DOCUMENTS": 2000, "RECORDS": 20000},
    "dask/01-check-your-environment.ipynb": {"SAMPLES": 2_000_000, "CHUNK": 500_000},
    "evaluation/00-getting-started.ipynb": {"SAMPLES": 2_000_000, "CHUNK": 500_000},
    "spark/01-spark-wordcount.ipynb": {"REPEAT": 100, "SAMPLES": 50_000, "PARTITIONS": 4},
    # More workers than the local gateway's limit (4): the notebook sees the cap.
    "kubernetes/01-first-gateway-cluster.ipynb": {
        "WORKERS": 6,
        "SAMPLES": 20_000_000,
        "CHUNK": 2_000_000,
        "WAIT_TIMEOUT": 120,
    },
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
TIMES: dict[str, float] = {}


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
    nb = inject_parameters(nbformat.read(COURSE / path, as_version=4), PARAMETERS.get(path, {}))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.monotonic()
    client.execute()
    TIMES[path] = time.monotonic() - start
    print(f"\n{path}: {TIMES[path]:.1f} s with {PARAMETERS.get(path, 'its defaults')}")
