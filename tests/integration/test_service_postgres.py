"""The course service on PostgreSQL: "any SQLAlchemy URL", for real.

A throw-away PostgreSQL server of the test's own (Debian's ``initdb`` and
``pg_ctl`` in a temporary folder, on a free loopback port, with a password)
holds the hand-in database; the driver is the locked ``psycopg``, as in the hub
image. The store's hand-in cycle runs on it directly (store, list, latest,
counts, zip, reopen), then through the real service process run by a real hub
(tests/integration/test_service.py's fixtures): hand-ins, the teacher's list and
zip, a kill of the service (the hub starts it again) and a restart of the whole
hub, losing nothing.

PostgreSQL's server programs come from Debian's ``postgresql`` package, which
tests/setup-machine installs (``make test`` runs it). Without them this test
fails with the command to run: it never skips.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests

from course_hub.service.handins import write_zip
from course_hub.service.store import HandInStore

from ..hubclient import Deadline
from .test_service import ServiceHub, handin_notebook, service_hub

T0 = dt.datetime(2027, 3, 1, 9, 30, 15, 250000, tzinfo=dt.UTC)


def server_programs() -> Path:
    """The folder of initdb and pg_ctl (the newest Debian PostgreSQL), or a failure
    that says how to install them."""
    override = os.environ.get("COURSE_TEST_PG_BIN")
    found = [Path(override)] if override else []
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).parent)
    for folder in found:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    sudo = "" if os.geteuid() == 0 else "sudo "
    pytest.fail(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed: this test runs "
        "the course service on a PostgreSQL of its own. Install them, then run it again:\n"
        f"  {sudo}apt-get update && {sudo}apt-get install -y postgresql\n"
        "(tests/setup-machine, run by `make test`, does it as root; COURSE_TEST_PG_BIN "
        "names another folder of initdb and pg_ctl.)"
    )
    raise AssertionError  # unreachable


def _major(folder: Path) -> int:
    name = folder.parent.name
    return int(name) if name.isdigit() else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    """A running throw-away PostgreSQL server; ``url(db)`` makes a database."""

    port: int
    user: str
    password: str

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def url(self, dbname: str) -> str:
        """A new database's SQLAlchemy URL (the driver named: psycopg 3)."""
        with self.connect() as db:
            db.execute(f'CREATE DATABASE "{dbname}"')
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def rows(self, dbname: str) -> list[tuple]:
        with self.connect(dbname) as db:
            return db.execute(
                'select id, "user", session, notebook, received, size, sha256, late'
                " from handins order by received, id"
            ).fetchall()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    bin_dir = server_programs()
    # initdb refuses to run as root: as root, the server runs as Debian's
    # postgres account (nobody where there is none).
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = pwd.getpwnam("nobody")
        as_user = ["runuser", "-u", owner.pw_name, "--"]
    top = Path(tempfile.mkdtemp(prefix="course-hub-pg-"))
    data, log = top / "data", top / "server.log"
    password = secrets.token_urlsafe(16)
    (top / "pw").write_text(password + "\n")
    if owner is not None:
        os.chown(top, owner.pw_uid, owner.pw_gid)
        os.chown(top / "pw", owner.pw_uid, owner.pw_gid)

    def run(*cmd: str, timeout: float = 120) -> None:
        proc = subprocess.run(
            [*as_user, *cmd], capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}\n{server_log}")

    port = free_port()
    t0 = time.monotonic()
    run(
        str(bin_dir / "initdb"),
        "-D", str(data),
        "-U", "course",
        f"--pwfile={top / 'pw'}",
        "--auth=scram-sha-256",
        "-E", "UTF8",
        "--no-sync",
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {top}"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    print(
        f"\nPostgreSQL {bin_dir.parent.name} on 127.0.0.1:{port} in {time.monotonic() - t0:.1f} s"
    )
    try:
        yield Postgres(port, "course", password)
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(top, ignore_errors=True)


# -- the store on PostgreSQL ----------------------------------------------------------


def zip_members(out) -> tuple[dict[str, bytes], list[dict]]:
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if n != "index.csv"}
        index = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode())))
    return members, index


