"""Hand-in rules: what a hand-in must be, when it is accepted, and the teacher's zip.

The deadline logic itself belongs to the assignment (``Assignment.lateness`` in
:mod:`course_hub.manifest`), so the students' servers and the service agree;
here it is applied to a request: refused with a sentence, accepted on time, or
accepted and marked late.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any

import nbformat

from ..errors import CourseError
from ..manifest import Assignment, Session

MIB = 1024 * 1024

#: The columns of index.csv in the teacher's zip.
INDEX_COLUMNS = (
    "user",
    "notebook",
    "received_utc",
    "late",
    "size",
    "sha256",
    "receipt_id",
    "handins",
)


def assignment_of(session: Session) -> Assignment:
    if session.assignment is None:
        raise CourseError(
            404, f"Session {session.title!r} has no assignment to hand in.", "no-assignment"
        )
    return session.assignment


def check_notebook_name(session: Session, notebook: str | None) -> str:
    """The notebook must be one the session's assignment asks for."""
    assignment = assignment_of(session)
    if not notebook:
        raise CourseError(
            400,
            "Say which notebook you hand in (?notebook=" + assignment.notebooks[0] + ").",
            "invalid",
        )
    if notebook not in assignment.notebooks:
        raise CourseError(
            404,
            f"{notebook!r} is not a notebook to hand in for {session.title!r} "
            f"(hand in {', '.join(assignment.notebooks)}).",
            "unknown",
        )
    return notebook


def check_deadline(session: Session, now: dt.datetime) -> bool:
    """Whether a hand-in received ``now`` is late; refuses one after the deadline
    (or after late_until)."""
    assignment = assignment_of(session)
    late = assignment.lateness(now)
    if late is None:
        when = assignment.late_until_at or assignment.deadline_at
        raise CourseError(
            409,
            f"The hand-in for {session.title!r} closed at {when:%Y-%m-%d %H:%M} "
            f"({assignment.timezone}): it is no longer accepted. Talk to your teacher.",
            "deadline",
        )
    return late


def _mb(size: int) -> str:
    return f"{size / MIB:.1f} MB" if size >= MIB // 10 else f"{size / 1024:.0f} KB"


def check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise CourseError(
            413,
            f"The notebook is {_mb(size)}; a hand-in may be at most {_mb(max_bytes)}. "
            "Clear the largest outputs (images, long tables), "
            "save, and hand in again.",
            "size",
        )


def read_ceiling(max_bytes: int) -> int:
    """How much of a too-large hand-in is read (and dropped) to answer it with a
    sentence; a larger body is refused at once (the client sees the connection close)."""
    return max_bytes + max(3 * max_bytes, 64 * MIB)


def check_notebook(data: bytes, max_bytes: int) -> None:
    """A hand-in must be a complete, valid Jupyter notebook (nbformat 4)."""
    check_size(len(data), max_bytes)
    unreadable = CourseError(
        400,
        "This is not a notebook file: it is not complete JSON (cut short, or another kind "
        "of file). Save the notebook in JupyterLab and hand it in again.",
        "invalid",
    )
    if not data.strip():
        raise CourseError(400, "The hand-in is empty: save the notebook first.", "invalid")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise unreadable from None
    if not isinstance(obj, dict) or "cells" not in obj or "nbformat" not in obj:
        raise CourseError(
            400, "This JSON file is not a Jupyter notebook (no cells, no nbformat).", "invalid"
        )
    if obj.get("nbformat") != 4:
        raise CourseError(
            400,
            f"This notebook has format {obj.get('nbformat')!r}; hand in a notebook saved "
            "by JupyterLab (format 4).",
            "invalid",
        )
    try:
        with warnings.catch_warnings():
            # Missing cell ids (format 4.4 and older savers) are repaired, not refused;
            # what is stored stays the bytes as sent.
            warnings.simplefilter("ignore")
            nbformat.validate(obj)
    except (nbformat.ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
        raise CourseError(
            400,
            f"This notebook is damaged and cannot be graded ({detail}). Save it again in "
            "JupyterLab and hand it in again.",
            "invalid",
        ) from None


def _entry_name(user: str, notebook: str) -> str:
    """``<user>/<notebook>`` inside the zip, with nothing that escapes its folder."""
    safe_user = "".join("_" if c in '/\\:*?"<>|\x00' else c for c in user).strip(".") or "_"
    return str(PurePosixPath(safe_user) / PurePosixPath(notebook))


def write_zip(
    latest: list[dict[str, Any]],
    counts: dict[tuple[str, str], int],
    path_for: Callable[[str], Path],
) -> IO[bytes]:
    """Every student's latest hand-in as ``<user>/<notebook>`` plus ``index.csv``,
    in a temporary file (a class's notebooks need not fit in memory)."""
    out = tempfile.TemporaryFile()
    rows = sorted(latest, key=lambda r: (r["user"], r["notebook"]))
    index = io.StringIO()
    writer = csv.writer(index, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for r in rows:
            zf.write(path_for(r["sha256"]), _entry_name(r["user"], r["notebook"]))
            writer.writerow(
                [
                    r["user"],
                    r["notebook"],
                    r["received"],
                    "yes" if r["late"] else "no",
                    r["size"],
                    r["sha256"],
                    r["id"],
                    counts.get((r["user"], r["notebook"]), 1),
                ]
            )
        zf.writestr("index.csv", index.getvalue())
    out.seek(0)
    return out
