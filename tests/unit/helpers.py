"""Calling the course API through pytest-jupyter's ``jp_fetch``."""

from __future__ import annotations

import json
from typing import Any


async def call(jp_fetch, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    """One request to ``/course/api/<path>``; returns (status, decoded JSON or None)."""
    kwargs: dict[str, Any] = {"method": method, "raise_error": False, **kw}
    if body is not None:
        kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
    elif method in ("POST", "PATCH", "PUT"):
        kwargs["body"] = b""
        kwargs["allow_nonstandard_methods"] = True
    resp = await jp_fetch("course", "api", *path.strip("/").split("/"), **kwargs)
    text = resp.body.decode() if resp.body else ""
    return resp.code, json.loads(text) if text else None
