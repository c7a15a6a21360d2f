"""The taxi table as CSV or Parquet files, at any size, in bounded memory.

``course-hub taxi-data OUT --rows 55e6`` writes the evaluation's table at the
size of the real one (the Kaggle ``train.csv``: 55 M rows), offline. Why it
is built this way:

- **Bounded memory.** Each file is written a block of ``chunk_rows`` rows at
  a time (:data:`CHUNK_ROWS`: about 30 MB of CSV), and at most two blocks per
  job are in flight: the peak depends on the block and the jobs, never on the
  rows. :class:`Written` reports the peak (this process and its jobs).
- **Deterministic.** Block ``b`` of file ``f`` is drawn from ``(seed, f, b)``
  alone (:func:`course_hub.data.taxi_partition`) and blocks are written in
  order, whatever the number of jobs: the same arguments give the same bytes.
- **As fast as the disk allows.** Drawing and formatting rows is CPU work, done
  by ``jobs`` processes (every core by default) while this one only writes;
  Arrow's CSV writer formats four times faster than pandas' ``to_csv``.
  :func:`plain_write` times a plain write of the same number of bytes to the
  same folder (what ``dd`` measures), so the two rates can be compared. Both
  include getting the bytes to disk (``fsync``), not only to the page cache.

One table per folder: part files of an earlier table there are replaced, and
:data:`MANIFEST` (written last) says what the folder holds, so a reader such
as the compute benchmark can reuse it without reading it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .data import COLUMNS, taxi_partition

#: Rows drawn and formatted at once, per job: about 30 MB of CSV, 150 MB of memory.
CHUNK_ROWS = 250_000
#: Written last: the folder's table is complete when it is there.
MANIFEST = "_taxi.json"
FORMATS = ("csv", "parquet")
_BLOCK = 8 * 2**20  # plain_write's unit, as `dd bs=8M`
_INLINE_ROWS = 500_000  # about what one process writes while jobs start


@dataclass
class Written:
    """What :func:`write_taxi` wrote, how long it took, and its peak memory."""

    paths: list[Path]
    rows: int
    bytes: int
    seconds: float
    peak_rss_mb: float
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def plan(rows: int, partitions: int, chunk_rows: int) -> list[list[tuple[int, int, int]]]:
    """Per file, its blocks as ``(block, first_row, rows)``: files as even as rows allow."""
    files = []
    for f in range(partitions):
        n = rows // partitions + (f < rows % partitions)
        files.append([(b, start, min(chunk_rows, n - start)) for b, start in
                      enumerate(range(0, n, chunk_rows))])  # fmt: skip
    return files


def render(task: tuple[int, int, int, int, int, str]) -> Any:
    """One block, formatted: CSV bytes (no header) or an Arrow table for Parquet."""
    import pyarrow as pa

    f, block, first_row, rows, seed, fmt = task
    table = pa.Table.from_pandas(
        taxi_partition(f, rows, seed, block=block, first_row=first_row), preserve_index=False
    )
    if fmt == "parquet":
        return table
    import pyarrow.csv as csv

    sink = pa.BufferOutputStream()
    # No quotes: no value of the table holds a comma or a quote, as in Kaggle's file.
    csv.write_csv(table, sink, csv.WriteOptions(include_header=False, quoting_style="none"))
    return sink.getvalue().to_pybytes()


def ordered_map(fn: Callable[[Any], Any], tasks: Iterable[Any], jobs: int) -> Iterator[Any]:
    """``map(fn, tasks)`` over ``jobs`` processes, in order, at most ``2 x jobs`` ahead.

    ``Pool.imap`` would queue every task at once and keep results a slow
    reader has not taken: memory would grow with the table.
    """
    if jobs <= 1:
        yield from map(fn, tasks)
        return
    # spawn: a fork of a threaded caller (a Dask client, the benchmark) may deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(pool.submit(fn, task))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class PeakRSS:
    """Peak resident memory of this process and its children together, sampled."""

    def __init__(self, interval: float = 0.1) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self, interval: float) -> None:
        me = psutil.Process()
        while True:
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            if self._stop.wait(interval):
                return

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check(rows: int, partitions: int, fmt: str, chunk_rows: int, jobs: int) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    if rows < 1 or partitions < 1:
        raise ValueError("rows and partitions must be at least 1")
    if partitions > rows:
        raise ValueError(f"{partitions} partitions for {rows} rows: some files would be empty")
    if chunk_rows < 1 or jobs < 1:
        raise ValueError("chunk rows and jobs must be at least 1")


def read_manifest(out: Path | str) -> dict[str, Any] | None:
    """What a complete folder holds (rows, seed, format...), or None."""
    try:
        return json.loads((Path(out) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def write_taxi(
    out: Path | str,
    rows: int,
    partitions: int = 10,
    fmt: str = "csv",
    seed: int = 42,
    progress: bool = True,
    chunk_rows: int | None = None,
    jobs: int | None = None,
) -> Written:
    """Write the table as ``part-NNNNN.csv`` (or ``.parquet``) files in ``out``.

    ``chunk_rows`` defaults to :data:`CHUNK_ROWS`, ``jobs`` to every core (one for
    a small table).
    """
    chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    if jobs is None:  # below _INLINE_ROWS, starting the jobs costs more than they save
        jobs = (os.cpu_count() or 1) if rows > _INLINE_ROWS else 1
    _check(rows, partitions, fmt, chunk_rows, jobs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for old in [*out.glob("part-*.csv"), *out.glob("part-*.parquet")]:
        old.unlink()
    files = plan(rows, partitions, chunk_rows)
    tasks = [(f, b, start, n, seed, fmt) for f, blocks in enumerate(files)
             for b, start, n in blocks]  # fmt: skip
    jobs = min(jobs, len(tasks))
    paths = [out / f"part-{f:05d}.{fmt}" for f in range(partitions)]
    bar = _bar(rows, progress)
    t0 = time.monotonic()
    written = 0
    with PeakRSS() as peak:
        results = ordered_map(render, tasks, jobs)
        for f, blocks in enumerate(files):
            if fmt == "csv":
                with open(paths[f], "wb") as sink:
                    sink.write((",".join(COLUMNS) + "\n").encode())
                    for _, _, n in blocks:
                        sink.write(next(results))
                        _advance(bar, n, written + sink.tell(), t0)
            else:
                import pyarrow.parquet as pq

                writer = None
                for _, _, n in blocks:
                    table = next(results)
                    writer = writer or pq.ParquetWriter(paths[f], table.schema)
                    writer.write_table(table)  # one row group per block
                    _advance(bar, n, written, t0)
                assert writer is not None
                writer.close()
            _sync(paths[f])
            written += paths[f].stat().st_size
        seconds = time.monotonic() - t0
    bar.close()
    manifest = {"rows": rows, "partitions": partitions, "format": fmt, "seed": seed,
                "chunk_rows": chunk_rows, "bytes": written,
                "files": [p.name for p in paths]}  # fmt: skip
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return Written(paths, rows, written, seconds, peak.mb, manifest)


def _advance(bar: Any, rows: int, nbytes: int, t0: float) -> None:
    """``rows`` more on the bar, with the rate so far (Parquet: of the files closed)."""
    elapsed = time.monotonic() - t0
    bar.set_postfix_str(f"{nbytes / 1e6 / elapsed:.0f} MB/s" if elapsed > 0 else "", refresh=False)
    bar.update(rows)


class _Lines:
    """The progress without tqdm (not in the students' image): a line that updates."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.postfix = total, 0, ""

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def update(self, n: int) -> None:
        self.done += n
        print(f"\rtaxi-data: {self.done:,}/{self.total:,} rows {self.postfix}", end="",
              file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        print(file=sys.stderr)


class _Off(_Lines):
    def update(self, n: int) -> None:
        self.done += n

    def close(self) -> None:
        pass


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _Off(total)
    try:
        from tqdm import tqdm
    except ImportError:
        return _Lines(total)
    return tqdm(total=total, desc="taxi-data", unit="row", unit_scale=True, file=sys.stderr)


def plain_write(folder: Path | str, nbytes: int) -> float:
    """Seconds to write ``nbytes`` of plain bytes into ``folder`` and ``fsync`` them.

    The disk's own speed for this table, the reference for the generator's:
    random bytes (a file system that compresses cannot shrink them), 8 MiB at
    a time, like ``dd if=/dev/urandom bs=8M``, then removed.
    """
    block = os.urandom(_BLOCK)
    path = Path(folder) / ".plain-write"
    t0 = time.monotonic()
    try:
        with open(path, "wb", buffering=0) as sink:
            left = nbytes
            while left > 0:
                left -= sink.write(block[: min(left, _BLOCK)])
            os.fsync(sink.fileno())
        return time.monotonic() - t0
    finally:
        path.unlink(missing_ok=True)