def test_the_store_keeps_the_hand_in_cycle_on_postgresql(postgres, tmp_path):
    url = postgres.url("store_cycle")
    data_dir = tmp_path / "data"
    store = HandInStore(url, data_dir)
    assert store.engine.dialect.name == "postgresql"
    a1, a2, bob = (handin_notebook(t) for t in ("alice v1", "alice v2", "bob"))
    r1 = store.add("alice", "exam", "exam.ipynb", a1, late=False, received=T0)
    r2 = store.add("alice", "exam", "exam.ipynb", a2, True, T0 + dt.timedelta(seconds=1))
    rb = store.add("bob", "exam", "exam.ipynb", bob, False, T0 + dt.timedelta(seconds=2))
    store.add("bob", "other", "x.ipynb", bob, False, T0)  # same bytes: one file

    def check(s: HandInStore) -> None:
        assert [r["id"] for r in s.list("exam")] == [rb["id"], r2["id"], r1["id"]]
        assert [r["id"] for r in s.list("exam", "alice")] == [r2["id"], r1["id"]]
        assert [r["id"] for r in s.list("exam", latest=True)] == [rb["id"], r2["id"]]
        assert s.counts("exam") == {("alice", "exam.ipynb"): 2, ("bob", "exam.ipynb"): 1}
        assert s.count() == 4
        got = s.get(r1["id"])
        assert got.receipt == r1 and got.path.read_bytes() == a1
        assert r1["received"] == "2027-03-01T09:30:15.250Z" and r2["late"] is True
        members, index = zip_members(
            write_zip(s.list("exam", latest=True), s.counts("exam"), s.path_for)
        )
        assert members == {"alice/exam.ipynb": a2, "bob/exam.ipynb": bob}
        assert {(r["user"], r["handins"], r["late"]) for r in index} == {
            ("alice", "2", "yes"),
            ("bob", "1", "no"),
        }

    check(store)
    store.close()
    again = HandInStore(url, data_dir)  # a restart: a new engine on the same database
    try:
        check(again)
    finally:
        again.close()
    rows = postgres.rows("store_cycle")
    assert len(rows) == 4 and rows[0][4] == T0.replace(tzinfo=None)  # to the microsecond
    assert len([p for p in (data_dir / "handins").rglob("*") if p.is_file()]) == 3


# -- the service process on PostgreSQL --------------------------------------------------


@pytest.fixture(scope="module")
def pg_hub(tmp_path_factory, postgres) -> Iterator[ServiceHub]:
    env = {"COURSE_SERVICE_DB_URL": postgres.url("course_service")}
    with service_hub(tmp_path_factory.mktemp("pg-hub"), "service-pg-hub", env) as h:
        yield h


def hand_in(hub: ServiceHub, who: str, data: bytes) -> dict:
    r = hub.call(
        who,
        "POST",
        "api/sessions/exam/handins",
        params={"notebook": "exam.ipynb"},
        data=data,
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def teacher_view(hub: ServiceHub) -> tuple[list, list, dict[str, bytes]]:
    everyone = hub.call("teacher", "GET", "api/sessions/exam/handins").json()["handins"]
    latest = hub.call("teacher", "GET", "api/sessions/exam/handins", params={"latest": "1"})
    r = hub.call("teacher", "GET", "api/sessions/exam/handins.zip")
    assert r.status_code == 200, r.text
    members, _ = zip_members(io.BytesIO(r.content))
    return everyone, latest.json()["handins"], members


def wait_service_back(hub: ServiceHub, old_pid: int) -> None:
    deadline = Deadline(60, "the hub to start the course service again")
    while deadline:
        procs = hub.service_processes()
        if procs and procs[0].pid != old_pid:
            try:
                if hub.call("teacher", "GET", "api/me").status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.3)
    deadline.fail(hub.log_tail())


def test_the_service_on_postgresql_loses_nothing_across_restarts(pg_hub, postgres):
    hub = pg_hub
    sent = {
        "alice v1": hand_in(hub, "alice", handin_notebook("alice v1")),
        "bob": hand_in(hub, "bob", handin_notebook("bob")),
    }
    time.sleep(1.1)  # receipts are to the millisecond; latest is by time
    sent["alice v2"] = hand_in(hub, "alice", handin_notebook("alice v2"))
    rows = postgres.rows("course_service")
    assert sorted(r[0] for r in rows) == sorted(r["id"] for r in sent.values())
    assert not (hub.state / "course-service.sqlite").exists()  # PostgreSQL only
    log = hub.log_path.read_text(errors="replace")
    assert postgres.password not in log
    assert re.search(r"database postgresql\+psycopg://course:\*\*\*@127\.0\.0\.1:\d+/", log), log

    everyone, latest, members = teacher_view(hub)
    assert [h["id"] for h in everyone] == [sent[k]["id"] for k in ("alice v2", "bob", "alice v1")]
    assert {h["id"] for h in latest} == {sent["alice v2"]["id"], sent["bob"]["id"]}
    assert members == {
        "alice/exam.ipynb": handin_notebook("alice v2"),
        "bob/exam.ipynb": handin_notebook("bob"),
    }
    mine = hub.call("alice", "GET", "api/sessions/exam/handins").json()["handins"]
    assert {h["user"] for h in mine} == {"alice"} and len(mine) == 2
    before = (everyone, latest, members, hub.stored_files(), hub.stored_rows())

    restarts: list[tuple[str, Callable[[], None]]] = []

    def kill_service() -> None:
        (old,) = hub.service_processes()
        old.kill()
        wait_service_back(hub, old.pid)

    def restart_hub() -> None:
        hub.stop()
        hub.start()

    restarts = [("the service killed", kill_service), ("the hub restarted", restart_hub)]
    for what, restart in restarts:
        restart()
        assert (*teacher_view(hub), hub.stored_files(), hub.stored_rows()) == before, what
        for h in everyone:
            got = hub.call("teacher", "GET", f"api/handins/{h['id']}")
            assert hashlib.sha256(got.content).hexdigest() == h["sha256"], what
    again = hand_in(hub, "bob", handin_notebook("bob, after the restarts"))
    assert again["id"] in {r[0] for r in postgres.rows("course_service")}
