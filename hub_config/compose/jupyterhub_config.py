"""JupyterHub in containers: what `docker compose up` runs (hub image).

Students get one container each (DockerSpawner, the single-user image) with a
named volume as home; the Dask Gateway is its own container, an external hub
service. Secrets come from the private `secrets` volume, filled once by the
`init` service (`course-hub secrets`); settings from the environment, see
.env.example.
"""

import os
from pathlib import Path

from course_hub.content import CONTENT_SOURCE_VARS
from course_hub.hub.janitor import ROLE, ROLE_LABEL
from course_hub.hub.local import credentials, roster
from course_hub.hub.names import ACCOUNT_NAME
from course_hub.hub.secrets import ensure_secret, token

c = get_config()

secrets_dir = Path(os.environ.get("COURSE_SECRETS_DIR", "/srv/secrets"))
data_dir = Path(os.environ.get("COURSE_HUB_DATA", "/srv/jupyterhub"))
logins = credentials(secrets_dir)


def secret(name: str) -> str:
    return ensure_secret(secrets_dir / name, token)[0]


# --- Network: the proxy listens for browsers; the hub API for servers and the gateway.
c.JupyterHub.bind_url = "http://:8000"
c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"
c.JupyterHub.hub_connect_url = "http://hub:8081"
c.ConfigurableHTTPProxy.command = [os.environ["CONFIGURABLE_HTTP_PROXY"]]
c.ConfigurableHTTPProxy.auth_token = secret("proxy-token")

# --- State on the hub-data volume; the cookie secret from the secrets volume.
c.JupyterHub.db_url = f"sqlite:///{data_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret = bytes.fromhex(secret("cookie-secret"))
c.JupyterHub.pid_file = str(data_dir / "jupyterhub.pid")

# --- Logins: the course password for students, the admin password for teachers.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = logins.student_password
c.SharedPasswordAuthenticator.admin_password = logins.admin_password
c.Authenticator.admin_users = set(logins.admin_users)
# User names become OS accounts for students' Dask processes in the gateway.
c.Authenticator.username_pattern = ACCOUNT_NAME.pattern
# COURSE_ROSTER: the roster file compose mounts (one name per line), else anyone.
allowed = roster(os.environ.get("COURSE_ROSTER"))
if allowed is None:
    c.Authenticator.allow_all = True
else:
    c.Authenticator.allowed_users = allowed
    # The roster is the whole list: a name taken out of it cannot log in after
    # `docker compose restart hub`, even if it logged in before (JupyterHub
    # would otherwise keep allowing every user already in its database).
    c.Authenticator.allow_existing_users = False

# --- One container per student, home on a named volume that outlives it.
c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = os.environ["SINGLEUSER_IMAGE"]
c.DockerSpawner.network_name = os.environ.get("COURSE_NETWORK", "course-hub")
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True
c.DockerSpawner.name_template = "course-hub-{username}"
c.DockerSpawner.volumes = {"course-hub-home-{username}": "/home/jovyan"}
c.DockerSpawner.notebook_dir = "/home/jovyan"
c.DockerSpawner.mem_limit = os.environ.get("STUDENT_MEM_LIMIT", "2G")
c.DockerSpawner.cpu_limit = float(os.environ.get("STUDENT_CPU_LIMIT", "1.0"))
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
gateway = "gateway:8000"
c.Spawner.environment = {
    # Notebooks, the course extension and dask-labextension reach the gateway
    # with the student's hub token; scheduler traffic goes to its TLS port.
    "DASK_GATEWAY__ADDRESS": f"http://{gateway}/services/dask-gateway",
    "DASK_GATEWAY__PROXY_ADDRESS": "gateway://gateway:8786",
    # Dashboards through the student's own server, behind their login.
    "DASK_GATEWAY__PUBLIC_ADDRESS": (
        "{JUPYTERHUB_SERVICE_PREFIX}proxy/" + gateway + "/services/dask-gateway"
    ),
    "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    "COURSE_PROXY_HOSTS": "gateway",
    "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
    "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
    # The Spark UI, through jupyter-server-proxy: its links carry this prefix.
    "APPLICATION_WEB_PROXY_BASE": lambda spawner: f"{spawner.user.url}proxy/4040",
    # Teachers (admins) get the notebooks with their solutions.
    "COURSE_SOLUTIONS": lambda spawner: "1" if spawner.user.admin else "0",
}
for name in CONTENT_SOURCE_VARS:
    if os.environ.get(name):
        c.Spawner.environment[name] = os.environ[name]
# Students' servers outlive the hub: `docker compose restart hub`, a hub crash
# or a new hub image interrupt nobody. The janitor service stops them with the
# whole stack (`docker compose down`/`stop`); it finds them by this label.
c.JupyterHub.cleanup_servers = False
c.DockerSpawner.extra_create_kwargs = {"labels": {ROLE_LABEL: ROLE}}

# --- Services: the gateway (its own container) and the idle culler.
c.JupyterHub.services = [
    {
        # No "url": no public route to the gateway, whose dashboard pages answer
        # without a login (students open them through their own server).
        "name": "dask-gateway",
        "api_token": secret("gateway-api-token"),
        "display": False,
    },
    {
        "name": "idle-culler",
        "command": [
            "python3",
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={os.environ.get('COURSE_IDLE_TIMEOUT', '3600')}",
        ],
    },
]

# --- Permissions: students' and servers' tokens may reach the gateway.
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
