"""Dask Gateway in containers: the `gateway` service of docker compose.

It runs from the single-user image (the notebooks' exact environment), as
root, and starts each student's scheduler and workers as that student's own
locked OS account (StudentAccountsBackend) with a private working folder: a
student's Dask processes cannot read another student's cluster credentials,
and no student's home is mounted here. The hub is reached at
$JUPYTERHUB_API_URL with the token from the secrets volume.
"""

import os
import sys
from pathlib import Path

from course_hub.hub.cluster_env import (
    CLASSROOM_DASK_ENV,
    SCHEDULER_ARGS,
    WORKER_ARGS,
    scheduler_env,
)
from course_hub.hub.gateway import cluster_options_from_env
from course_hub.hub.secrets import read_secret

c = get_config()

# Everything the gateway writes (its database above all) is private to it.
os.umask(0o077)

secrets_dir = Path(os.environ.get("COURSE_SECRETS_DIR", "/srv/secrets"))
state = Path(os.environ.get("GATEWAY_STATE_DIR", "/var/lib/dask-gateway"))
bin_dir = Path(sys.executable).parent
clusters = state / "clusters"
clusters.mkdir(parents=True, exist_ok=True)
# Students may enter their own cluster folder, never list the others.
state.chmod(0o711)
clusters.chmod(0o711)

# --- HTTP behind the hub's /services/dask-gateway route; scheduler TLS on 8786.
c.DaskGateway.address = "127.0.0.1:8001"
c.Proxy.address = "0.0.0.0:8000"
c.Proxy.tcp_address = "0.0.0.0:8786"
c.Proxy.prefix = "/services/dask-gateway"

# --- Students authenticate with their hub tokens (an external hub service).
# (JupyterHubAuthenticator, answering 401 rather than 500 to an invalid token.)
c.DaskGateway.authenticator_class = "course_hub.hub.auth.CourseHubAuthenticator"
c.JupyterHubAuthenticator.jupyterhub_api_url = os.environ.get(
    "JUPYTERHUB_API_URL", "http://hub:8081/hub/api"
)
c.JupyterHubAuthenticator.jupyterhub_api_token = read_secret(secrets_dir / "gateway-api-token")
c.JupyterHubAuthenticator.jupyterhub_service_name = "dask-gateway"

# --- Each student's clusters run as their own OS account in this container;
# their dashboards open for their owner and teachers only: the gateway checks
# the hub token each student's server adds (course_hub/hub/dashboards.py).
c.DaskGateway.backend_class = "course_hub.hub.dashboards.AccountsDashboardsBackend"
c.LocalBackend.clusters_directory = str(clusters)
# A cluster whose notebook is gone stops after COURSE_CLUSTER_NO_CLIENT_TIMEOUT
# (course_hub/hub/orphan_clusters.py); its scheduler's dashboard answers only
# what this gateway forwards, not students' code on this machine's loopback
# (course_hub/hub/dashboard_key.py).
c.ClusterConfig.scheduler_cmd = [str(bin_dir / "dask"), "scheduler", *SCHEDULER_ARGS]
# Quiet when idle, no worker dashboard (course_hub/hub/cluster_env.py says why).
c.ClusterConfig.worker_cmd = [str(bin_dir / "dask"), "worker", *WORKER_ARGS]
c.ClusterConfig.environment = {**CLASSROOM_DASK_ENV, **scheduler_env(os.environ)}

# --- State on the gateway-data volume, encrypted with a key from the secrets volume.
c.DBBackendBase.db_url = f"sqlite:///{state / 'gateway.sqlite'}"
c.DBBackendBase.db_encrypt_keys = [read_secret(secrets_dir / "gateway-encrypt-key")]
# Cluster processes live in this container: they stop with it.
c.DBBackendBase.stop_clusters_on_shutdown = True

# --- Limits and an idle timeout.
c.ClusterConfig.cluster_max_workers = int(os.environ.get("COURSE_CLUSTER_MAX_WORKERS", "4"))
c.ClusterConfig.cluster_max_cores = int(os.environ.get("COURSE_CLUSTER_MAX_CORES", "8"))
c.ClusterConfig.cluster_max_memory = f"{os.environ.get('COURSE_CLUSTER_MAX_MEMORY_GIB', '16')} G"
c.ClusterConfig.idle_timeout = int(os.environ.get("COURSE_CLUSTER_IDLE_TIMEOUT", "1800"))

# --- Per student, all their clusters together (teachers: no limit).
c.StudentLimits.max_clusters = int(os.environ.get("COURSE_USER_MAX_CLUSTERS", "2"))
c.StudentLimits.max_cores = float(os.environ.get("COURSE_USER_MAX_CORES", "8"))
c.StudentLimits.max_memory_gib = float(os.environ.get("COURSE_USER_MAX_MEMORY_GIB", "16"))

# --- The options form with the session presets of the course, from the course
# service in the hub's container (COURSE_SERVICE_URL, with the gateway's token):
# this image holds no course.
c.Backend.cluster_options = cluster_options_from_env(
    "/srv/course", state / "content", token=read_secret(secrets_dir / "gateway-api-token")
)
