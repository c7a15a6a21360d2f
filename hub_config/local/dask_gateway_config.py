"""Dask Gateway for the hub without Docker, started by the hub as a service.

The hub passes the same layout variables as to the servers, so ports and
folders match jupyterhub_config.py. Clusters run as local processes of the
very Python environment the notebooks use: client, scheduler and worker
versions cannot drift.
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
from course_hub.hub.gateway import LiveClusterOptions, cluster_options_from_env
from course_hub.hub.local import local_layout
from course_hub.hub.secrets import ensure_secret, fernet_key

c = get_config()

layout = local_layout(Path(__file__).resolve().parent.parent.parent)
bin_dir = Path(sys.executable).parent
layout.gateway_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

# --- Addresses: HTTP behind the hub's proxy route, scheduler TLS on its own port
# (TLS with SNI cannot cross the HTTP proxy).
c.DaskGateway.address = f"127.0.0.1:{layout.gateway_api_port}"
c.Proxy.address = f"127.0.0.1:{layout.gateway_http_port}"
c.Proxy.tcp_address = f"127.0.0.1:{layout.gateway_tcp_port}"
c.Proxy.prefix = "/services/dask-gateway"

# --- Students authenticate with their hub token (the service name makes the
# gateway require access:services!service=dask-gateway).
# (JupyterHubAuthenticator, answering 401 rather than 500 to an invalid token.)
c.DaskGateway.authenticator_class = "course_hub.hub.auth.CourseHubAuthenticator"

# --- Clusters are local processes (no OS accounts in this mode). Their
# dashboards open for their owner and teachers only: the gateway checks the hub
# token each student's server adds (course_hub/hub/dashboards.py).
c.DaskGateway.backend_class = "course_hub.hub.dashboards.LocalDashboardsBackend"
c.LocalBackend.clusters_directory = str(layout.gateway_dir / "clusters")
# A cluster whose notebook is gone stops after COURSE_CLUSTER_NO_CLIENT_TIMEOUT
# (course_hub/hub/orphan_clusters.py); its scheduler's dashboard answers only
# what this gateway forwards, not students' code on this machine's loopback
# (course_hub/hub/dashboard_key.py).
c.ClusterConfig.scheduler_cmd = [str(bin_dir / "dask"), "scheduler", *SCHEDULER_ARGS]
# Quiet when idle, no worker dashboard (course_hub/hub/cluster_env.py says why).
c.ClusterConfig.worker_cmd = [str(bin_dir / "dask"), "worker", *WORKER_ARGS]
c.ClusterConfig.environment = {**CLASSROOM_DASK_ENV, **scheduler_env(os.environ)}

# --- State on disk, encrypted, so clusters survive a gateway restart; the
# launcher (course-hub hub) stops them when the whole hub stops.
c.DBBackendBase.db_url = f"sqlite:///{layout.gateway_dir / 'gateway.sqlite'}"
c.DBBackendBase.db_encrypt_keys = [
    ensure_secret(layout.secrets / "gateway-encrypt-key", fernet_key)[0]
]
c.DBBackendBase.stop_clusters_on_shutdown = False

# --- Limits per cluster and an idle timeout: a forgotten cluster frees the machine.
c.ClusterConfig.cluster_max_workers = int(os.environ.get("COURSE_CLUSTER_MAX_WORKERS", "4"))
c.ClusterConfig.cluster_max_cores = int(os.environ.get("COURSE_CLUSTER_MAX_CORES", "8"))
c.ClusterConfig.cluster_max_memory = f"{os.environ.get('COURSE_CLUSTER_MAX_MEMORY_GIB', '16')} G"
c.ClusterConfig.idle_timeout = int(os.environ.get("COURSE_CLUSTER_IDLE_TIMEOUT", "1800"))

# --- Per student, all their clusters together (teachers: no limit).
c.StudentLimits.max_clusters = int(os.environ.get("COURSE_USER_MAX_CLUSTERS", "3"))
c.StudentLimits.max_cores = float(os.environ.get("COURSE_USER_MAX_CORES", "12"))
c.StudentLimits.max_memory_gib = float(os.environ.get("COURSE_USER_MAX_MEMORY_GIB", "24"))

# --- The options form: cores and memory within the course's limits, and the
# session presets of course.yml, from the course service (COURSE_SERVICE_URL,
# with this service's hub token): the one place the hub reads the course, the
# teacher's git repository followed during the term included.
live_options = cluster_options_from_env(layout.content_dir, layout.gateway_dir / "content")
if isinstance(live_options, LiveClusterOptions):
    live_options.check()
c.Backend.cluster_options = live_options
