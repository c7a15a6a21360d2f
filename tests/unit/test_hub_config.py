"""The real hub and gateway config files, executed as JupyterHub and
dask-gateway-server would, and the helpers they use."""

from __future__ import annotations

import asyncio
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from course_hub.hub.cluster_env import SCHEDULER_ARGS
from course_hub.hub.gateway import GIB
from course_hub.hub.local import LayoutError, credentials, local_layout, roster
from course_hub.hub.secrets import ensure_secret, token

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "hub_config" / "local"


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HUB_PORT", "9100")
    monkeypatch.setenv("CONFIGURABLE_HTTP_PROXY", "/bin/true")
    for name in (
        "COURSE_PASSWORD",
        "COURSE_ADMIN_PASSWORD",
        "COURSE_ROSTER",
        "COURSE_CONTENT_DIR",
        "COURSE_AUTH",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "state"


def load(name: str):
    return PyFileConfigLoader(name, path=str(LOCAL)).load_config()


def test_hub_config(hub_env):
    c = load("jupyterhub_config.py")
    assert c.JupyterHub.bind_url == "http://127.0.0.1:9100"
    assert c.JupyterHub.authenticator_class == "course_hub.hub.accounts.CourseAuthenticator"
    assert len(c.CourseAuthenticator.admin_password) >= 32
    assert c.CourseAuthenticator.handout_dir == str(hub_env / "secrets")
    assert c.Authenticator.admin_users == {"teacher"}
    assert c.Authenticator.allow_all is True
    env = c.Spawner.environment
    assert env["DASK_GATEWAY__ADDRESS"] == "http://127.0.0.1:9103/services/dask-gateway"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://127.0.0.1:9104"
    assert env["DASK_GATEWAY__PUBLIC_ADDRESS"].startswith("{JUPYTERHUB_SERVICE_PREFIX}proxy/")
    assert env["DASK_LABEXTENSION__FACTORY__CLASS"] == "GatewayCluster"
    assert env["COURSE_CONTENT_DIR"] == str(REPO / "course")
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    for role in ("user", "server"):
        assert "access:services!service=dask-gateway" in roles[role]["scopes"]
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert "url" not in services["dask-gateway"]  # no public route: dashboards need a login
    assert services["dask-gateway"]["environment"]["COURSE_STATE_DIR"] == str(hub_env)
    assert "jupyterhub_idle_culler" in services["idle-culler"]["command"]
    # Secrets were generated, private, and are reused on the next start.
    for name in ("course-password", "admin-password", "cookie-secret", "proxy-token"):
        mode = stat.S_IMODE((hub_env / "secrets" / name).stat().st_mode)
        assert mode == 0o600, name
    assert load("jupyterhub_config.py").JupyterHub.cookie_secret == c.JupyterHub.cookie_secret


def test_workshop_mode_keeps_the_shared_password(hub_env, monkeypatch):
    monkeypatch.setenv("COURSE_AUTH", "workshop")
    c = load("jupyterhub_config.py")
    assert c.JupyterHub.authenticator_class == "course_hub.hub.accounts.WorkshopAuthenticator"
    assert len(c.SharedPasswordAuthenticator.user_password) >= 8
    assert len(c.SharedPasswordAuthenticator.admin_password) >= 32
    monkeypatch.setenv("COURSE_AUTH", "everyone")
    with pytest.raises(ValueError, match="accounts or workshop"):
        load("jupyterhub_config.py")


def test_gateway_config(hub_env):
    c = load("dask_gateway_config.py")
    assert c.Proxy.address == "127.0.0.1:9103"
    assert c.Proxy.tcp_address == "127.0.0.1:9104"
    assert c.Proxy.prefix == "/services/dask-gateway"
    assert c.DBBackendBase.stop_clusters_on_shutdown is False
    assert c.DBBackendBase.db_url.endswith("state/gateway/gateway.sqlite")
    assert c.ClusterConfig.scheduler_cmd[1:] == ["scheduler", *SCHEDULER_ARGS]
    assert c.ClusterConfig.worker_cmd[1:] == ["worker", "--no-dashboard"]
    assert c.ClusterConfig.environment["DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL"] == "500ms"
    # A callable that follows the course source (tests/unit/test_gateway_presets.py).
    options = asyncio.run(c.Backend.cluster_options(None))
    assert [f.field for f in options.fields] == ["session", "worker_cores", "worker_memory"]
    preset = options.get_configuration(options.parse_options({"session": "evaluation"}), None)
    assert preset["worker_memory"] == 3 * GIB
    custom = options.get_configuration(
        options.parse_options({"worker_cores": 2, "worker_memory": 4}), None
    )
    assert (custom["worker_cores"], custom["worker_memory"]) == (2, 4 * GIB)
    with pytest.raises(ValueError):
        options.parse_options({"worker_memory": 64})


def test_passwords_from_the_environment(hub_env, monkeypatch):
    secrets = local_layout(REPO).secrets
    monkeypatch.setenv("COURSE_PASSWORD", "short")
    with pytest.raises(LayoutError, match="at least 8 characters"):
        credentials(secrets)
    monkeypatch.setenv("COURSE_PASSWORD", "password")
    with pytest.raises(LayoutError, match="well-known password"):
        credentials(secrets)
    monkeypatch.setenv("COURSE_PASSWORD", "long enough")
    monkeypatch.setenv("COURSE_ADMIN_PASSWORD", "not 32 characters")
    with pytest.raises(LayoutError, match="at least 32 characters"):
        credentials(secrets)
    monkeypatch.setenv("COURSE_ADMIN_PASSWORD", "a teacher's password, 32 chars long")
    monkeypatch.setenv("COURSE_ADMIN_USERS", "ada, grace")
    logins = credentials(secrets)
    assert logins.student_password == "long enough" and logins.created == ()
    assert logins.admin_users == ("ada", "grace")


def test_bad_port(hub_env, monkeypatch):
    monkeypatch.setenv("HUB_PORT", "eighty")
    with pytest.raises(LayoutError, match="HUB_PORT must be a whole number"):
        local_layout(REPO)


def test_roster(tmp_path):
    path = tmp_path / "roster.txt"
    path.write_text("# class of 2026\nAlice\nbob  # late\n\n")
    assert roster(str(path)) == {"alice", "bob"}
    with pytest.raises(LayoutError, match="No such file"):
        roster(str(tmp_path / "missing.txt"))
    assert roster(None) is None


def test_secret_created_once_under_concurrency(tmp_path):
    path = tmp_path / "secrets" / "key"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: ensure_secret(path, token), range(16)))
    assert len({value for value, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    os.chmod(path, 0o644)
    ensure_secret(path, token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
