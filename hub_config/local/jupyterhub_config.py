"""JupyterHub for one machine, without Docker: what `make hub` runs.

Started by `course-hub hub` (see the Makefile), or directly with
`jupyterhub -f hub_config/local/jupyterhub_config.py`. Every site-specific
value comes from an environment variable (see docs/admin-local.md); all state
goes to $COURSE_STATE_DIR (default .state/ in the checkout).
"""

import os
import sys
from pathlib import Path

from course_hub.content import CONTENT_SOURCE_VARS
from course_hub.hub.local import credentials, local_layout, roster
from course_hub.hub.secrets import ensure_secret, token

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

# --- Logins: one course password for students, an admin password for teachers.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = logins.student_password
c.SharedPasswordAuthenticator.admin_password = logins.admin_password
c.Authenticator.admin_users = set(logins.admin_users)
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
gateway_prefix = "/services/dask-gateway"
c.Spawner.environment = {
    **layout.env(),
    "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    # Notebooks, the course extension and dask-labextension all reach the
    # gateway through the dask config, authenticated with the student's hub token.
    "DASK_GATEWAY__ADDRESS": layout.gateway_url,
    "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://127.0.0.1:{layout.gateway_tcp_port}",
    # Dashboard links go through the student's own server (jupyter-server-proxy),
    # hence behind their login; the template is filled in by dask-gateway.
    "DASK_GATEWAY__PUBLIC_ADDRESS": (
        f"{{JUPYTERHUB_SERVICE_PREFIX}}proxy/127.0.0.1:{layout.gateway_http_port}{gateway_prefix}"
    ),
    "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    # dask-labextension's NEW button makes Gateway clusters.
    "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
    "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
    # Spark would otherwise bind to a non-loopback address.
    "SPARK_LOCAL_IP": "127.0.0.1",
    # The Spark UI, through jupyter-server-proxy: its links carry this prefix.
    "APPLICATION_WEB_PROXY_BASE": lambda spawner: f"{spawner.user.url}proxy/4040",
    # Teachers (admins) get the notebooks with their solutions.
    "COURSE_SOLUTIONS": lambda spawner: "1" if spawner.user.admin else "0",
}
for name in CONTENT_SOURCE_VARS:
    if os.environ.get(name):
        c.Spawner.environment[name] = os.environ[name]

# Servers (and their clusters) outlive a restart of the hub; Ctrl-C on
# `course-hub hub` still stops everything, the launcher sees to it.
c.JupyterHub.cleanup_servers = False

# --- Services: Dask Gateway and the idle culler, both started and stopped by the hub.
cluster_env = {
    name: os.environ[name]
    for name in (
        "COURSE_CLUSTER_MAX_WORKERS",
        "COURSE_CLUSTER_MAX_CORES",
        "COURSE_CLUSTER_MAX_MEMORY_GIB",
        "COURSE_CLUSTER_IDLE_TIMEOUT",
        "COURSE_USER_MAX_CLUSTERS",
        "COURSE_USER_MAX_CORES",
        "COURSE_USER_MAX_MEMORY_GIB",
        # The gateway reads the session presets from the servers' course source.
        *CONTENT_SOURCE_VARS,
    )
    if name in os.environ
}
c.JupyterHub.services = [
    {
        # No "url": the hub's proxy gets no route to the gateway, whose dashboard
        # pages answer without a login; servers reach it directly, and students
        # open dashboards through their own server (behind their login).
        "name": "dask-gateway",
        "command": [
            str(bin_dir / "dask-gateway-server"),
            "-f",
            str(here / "dask_gateway_config.py"),
        ],
        "environment": {**layout.env(), **cluster_env, "PATH": c.Spawner.environment["PATH"]},
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

# --- Permissions: students' and servers' tokens may reach the gateway
# (it checks access:services!service=dask-gateway); the culler stops idle servers.
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=dask-gateway"]},
    {
        "name": "server",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            "access:services!service=dask-gateway",
        ],
    },
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]
