"""The course wired into a hub: the ``course`` service, its roles, the servers' address of it.

Written once, used by the three hubs we ship: hub_config/local and
hub_config/compose call :func:`wire_course` from their ``jupyterhub_config.py``,
and the Kubernetes chart (hub_config/helm/course-hub) from its hub
``extraConfig``. They differ only in where the service listens, where it keeps
its state and where it reads the course; the scopes, the roles and the
servers' environment are the same everywhere, so a scope added here reaches
every deployment at once.

The service (``python -m course_hub.service``, hub-managed like the idle
culler) is the one place the course lives on the hub side: students' servers
fetch their session files from it with the student's own token (never the
teacher's version), students hand in through it, and the gateway reads its
session presets from it (``api/presets``, with the gateway's service token).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from ..content import CONTENT_SOURCE_VARS

#: The service's name: its proxy route is /services/course/.
SERVICE_NAME = "course"
#: Where it listens in the hub's container or pod (compose, Kubernetes).
CONTAINER_PORT = 10101
#: The scope a token needs to reach the service (checked by HubOAuth).
ACCESS_COURSE = f"access:services!service={SERVICE_NAME}"
#: Settings of the service the hub passes through from its own environment.
SERVICE_SETTINGS = (
    *CONTENT_SOURCE_VARS,
    "COURSE_MAX_HANDIN_MB",
    "COURSE_SERVICE_DB_URL",
    "COURSE_SERVICE_TEACHER_GROUP",
    "COURSE_PREPARED_GRACE",
    "COURSE_PREPARED_KEEPALIVE",
)


def service_base_url(url: str) -> str:
    """The service's API root as a server reaches it: ``<url>/services/course/``."""
    return f"{url.rstrip('/')}/services/{SERVICE_NAME}/"


