"""The course-hub chart's values and render-values, checked offline.

Our values are deep-merged over the dependencies' defaults and validated
against their own JSON schemas (from the archives in ../shared/charts), and
every Python snippet of hub.extraConfig and gateway.extraConfig runs against a
traitlets config prepared the way the charts prepare it: quick checks of each
snippet. tests/unit/test_chart.py renders the whole chart with Helm's engine
and runs the charts' own configuration programs on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from aiohttp import web
from traitlets.config import Config

from course_hub.daskhub import deep_merge, render, sizing, write_secrets
from course_hub.hub.gateway import ServiceClusterOptions
from course_hub.hub.presets import GIB

from ..chart import CHART, dependency_file

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "hub_config" / "helm"
BASE = CHART / "values.yaml"
CHARTS = ("jupyterhub", "dask-gateway")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merged_with_defaults(values: dict) -> dict[str, dict]:
    """What each dependency receives: its defaults <- ours."""
    return {
        key: deep_merge(yaml.safe_load(dependency_file(key, "values.yaml")), values.get(key, {}))
        for key in CHARTS
    }


def schema_errors(values: dict) -> list[str]:
    errors = []
    for key, chart_values in merged_with_defaults(values).items():
        schema = json.loads(dependency_file(key, "values.schema.json"))
        validator = jsonschema.Draft7Validator(schema)
        for err in validator.iter_errors(chart_values):
            errors.append(f"{key}.{'.'.join(map(str, err.path))}: {err.message}")
    return errors


def rendered(overlay: str | None = None, **kw) -> dict:
    return render(
        VALUES, REPO / "course", "registry.example.org/course", "2026.12.01", overlay, **kw
    )


CASES = {
    "values": lambda: load(BASE),
    "values+class": lambda: deep_merge(load(BASE), load(VALUES / "values-class.yaml")),
    "values+test": lambda: deep_merge(load(BASE), load(VALUES / "values-test.yaml")),
    "rendered class": lambda: rendered("class", host="hub.example.org", students=80),
    "rendered test": lambda: rendered("test", course_repo="https://example.org/course.git"),
}


@pytest.mark.parametrize("case", CASES)
def test_values_validate_against_the_chart_schemas(case):
    assert schema_errors(CASES[case]()) == []


def test_the_validation_catches_mistakes():
    values = load(BASE)
    values["jupyterhub"]["singleuser"]["memory"]["limt"] = "4G"
    values["jupyterhub"]["cull"]["timeout"] = "an hour"
    values["dask-gateway"]["gateway"]["replicas"] = "two"
    errors = "\n".join(schema_errors(values))
    assert "limt" in errors and "an hour" in errors and "two" in errors


STRONG = {
    "jupyterhub": {
        "hub": {
            "config": {
                "SharedPasswordAuthenticator": {
                    "user_password": "a-good-course-password",
                    "admin_password": "an admin password of thirty-two characters",
                }
            }
        }
    }
}


def z2jh_name(name: str) -> str:
    """z2jh.get_name, which snippets may call: our chart keeps z2jh's short
    names (fullnameOverride ""), e.g. "hub", "proxy-api"."""
    return name


def hub_config_after_snippets(values: dict, env: dict[str, str], secrets: dict = STRONG) -> Config:
    """Run our hub.extraConfig like z2jh's jupyterhub_config.py does."""
    hub = merged_with_defaults(deep_merge(values, secrets))["jupyterhub"]
    c = Config()
    for section, settings in hub["hub"]["config"].items():  # z2jh applies hub.config first
        c[section].update(settings)
    # z2jh sets these from singleuser.extraEnv and hub.services before extraConfig.
    c.KubeSpawner.environment = dict(hub["singleuser"].get("extraEnv", {}))
    c.JupyterHub.services = [{"name": n, **s} for n, s in hub["hub"]["services"].items()]
    snippets = hub["hub"]["extraConfig"]
    assert list(snippets) == sorted(snippets)  # z2jh runs them by name
    old = dict(os.environ)
    os.environ.update(env)
    try:
        for name in sorted(snippets):
            code = compile(snippets[name], f"hub.extraConfig.{name}", "exec")
            exec(code, {"c": c, "get_name": z2jh_name})  # noqa: S102 - what z2jh does
    finally:
        os.environ.clear()
        os.environ.update(old)
    return c


