"""The course's computations, as the teacher's solutions do them, one timed step each.

The functions that clean the table and make the features (``add_features``,
``clean``, ``more_features``), the searches' ``model`` and ``space`` and the
pi estimate (``pi_graph``) are read from the course's own notebooks (those
definitions only, with :mod:`ast`), and the search's sample and candidates
from the evaluation's parameters cell: the benchmark computes what students
compute, and follows the notebooks when a teacher changes them. The calls
around them (``read_csv`` with the notebook's ``blocksize``, ``persist``,
``to_dask_array(lengths=True)``, the two searches) are the notebook's cells,
written out here.

Each step returns a small JSON-safe result (counts, means, coefficients, the
best parameters, pi): both clusters must compute the same ones.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
EVALUATION = REPO / "course" / "evaluation" / "01-taxi-fare.ipynb"
KUBERNETES = REPO / "course" / "kubernetes" / "01-first-gateway-cluster.ipynb"
BLOCKSIZE = "64MB"  # what the evaluation notebook reads TAXI_DATA with
PI_CHUNK = 10_000_000  # the Kubernetes session's CHUNK: one task per 10^7 points

#: Step -> its method, in the notebooks' order (the shuffle and pi last: extra workloads).
STEPS = {
    "read_csv + len": "read",
    "clean + persist": "clean",
    "group-by mean": "group_by",
    "features (to_dask_array)": "features",
    "LinearRegression fit + score": "linear",
    "sample for the search": "sample",
    "search: scikit-learn + joblib": "search_joblib",
    "search: dask-ml": "search_dask_ml",
    "shuffle: set_index": "shuffle",
    "pi (dask.array)": "pi",
}


def _code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def notebook_definitions(path: Path, names: set[str]) -> dict[str, Any]:
    """The notebook's own definitions of ``names`` (functions, or assignments with
    their cell's imports), and nothing else of its cells."""
    namespace: dict[str, Any] = {"np": np, "pd": pd, "da": da}
    found = set()
    for source in _code_cells(path):
        body = ast.parse(source).body
        wanted = [n for n in body if _defines(n) & names]
        if wanted:
            imports = [n for n in body if isinstance(n, ast.Import | ast.ImportFrom)]
            code = compile(ast.Module([*imports, *wanted], []), str(path), "exec")
            exec(code, namespace)  # noqa: S102 (the course's own notebook)
            found |= {name for n in wanted for name in _defines(n)}
    if not names <= found:
        raise RuntimeError(f"{path.name} no longer defines {sorted(names - found)}")
    return {n: namespace[n] for n in names}


def _defines(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    return set()


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The literal values the notebook's parameters cell assigns."""
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    out = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


class Workload:
    """The steps on one cluster, in order; later steps use what earlier ones made."""

    def __init__(self, client: Any, csv_glob: str, pi_samples: int) -> None:
        self.client = client
        self.csv_glob = csv_glob
        self.pi_samples = pi_samples
        self.f = notebook_definitions(
            EVALUATION, {"add_features", "clean", "more_features", "model", "space"}
        )
        self.f |= notebook_definitions(KUBERNETES, {"pi_graph"})
        self.params = notebook_parameters(EVALUATION)
        self.state: dict[str, Any] = {}

    def run(self, step: str) -> tuple[float, Any]:
        """Seconds the step took, as the notebook sees them, and its result."""
        method = getattr(self, STEPS[step])
        t0 = time.perf_counter()
        result = method()
        return time.perf_counter() - t0, result

    # --------------------------------------------------------------- steps
    def read(self) -> dict:
        import dask.dataframe as dd

        self.state["ddf"] = ddf = dd.read_csv(self.csv_glob, blocksize=BLOCKSIZE)
        return {"rows": len(ddf), "partitions": ddf.npartitions}

    def clean(self) -> dict:
        from distributed import wait

        f = self.f
        clean_ddf = f["clean"](f["add_features"](self.state["ddf"])).persist()
        wait(clean_ddf)
        self.state["clean_ddf"] = clean_ddf
        return {"rows": len(clean_ddf)}

    def group_by(self) -> dict:
        means = self.state["clean_ddf"].groupby("passenger_count").fare_amount.mean().compute()
        return {str(k): round(float(v), 9) for k, v in means.sort_index().items()}

    def features(self) -> dict:
        clean_ddf = self.state["clean_ddf"]
        self.state["X"] = X = clean_ddf[["abs_diff_longitude", "abs_diff_latitude"]].to_dask_array(
            lengths=True
        )
        self.state["y"] = clean_ddf.fare_amount.to_dask_array(lengths=True)
        return {"shape": list(X.shape)}

    def linear(self) -> dict:
        from dask_ml.linear_model import LinearRegression

        X, y = self.state["X"], self.state["y"]
        lr = LinearRegression().fit(X, y)
        return {"coef": [float(c) for c in lr.coef_], "intercept": float(lr.intercept_),
                "r2": float(lr.score(X, y))}  # fmt: skip

    def sample(self) -> dict:
        frac = self.params["SEARCH_FRACTION"]
        sample = self.state["clean_ddf"].sample(frac=frac, random_state=1).compute()
        self.state["Xs"] = self.f["more_features"](sample)
        self.state["ys"] = sample.fare_amount.to_numpy()
        return {"rows": len(sample), "fare_sum": round(float(sample.fare_amount.sum()), 6)}

    def search_joblib(self) -> dict:
        import joblib
        from sklearn.model_selection import RandomizedSearchCV

        search = RandomizedSearchCV(self.f["model"], self.f["space"], n_iter=self.params["N_ITER"], cv=3,
                                    scoring="neg_root_mean_squared_error", random_state=0)  # fmt: skip
        with joblib.parallel_backend("dask"):
            search.fit(self.state["Xs"], self.state["ys"])
        return _best(search)

    def search_dask_ml(self) -> dict:
        from dask_ml.model_selection import RandomizedSearchCV

        search = RandomizedSearchCV(self.f["model"], self.f["space"], n_iter=self.params["N_ITER"], cv=3,
                                    scoring="neg_root_mean_squared_error", random_state=0)  # fmt: skip
        search.fit(self.state["Xs"], self.state["ys"])
        return _best(search)

    def shuffle(self) -> dict:
        # A full sort by time (every row moves, worker to worker); counted per
        # partition rather than persisted, so the table is not held twice.
        by_time = self.state["clean_ddf"].set_index("pickup_datetime")
        divisions = by_time.divisions  # the sample of times that splits them
        lengths = by_time.map_partitions(len).compute()
        return {"rows": int(lengths.sum()), "partitions": len(lengths),
                "first": str(divisions[0]), "last": str(divisions[-1])}  # fmt: skip

    def pi(self) -> dict:
        graph = self.f["pi_graph"](self.pi_samples, min(PI_CHUNK, self.pi_samples), 1)
        return {"pi": float(graph.compute())}


def _best(search: Any) -> dict:
    params = {k: (round(v, 12) if isinstance(v, float) else v)
              for k, v in search.best_params_.items()}  # fmt: skip
    return {"best_params": params, "best_score": round(float(search.best_score_), 6)}


def same(a: Any, b: Any, rel: float = 1e-6) -> bool:
    """Equal results, floats within ``rel`` (sums in another order differ in the last bits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)
    return a == b
