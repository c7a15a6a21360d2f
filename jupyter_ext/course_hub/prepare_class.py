"""``course-hub prepare-class``: start the class's servers before it starts.

A client of the course service's ``api/class/prepare`` (the service does the
work, at the hub's spawn concurrency, and keeps the prepared servers from the
idle culler until the class has started): it asks for a preparation with a
teacher's (or an admin's) token, then follows its progress with a tqdm bar
and prints each failure's sentence. The benchmark (bench/classday.py
--prepared) calls :func:`prepare_class` too.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import Any

import requests


class PrepareError(Exception):
    """The service refused or could not be reached: the message says why."""


def parse_until(text: str, now: dt.datetime | None = None) -> str:
    """``HH:MM`` (today, local time) or an ISO date and time, as ISO with its zone."""
    now = now or dt.datetime.now().astimezone()
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(part) for part in text.split(":"))
            when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        else:
            when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PrepareError(
            f"--until {text!r}: give HH:MM (today) or a date and time, e.g. 2026-12-07T09:00"
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # the local zone, as the teacher means it
    return when.isoformat()


def _message(r: requests.Response) -> str:
    try:
        return r.json()["message"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {r.status_code} from {r.url}"


def prepare_class(
    hub_url: str,
    token: str,
    students: list[str] | None = None,
    until: str | None = None,
    on_progress: Callable[[dict], None] | None = None,
    poll: float = 1.0,
    timeout: float = 3600.0,
) -> dict:
    """Ask the course service to prepare the class and wait until it is done.

    Returns the job's last model (``total``, ``started``, ``ready``, ``failed``,
    ``failures``); ``on_progress`` gets each model as it changes.
    """
    base = hub_url.rstrip("/") + "/services/course/api/class/prepare"
    http = requests.Session()
    http.headers["Authorization"] = f"token {token}"
    body: dict = {}
    if students:
        body["students"] = students
    if until:
        body["until"] = until
    r = http.post(base, json=body, timeout=60)
    if r.status_code != 202:
        raise PrepareError(_message(r))
    job = r.json()
    end = time.monotonic() + timeout
    last: dict | None = None
    while True:
        if job != last and on_progress:
            on_progress(job)
        last = job
        if job["done"]:
            return job
        if time.monotonic() > end:
            raise PrepareError(f"the preparation was not done after {timeout:.0f} s")
        time.sleep(poll)
        r = http.get(f"{base}/{job['id']}", timeout=60)
        if r.status_code != 200:
            raise PrepareError(_message(r))
        job = r.json()


def run(hub_url: str, token: str, students: list[str] | None, until: str | None) -> int:
    """The command: a progress bar, then a summary; 1 if any server failed."""
    try:
        from tqdm import tqdm
    except ImportError:  # not in the students' image: a line per change
        tqdm = None

    bar: Any = None

    def show(job: dict) -> None:
        nonlocal bar
        if tqdm is None:
            print(
                f"{job['ready']}/{job['total']} ready, {job['started']} started, "
                f"{job['failed']} failed",
                file=sys.stderr,
            )
            return
        if bar is None:
            bar = tqdm(total=job["total"], unit="server", desc="ready", file=sys.stderr)
        bar.n = job["ready"] + job["failed"]
        bar.set_postfix(started=job["started"], failed=job["failed"], refresh=False)
        bar.refresh()

    try:
        job = prepare_class(hub_url, token, students, until, on_progress=show)
    finally:
        if bar is not None:
            bar.close()
    print(
        f"{job['ready']} of {job['total']} server(s) ready, {job['failed']} failed; "
        f"the idle culler spares them until {job['keep_until']}"
    )
    for failure in job["failures"]:
        print(f"  {failure['user']}: {failure['message']}")
    return 1 if job["failed"] else 0
