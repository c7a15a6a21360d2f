"""JupyterHub in containers: what `docker compose up` runs (hub image).

Students get one container each (DockerSpawner, the single-user image) with a
named volume as home; the Dask Gateway is its own container, an external hub
service. Secrets come from the private `secrets` volume, filled once by the
`init` service (`course-hub secrets`); settings from the environment, see
.env.example.
"""

import os
from pathlib import Path

from course_hub.hub.accounts import auth_mode
from course_hub.hub.janitor import ROLE, ROLE_LABEL
from course_hub.hub.local import credentials, roster
from course_hub.hub.names import ACCOUNT_NAME
from course_hub.hub.secrets import ensure_secret, token
from course_hub.hub.wiring import CONTAINER_PORT, gateway_environment, wire_course, wire_sharing

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
    # Handouts of the roster's generated passwords (0600), on the hub-data volume:
    # the secrets volume is read-only here. `docker compose cp` fetches them.
    c.CourseAuthenticator.handout_dir = str(data_dir / "handouts")
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
# The gateway's container: its HTTP proxy and the schedulers' TLS port. Dashboards
# open through the student's own server, behind their login; it adds its hub
# token and the gateway serves a dashboard to its owner and teachers only
# (course_hub/hub/dashboards.py), so a container reaching gateway:8000 directly
# gets nothing without the owner's token.
c.Spawner.environment = gateway_environment(
    "gateway:8000", "gateway:8786", dashboard_token=True, proxy_hosts="gateway"
)
# Students' servers outlive the hub: `docker compose restart hub`, a hub crash
# or a new hub image interrupt nobody. The janitor service stops them with the
# whole stack (`docker compose down`/`stop`); it finds them by this label.
c.JupyterHub.cleanup_servers = False
c.DockerSpawner.extra_create_kwargs = {"labels": {ROLE_LABEL: ROLE}}

# --- Services: the gateway (its own container), the idle culler, the course
# service (below).
c.JupyterHub.services = [
    {
        # No "url": no public route to the gateway (students open dashboards
        # through their own server; the gateway checks the owner's hub token).
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

c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]

# --- The course (course_hub/hub/wiring.py, the same for every deployment): the
# course service in this container on port 10101 (servers reach http://hub:10101,
# nothing is published), its database and hand-ins on the hub-data volume, the
# teacher's course from this image (/srv/course: the single-user image has none)
# or from COURSE_CONTENT_REPO; the roles; the servers' COURSE_SERVICE_URL.
wire_sharing(c)
wire_course(
    c,
    url=f"http://hub:{CONTAINER_PORT}",
    state_dir=str(data_dir / "course-service"),
    content_dir=os.environ.get("COURSE_CONTENT_DIR", "/srv/course"),
    bind_ip="0.0.0.0",  # noqa: S104 (the compose network only: no port published)
)
