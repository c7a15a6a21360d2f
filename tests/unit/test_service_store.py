"""The course service's hand-in store and rules, without HTTP: rows and
content-addressed files (nothing partial, nothing lost on reopening), what a
hand-in must be, the deadline applied to a request, and the teacher's zip."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from sqlalchemy import text

from course_hub.errors import CourseError
from course_hub.manifest import parse_manifest
from course_hub.service.handins import (
    INDEX_COLUMNS,
    MIB,
    check_deadline,
    check_notebook,
    check_notebook_name,
    read_ceiling,
    write_zip,
)
from course_hub.service.store import HandInStore

T0 = dt.datetime(2027, 1, 15, 16, 0, tzinfo=dt.UTC)


def notebook(text: str) -> bytes:
    nb = new_notebook(cells=[new_code_cell(f"print({text!r})")])
    nb.cells[0]["id"] = "c0"
    return (nbformat.writes(nb) + "\n").encode()


@pytest.fixture
def store(tmp_path: Path) -> HandInStore:
    s = HandInStore(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data")
    yield s
    s.close()


def files(store: HandInStore) -> list[Path]:
    return sorted(p for p in store.files.rglob("*") if p.is_file())


def test_a_hand_in_is_a_row_and_a_content_addressed_file(store):
    data = notebook("one")
    receipt = store.add("alice", "exam", "a.ipynb", data, late=False, received=T0)
    sha = hashlib.sha256(data).hexdigest()
    assert receipt == {
        "id": receipt["id"],
        "user": "alice",
        "session": "exam",
        "notebook": "a.ipynb",
        "received": "2027-01-15T16:00:00.000Z",
        "size": len(data),
        "sha256": sha,
        "late": False,
    }
    assert files(store) == [store.files / sha[:2] / sha]
    assert (store.files / sha[:2] / sha).read_bytes() == data
    got = store.get(receipt["id"])
    assert got.receipt == receipt and got.path.read_bytes() == data
    assert store.get("0" * 24) is None


def test_every_hand_in_is_kept_the_latest_first_same_bytes_stored_once(store):
    a1 = store.add("alice", "exam", "a.ipynb", notebook("v1"), False, T0)
    a2 = store.add("alice", "exam", "a.ipynb", notebook("v2"), False, T0 + dt.timedelta(seconds=1))
    a3 = store.add("alice", "exam", "a.ipynb", notebook("v1"), True, T0 + dt.timedelta(seconds=2))
    b1 = store.add("bob", "exam", "a.ipynb", notebook("bob"), False, T0)
    store.add("bob", "other", "x.ipynb", notebook("bob"), False, T0)
    assert [r["id"] for r in store.list("exam", "alice")] == [a3["id"], a2["id"], a1["id"]]
    assert [r["id"] for r in store.list("exam", latest=True)] == [a3["id"], b1["id"]]
    assert store.counts("exam") == {("alice", "a.ipynb"): 3, ("bob", "a.ipynb"): 1}
    assert store.count() == 5
    assert len(files(store)) == 3  # v1 (twice), v2, bob's (twice)


def test_reopening_the_database_loses_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = HandInStore(url, tmp_path / "data")
    receipt = first.add("alice", "exam", "a.ipynb", notebook("kept"), True, T0)
    first.close()
    again = HandInStore(url, tmp_path / "data")
    assert again.list("exam") == [receipt]
    assert again.get(receipt["id"]).path.read_bytes() == notebook("kept")
    again.close()


def test_a_failed_commit_leaves_no_file_and_no_row(store):
    kept = store.add("alice", "exam", "a.ipynb", notebook("kept"), False, T0)
    with store.engine.begin() as db:  # the database refuses every write from now on
        db.execute(
            text(
                "CREATE TRIGGER no_more BEFORE INSERT ON handins "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    before = files(store)
    with pytest.raises(Exception, match="disk full"):
        store.add("bob", "exam", "a.ipynb", notebook("lost"), False, T0)
    assert files(store) == before  # the new file was removed again
    # The same bytes as an earlier hand-in: that file stays, it is the earlier one's.
    with pytest.raises(Exception, match="disk full"):
        store.add("bob", "exam", "a.ipynb", notebook("kept"), False, T0)
    assert files(store) == before
    assert store.list("exam") == [kept]
    assert not list(store.files.rglob("*.partial"))


# -- what a hand-in must be -----------------------------------------------------

GOOD = notebook("fine")


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (GOOD[:-30], 400, "not complete JSON"),
        (b"\x89PNG\r\n\x1a\n", 400, "not complete JSON"),
        (b"", 400, "empty"),
        (b"   \n", 400, "empty"),
        (b"[1, 2]", 400, "not a Jupyter notebook"),
        (b'{"a": 1}', 400, "not a Jupyter notebook"),
        (json.dumps({"cells": [], "nbformat": 3}).encode(), 400, "format 3"),
        (
            json.dumps(
                {"cells": [{}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            ).encode(),
            400,
            "damaged",
        ),
        (
            json.dumps(
                {"cells": "x", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            ).encode(),
            400,
            "damaged",
        ),
        (b"[" * 100_000, 400, "not complete JSON"),
        (GOOD + b" " * 300_000, 413, "at most 0.2 MB"),
    ],
    ids=[
        "truncated",
        "binary",
        "empty",
        "blank",
        "a list",
        "other JSON",
        "nbformat 3",
        "bad cell",
        "cells not a list",
        "deeply nested",
        "too big",
    ],
)
def test_what_is_not_a_notebook_is_refused_with_a_sentence(data, status, words):
    with pytest.raises(CourseError) as info:
        check_notebook(data, max_bytes=200_000)
    assert info.value.status == status
    assert words in info.value.message
    assert info.value.reason == ("size" if status == 413 else "invalid")


def test_a_notebook_without_cell_ids_is_accepted_as_sent():
    old = json.loads(GOOD)
    old["nbformat_minor"] = 4
    del old["cells"][0]["id"]
    data = json.dumps(old).encode()
    check_notebook(data, max_bytes=MIB)
    assert json.loads(data) == old  # validation does not touch what is stored


def test_an_oversized_body_is_read_then_refused_up_to_a_ceiling():
    assert read_ceiling(20 * MIB) == 84 * MIB
    assert read_ceiling(1 * MIB) == 65 * MIB


# -- the assignment, applied to a request ---------------------------------------


def session(late_until: str | None = None):
    assignment = {
        "notebooks": ["a.ipynb"],
        "deadline": "2027-01-15 18:00",
        "timezone": "Europe/Paris",
    }
    if late_until:
        assignment["late_until"] = late_until
    m = parse_manifest(
        {
            "course": {"id": "c", "title": "C"},
            "sessions": [
                {
                    "id": "exam",
                    "title": "Exam",
                    "duration": "1h",
                    "notebooks": [
                        {"path": "a.ipynb", "title": "A"},
                        {"path": "b.ipynb", "title": "B"},
                    ],
                    "assignment": assignment,
                },
                {"id": "intro", "title": "Intro", "duration": "1h"},
            ],
        }
    )
    return m.session("exam"), m.session("intro")


def test_only_the_assignment_notebooks_are_accepted():
    exam, intro = session()
    assert check_notebook_name(exam, "a.ipynb") == "a.ipynb"
    for name, status in [("b.ipynb", 404), ("../a.ipynb", 404), (None, 400), ("", 400)]:
        with pytest.raises(CourseError) as info:
            check_notebook_name(exam, name)
        assert info.value.status == status
    with pytest.raises(CourseError) as info:
        check_notebook_name(intro, "a.ipynb")
    assert (info.value.status, info.value.reason) == (404, "no-assignment")


def test_the_deadline_applied_to_a_hand_in():
    deadline = dt.datetime(2027, 1, 15, 17, tzinfo=dt.UTC)  # 18:00 in Paris
    strict, _ = session()
    assert check_deadline(strict, deadline) is False
    with pytest.raises(CourseError) as info:
        check_deadline(strict, deadline + dt.timedelta(seconds=1))
    assert info.value.status == 409 and info.value.reason == "deadline"
    assert "closed at 2027-01-15 18:00 (Europe/Paris)" in info.value.message
    lenient, _ = session(late_until="2027-01-16 18:00")
    assert check_deadline(lenient, deadline + dt.timedelta(hours=1)) is True
    with pytest.raises(CourseError) as info:
        check_deadline(lenient, deadline + dt.timedelta(days=1, seconds=1))
    assert "closed at 2027-01-16 18:00" in info.value.message


# -- the teacher's zip ----------------------------------------------------------


def test_the_zip_holds_each_latest_hand_in_and_an_index(store):
    sent = {}
    store.add("alice", "exam", "a.ipynb", notebook("alice old"), False, T0)
    for i, (user, nb, text_) in enumerate(
        [("alice", "a.ipynb", "alice new"), ("bob", "a.ipynb", "bob"), ("bob", "sub/b.ipynb", "b")]
    ):
        data = notebook(text_)
        r = store.add(
            user, "exam", nb, data, late=user == "bob", received=T0 + dt.timedelta(seconds=i + 1)
        )
        sent[f"{user}/{nb}"] = (data, r)
    out = write_zip(store.list("exam", latest=True), store.counts("exam"), store.path_for)
    zf = zipfile.ZipFile(io.BytesIO(out.read()))
    out.close()
    assert sorted(zf.namelist()) == sorted([*sent, "index.csv"])
    index = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode())))
    assert tuple(index[0]) == INDEX_COLUMNS
    assert [f"{r['user']}/{r['notebook']}" for r in index] == sorted(sent)
    for row in index:
        data, receipt = sent[f"{row['user']}/{row['notebook']}"]
        assert zf.read(f"{row['user']}/{row['notebook']}") == data
        assert row["sha256"] == hashlib.sha256(data).hexdigest() == receipt["sha256"]
        assert row["receipt_id"] == receipt["id"] and row["received_utc"] == receipt["received"]
        assert row["late"] == ("yes" if row["user"] == "bob" else "no")
        assert row["size"] == str(len(data))
    assert [r["handins"] for r in index] == ["2", "1", "1"]


def test_user_names_cannot_escape_their_folder_in_the_zip(store):
    store.add("../evil", "exam", "a.ipynb", notebook("x"), False, T0)
    store.add("a/b", "exam", "a.ipynb", notebook("y"), False, T0)
    out = write_zip(store.list("exam", latest=True), store.counts("exam"), store.path_for)
    names = zipfile.ZipFile(out).namelist()
    out.close()
    assert sorted(names) == ["_evil/a.ipynb", "a_b/a.ipynb", "index.csv"]


def test_an_empty_zip_has_just_the_index(store):
    out = write_zip([], {}, store.path_for)
    zf = zipfile.ZipFile(out)
    assert zf.namelist() == ["index.csv"]
    assert zf.read("index.csv").decode().strip() == ",".join(INDEX_COLUMNS)
    out.close()
