"""The evaluation's taxi table: the real schema, the dirt to clean, any size, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dask
import pandas as pd

from course_hub.data import COLUMNS, DIRT, taxi_dataframe, taxi_pandas, write_taxi


def test_schema_dirt_and_determinism():
    df = taxi_pandas(200_000, seed=3)
    assert list(df.columns) == COLUMNS and len(df) == 200_000
    assert df.key.is_unique
    assert df.pickup_datetime.str.endswith(" UTC").all()
    share = df.dropoff_longitude.isna().mean()
    assert abs(share - DIRT["missing_dropoff"]) < 0.001
    zero = ((df.pickup_longitude == 0) | (df.dropoff_longitude == 0)).mean()
    assert abs(zero - DIRT["zero_coordinates"]) < 0.003
    assert (df.fare_amount <= 0).any() and (df.fare_amount > 400).any()
    assert (df.passenger_count == 0).any() and (df.passenger_count > 6).any()
    plausible = df[(df.fare_amount > 0) & (df.fare_amount < 250)]
    assert 8 < plausible.fare_amount.mean() < 14  # like the real table (about 11 USD)
    pd.testing.assert_frame_equal(df, taxi_pandas(200_000, seed=3))
    assert not df.equals(taxi_pandas(200_000, seed=4))


def test_dask_dataframe_is_generated_lazily():
    ddf = taxi_dataframe(10_000, 4, seed=1)
    assert ddf.npartitions == 4 and list(ddf.columns) == COLUMNS
    with dask.config.set(scheduler="synchronous"):
        assert len(ddf) == 10_000
        first = ddf.get_partition(0).compute()
    assert len(first) == 2500


def test_files_and_cli(tmp_path):
    paths = write_taxi(tmp_path / "csv", rows=1000, partitions=3, fmt="csv", progress=False)
    assert [p.name for p in paths] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    assert sum(len(pd.read_csv(p)) for p in paths) == 1000
    cli = str(Path(sys.executable).parent / "course-hub")
    proc = subprocess.run(
        [cli, "taxi-data", str(tmp_path / "pq"), "--rows", "5e3", "--partitions", "2",
         "--format", "parquet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 file(s), 5,000 rows" in proc.stdout and "2/2 partitions" in proc.stderr
    assert len(pd.read_parquet(tmp_path / "pq")) == 5000
    bad = subprocess.run(
        [cli, "taxi-data", str(tmp_path / "x"), "--rows", "0"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "at least 1" in bad.stderr
