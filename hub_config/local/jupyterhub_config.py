"""JupyterHub for one machine, without Docker: what `make hub` runs.

Started by `course-hub hub` (see the Makefile), or directly with
`jupyterhub -f hub_config/local/jupyterhub_config.py`. Every site-specific
value comes from an environment variable (see docs/admin-local.md); all state
goes to $COURSE_STATE_DIR (default .state/ in the checkout).
"""

import os
import sys
from pathlib import Path

from course_hub.hub.accounts import auth_mode
from course_hub.hub.local import credentials, local_layout, roster
from course_hub.hub.secrets import ensure_secret, token
from course_hub.hub.wiring import (
    gateway_environment,
    service_base_url,
    wire_course,
    wire_sharing,
)

c = get_config()

here = Path(__file__).resolve().parent
layout = local_layout(here.parent.parent)
logins = credentials(layout.secrets)
bin_dir = Path(sys.executable).parent
layout.state.mkdir(parents=True, exist_ok=True, mode=0o700)

# --- Network: loopback only; one machine, one teacher.
c.JupyterHub.bind_url = layout.url
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = layout.hub_api_port
# configurable-http-proxy from hub_config/local/node_modules (npm ci), managed by the hub.
c.ConfigurableHTTPProxy.command = [layout.proxy_command()]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{layout.proxy_api_port}"
c.ConfigurableHTTPProxy.auth_token = ensure_secret(layout.secrets / "proxy-token", token)[0]
c.ConfigurableHTTPProxy.pid_file = str(layout.state / "proxy.pid")

# --- State: the hub database and cookie secret in the state folder.
c.JupyterHub.db_url = f"sqlite:///{layout.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret = bytes.fromhex(
    ensure_secret(layout.secrets / "cookie-secret", token)[0]
)
c.JupyterHub.pid_file = str(layout.state / "jupyterhub.pid")

# --- Logins: each student's own account and password (docs/teachers.md, "Accounts");
# teachers (COURSE_ADMIN_USERS) log in with the admin password, set at each start.
c.Authenticator.admin_users = set(logins.admin_users)
if auth_mode() == "workshop":
    # COURSE_AUTH=workshop: one course password for everyone (warned about in the log).
    c.JupyterHub.authenticator_class = "course_hub.hub.accounts.WorkshopAuthenticator"
    c.SharedPasswordAuthenticator.user_password = logins.student_password
    c.SharedPasswordAuthenticator.admin_password = logins.admin_password
else:
    c.JupyterHub.authenticator_class = "course_hub.hub.accounts.CourseAuthenticator"
    c.CourseAuthenticator.admin_password = logins.admin_password
    # Handouts of the roster's generated passwords: beside the other secrets (0600).
    c.CourseAuthenticator.handout_dir = str(layout.secrets)
# An optional roster (COURSE_ROSTER, one name per line) limits who may log in.
allowed = roster(os.environ.get("COURSE_ROSTER"))
if allowed is None:
    c.Authenticator.allow_all = True
else:
    c.Authenticator.allowed_users = allowed

# --- Servers: one process per student, home under the state folder, JupyterLab.
# (SimpleLocalProcessSpawner, stopping servers with SIGTERM so they clean up.)
c.JupyterHub.spawner_class = "course_hub.hub.spawner.CourseLocalSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(layout.homes / "{username}")
c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
# As root every student runs as root too (no OS accounts in this mode); say so explicitly.
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 60
c.Spawner.environment = {
    **layout.env(),
    "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    # The gateway on this machine, not through the hub's proxy; dashboards open
    # through the student's own server, which adds its hub token (the gateway
    # serves a dashboard to its owner and teachers only).
    **gateway_environment(
        f"127.0.0.1:{layout.gateway_http_port}",
        f"127.0.0.1:{layout.gateway_tcp_port}",
        dashboard_token=True,
    ),
    # Spark would otherwise bind to a non-loopback address.
    "SPARK_LOCAL_IP": "127.0.0.1",
}

# Servers (and their clusters) outlive a restart of the hub; Ctrl-C on
# `course-hub hub` still stops everything, the launcher sees to it.
c.JupyterHub.cleanup_servers = False

# --- Services: Dask Gateway, the idle culler and the course service (below),
# all started and stopped by the hub.
cluster_env = {
    name: os.environ[name]
    for name in (
        "COURSE_CLUSTER_MAX_WORKERS",
        "COURSE_CLUSTER_MAX_CORES",
        "COURSE_CLUSTER_MAX_MEMORY_GIB",
        "COURSE_CLUSTER_IDLE_TIMEOUT",
        "COURSE_CLUSTER_NO_CLIENT_TIMEOUT",
        "COURSE_USER_MAX_CLUSTERS",
        "COURSE_USER_MAX_CORES",
        "COURSE_USER_MAX_MEMORY_GIB",
    )
    if name in os.environ
}
c.JupyterHub.services = [
    {
        # No "url": the hub's proxy gets no route to the gateway; servers reach
        # it directly, and students open dashboards through their own server
        # (behind their login; the gateway checks the owner's hub token).
        "name": "dask-gateway",
        "command": [
            str(bin_dir / "dask-gateway-server"),
            "-f",
            str(here / "dask_gateway_config.py"),
        ],
        # The session presets come from the course service (one source of truth).
        "environment": {
            **layout.env(),
            **cluster_env,
            "PATH": c.Spawner.environment["PATH"],
            "COURSE_SERVICE_URL": service_base_url(layout.course_service_url),
        },
        "display": False,
    },
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={os.environ.get('COURSE_IDLE_TIMEOUT', '3600')}",
        ],
    },
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]

# --- The course (course_hub/hub/wiring.py, the same for every deployment): the
# course service on HUB_PORT+6 with its state beside the hub's, reading the
# course from the checkout (or COURSE_CONTENT_DIR / COURSE_CONTENT_REPO); the
# roles (students, servers and the gateway reach the gateway and the service;
# shares); the servers' COURSE_SERVICE_URL.
# Without Docker students run as this OS account and could read the course
# folder itself: `course-hub hub` warns about it (docs/security.md).
wire_sharing(c)
wire_course(
    c,
    url=layout.course_service_url,
    state_dir=str(layout.course_service_dir),
    content_dir=str(layout.content_dir),
    extra_env=layout.env(),
)
