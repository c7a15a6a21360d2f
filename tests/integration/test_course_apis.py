"""The APIs the course's notebooks (ours and the teachers' own) call, each run on
a real Dask Gateway cluster of the locked environment, with small data.

The versions are chosen, and the fixes of course_hub/compat applied, so these
work: scikit-learn's RMSE as the course computes it (``squared=False``), dask-ml
(LinearRegression, RandomizedSearchCV, HyperbandSearchCV, IncrementalSearchCV,
KMeans), xgboost.dask, joblib's Dask backend, ``dd.read_csv`` of a ``gs://``
URL (a local folder stands in for the bucket: no network here), zarr and xarray
round trips, ``.visualize()`` to a PNG, and Spark DataFrames with Arrow.
docs/teachers.md ("Bringing your own notebooks") lists them for teachers.
"""

from __future__ import annotations

import os
import sys
import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask_gateway import BasicAuth, Gateway

pytestmark = pytest.mark.integration

WORKERS = 2


@pytest.fixture(scope="module")
def client(real_gateway):
    """A student's client of a two-worker Gateway cluster, the default scheduler."""
    gateway = Gateway(
        address=real_gateway.address,
        proxy_address=real_gateway.proxy_address,
        auth=BasicAuth(username="apis"),
    )
    cluster = gateway.new_cluster()
    try:
        cluster.scale(WORKERS)
        with cluster.get_client() as client:
            client.wait_for_workers(WORKERS, timeout=120)
            yield client
    finally:
        cluster.shutdown()
        gateway.close()


def ran_on_workers(client, prefix: str) -> bool:
    """Whether the cluster's scheduler has seen tasks whose key starts with ``prefix``."""
    return client.run_on_scheduler(
        lambda dask_scheduler, p=prefix: any(p in str(k) for k in dask_scheduler.task_prefixes)
    )


def taxi_like(rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.random(rows), rng.random(rows)
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "fare": 3 * x1 + 2 * x2 + 1 + rng.normal(0, 0.05, rows)}
    )


# --- scikit-learn


def test_rmse_with_squared_false_in_the_kernel_and_on_workers(client):
    """The course's RMSE: ``mean_squared_error(y, p, squared=False)`` (removed by
    scikit-learn 1.6; course_hub.compat.sklearn_rmse keeps it)."""

    def rmse_both_ways() -> tuple[float, float]:
        from sklearn.metrics import mean_squared_error

        return (
            mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0], squared=False),
            mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]),
        )

    from sklearn.metrics import make_scorer, mean_squared_error, root_mean_squared_error

    expected = (root_mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]), 4 / 3)
    assert rmse_both_ways() == pytest.approx(expected)
    assert client.submit(rmse_both_ways, pure=False).result() == pytest.approx(expected)
    # The older idiom of a search's scoring, pickled to a worker by reference.
    scorer = make_scorer(mean_squared_error, greater_is_better=False, squared=False)
    from sklearn.linear_model import LinearRegression

    data = taxi_like(200)
    model = LinearRegression().fit(data[["x1", "x2"]], data.fare)
    local = scorer(model, data[["x1", "x2"]], data.fare)
    remote = client.submit(scorer, model, data[["x1", "x2"]], data.fare).result()
    assert remote == pytest.approx(local)
    assert -0.1 < local < 0


# --- dask-ml


def test_dask_ml_linear_regression_fit_score_predict(client):
    """On arrays of unknown chunk sizes (``ddf.values``), as the teachers' notebook has them."""
    from dask_ml.linear_model import LinearRegression

    ddf = dd.from_pandas(taxi_like(), npartitions=4)
    X, y = ddf[["x1", "x2"]].values, ddf.fare.values
    assert np.isnan(X.shape[0])
    lr = LinearRegression().fit(X, y)
    assert lr.coef_ == pytest.approx([3, 2], abs=0.05)
    assert lr.score(X, y) > 0.99
    predicted = lr.predict(X).compute()
    assert len(predicted) == 4000
    rmse = float(da.sqrt(((lr.predict(X) - y) ** 2).mean()).compute())
    assert rmse < 0.1


def test_dask_ml_r2_matches_scikit_learn_edge_cases():
    """The patched r2_score keeps scikit-learn's rules (perfect fit, constant target)."""
    from dask_ml.metrics import r2_score
    from sklearn.metrics import r2_score as sk_r2

    rng = np.random.default_rng(1)
    for y_true, y_pred in [
        (rng.random(100), rng.random(100)),
        (np.arange(10.0), np.arange(10.0)),
        (np.ones(10), np.ones(10)),
        (np.ones(10), np.arange(10.0)),
    ]:
        got = r2_score(da.from_array(y_true, chunks=25), da.from_array(y_pred, chunks=25))
        assert got == pytest.approx(sk_r2(y_true, y_pred)), (y_true, y_pred)