def course_service(
    url: str,
    state_dir: str,
    content_dir: str = "",
    bind_ip: str = "",
    extra_env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The hub-managed ``course`` service.

    ``url``: where the hub, the proxy and the servers reach it (the hub hands it
    to the service as ``JUPYTERHUB_SERVICE_URL``); ``bind_ip``: the address it
    listens on when ``url``'s host is not one of its own (Kubernetes' ``hub``
    names the hub's Service, not the pod); ``state_dir``: its database and
    hand-ins, on the hub's persistent volume; ``content_dir``: the course folder
    when no ``COURSE_CONTENT_REPO`` is given; ``extra_env``: more variables
    (the local hub's layout, so that its launcher finds the process).
    """
    env = {**(extra_env or {}), "COURSE_SERVICE_STATE_DIR": state_dir}
    if content_dir:
        env["COURSE_CONTENT_DIR"] = content_dir
    if bind_ip:
        env["COURSE_SERVICE_BIND_IP"] = bind_ip
    environ = os.environ if environ is None else environ
    env.update({name: environ[name] for name in SERVICE_SETTINGS if environ.get(name)})
    return {
        "name": SERVICE_NAME,
        "command": [python, "-m", "course_hub.service"],
        "url": url,
        "environment": env,
        # Students log in to it through the Course panel, never on a form of its own.
        "oauth_no_confirm": True,
        # The Course panel is its interface; no link on the hub's home page.
        "display": False,
    }


#: JupyterHub 5 sharing: a plain share of a server is read-only
#: (course_hub/authorizer.py: guests read); these custom scopes, which a share
#: may add, let a guest write or run code. Teachers (admins) keep full access.
WRITE = "custom:jupyter_server:write:*"
EXECUTE = "custom:jupyter_server:execute:*"
CUSTOM_SCOPES = {
    WRITE: {
        "description": "Change files on a server, open sessions, start and stop its clusters.",
    },
    EXECUTE: {
        "description": "Run code on a server (kernels, terminals), and change it.",
        "subscopes": [WRITE],
    },
}


def course_roles(gateway: str = "dask-gateway") -> list[dict[str, Any]]:
    """The roles the course needs (merged into the hub's by :func:`merge_roles`).

    Students' tokens and their servers' tokens reach the gateway (it checks
    ``access:services!service=dask-gateway``) and the course service (which
    then decides student or teacher per request); a student may share their
    own server; the service looks users and groups up to know who teaches;
    the gateway reads the session presets from the service.
    """
    access_gateway = f"access:services!service={gateway}"
    return [
        {
            "name": "user",
            "scopes": [
                "self",
                access_gateway,
                ACCESS_COURSE,
                # Share one's own server with a classmate named in the request.
                "shares!user",
                "read:users:name",
                f"{EXECUTE}!user",
            ],
        },
        {
            "name": "server",
            "scopes": [
                "users:activity!user",
                "access:servers!server",
                access_gateway,
                ACCESS_COURSE,
            ],
        },
        {
            "name": "course-service",
            "scopes": [
                "read:users",
                "read:groups",
                # 'Prepare the class': list the roster, start its servers (and
                # read whether they are ready), and refresh the prepared servers'
                # activity so the idle culler spares them until the class starts.
                "list:users",
                "servers",
                "users:activity",
                # The class at a glance: each student's server and last activity;
                # a teacher's "Stop server" (through "servers", above).
                "read:servers",
            ],
            "services": [SERVICE_NAME],
        },
        {"name": "course-gateway", "scopes": [ACCESS_COURSE], "services": [gateway]},
    ]


def merge_roles(roles: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``roles`` with ``extra`` merged in by name: scopes and members added, none removed."""
    merged = {r["name"]: {**r} for r in roles}
    for role in extra:
        current = merged.setdefault(role["name"], {"name": role["name"]})
        for key in ("scopes", "services", "users", "groups"):
            if key in role:
                current[key] = list(dict.fromkeys([*current.get(key, []), *role[key]]))
    return list(merged.values())


#: ``distributed.dashboard.link`` for local Dask clusters in students' servers:
#: dask fills it in from the environment and the dashboard's port.
DASHBOARD_LINK = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"


def gateway_environment(
    http: str, tcp: str, dashboard_token: bool = False, proxy_hosts: str = ""
) -> dict[str, Any]:
    """What students' servers need to use the Dask Gateway at ``http`` (host:port of
    its HTTP proxy) with scheduler traffic on ``tcp`` (host:port, TLS with SNI)."""
    prefix = "/services/dask-gateway"
    env: dict[str, Any] = {
        # Notebooks, the course extension and dask-labextension all reach the
        # gateway through the dask config, authenticated with the student's hub token.
        "DASK_GATEWAY__ADDRESS": f"http://{http}{prefix}",
        "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://{tcp}",
        # Dashboard links go through the student's own server (jupyter-server-proxy),
        # behind their login. The template is filled in by dask-gateway.
        "DASK_GATEWAY__PUBLIC_ADDRESS": "{JUPYTERHUB_SERVICE_PREFIX}proxy/" + http + prefix,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
        # dask-labextension's NEW button makes Gateway clusters.
        "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
        "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
        # A LocalCluster's dashboard link through the student's own server (as
        # pangeo images and the Zero to JupyterHub docs set it), not 127.0.0.1.
        "DASK_DISTRIBUTED__DASHBOARD__LINK": DASHBOARD_LINK,
        # The Spark UI, through jupyter-server-proxy: its links carry this prefix.
        "APPLICATION_WEB_PROXY_BASE": lambda spawner: f"{spawner.user.url}proxy/4040",
        # Teachers (admins) get the notebooks with their solutions.
        "COURSE_SOLUTIONS": lambda spawner: "1" if spawner.user.admin else "0",
    }
    if dashboard_token:
        # Dashboard requests through the server carry its hub token: only where
        # the gateway checks it and never passes it on to a scheduler
        # (course_hub/dashboard.py, course_hub/hub/dashboards.py).
        env["COURSE_DASHBOARD_TOKEN"] = "1"  # noqa: S105 (a switch, not a secret)
    if proxy_hosts:
        # Hosts other than the server's own that jupyter-server-proxy may reach.
        env["COURSE_PROXY_HOSTS"] = proxy_hosts
    return env


def server_environment(url: str) -> dict[str, str]:
    """What students' servers need: the service's address (``COURSE_SERVICE_URL``)."""
    env = {"COURSE_SERVICE_URL": service_base_url(url)}
    if os.environ.get("COURSE_MAX_HANDIN_MB"):
        # The server refuses an oversized file before sending it: the same limit.
        env["COURSE_MAX_HANDIN_MB"] = os.environ["COURSE_MAX_HANDIN_MB"]
    return env


def wire_sharing(c: Any, spawner: str = "Spawner") -> None:
    """JupyterHub 5 shares: the custom scopes, and what a server's login tokens carry."""
    c.JupyterHub.custom_scopes = {**dict(c.JupyterHub.get("custom_scopes") or {}), **CUSTOM_SCOPES}
    # A server's login tokens carry these rights of the visitor on this server.
    getattr(c, spawner).oauth_client_allowed_scopes = [f"{WRITE}!server", f"{EXECUTE}!server"]


def wire_course(
    c: Any,
    url: str,
    state_dir: str,
    content_dir: str = "",
    bind_ip: str = "",
    extra_env: Mapping[str, str] | None = None,
    spawner: str = "Spawner",
    gateway: str = "dask-gateway",
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Add the course to a JupyterHub config ``c``: the service, the roles, the
    servers' ``COURSE_SERVICE_URL`` (on ``c.<spawner>.environment``).

    Call it after the config's own services, roles and environment are set:
    it adds to them. ``environ``: where the service's settings
    (:data:`SERVICE_SETTINGS`) are read. Returns the service's definition.
    """
    service = course_service(url, state_dir, content_dir, bind_ip, extra_env, environ=environ)
    # 'Prepare the class' starts at most as many servers at a time as the hub
    # spawns (JupyterHub's default limit: 100).
    limit = c.JupyterHub.get("concurrent_spawn_limit")
    service["environment"]["COURSE_SPAWN_CONCURRENCY"] = str(limit or 100)
    # The class view asks the gateway where the servers do (unless set already).
    address = dict(getattr(c, spawner).get("environment") or {}).get("DASK_GATEWAY__ADDRESS")
    if isinstance(address, str) and address:
        service["environment"].setdefault("COURSE_GATEWAY_URL", address)
    services = [s for s in (c.JupyterHub.get("services") or []) if s["name"] != SERVICE_NAME]
    c.JupyterHub.services = [*services, service]
    c.JupyterHub.load_roles = merge_roles(
        list(c.JupyterHub.get("load_roles") or []), course_roles(gateway)
    )
    section = getattr(c, spawner)
    section.environment = {**dict(section.get("environment") or {}), **server_environment(url)}
    return service
