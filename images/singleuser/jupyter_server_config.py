"""Server settings baked into the single-user image (/etc/jupyter)."""

import os

c = get_config()  # noqa: F821

# jupyter-server-proxy may forward to the gateway's host (dashboards behind the
# student's login) besides the server itself (Spark UI on port 4040).
c.ServerProxy.host_allowlist = [
    "localhost",
    "127.0.0.1",
    *[h.strip() for h in os.environ.get("COURSE_PROXY_HOSTS", "").split(",") if h.strip()],
]
