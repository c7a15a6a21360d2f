"""The course wired into a hub (course_hub/hub/wiring.py): the local hub's real
config runs the service, gives every token the scopes it needs and every server
the service's address; the gateway takes its presets from the service, and keeps
the last good ones when it is down."""

from __future__ import annotations

import asyncio
import json
import socket

from aiohttp import web
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course_hub.hub.gateway import GIB, ServiceClusterOptions
from course_hub.hub.local import free_port_block, local_layout
from course_hub.hub.wiring import ACCESS_COURSE, merge_roles, wire_course
from course_hub.launcher import answer_key_warning

from .test_hub_config import LOCAL, REPO, hub_env  # noqa: F401 (a fixture)


def test_local_hub_runs_the_course_service(hub_env):  # noqa: F811
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(LOCAL)).load_config()
    services = {s["name"]: s for s in c.JupyterHub.services}
    course = services["course"]
    # HUB_PORT=9100: the service takes the seventh port of the block.
    assert course["url"] == "http://127.0.0.1:9106"
    assert course["command"][1:] == ["-m", "course_hub.service"]
    assert course["oauth_no_confirm"] is True and course["display"] is False
    env = course["environment"]
    assert env["COURSE_SERVICE_STATE_DIR"] == str(hub_env / "course-service")
    assert env["COURSE_CONTENT_DIR"] == str(REPO / "course")
    # The launcher finds it among the hub's processes, as it does the gateway.
    assert env["COURSE_STATE_DIR"] == str(hub_env)
    assert "COURSE_SERVICE_BIND_IP" not in env  # loopback, from its URL
    # Servers and the gateway reach it directly, not through the hub's proxy.
    url = "http://127.0.0.1:9106/services/course/"
    assert c.Spawner.environment["COURSE_SERVICE_URL"] == url
    assert services["dask-gateway"]["environment"]["COURSE_SERVICE_URL"] == url
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    for role in ("user", "server"):
        assert {ACCESS_COURSE, "access:services!service=dask-gateway"} <= set(
            roles[role]["scopes"]
        )
    assert roles["course-service"]["services"] == ["course"]
    # Who teaches (users, groups); preparing the class: list the roster, start
    # servers, refresh their activity.
    assert {"read:users", "read:groups", "list:users", "servers", "users:activity"} <= set(
        roles["course-service"]["scopes"]
    )
    assert env["COURSE_SPAWN_CONCURRENCY"] == "100"  # JupyterHub's default limit
    assert roles["course-gateway"]["services"] == ["dask-gateway"]
    assert roles["course-gateway"]["scopes"] == [ACCESS_COURSE]
    assert roles["idle-culler"]["services"] == ["idle-culler"]
    # Shares: the custom scopes and what a server's login tokens carry.
    assert "custom:jupyter_server:execute:*" in c.JupyterHub.custom_scopes
    assert "custom:jupyter_server:execute:*!user" in roles["user"]["scopes"]
    assert c.Spawner.oauth_client_allowed_scopes == [
        "custom:jupyter_server:write:*!server",
        "custom:jupyter_server:execute:*!server",
    ]


def test_service_settings_pass_through(hub_env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("COURSE_MAX_HANDIN_MB", "5")
    monkeypatch.setenv("COURSE_CONTENT_REPO", "https://git.example.org/course.git")
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(LOCAL)).load_config()
    [course] = [s for s in c.JupyterHub.services if s["name"] == "course"]
    assert course["environment"]["COURSE_MAX_HANDIN_MB"] == "5"
    assert course["environment"]["COURSE_CONTENT_REPO"] == "https://git.example.org/course.git"
    # The server refuses an oversized file before sending it: the same limit.
    assert c.Spawner.environment["COURSE_MAX_HANDIN_MB"] == "5"
    # The teacher's repository is the service's business only.
    assert "COURSE_CONTENT_REPO" not in c.Spawner.environment


