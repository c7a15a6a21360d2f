"""A taxi-fare table like the evaluation's, generated at any size, offline.

The real course reads the NYC taxi fare data (about 55 M rows) from object
storage. For offline classes and for tests this module makes a table with
the same schema and the same dirt the cleaning exercises are about: missing
coordinates, zeros instead of coordinates, absurd fares and passenger counts.
Fares follow the trip's length (with night and airport effects and noise), so
models learn something real.

Partitions are generated from ``(seed, partition)`` alone: a Dask DataFrame
built with :func:`taxi_dataframe` is generated *on the workers*, which need no
file at all; :mod:`course_hub.taxi_files` writes CSV or Parquet files of any
size (the full 55 M rows) in bounded memory, a block of rows at a time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = [
    "key",
    "fare_amount",
    "pickup_datetime",
    "pickup_longitude",
    "pickup_latitude",
    "dropoff_longitude",
    "dropoff_latitude",
    "passenger_count",
]
# Where trips start: midtown, downtown, uptown, JFK, LaGuardia.
_CENTERS = np.array(
    [[-73.985, 40.758], [-74.006, 40.713], [-73.955, 40.780], [-73.790, 40.644], [-73.874, 40.774]]
)
_WEIGHTS = [0.45, 0.25, 0.18, 0.07, 0.05]
_START = pd.Timestamp("2009-01-01").value // 10**9
_END = pd.Timestamp("2015-06-30").value // 10**9
# The dirt, as shares of rows.
DIRT = {
    "missing_dropoff": 0.003,
    "zero_coordinates": 0.02,
    "absurd_fare": 0.002,
    "zero_passengers": 0.003,
    "absurd_passengers": 0.0005,
}


def taxi_partition(
    partition: int, rows: int, seed: int = 42, block: int = 0, first_row: int = 0
) -> pd.DataFrame:
    """One partition: ``rows`` trips, the same for the same ``(seed, partition)``.

    A file too big for memory is written as blocks of one partition (``block``
    1, 2, ... draw from their own random streams; keys go on from
    ``first_row``); block 0 is the partition itself, so a small file holds
    exactly what :func:`taxi_dataframe` generates on the workers.
    """
    rng = np.random.default_rng([seed, partition] if block == 0 else [seed, partition, block])
    where = rng.choice(len(_CENTERS), size=rows, p=_WEIGHTS)
    pickup = _CENTERS[where] + rng.normal(0.0, [0.018, 0.014], size=(rows, 2))
    miles = rng.lognormal(mean=0.6, sigma=0.75, size=rows).clip(0.1, 45.0)
    angle = rng.uniform(0.0, 2 * math.pi, size=rows)
    # One degree is about 52 miles of longitude and 69 of latitude in New York.
    dropoff = pickup + np.column_stack(
        [miles / 52.0 * np.cos(angle), miles / 69.0 * np.sin(angle)]
    )
    seconds = rng.integers(_START, _END, size=rows)
    when = pd.to_datetime(seconds, unit="s")
    texts = _datetime_texts(seconds)
    night = (when.hour >= 20) | (when.hour < 6)
    later = when.year >= 2012  # the 2012 fare increase
    route = miles * rng.uniform(1.1, 1.8, size=rows)  # streets are not straight lines
    traffic = rng.lognormal(0.0, 0.25, size=rows)  # waiting time is billed too
    fare = 2.5 + 1.6 * route * traffic * np.where(later, 1.25, 1.0) + 0.5 * night
    tolls = np.where(rng.random(rows) < 0.08, 5.33, 0.0)
    fare = fare + tolls + rng.normal(0.0, 2.0, size=rows)
    airport = where == 3
    fare = np.where(airport & (miles > 10), np.where(later, 52.0, 45.0), fare)
    fare = np.round(np.maximum(fare, 2.5), 2)
    passengers = rng.choice(np.arange(1, 7), size=rows, p=[0.69, 0.15, 0.05, 0.03, 0.06, 0.02])

    df = pd.DataFrame(
        {
            "key": [f"{t}.{partition}.{i}" for i, t in enumerate(texts, start=first_row)],
            "fare_amount": fare,
            "pickup_datetime": [f"{t} UTC" for t in texts],
            "pickup_longitude": pickup[:, 0],
            "pickup_latitude": pickup[:, 1],
            "dropoff_longitude": dropoff[:, 0],
            "dropoff_latitude": dropoff[:, 1],
            "passenger_count": passengers,
        }
    )
    _add_dirt(df, rng)
    return df


def _datetime_texts(seconds: np.ndarray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS`` for epoch seconds, as ``strftime`` writes them.

    numpy's ISO formatting with the ``T`` overwritten: five times faster than
    pandas' ``strftime``, which was half of the generator's time at 55 M rows.
    """
    iso = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype("S19")
    iso.view(np.uint8).reshape(-1, 19)[:, 10] = ord(" ")
    return iso.astype("U19").tolist()


def _add_dirt(df: pd.DataFrame, rng: np.random.Generator) -> None:
    n = len(df)

    def pick(share: float) -> np.ndarray:
        return rng.random(n) < share

    rows = pick(DIRT["missing_dropoff"])
    df.loc[rows, ["dropoff_longitude", "dropoff_latitude"]] = np.nan
    rows = pick(DIRT["zero_coordinates"])
    which = rng.random(n) < 0.5
    df.loc[rows & which, ["pickup_longitude", "pickup_latitude"]] = 0.0
    df.loc[rows & ~which, ["dropoff_longitude", "dropoff_latitude"]] = 0.0
    rows = pick(DIRT["absurd_fare"])
    df.loc[rows, "fare_amount"] = rng.choice([-5.0, -2.5, 0.0, 499.0, 1273.3], size=rows.sum())
    df.loc[pick(DIRT["zero_passengers"]), "passenger_count"] = 0
    rows = pick(DIRT["absurd_passengers"])
    df.loc[rows, "passenger_count"] = rng.choice([9, 129, 208], size=rows.sum())


def taxi_pandas(rows: int, seed: int = 42) -> pd.DataFrame:
    """A pandas table of ``rows`` trips (the baseline's sample)."""
    return taxi_partition(0, rows, seed)


def taxi_dataframe(rows: int, partitions: int, seed: int = 42) -> Any:
    """A Dask DataFrame of about ``rows`` trips, generated where it is computed."""
    import dask.dataframe as dd

    per = math.ceil(rows / partitions)
    meta = taxi_partition(0, 1, seed).iloc[:0]
    return dd.from_map(taxi_partition, range(partitions), rows=per, seed=seed, meta=meta)
