"""Hand-ins kept for good: one database row each, the file content-addressed beside it.

The database (SQLAlchemy: SQLite in the hub's state folder by default, any URL
such as PostgreSQL by configuration) holds one row per hand-in: who, which
session and notebook, when the service received it, its size and sha256. The
bytes live once per content under ``<data_dir>/handins/<sha256[:2]>/<sha256>``,
written to a temporary file, flushed to disk and renamed into place, so a file
is either complete or absent. The row is committed after the file is in
place, so a row never points to a missing file; a file whose row could not be
committed is removed again unless an earlier hand-in shares it. Rows and files
are never changed nor deleted by the service: every hand-in stays, the latest
counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class HandIn(Base):
    """One hand-in: immutable once committed."""

    __tablename__ = "handins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    notebook: Mapped[str] = mapped_column(String(1024))
    #: The service's clock, UTC (stored naive: SQLite keeps no zone).
    received: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    def receipt(self) -> dict[str, Any]:
        """The receipt the APIs answer with (Receipt in the OpenAPI description)."""
        return {
            "id": self.id,
            "user": self.user,
            "session": self.session,
            "notebook": self.notebook,
            "received": self.received.replace(tzinfo=dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "size": self.size,
            "sha256": self.sha256,
            "late": self.late,
        }


@dataclass(frozen=True)
class Stored:
    """A hand-in read back: its receipt and where its bytes are."""

    receipt: dict[str, Any]
    path: Path


def utcnow() -> dt.datetime:
    """The service's clock (UTC)."""
    return dt.datetime.now(dt.UTC)


class HandInStore:
    """The hand-in database and files; plain synchronous methods (the web
    handlers call them in a thread)."""

    def __init__(self, db_url: str, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self.files = self.data_dir / "handins"
        self.files.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(db_url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # One writer at a time per file name (two identical hand-ins at once).
        self._write_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def path_for(self, sha256: str) -> Path:
        return self.files / sha256[:2] / sha256

    def _write_file(self, data: bytes, sha256: str) -> bool:
        """Put the bytes in place atomically; return whether this call created the file."""
        path = self.path_for(sha256)
        if path.is_file():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{sha256}.{secrets.token_hex(4)}.partial")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def add(
        self,
        user: str,
        session: str,
        notebook: str,
        data: bytes,
        late: bool,
        received: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Keep a hand-in (already checked) and return its receipt."""
        sha256 = hashlib.sha256(data).hexdigest()
        received = (received or utcnow()).astimezone(dt.UTC).replace(tzinfo=None)
        row = HandIn(
            id=secrets.token_hex(12),
            user=user,
            session=session,
            notebook=notebook,
            received=received,
            size=len(data),
            sha256=sha256,
            late=late,
        )
        with self._write_lock:
            created = self._write_file(data, sha256)
            try:
                with self._session.begin() as db:
                    db.add(row)
            except BaseException:
                if created and not self._sha_in_use(sha256):
                    self.path_for(sha256).unlink(missing_ok=True)
                raise
        return row.receipt()

    def _sha_in_use(self, sha256: str) -> bool:
        with self._session() as db:
            return bool(db.scalar(select(func.count()).where(HandIn.sha256 == sha256)))

    def list(
        self, session: str, user: str | None = None, latest: bool = False
    ) -> list[dict[str, Any]]:
        """Receipts of a session, newest first; ``user`` filters; ``latest`` keeps
        each student's newest per notebook."""
        query = select(HandIn).where(HandIn.session == session)
        if user is not None:
            query = query.where(HandIn.user == user)
        query = query.order_by(HandIn.received.desc(), HandIn.id.desc())
        with self._session() as db:
            rows = list(db.scalars(query))
        if latest:
            seen: set[tuple[str, str]] = set()
            kept = []
            for r in rows:
                if (r.user, r.notebook) not in seen:
                    seen.add((r.user, r.notebook))
                    kept.append(r)
            rows = kept
        return [r.receipt() for r in rows]

    def counts(self, session: str) -> dict[tuple[str, str], int]:
        """How many hand-ins each (user, notebook) made in a session."""
        query = (
            select(HandIn.user, HandIn.notebook, func.count())
            .where(HandIn.session == session)
            .group_by(HandIn.user, HandIn.notebook)
        )
        with self._session() as db:
            return {(u, n): c for u, n, c in db.execute(query)}

    def get(self, receipt_id: str) -> Stored | None:
        with self._session() as db:
            row = db.get(HandIn, receipt_id)
        if row is None:
            return None
        return Stored(row.receipt(), self.path_for(row.sha256))

    def count(self) -> int:
        with self._session() as db:
            return int(db.scalar(select(func.count()).select_from(HandIn)) or 0)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never wait for the writer; FULL: a committed hand-in survives a crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
