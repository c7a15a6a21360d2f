"""The DaskHub values, checked offline (no Kubernetes API can run in CI).

Our values are deep-merged over daskhub's and the charts' defaults and
validated against the charts' own JSON schemas (../shared/helm-schemas), and
every Python snippet of hub.extraConfig and gateway.extraConfig runs against a
traitlets config prepared the way the charts prepare it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from traitlets.config import Config

from course_hub.daskhub import deep_merge, render, sizing, write_secrets
from course_hub.hub.presets import GIB

from ..conftest import git

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "hub_config" / "daskhub"
SCHEMAS = REPO.parent / "shared" / "helm-schemas"
CHARTS = {"jupyterhub": "jupyterhub", "dask-gateway": "dask-gateway"}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merged_with_defaults(values: dict) -> dict[str, dict]:
    """What each subchart receives: chart defaults <- daskhub defaults <- ours."""
    daskhub = deep_merge(load(SCHEMAS / "daskhub" / "values.yaml"), values)
    return {
        key: deep_merge(load(SCHEMAS / chart / "values.yaml"), daskhub.get(key, {}))
        for key, chart in CHARTS.items()
    }


def schema_errors(values: dict) -> list[str]:
    errors = []
    for key, chart_values in merged_with_defaults(values).items():
        schema = json.loads((SCHEMAS / CHARTS[key] / "values.schema.json").read_text())
        validator = jsonschema.Draft7Validator(schema)
        for err in validator.iter_errors(chart_values):
            errors.append(f"{key}.{'.'.join(map(str, err.path))}: {err.message}")
    return errors


def rendered(overlay: str | None = None, **kw) -> dict:
    return render(
        VALUES, REPO / "course", "registry.example.org/course", "2026.12.01", overlay, **kw
    )


CASES = {
    "values": lambda: load(VALUES / "values.yaml"),
    "values+class": lambda: deep_merge(load(VALUES / "values.yaml"), load(VALUES / "class.yaml")),
    "values+test": lambda: deep_merge(load(VALUES / "values.yaml"), load(VALUES / "test.yaml")),
    "rendered class": lambda: rendered("class", host="hub.example.org", students=80),
    "rendered test": lambda: rendered("test", course_repo="https://example.org/course.git"),
}


@pytest.mark.parametrize("case", CASES)
def test_values_validate_against_the_chart_schemas(case):
    assert schema_errors(CASES[case]()) == []


def test_the_validation_catches_mistakes():
    values = load(VALUES / "values.yaml")
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


def hub_config_after_snippets(values: dict, env: dict[str, str], secrets: dict = STRONG) -> Config:
    """Run daskhub's and our hub.extraConfig like z2jh's jupyterhub_config.py does."""
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
            exec(compile(snippets[name], f"hub.extraConfig.{name}", "exec"), {"c": c})  # noqa: S102 - what z2jh does
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
    assert e["DASK_GATEWAY__PUBLIC_ADDRESS"] == (
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
    options = c.Backend.cluster_options
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
    assert c.KubeClusterConfig.worker_cmd == ["dask-worker", "--no-dashboard"]
    env = c.ClusterConfig.environment
    assert env["DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL"] == "500ms"
    assert env["DASK_DISTRIBUTED__WORKER__PROFILE__INTERVAL"] == "100ms"
    small = gateway_config_after_snippets(rendered("test"))
    assert small.ClusterConfig.cluster_max_workers == 4
    assert small.ClusterConfig.idle_timeout == 600


def test_gateway_presets_follow_the_course_repository(tmp_path):
    # A teacher's repository with one more session than the image's course.
    repo = tmp_path / "teacher"
    shutil.copytree(REPO / "course", repo / "course")
    manifest = repo / "course" / "course.yml"
    manifest.write_text(
        manifest.read_text()
        + "  - id: extra\n    title: Extra\n    duration: 1h\n"
        + "    cluster: {workers: 1, worker_cores: 2, worker_memory: 4}\n"
    )
    git("init", "-q", "-b", "term-1", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "one more session", cwd=repo)

    def options_of_a_fresh_gateway_pod(values: dict, tmp: Path):
        tmp.mkdir()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TMPDIR", str(tmp))  # the pod's own /tmp
            tempfile.tempdir = None
            try:
                c = gateway_config_after_snippets(values)
                return asyncio.run(c.Backend.cluster_options(None))
            finally:
                tempfile.tempdir = None

    values = rendered("class", course_repo=f"file://{repo}", course_branch="term-1")
    options = options_of_a_fresh_gateway_pod(values, tmp_path / "pod-1")
    assert list(options.fields[0].options)[-1] == "extra"
    extra = options.get_configuration(options.parse_options({"session": "extra"}), None)
    assert (extra["worker_cores"], extra["worker_memory"]) == (2, 4 * GIB)

    # Unreachable repository: the presets rendered from the image's course.
    values = rendered("class", course_repo=f"file://{tmp_path / 'gone'}")
    options = options_of_a_fresh_gateway_pod(values, tmp_path / "pod-2")
    assert list(options.fields[0].options) == ["custom", "dask", "evaluation", "kubernetes"]


def test_render_values_sets_images_course_and_class_size():
    values = rendered("class", host="hub.ex.org", students=80, course_repo="https://g/c.git")
    image = {"name": "registry.example.org/course/singleuser", "tag": "2026.12.01"}
    hub, gw = values["jupyterhub"], values["dask-gateway"]["gateway"]
    assert {k: hub["singleuser"]["image"][k] for k in image} == image
    assert {k: gw["image"][k] for k in image} == image
    assert {k: gw["backend"]["image"][k] for k in image} == image
    assert hub["proxy"]["https"]["hosts"] == ["hub.ex.org"]
    assert hub["scheduling"]["userPlaceholder"]["replicas"] == 10
    assert hub["singleuser"]["extraEnv"]["COURSE_CONTENT_REPO"] == "https://g/c.git"
    presets = json.loads({e["name"]: e["value"] for e in gw["env"]}["COURSE_PRESETS"])
    assert presets["dask"] == {"worker_cores": 1, "worker_memory": 2.0}
    assert "SharedPasswordAuthenticator" not in hub["hub"]["config"]  # secrets stay out


def test_cli_writes_values_and_a_private_secrets_file(tmp_path):
    out, secrets = tmp_path / "values.yaml", tmp_path / "secrets.yaml"
    cmd = [
        str(Path(sys.executable).parent / "course-hub"),
        "render-values",
        "--registry", "r.example.org/c",
        "--tag", "abc123",
        "--overlay", "test",
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
    text = sizing(80, node_cpus=8, node_memory_gib=32)
    assert text.startswith("80 students on 8 vCPU / 32 GB nodes: 7 notebook node(s)")


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
    """The values' header names the charts they were checked against; the admin
    guide states the same ones and pins the chart in its helm command; the
    dask-gateway chart is the gateway version the images lock."""
    header = (VALUES / "values.yaml").read_text().split("\n\n", 1)[0]
    commit = re.search(r"dask/helm-chart ([0-9a-f]{7,40})", header)[1]
    jupyterhub = re.search(r"jupyterhub (\d+\.\d+\.\d+)", header)[1]
    gateway = re.search(r"dask-gateway (\d+\.\d+\.\d+)", header)[1]
    lock = (REPO / "requirements" / "base.lock").read_text()
    assert re.search(rf"^dask-gateway=={re.escape(gateway)} ", lock, re.M), gateway
    assert commit in (SCHEMAS / "README.md").read_text()  # the schemas we validate with
    guide = (REPO / "docs" / "admin.md").read_text()
    for pin in (commit, f"jupyterhub {jupyterhub}", f"dask-gateway {gateway}"):
        assert pin in guide, pin
    installs = [line for line in guide.splitlines() if line.startswith("helm upgrade --install")]
    assert installs and all("--version" in line for line in installs), installs