def test_dask_ml_randomized_search(client):
    from dask_ml.model_selection import RandomizedSearchCV
    from scipy.stats import loguniform
    from sklearn.linear_model import SGDRegressor

    data = taxi_like(1000)
    search = RandomizedSearchCV(
        SGDRegressor(max_iter=200, tol=1e-3, random_state=0),
        {"alpha": loguniform(1e-6, 1e-2)},
        n_iter=3,
        cv=3,
        scoring="neg_root_mean_squared_error",
        random_state=0,
    ).fit(data[["x1", "x2"]].to_numpy(), data.fare.to_numpy())
    assert search.best_score_ > -0.5
    assert ran_on_workers(client, "score")


@pytest.mark.parametrize("kind", ["HyperbandSearchCV", "IncrementalSearchCV"])
def test_dask_ml_adaptive_searches(client, kind):
    """They fit on the cluster from a synchronous notebook (course_hub.compat.dask_ml_fixes)."""
    import dask_ml.model_selection as ms
    from sklearn.linear_model import SGDRegressor

    data = taxi_like(2000)
    X = da.from_array(data[["x1", "x2"]].to_numpy(), chunks=500)
    y = da.from_array(data.fare.to_numpy(), chunks=500)
    params = {"alpha": [1e-5, 1e-4, 1e-3], "eta0": [0.01, 0.1]}
    model = SGDRegressor(tol=None, random_state=0)
    if kind == "HyperbandSearchCV":
        search = ms.HyperbandSearchCV(model, params, max_iter=9, random_state=0)
    else:
        search = ms.IncrementalSearchCV(model, params, n_initial_parameters=4, random_state=0)
    search.fit(X, y)
    assert search.best_score_ > 0.9  # R² on held-out data
    assert search.predict(X[:10]).compute().shape == (10,)


def test_dask_ml_kmeans(client):
    from dask_ml.cluster import KMeans
    from sklearn.datasets import make_blobs

    centres = [[-5, -5], [0, 5], [5, -5]]
    points, _ = make_blobs(n_samples=3000, centers=centres, cluster_std=0.5, random_state=0)
    km = KMeans(n_clusters=3, random_state=0).fit(da.from_array(points, chunks=750))
    for centre in centres:
        assert min(np.linalg.norm(km.cluster_centers_ - centre, axis=1)) < 0.2


# --- XGBoost and joblib


def test_xgboost_dask_train_predict(client):
    import xgboost as xgb
    import xgboost.dask  # xgb.dask is a submodule of its own

    ddf = dd.from_pandas(taxi_like(), npartitions=4)
    X, y = ddf[["x1", "x2"]], ddf.fare
    dtrain = xgb.dask.DaskDMatrix(client, X, y)
    output = xgb.dask.train(
        client, {"tree_method": "hist", "max_depth": 4}, dtrain, num_boost_round=30
    )
    predicted = xgb.dask.predict(client, output["booster"], X)
    rmse = float(np.sqrt(((predicted - y) ** 2).mean().compute()))
    assert rmse < 0.3
    # The scikit-learn style estimator the tutorials use.
    reg = xgb.dask.DaskXGBRegressor(n_estimators=20, max_depth=3)
    reg.client = client
    reg.fit(X, y)
    assert reg.predict(X).compute().shape == (4000,)


def test_joblib_dask_backend(client):
    import joblib
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import GridSearchCV

    data = taxi_like(600)
    search = GridSearchCV(
        RandomForestRegressor(n_estimators=10, random_state=0),
        {"max_depth": [2, 4]},
        cv=2,
        scoring="neg_root_mean_squared_error",
    )
    with joblib.parallel_backend("dask"):
        search.fit(data[["x1", "x2"]], data.fare)
    assert search.best_params_ == {"max_depth": 4}
    assert ran_on_workers(client, "batch_of_")


# --- Data in buckets, zarr and xarray

# A gs:// bucket stood in for by a local folder (no network here), in the client
# and on every worker: a module of its own, uploaded to the workers, so that the
# read tasks (and client.run) can name it.
BUCKET_STANDIN = """
import fsspec
from fsspec.implementations.local import LocalFileSystem


class BucketFolder(LocalFileSystem):
    \"\"\"gs://bucket/key -> ROOT/bucket/key.\"\"\"

    protocol = ("gs", "gcs")
    ROOT = None

    @classmethod
    def _strip_protocol(cls, path):
        path = str(path)
        for p in ("gs://", "gcs://"):
            if path.startswith(p):
                return cls.ROOT.rstrip("/") + "/" + path[len(p):]
        return super()._strip_protocol(path)


REAL = []


def use(root):
    \"\"\"Stand in for gs:// in this process; return the real implementation's module.\"\"\"
    REAL.append(fsspec.get_filesystem_class("gs"))
    BucketFolder.ROOT = root
    fsspec.register_implementation("gs", BucketFolder, clobber=True)
    return REAL[0].__module__


def restore():
    fsspec.register_implementation("gs", REAL[0], clobber=True)
"""


