"""The evaluation's taxi table: the real schema, the dirt to clean, any size, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dask
import pandas as pd
import pytest

from course_hub.cli import main
from course_hub.data import COLUMNS, DIRT, taxi_dataframe, taxi_pandas, taxi_partition
from course_hub.taxi_files import MANIFEST, ordered_map, plan, read_manifest, write_taxi


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


CLI = str(Path(sys.executable).parent / "course-hub")


def taxi_data(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "taxi-data", *args], capture_output=True, text=True, check=False)


def test_files_read_back_as_generated(tmp_path):
    w = write_taxi(tmp_path / "csv", rows=1000, partitions=3, fmt="csv", progress=False)
    assert [p.name for p in w.paths] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    assert w.rows == 1000 and w.bytes == sum(p.stat().st_size for p in w.paths)
    # A file of one block is the partition the Dask workers generate, value for value.
    first = pd.read_csv(w.paths[0])
    pd.testing.assert_frame_equal(first, taxi_partition(0, 334, 42))
    assert sum(len(pd.read_csv(p)) for p in w.paths) == 1000
    assert read_manifest(tmp_path / "csv") == {**w.manifest, "rows": 1000, "format": "csv"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes_whatever_the_jobs(tmp_path, fmt):
    def files(name: str, seed: int = 5, jobs: int = 1) -> list[bytes]:
        w = write_taxi(tmp_path / name, 6000, 2, fmt, seed, False, chunk_rows=1000, jobs=jobs)
        return [p.read_bytes() for p in w.paths]

    one = files("a")
    assert files("b") == one
    assert files("c", jobs=2) == one  # the blocks' order, not the jobs', makes the file
    assert files("d", seed=6) != one


def test_blocks_bound_the_memory(tmp_path):
    # Each file is written in blocks of at most chunk_rows rows, with their own streams.
    assert plan(10, 3, 2) == [
        [(0, 0, 2), (1, 2, 2)],
        [(0, 0, 2), (1, 2, 1)],
        [(0, 0, 2), (1, 2, 1)],
    ]
    w = write_taxi(tmp_path / "t", 5000, 1, "parquet", 3, False, chunk_rows=1000)
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(w.paths[0]).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000] * 5
    table = pd.read_parquet(w.paths[0])
    assert table.key.is_unique and len(table) == 5000
    pd.testing.assert_frame_equal(table.iloc[:1000], taxi_partition(0, 1000, 3))
    assert table.iloc[1000:2000].fare_amount.tolist() != table.iloc[:1000].fare_amount.tolist()
    assert w.peak_rss_mb > 0
    # Jobs never run more than two blocks each ahead of the writer.
    pulled = []

    def tasks():
        for i in range(20):
            pulled.append(i)
            yield -i

    for done, result in enumerate(ordered_map(abs, tasks(), jobs=2), start=1):
        assert result == done - 1
        assert len(pulled) - done <= 4


def test_cli_writes_and_compares_with_the_disk(tmp_path):
    proc = taxi_data(str(tmp_path / "pq"), "--rows", "5e3", "--partitions", "2",
                     "--format", "parquet", "--measure-disk")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 file(s), 5,000 rows" in proc.stdout and "peak RSS" in proc.stdout
    assert "plain write of the same" in proc.stdout
    assert "taxi-data" in proc.stderr and "5.00k/5.00k" in proc.stderr  # the progress bar
    assert len(pd.read_parquet(tmp_path / "pq")) == 5000
    assert not (tmp_path / "pq" / ".plain-write").exists()
    # Writing another table there replaces the first: one table per folder.
    assert (
        taxi_data(str(tmp_path / "pq"), "--rows", "10", "--partitions", "1", "-q").returncode == 0
    )
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == [MANIFEST, "part-00000.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "0"], "at least 1"),
        (["--rows", "1.5"], "whole number"),
        (["--rows", "3", "--partitions", "5"], "some files would be empty"),
        (["--chunk-rows", "0"], "at least 1"),
        (["--jobs", "0"], "at least 1"),
        (["--format", "xml"], "invalid choice"),
    ],
)
def test_cli_errors(tmp_path, capsys, args, message):
    try:
        code = main(["taxi-data", str(tmp_path / "x"), *args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x" / MANIFEST).exists()


def test_cli_refuses_a_file_as_folder(tmp_path, capsys):
    (tmp_path / "f").write_text("not a folder")
    assert main(["taxi-data", str(tmp_path / "f"), "--rows", "10"]) == 2
    assert "course-hub taxi-data:" in capsys.readouterr().err