def test_hub_snippets_wire_the_gateway_and_the_sidebar():
    values = rendered("class", host="hub.example.org")
    env = {"HELM_RELEASE_NAME": "course", "POD_NAMESPACE": "sdd"}
    c = hub_config_after_snippets(values, env)
    e = c.KubeSpawner.environment
    gateway_host = "traefik-course-dask-gateway.sdd"
    assert e["DASK_GATEWAY__ADDRESS"] == f"http://{gateway_host}/services/dask-gateway"
    assert e["DASK_GATEWAY__PROXY_ADDRESS"] == f"gateway://{gateway_host}:80"
    assert e["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    assert e["DASK_GATEWAY__PUBLIC_ADDRESS"](None) == (
        "{JUPYTERHUB_SERVICE_PREFIX}proxy/" + gateway_host + ":80/services/dask-gateway"
    )
    assert e["COURSE_PROXY_HOSTS"] == gateway_host
    assert e["DASK_LABEXTENSION__FACTORY__MODULE"] == "dask_gateway"
    assert e["DASK_LABEXTENSION__FACTORY__CLASS"] == "GatewayCluster"
    assert e["SPARK_LOCAL_IP"] == "127.0.0.1"

    class User:
        url = "/user/ada/"

    class Spawner:
        user = User()

    assert e["APPLICATION_WEB_PROXY_BASE"](Spawner()) == "/user/ada/proxy/4040"
    [service] = [s for s in c.JupyterHub.services if s["name"] == "dask-gateway"]
    assert "url" not in service  # no public route to the gateway's dashboards
    hub = merged_with_defaults(values)["jupyterhub"]["hub"]
    for role in ("user", "server"):
        assert "access:services!service=dask-gateway" in hub["loadRoles"][role]["scopes"]


def gateway_config_after_snippets(values: dict) -> Config:
    """Run gateway.extraConfig with the environment the chart gives the gateway pod."""
    gateway = merged_with_defaults(values)["dask-gateway"]["gateway"]
    env = {e["name"]: e["value"] for e in gateway["env"]}
    c = Config()
    old = dict(os.environ)
    os.environ.update(env)
    try:
        for name in sorted(gateway["extraConfig"]):
            code = gateway["extraConfig"][name]
            exec(compile(code, f"gateway.extraConfig.{name}", "exec"), {"c": c})  # noqa: S102 - as the chart does
    finally:
        os.environ.clear()
        os.environ.update(old)
    return c