def test_wiring_adds_to_a_hubs_roles_and_is_idempotent():
    """As on Kubernetes: z2jh has set roles, services and environment before."""
    c = Config()
    c.JupyterHub.services = [{"name": "dask-gateway", "api_token": "x"}]
    c.JupyterHub.load_roles = [
        {"name": "user", "scopes": ["self", "shares!user"]},
        {"name": "jupyterhub-idle-culler", "scopes": ["list:users"], "services": ["culler"]},
    ]
    c.KubeSpawner.environment = {"SPARK_LOCAL_IP": "127.0.0.1"}
    c.JupyterHub.concurrent_spawn_limit = 64  # z2jh's hub.concurrentSpawnLimit
    for _ in range(2):
        wire_course(
            c,
            url="http://hub:10101",
            state_dir="/srv/jupyterhub/course-service",
            content_dir="/srv/course",
            bind_ip="0.0.0.0",  # noqa: S104
            spawner="KubeSpawner",
            environ={"COURSE_CONTENT_REPO": "https://example.org/c.git", "UNRELATED": "x"},
        )
    assert [s["name"] for s in c.JupyterHub.services] == ["dask-gateway", "course"]
    [course] = [s for s in c.JupyterHub.services if s["name"] == "course"]
    assert course["environment"] == {
        "COURSE_SERVICE_STATE_DIR": "/srv/jupyterhub/course-service",
        "COURSE_CONTENT_DIR": "/srv/course",
        "COURSE_SERVICE_BIND_IP": "0.0.0.0",  # noqa: S104
        "COURSE_CONTENT_REPO": "https://example.org/c.git",
        "COURSE_SPAWN_CONCURRENCY": "64",
    }
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["user"]["scopes"][:2] == ["self", "shares!user"]  # kept, in order
    assert roles["user"]["scopes"].count(ACCESS_COURSE) == 1
    assert roles["jupyterhub-idle-culler"]["scopes"] == ["list:users"]
    assert c.KubeSpawner.environment == {
        "SPARK_LOCAL_IP": "127.0.0.1",
        "COURSE_SERVICE_URL": "http://hub:10101/services/course/",
    }


def test_merge_roles_adds_members_and_scopes():
    merged = merge_roles(
        [{"name": "r", "scopes": ["a"], "users": ["ada"]}],
        [{"name": "r", "scopes": ["a", "b"], "services": ["s"]}, {"name": "new", "scopes": []}],
    )
    assert merged == [
        {"name": "r", "scopes": ["a", "b"], "users": ["ada"], "services": ["s"]},
        {"name": "new", "scopes": []},
    ]


def test_free_port_block_covers_the_service(monkeypatch, tmp_path):
    base = free_port_block()
    monkeypatch.setenv("HUB_PORT", str(base))
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    layout = local_layout(REPO)
    assert layout.course_service_port in layout.ports
    assert layout.ports == list(range(base, base + 7))
    for port in layout.ports:  # all free
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_the_launcher_warns_when_students_can_read_the_course(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_CONTENT_DIR", str(REPO / "course"))
    warning = answer_key_warning(local_layout(REPO))
    assert warning and "same OS account" in warning and "docs/security.md" in warning
    monkeypatch.setenv("COURSE_CONTENT_DIR", str(tmp_path / "nowhere"))
    assert answer_key_warning(local_layout(REPO)) is None


# --- The gateway's presets from the service ------------------------------------


class FakeService:
    """The service's api/presets, as the contract says (a real HTTP server)."""

    def __init__(self) -> None:
        self.presets: dict | str = {"dask": {"worker_cores": 2, "worker_memory": 3}}
        self.tokens: list[str] = []
        self.up = True

    async def handle(self, request: web.Request) -> web.Response:
        self.tokens.append(request.headers.get("Authorization", ""))
        if not self.up:
            return web.Response(status=503, text="down")
        body = self.presets if isinstance(self.presets, str) else json.dumps(self.presets)
        return web.Response(text=body, content_type="application/json")


async def _serve(fake: FakeService) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/services/course/api/presets", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/services/course/"


def _sessions(options) -> list[str]:
    return list(options.fields[0].options)


def test_gateway_presets_follow_the_service():
    async def scenario() -> None:
        fake = FakeService()
        runner, url = await _serve(fake)
        fallback = object()
        try:
            options = ServiceClusterOptions(url, token="gw-token", refresh_interval=0)
            got = await options()
            assert _sessions(got) == ["custom", "dask"]
            assert fake.tokens == ["token gw-token"]
            preset = got.get_configuration(got.parse_options({"session": "dask"}), None)
            assert preset["worker_memory"] == 3 * GIB
            # The teacher adds a session: offered at the next request.
            fake.presets = {**fake.presets, "spark": {"worker_cores": 1, "worker_memory": 2}}
            assert _sessions(await options()) == ["custom", "dask", "spark"]
            # Service down, nonsense, or a preset outside the limits: the last good stay.
            fake.up = False
            assert _sessions(await options()) == ["custom", "dask", "spark"]
            fake.up, fake.presets = True, "<html>"
            assert _sessions(await options()) == ["custom", "dask", "spark"]
            fake.presets = {"big": {"worker_cores": 64, "worker_memory": 2}}
            assert _sessions(await options()) == ["custom", "dask", "spark"]
            # Before any answer: the rendered presets (Kubernetes), else cores and memory.
            fake.up = False
            assert await ServiceClusterOptions(url, token="t", fallback=fallback)() is fallback
            assert _sessions(await ServiceClusterOptions(url, token="t")()) == ["custom"]
            # Asked at most every refresh_interval seconds.
            cached = ServiceClusterOptions(url, token="t", refresh_interval=60)
            before = len(fake.tokens)
            await cached()
            await cached()
            assert len(fake.tokens) == before + 1
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
