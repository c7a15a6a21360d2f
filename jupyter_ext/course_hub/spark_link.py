"""The "Spark UI" link that ``sc`` and ``spark`` show, through the student's server.

Spark builds it from its own host and port (``http://localhost:4040``:
``spark.ui.proxyBase`` changes the UI's own links, never this one), which is
the student's laptop for the browser. This IPython extension, loaded in every
kernel (``etc/ipython/ipython_kernel_config.json`` in the wheel), registers
HTML formatters for SparkContext and SparkSession that show the same card
with the link through jupyter-server-proxy: ``<prefix>proxy/4040/jobs/``.
Outside a hub (no ``JUPYTERHUB_SERVICE_PREFIX``) Spark's own link stays.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

#: SparkContext's module in pyspark 4 and in pyspark 3.5.
CONTEXT_CLASSES = (("pyspark.core.context", "SparkContext"), ("pyspark.context", "SparkContext"))
SESSION_CLASSES = (("pyspark.sql.session", "SparkSession"),)


def proxied(ui_url: str | None, prefix: str | None = None) -> str | None:
    """``ui_url`` (``http://host:4040``) as the browser opens it through the server."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") if prefix is None else prefix
    if not ui_url or not prefix:
        return None
    port = urlsplit(ui_url).port
    return f"{prefix.rstrip('/')}/proxy/{port}/jobs/" if port else None


def _with_link(html: str | None, ui_url: str | None) -> str | None:
    link = proxied(ui_url)
    if html is None or not link or not ui_url:
        return html
    return html.replace(f'href="{ui_url}"', f'href="{link}" target="_blank"')


def _context_html(sc: Any) -> str | None:
    return _with_link(sc._repr_html_(), sc.uiWebUrl)


def _session_html(spark: Any) -> str | None:
    return _with_link(spark._repr_html_(), spark.sparkContext.uiWebUrl)


def load_ipython_extension(ip: Any) -> None:
    """Register the formatters (lazily: pyspark is imported only by the notebook)."""
    formatter = ip.display_formatter.formatters["text/html"]
    for module, name in CONTEXT_CLASSES:
        formatter.for_type_by_name(module, name, _context_html)
    for module, name in SESSION_CLASSES:
        formatter.for_type_by_name(module, name, _session_html)