def test_gateway_snippets_give_presets_and_limits():
    c = gateway_config_after_snippets(rendered("class"))
    # The presets come from the course service in the hub pod; until it first
    # answers (here: nobody listens), the ones rendered from the image's course.
    live = c.Backend.cluster_options
    assert isinstance(live, ServiceClusterOptions)
    assert live.url == "http://hub:10101/services/course/api/presets"
    live.url = f"http://127.0.0.1:{closed_port()}/services/course/api/presets"
    options = asyncio.run(live(None))
    assert [f.field for f in options.fields] == ["session", "worker_cores", "worker_memory"]
    assert list(options.fields[0].options) == ["custom", "dask", "evaluation", "kubernetes"]
    evaluation = options.get_configuration(options.parse_options({"session": "evaluation"}), None)
    assert (evaluation["worker_cores"], evaluation["worker_memory"]) == (1, 3 * GIB)
    with pytest.raises(ValueError):
        options.parse_options({"worker_cores": 5})  # the course's 1-4 cores
    with pytest.raises(ValueError):
        options.parse_options({"worker_memory": 9})  # and 1-8 GiB
    assert c.ClusterConfig.cluster_max_workers == 20
    assert c.ClusterConfig.cluster_max_memory == "120 G"
    assert c.ClusterConfig.idle_timeout == 1800
    assert c.KubeClusterConfig.worker_cmd == ["dask", "worker", "--no-dashboard"]
    env = c.KubeClusterConfig.environment  # the chart sets this one: ClusterConfig's is hidden
    assert env["DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL"] == "500ms"
    assert env["DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL"] == "100ms"
    small = gateway_config_after_snippets(rendered("test"))
    assert small.ClusterConfig.cluster_max_workers == 4
    assert small.ClusterConfig.idle_timeout == 600


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gateway_presets_follow_the_course_service():
    """The teacher's repository is the course service's (in the hub pod): the
    gateway offers what the service says, and the rendered presets before."""
    presets = {"dask": {"worker_cores": 1, "worker_memory": 2.0}}
    presets["extra"] = {"worker_cores": 2, "worker_memory": 4}

    async def scenario() -> tuple:
        async def handle(request: web.Request) -> web.Response:
            assert request.headers["Authorization"] == "token gateway-token"
            return web.json_response(presets)

        app = web.Application()
        app.router.add_get("/services/course/api/presets", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            values = rendered("class")
            env = {"JUPYTERHUB_API_TOKEN": "gateway-token"}
            with pytest.MonkeyPatch.context() as mp:
                for k, v in env.items():
                    mp.setenv(k, v)
                c = gateway_config_after_snippets(values)
            live = c.Backend.cluster_options
            live.url = f"http://127.0.0.1:{port}/services/course/api/presets"
            following = await live(None)
            live.url = f"http://127.0.0.1:{closed_port()}/services/course/api/presets"
            live._fetched_at = None  # ask again: the service is gone, the last good stay
            kept = await live(None)
            with pytest.MonkeyPatch.context() as mp:
                for k, v in env.items():
                    mp.setenv(k, v)
                fresh = gateway_config_after_snippets(values).Backend.cluster_options
            fresh.url = live.url
            return following, kept, await fresh(None)
        finally:
            await runner.cleanup()

    following, kept, before = asyncio.run(scenario())
    assert list(following.fields[0].options) == ["custom", "dask", "extra"]
    extra = following.get_configuration(following.parse_options({"session": "extra"}), None)
    assert (extra["worker_cores"], extra["worker_memory"]) == (2, 4 * GIB)
    assert kept is following
    assert list(before.fields[0].options) == ["custom", "dask", "evaluation", "kubernetes"]


def test_render_values_sets_images_course_and_class_size():
    values = rendered("class", host="hub.ex.org", students=80, course_repo="https://g/c.git")
    image = {"name": "registry.example.org/course/singleuser", "tag": "2026.12.01"}
    hub, gw = values["jupyterhub"], values["dask-gateway"]["gateway"]
    assert {k: hub["singleuser"]["image"][k] for k in image} == image
    assert {k: gw["image"][k] for k in image} == image
    assert {k: gw["backend"]["image"][k] for k in image} == image
    assert hub["proxy"]["https"]["hosts"] == ["hub.ex.org"]
    assert hub["scheduling"]["userPlaceholder"]["replicas"] == 10
    # The course source: the hub pod's (its course service), not the servers' nor the gateway's.
    assert hub["hub"]["extraEnv"]["COURSE_CONTENT_REPO"] == "https://g/c.git"
    assert not {k for k in hub["singleuser"]["extraEnv"] if k.startswith("COURSE_CONTENT_")}
    assert not {e["name"] for e in gw["env"] if e["name"].startswith("COURSE_CONTENT_")}
    presets = json.loads({e["name"]: e["value"] for e in gw["env"]}["COURSE_PRESETS"])
    assert presets["dask"] == {"worker_cores": 1, "worker_memory": 2.0}
    assert "SharedPasswordAuthenticator" not in hub["hub"]["config"]  # secrets stay out


CONTENT_VARS = ("COURSE_CONTENT_REPO", "COURSE_CONTENT_BRANCH", "COURSE_CONTENT_SUBDIR")
REPO_URL = "https://teacher:glpat-s3cret@git.example.org/sdd/course.git"


def hub_pod_env(values: dict) -> dict[str, str]:
    """The hub pod's environment: the chart's, and hub.extraEnv."""
    extra = values["jupyterhub"]["hub"].get("extraEnv", {})
    return {"HELM_RELEASE_NAME": "course", "POD_NAMESPACE": "sdd", **extra}


def course_service_env(c: Config) -> dict[str, str]:
    [service] = [s for s in c.JupyterHub.services if s["name"] == "course"]
    return service["environment"]


@pytest.mark.parametrize("overlay", ["class", "test"])
def test_the_course_source_reaches_the_course_service_only(overlay):
    """The teacher's repository (and a token in its URL) is the hub pod's: the
    course service reads it; no student's server nor the gateway gets it."""
    values = rendered(overlay, course_repo=REPO_URL, course_branch="term-2")
    assert schema_errors(values) == []
    effective = merged_with_defaults(values)
    servers = effective["jupyterhub"]["singleuser"].get("extraEnv", {})
    gateway = {e["name"]: e["value"] for e in effective["dask-gateway"]["gateway"]["env"]}
    assert not set(CONTENT_VARS) & (set(servers) | set(gateway))
    assert REPO_URL not in json.dumps(effective["dask-gateway"])
    assert REPO_URL not in json.dumps(effective["jupyterhub"]["singleuser"])
    hub_env = effective["jupyterhub"]["hub"]["extraEnv"]
    assert (hub_env["COURSE_CONTENT_REPO"], hub_env["COURSE_CONTENT_BRANCH"]) == (
        REPO_URL,
        "term-2",
    )
    # What the hub's programs make of it: the service gets it, servers do not.
    c = hub_config_after_snippets(values, hub_pod_env(values))
    service = course_service_env(c)
    assert service["COURSE_CONTENT_REPO"] == REPO_URL
    assert service["COURSE_CONTENT_BRANCH"] == "term-2"
    assert service["COURSE_CONTENT_DIR"] == "/srv/course"  # the image's, without a repo
    assert not set(CONTENT_VARS) & set(c.KubeSpawner.environment)
    assert REPO_URL not in repr(c.KubeSpawner.environment)
    assert c.KubeSpawner.environment["COURSE_SERVICE_URL"] == "http://hub:10101/services/course/"
    gw = gateway_config_after_snippets(values)
    assert isinstance(gw.Backend.cluster_options, ServiceClusterOptions)  # presets: the service's
    # Without --course-repo: the service reads the hub image's course, nobody a repository.
    plain = hub_config_after_snippets(rendered(overlay), hub_pod_env(rendered(overlay)))
    assert "COURSE_CONTENT_REPO" not in course_service_env(plain)
    assert "extraEnv" not in rendered(overlay)["jupyterhub"]["hub"]


def test_values_of_an_older_render_keep_the_source_away_from_the_servers():
    """Values rendered before the source moved to hub.extraEnv had it in
    singleuser.extraEnv: the hub hands it to the service, not to the servers."""
    old = deep_merge(
        rendered("class"),
        {"jupyterhub": {"singleuser": {"extraEnv": {"COURSE_CONTENT_REPO": REPO_URL}}}},
    )
    c = hub_config_after_snippets(old, hub_pod_env(old))
    assert "COURSE_CONTENT_REPO" not in c.KubeSpawner.environment
    assert course_service_env(c)["COURSE_CONTENT_REPO"] == REPO_URL


def test_static_ip_keeps_the_hubs_address(tmp_path):
    from ..chart import prepared_chart, render_chart

    values = rendered("class", host="hub.ex.org", static_ip="203.0.113.10")
    assert values["jupyterhub"]["proxy"]["service"]["loadBalancerIP"] == "203.0.113.10"
    assert schema_errors(values) == []
    # What Helm makes of it: the hub's public Service asks the cloud for that address.
    service = render_chart(prepared_chart(tmp_path), values).get("Service", "proxy-public")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerIP"] == "203.0.113.10"
    assert "loadBalancerIP" not in rendered("class")["jupyterhub"].get("proxy", {}).get(
        "service", {}
    )
    v6 = rendered(None, static_ip="2001:db8::10")["jupyterhub"]["proxy"]["service"]
    assert v6["loadBalancerIP"] == "2001:db8::10"
    with pytest.raises(ValueError, match="--static-ip must be an IP address"):
        rendered("class", static_ip="hub.ex.org")
    with pytest.raises(ValueError, match="LoadBalancer Service; these values make it a NodePort"):
        rendered("test", static_ip="203.0.113.10")


def test_cli_writes_values_and_a_private_secrets_file(tmp_path):
    out, secrets = tmp_path / "values.yaml", tmp_path / "secrets.yaml"
    cmd = [
        str(Path(sys.executable).parent / "course-hub"),
        "render-values",
        "--registry", "r.example.org/c",
        "--tag", "abc123",
        "--overlay", "test",
        "--auth", "workshop",
        "--values-dir", str(VALUES),
        "--course", str(REPO / "course"),
        "--secrets", str(secrets),
        "-o", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert schema_errors(load(out)) == []
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    first = load(secrets)
    auth = first["jupyterhub"]["hub"]["config"]["SharedPasswordAuthenticator"]
    assert len(auth["admin_password"]) >= 32 and len(auth["user_password"]) >= 8
    subprocess.run(cmd, capture_output=True, check=True)
    assert load(secrets) == first  # created once, then kept
    assert write_secrets(secrets)[1] is False
    bad = subprocess.run(
        [*cmd[:-2], "-o", "-", "--overlay", "huge"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_sizing_estimate():
    sessions, evaluation = sizing(80, node_cpus=8, node_memory_gib=32).splitlines()
    assert sessions.startswith("80 students on 8 vCPU / 32 GB nodes: 7 notebook node(s)")
    assert "23 Dask worker node(s) for 160 workers (7 each)" in sessions
    # Four workers per student for the full table: twice the sessions' nodes.
    assert "46 Dask worker node(s) for 320 workers" in evaluation
    assert "16 GB of local disk" in evaluation


@pytest.mark.parametrize(
    ("user_password", "admin_password"),
    [
        ("password", "an admin password of thirty-two characters"),
        ("a-good-course-password", "short"),
        ("a-good-course-password", "x" * 40),
        (None, "an admin password of thirty-two characters"),
    ],
)
def test_hub_refuses_weak_or_missing_passwords(user_password, admin_password):
    auth = {"user_password": user_password, "admin_password": admin_password}
    secrets = {"jupyterhub": {"hub": {"config": {"SharedPasswordAuthenticator": auth}}}}
    env = {"HELM_RELEASE_NAME": "course", "POD_NAMESPACE": "sdd"}
    with pytest.raises(ValueError, match="missing, default or weak"):
        hub_config_after_snippets(rendered("class"), env, secrets)


def test_the_chart_versions_are_pinned_and_stated_alike():
    """The chart depends on the released charts whose archives CI renders;
    dask-gateway's is the gateway version the images lock; the admin guide
    states both and installs our chart."""
    chart = load(CHART / "Chart.yaml")
    deps = {d["name"]: d for d in chart["dependencies"]}
    assert deps["jupyterhub"]["repository"] == "https://jupyterhub.github.io/helm-chart/"
    assert deps["dask-gateway"]["repository"] == "https://helm.dask.org/"
    for name, dep in deps.items():
        assert yaml.safe_load(dependency_file(name, "Chart.yaml"))["version"] == dep["version"]
    gateway = deps["dask-gateway"]["version"]
    for lock in ("requirements/base.lock", "images/hub/requirements.lock"):
        text = (REPO / lock).read_text()
        assert re.search(rf"^dask-gateway=={re.escape(gateway)} ", text, re.M), (lock, gateway)
    guide = (REPO / "docs" / "admin.md").read_text()
    for pin in (f"jupyterhub {deps['jupyterhub']['version']}", f"dask-gateway {gateway}"):
        assert pin in guide, pin
    installs = [line for line in guide.splitlines() if line.startswith("helm upgrade --install")]
    assert installs and all("hub_config/helm/course-hub" in line for line in installs), installs
