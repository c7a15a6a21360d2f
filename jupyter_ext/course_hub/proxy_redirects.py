"""Redirects through jupyter-server-proxy that keep the student's prefix.

The Spark UI (``<server>/proxy/4040/``) answers ``/`` with a redirect to
``http://<the browser's host>/jobs/``: Jetty makes the target absolute from
the request's ``Host`` header, which jupyter-server-proxy passes on.
jupyter-server-proxy prefixes only a redirect to a bare path (``/jobs/`` ->
``/user/<name>/proxy/4040/jobs/``), so the browser lands on the hub's
``/jobs/``. :func:`keep_prefix` is a ``rewrite_response`` for
jupyter-server-proxy (``ServerProxy.non_service_rewrite_response``, set in the
servers' jupyter_server_config.py): a redirect to the very host the browser
asked becomes a bare path, which jupyter-server-proxy then prefixes. Redirects
elsewhere are left alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDIRECTS = (301, 302, 303, 307, 308)


def keep_prefix(response: Any, request: Any) -> None:
    """Turn a redirect to ``request``'s own host into a path (jupyter-server-proxy hook)."""
    if response.code not in REDIRECTS:
        return
    location = response.headers.get("Location")
    if not location:
        return
    target = urlsplit(location)
    if target.netloc and target.netloc.lower() == (request.host or "").lower():
        response.headers["Location"] = urlunsplit(("", "", target.path or "/", target.query, ""))