def test_read_csv_from_a_gs_url(client, tmp_path):
    """``dd.read_csv("gs://...")`` dispatches to gcsfs (installed), here to a folder in its place."""
    bucket = tmp_path / "course-data" / "taxi"
    bucket.mkdir(parents=True)
    for i in range(3):
        taxi_like(500, seed=i).to_csv(bucket / f"part-{i}.csv", index=False)
    module = tmp_path / "course_bucket_standin.py"
    module.write_text(BUCKET_STANDIN)
    client.upload_file(str(module))
    sys.path.insert(0, str(tmp_path))
    import course_bucket_standin as standin

    real = {standin.use(str(tmp_path))}
    real |= set(client.run(standin.use, str(tmp_path)).values())
    try:
        assert {m.split(".")[0] for m in real} == {"gcsfs"}, real  # not "please install gcsfs"
        ddf = dd.read_csv("gs://course-data/taxi/*.csv", blocksize="16kB")
        assert ddf.npartitions >= 3
        assert len(ddf) == 1500
        assert ddf.fare.mean().compute() == pytest.approx(
            pd.concat(pd.read_csv(p) for p in sorted(bucket.iterdir())).fare.mean()
        )
    finally:
        standin.restore()
        client.run(standin.restore)
        sys.path.remove(str(tmp_path))
        sys.modules.pop("course_bucket_standin", None)


def test_zarr_round_trip_on_the_cluster(client, tmp_path):
    x = da.random.default_rng(0).random((400, 300), chunks=(100, 100))
    path = str(tmp_path / "x.zarr")
    x.to_zarr(path)
    back = da.from_zarr(path)
    assert back.chunks == x.chunks
    assert float((back - x).sum().compute()) == 0.0
    assert ran_on_workers(client, "store-map")


def test_xarray_round_trip_on_the_cluster(client, tmp_path):
    import xarray as xr

    times = pd.date_range("2026-01-01", periods=48, freq="h")
    ds = xr.Dataset(
        {"temperature": (("time", "x"), np.random.default_rng(0).random((48, 20)))},
        coords={"time": times, "x": np.arange(20)},
    ).chunk({"time": 12})
    path = str(tmp_path / "t.zarr")
    ds.to_zarr(path)
    back = xr.open_zarr(path)
    assert back.temperature.chunks is not None
    daily = back.temperature.resample(time="1D").mean().compute()
    expected = ds.temperature.resample(time="1D").mean().compute()
    xr.testing.assert_allclose(daily, expected)


# --- Task graphs and Spark


def test_visualize_to_png(client, tmp_path):
    x = da.ones((100, 100), chunks=50)
    path = tmp_path / "graph.png"
    (x + x.T).sum().visualize(filename=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ddf = dd.from_pandas(taxi_like(100), npartitions=2)
    ddf.fare.mean().visualize(filename=str(tmp_path / "frame.png"))
    assert (tmp_path / "frame.png").stat().st_size > 0


def test_spark_dataframes_with_arrow(tmp_path):
    """createDataFrame from pandas and toPandas through Arrow (no fallback), and a
    pandas UDF, without PySpark's warning about the pandas version."""
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import pandas_udf

    env = {"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .getOrCreate()
    )
    try:
        pdf = taxi_like(1000)
        pdf["zone"] = [f"z{i % 5}" for i in range(1000)]
        pdf["when"] = pd.date_range("2026-01-01", periods=1000, freq="min")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = spark.createDataFrame(pdf)
            by_zone = df.groupBy("zone").count().toPandas()

            @pandas_udf("double")
            def doubled(v: pd.Series) -> pd.Series:
                return v * 2.0

            out = df.select(doubled("x1").alias("d"), "x1").toPandas()
        assert sorted(by_zone["count"]) == [200] * 5
        assert np.allclose(out.d, 2 * out.x1)
        assert len(df.toPandas()) == 1000
        pandas_warnings = [str(w.message) for w in caught if "pandas" in str(w.message)]
        assert not pandas_warnings, pandas_warnings
    finally:
        spark.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_fixes_are_applied_in_every_process_of_the_environment(client):
    """course_hub_compat.pth installs the import hook in kernels and on workers alike."""

    def hooked() -> bool:
        import dask_ml.model_selection._incremental as inc

        return type(inc.dask).__name__ == "_DaskOnTheLoop"

    assert hooked()
    assert set(client.run(hooked).values()) == {True}
