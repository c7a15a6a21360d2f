"""Secrets generated at first start, kept in the state folder with mode 0600.

Nothing secret is ever committed or baked into an image: each deployment
makes its own on first start and reuses them afterwards, so restarts keep
logins, cookies and the gateway's encrypted database valid.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def token(nbytes: int = 32) -> str:
    return secrets.token_hex(nbytes)


def password(nbytes: int = 12) -> str:
    """A password that survives being read aloud or typed from a slide."""
    return secrets.token_urlsafe(nbytes).replace("-", "x").replace("_", "y")


def fernet_key() -> str:
    """A key for dask-gateway's database encryption (32 url-safe base64 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def ensure_secret(path: Path | str, generate: Callable[[], str]) -> tuple[str, bool]:
    """Read the secret at ``path``, creating it first if needed.

    Returns ``(value, created)``. The value is written to a private temporary
    file (mode 0600) that is then hard-linked into place: two processes
    starting together agree on one value, and none ever reads a half-written
    file.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(generate() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                created = False
        finally:
            tmp.unlink()
    else:
        created = False
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"{path} is empty: delete it to generate a new secret")
    return value, created


def read_secret(path: Path | str) -> str:
    """A secret that another process generated (e.g. compose's init service)."""
    path = Path(path)
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        raise ValueError(
            f"{path} is missing: generate the secrets first (course-hub secrets)"
        ) from None
    if not value:
        raise ValueError(f"{path} is empty: delete it and generate the secrets again")
    return value
