"""The course-hub chart, rendered with Helm's own engine, and what its pods would run.

No chart repository is reachable from CI: the dependency archives a real
``helm dependency build`` fetches are in ``../shared/charts/`` (see its
README), and are copied into a copy of the chart's ``charts/``. Rendering uses
helm-python-sdk (Helm v4's Go SDK, no helm binary).

From the rendered manifests this module lays out what Kubernetes would mount
in the hub pod (z2jh's ConfigMap and Secret as files) and in the gateway pod
(the dask-gateway chart's ConfigMap), with the environment each pod gets, so
the charts' own configuration programs can run on them: on this machine
(``tests/unit/test_chart.py``) or in our images (``tests/images/test_chart_images.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tarfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VALUES_DIR = REPO / "hub_config" / "helm"
CHART = VALUES_DIR / "course-hub"
ARCHIVES = {
    "jupyterhub": SHARED / "charts" / "jupyterhub-4.4.0.tgz",
    "dask-gateway": SHARED / "charts" / "dask-gateway-2026.3.0.tgz",
}
PROBES = Path(__file__).resolve().parent / "chart_probes"
RELEASE = "course"
NAMESPACE = "sdd"
#: Where z2jh's hub Deployment mounts its ConfigMap and Secret.
Z2JH_ETC = "/usr/local/etc/jupyterhub"


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@cache
def dependency_file(chart: str, name: str) -> str:
    """A file of a dependency's archive, e.g. ("jupyterhub", "values.yaml")."""
    with tarfile.open(ARCHIVES[chart]) as tar:
        member = tar.extractfile(f"{chart}/{name}")
        assert member is not None, f"{chart}/{name} not in {ARCHIVES[chart]}"
        return member.read().decode()


def lock_digest(requested: list[dict], locked: list[dict]) -> str:
    """Chart.lock's digest as Helm computes it (internal/resolver HashReq):
    sha256 of Go's JSON of [Chart.yaml dependencies, locked dependencies]."""

    def go_json(dep: dict) -> dict:
        # chart.Dependency's JSON field order and omitempty fields.
        out: dict[str, Any] = {"name": dep["name"]}
        if dep.get("version"):
            out["version"] = dep["version"]
        out["repository"] = dep.get("repository", "")
        for key in ("condition", "tags", "enabled", "import-values", "alias"):
            if dep.get(key):
                out[key] = dep[key]
        return out

    data = json.dumps(
        [[go_json(d) for d in requested], [go_json(d) for d in locked]], separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def prepared_chart(dest: Path, chart: Path = CHART) -> Path:
    """A copy of the chart with the dependency archives in its charts/ folder."""
    copy = dest / chart.name
    shutil.copytree(chart, copy, ignore=shutil.ignore_patterns("charts"))
    (copy / "charts").mkdir()
    for archive in ARCHIVES.values():
        shutil.copy(archive, copy / "charts")
    return copy


class Rendered:
    """The manifests of one rendering, by kind and name."""

    def __init__(self, templates: dict[str, str], crds: list[dict] | None = None):
        self.templates = templates
        #: The CustomResourceDefinitions of crds/ folders, which Helm installs first.
        self.crds = [d for c in crds or [] for d in yaml.safe_load_all(c["data"]) if d]
        self.manifests: list[dict] = []
        self.sources: dict[int, str] = {}  # id(manifest) -> template path
        for path, text in sorted(templates.items()):
            if not path.endswith((".yaml", ".yml")):
                continue  # NOTES.txt
            for doc in yaml.safe_load_all(text):
                if doc:
                    self.manifests.append(doc)
                    self.sources[id(doc)] = path

    def of_kind(self, kind: str) -> list[dict]:
        return [m for m in self.manifests if m["kind"] == kind]

    def get(self, kind: str, name: str) -> dict:
        found = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
        return found[0]

    def pod_specs(self) -> dict[str, dict]:
        """Each workload's pod template spec, by "Kind/name"."""
        kinds = ("Deployment", "StatefulSet", "DaemonSet", "Job")
        return {
            f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
            for m in self.manifests
            if m["kind"] in kinds
        }

    def service_env(self) -> dict[str, str]:
        """The NAME_SERVICE_HOST/_PORT variables Kubernetes gives every pod."""
        env = {}
        for i, svc in enumerate(self.of_kind("Service")):
            prefix = svc["metadata"]["name"].upper().replace("-", "_")
            env[f"{prefix}_SERVICE_HOST"] = f"10.96.0.{i + 10}"
            env[f"{prefix}_SERVICE_PORT"] = str(svc["spec"]["ports"][0]["port"])
        return env

    def secret_data(self, name: str) -> dict[str, str]:
        secret = self.get("Secret", name)
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        return {**data, **(secret.get("stringData") or {})}

    def container(self, workload: str, name: str) -> dict:
        spec = self.pod_specs()[workload]
        [container] = [c for c in spec["containers"] if c["name"] == name]
        return container

    def pod_env(self, workload: str, container: str) -> dict[str, str]:
        """A container's environment as the kubelet makes it (fieldRefs and
        secretKeyRefs resolved from the rendered objects), plus the services'."""
        env = dict(self.service_env())
        for item in self.container(workload, container).get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
                continue
            ref = item["valueFrom"]
            if "fieldRef" in ref:
                assert ref["fieldRef"]["fieldPath"] == "metadata.namespace", ref
                env[item["name"]] = NAMESPACE
            elif "secretKeyRef" in ref:
                key = ref["secretKeyRef"]
                data = self.secret_data(key["name"])
                assert key["key"] in data, (
                    f"{item['name']}: no {key['key']} in Secret {key['name']}"
                )
                env[item["name"]] = data[key["key"]]
            else:
                raise AssertionError(f"unexpected env source {ref}")
        return env


def render_chart(chart_dir: Path, values: dict, name: str = RELEASE) -> Rendered:
    import helm_python

    with helm_python.Chart.load(chart_dir) as chart:
        templates = chart.render(values, name=name, namespace=NAMESPACE, is_install=True)
        return Rendered(templates, chart.crds)


def hub_layout(rendered: Rendered, root: Path, etc: str = Z2JH_ETC) -> dict[str, str]:
    """z2jh's hub pod files under ``root`` (its ConfigMap and Secret as the
    Deployment mounts them), and the hub container's environment.

    ``etc`` is where the files will be seen: the container's real path, or
    ``root`` itself on this machine (z2jh.py's paths are then rewritten).
    """
    config = rendered.get("ConfigMap", "hub")["data"]
    (root / "config").mkdir(parents=True)
    for key, text in config.items():
        (root / "config" / key).write_text(text)
    (root / "secret").mkdir()
    for key, text in rendered.secret_data("hub").items():
        (root / "secret" / key).write_text(text)
    (root / "jupyterhub_config.py").write_text(config["jupyterhub_config.py"])
    z2jh = config["z2jh.py"]
    if etc != Z2JH_ETC:
        assert z2jh.count(f"{Z2JH_ETC}/") == 3, "z2jh.py reads its files elsewhere now"
        z2jh = z2jh.replace(f"{Z2JH_ETC}/", f"{etc}/")
    (root / "z2jh.py").write_text(z2jh)
    return rendered.pod_env("Deployment/hub", "hub")


def gateway_layout(rendered: Rendered, root: Path) -> dict[str, str]:
    """The gateway pod's /etc/dask-gateway (its ConfigMap) under ``root``, and
    the gateway container's environment."""
    name = f"api-{RELEASE}-dask-gateway"
    root.mkdir(parents=True, exist_ok=True)
    for key, text in rendered.get("ConfigMap", name)["data"].items():
        (root / key).write_text(text)
    return rendered.pod_env(f"Deployment/{name}", "gateway")


def probe_output(stdout: str) -> dict:
    """The probes' JSON report: the last line starting with PROBE."""
    lines = [line for line in stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, f"no report from the probe:\n{stdout[-3000:]}"
    return json.loads(lines[-1][len("PROBE ") :])


def image_ref(value: dict) -> str:
    return f"{value['name']}:{value['tag']}"


TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


# --- The cases: chart defaults, render-values variants, the logins ----------

REGISTRY = "registry.example.org/course"
TAG = "3f2a9c1d0e4b"
HOST = "hub.your-school.org"
CLIENT_SECRET = "the-provider-client-secret-0123456789"
AUTHENTICATORS = {
    "shared": "jupyterhub.authenticators.shared.SharedPasswordAuthenticator",
    "github": "oauthenticator.github.GitHubOAuthenticator",
    "google": "oauthenticator.google.GoogleOAuthenticator",
    "oidc": "oauthenticator.generic.GenericOAuthenticator",
    "lti13": "ltiauthenticator.lti13.auth.LTI13Authenticator",
}


def logins() -> dict:
    from course_hub.daskhub_logins import Login

    return {
        "github": Login(
            "github", client_id="gh-client", allowed_orgs=["sdd"], admins=["Prof-Ada"]
        ),
        "google": Login(
            "google", client_id="g.apps", allowed_domains=["your-school.org"], admins=["ada"]
        ),
        "oidc": Login(
            "oidc",
            client_id="course-hub",
            issuer="https://sso.your-school.org/realms/students",
            allowed_groups=["sdd-2026"],
            admin_groups=["sdd-teachers"],
        ),
        "lti13": Login(
            "lti13",
            client_id="AbC123",
            issuer="https://moodle.your-school.org",
            lti_courses=["42"],
        ),
        "shared+roster": Login("shared", roster=["ada", "grace"], admins=["prof-ada"]),
    }


#: Each case: render-values arguments (None: the chart's defaults alone).
CASES = {
    "chart defaults": None,
    "plain": {},
    "class": {"overlay": "class", "host": HOST, "contact": "it@your-school.org", "students": 80},
    "test": {"overlay": "test", "course_repo": "COURSE_REPO", "course_branch": "term-2"},
    "github": {"overlay": "class", "host": HOST, "login": "github"},
    "google": {"overlay": "class", "host": HOST, "login": "google"},
    "oidc": {"overlay": "class", "host": HOST, "login": "oidc"},
    "lti13": {"overlay": "class", "host": HOST, "login": "lti13"},
    "shared+roster": {"overlay": "test", "login": "shared+roster"},
}


def course_repo(root: Path) -> Path:
    """A teacher's course repository (branch term-2), served as file://."""
    import subprocess

    repo = root / "course-repo"
    if not repo.exists():
        shutil.copytree(REPO / "course", repo / "course")
        git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org"]
        for args in (["init", "-q", "-b", "term-2"], ["add", "-A"], ["commit", "-qm", "course"]):
            subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    return repo


def case_values(case: str, tmp: Path) -> tuple[dict, dict]:
    """(what render-values writes, that plus the secrets file): the values
    ``helm upgrade --install -f values.rendered.yaml -f hub-secrets.yaml`` gets."""
    from course_hub.daskhub import deep_merge, render, write_secrets

    args = CASES[case]
    login = logins().get((args or {}).get("login", ""))
    mode = login.mode if login else "shared"
    if args is None:
        values = {}
    else:
        kw = {k: v for k, v in args.items() if k not in ("overlay", "login")}
        if kw.get("course_repo") == "COURSE_REPO":
            kw["course_repo"] = f"file://{course_repo(tmp)}"
        values = render(
            VALUES_DIR, REPO / "course", REGISTRY, TAG, args.get("overlay"), login=login, **kw
        )
    secrets_file = tmp / f"secrets-{case.replace(' ', '-').replace('+', '-')}.yaml"
    secrets, _ = write_secrets(secrets_file, mode, CLIENT_SECRET)
    return values, deep_merge(values, secrets)


def effective(values: dict) -> dict:
    """The chart's values.yaml with ``values`` over it, as Helm merges them."""
    from course_hub.daskhub import deep_merge

    return deep_merge(load_yaml(CHART / "values.yaml"), values)


def images_of(values: dict) -> tuple[str, str]:
    """(hub image, single-user image) the values name."""
    jh = effective(values)["jupyterhub"]
    return image_ref(jh["hub"]["image"]), image_ref(jh["singleuser"]["image"])


# --- What the charts' programs must have made of the values -----------------


def gateway_service(rendered: Rendered) -> tuple[str, int]:
    """The in-cluster address of the gateway's Traefik: (host, web port)."""
    name = f"traefik-{RELEASE}-dask-gateway"
    svc = rendered.get("Service", name)
    [web] = [p for p in svc["spec"]["ports"] if p["name"] == "web"]
    assert web["targetPort"] == 8000
    return f"{name}.{NAMESPACE}", web["port"]


def check_hub(report: dict, rendered: Rendered, values: dict, case: str) -> None:
    """The hub's traitlets config, as z2jh's program and our snippets made it."""
    jh = effective(values)["jupyterhub"]
    args = CASES[case] or {}
    mode = logins()[args["login"]].mode if args.get("login") else "shared"
    assert report["spawner_class"] == "kubespawner.spawner.KubeSpawner"
    assert report["authenticator_class"] == AUTHENTICATORS[mode]
    if mode in ("github", "google", "oidc"):
        assert report["client_secret_set"]
        assert (
            report["authenticator"]["oauth_callback_url"] == f"https://{HOST}/hub/oauth_callback"
        )
    spawner = report["kubespawner"]
    assert spawner["image"] == images_of(values)[1]
    # Servers reach the gateway in the cluster, through its Traefik: the API by
    # the gateway's route prefix, the schedulers by TLS (SNI) on the same port.
    host, port = gateway_service(rendered)
    prefix = effective(values)["dask-gateway"]["gateway"]["prefix"]
    route = rendered.get("IngressRoute", f"api-{RELEASE}-dask-gateway")
    assert f"PathPrefix(`{prefix}`)" in route["spec"]["routes"][0]["match"]
    traefik = rendered.container(f"Deployment/traefik-{RELEASE}-dask-gateway", "traefik")
    assert not any(a.startswith("--entrypoints.tcp.") for a in traefik["args"])  # TLS on "web"
    controller = rendered.get("ConfigMap", f"controller-{RELEASE}-dask-gateway")
    assert 'proxy_tcp_entrypoint = "web"' in controller["data"]["dask_gateway_config.py"]
    env = spawner["environment"]
    assert env["DASK_GATEWAY__ADDRESS"] == f"http://{host}{prefix}"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == f"gateway://{host}:{port}"
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    # What a student's server really gets, through KubeSpawner's own get_env
    # (it formats admin-set strings: a plain "{JUPYTERHUB_SERVICE_PREFIX}"
    # string failed every spawn with a KeyError).
    spawn_env = report["spawn_env"]
    assert spawn_env["DASK_GATEWAY__PUBLIC_ADDRESS"] == (
        "{JUPYTERHUB_SERVICE_PREFIX}proxy/" + f"{host}:{port}{prefix}"
    )
    assert spawn_env["DASK_DISTRIBUTED__DASHBOARD__LINK"] == (
        "/user/probe-student/proxy/{port}/status"
    )
    assert spawn_env["COURSE_PROXY_HOSTS"] == host
    assert env["COURSE_PROXY_HOSTS"] == host
    assert env["DASK_LABEXTENSION__FACTORY__MODULE"] == "dask_gateway"
    assert env["DASK_LABEXTENSION__FACTORY__CLASS"] == "GatewayCluster"
    assert env["APPLICATION_WEB_PROXY_BASE"] == env["COURSE_SOLUTIONS"] == "<callable>"
    for key, value in jh["singleuser"]["extraEnv"].items():
        assert env[key] == value, key
    # Resources, storage and profiles as the values say.
    su = jh["singleuser"]
    assert (spawner["cpu_guarantee"], spawner["cpu_limit"]) == (
        su["cpu"]["guarantee"],
        su["cpu"]["limit"],
    )
    assert (spawner["mem_guarantee"], spawner["mem_limit"]) == (
        su["memory"]["guarantee"],
        su["memory"]["limit"],
    )
    assert spawner["storage_capacity"] == su["storage"]["capacity"]
    assert spawner["storage_pvc_ensure"] is True
    [mount] = spawner["volume_mounts"].values()
    assert mount["mountPath"] == su["storage"]["homeMountPath"] == "/home/jovyan"
    assert spawner["profile_list"] == su["profileList"]
    assert (spawner["uid"], spawner["fs_gid"]) == (su["uid"], su["fsGid"])
    assert report["default_url"] == "/lab"
    assert ("scheduler_name" in spawner) == jh["scheduling"]["userScheduler"]["enabled"]
    assert report["concurrent_spawn_limit"] == jh["hub"]["concurrentSpawnLimit"]
    # Services: the gateway, with the token z2jh generated and no route; the culler.
    services = {s["name"]: s for s in report["services"]}
    gateway = services["dask-gateway"]
    assert gateway["token"] and "url" not in gateway
    cull = jh["cull"]
    culler = " ".join(services["jupyterhub-idle-culler"]["command"])
    for flag in (
        f"--timeout={cull['timeout']}",
        f"--cull-every={cull['every']}",
        f"--max-age={cull['maxAge']}",
    ):
        assert flag in culler, (flag, culler)
    assert report["role_services"]["jupyterhub-idle-culler"] == ["jupyterhub-idle-culler"]
    check_course_service(report, rendered)
    # Roles and scopes: students' and servers' tokens reach the gateway; sharing.
    for role in ("user", "server"):
        assert "access:services!service=dask-gateway" in report["roles"][role], role
    assert {"shares!user", "custom:jupyter_server:execute:*!user"} <= set(report["roles"]["user"])
    assert report["custom_scopes"] == [
        "custom:jupyter_server:execute:*",
        "custom:jupyter_server:write:*",
    ]
    # Where z2jh's hub reaches the other pods: the rendered Services.
    assert report["hub_connect_url"] == "http://hub:8081/hub/"
    assert report["proxy_api_url"] == "http://proxy-api:8001" and not report["proxy_should_start"]
    rendered.get("Service", "hub"), rendered.get("Service", "proxy-api")
    assert report["db_url"] == "sqlite:///jupyterhub.sqlite" and not report["cleanup_servers"]
    admins = jh["hub"]["config"]["Authenticator"].get("admin_users", [])
    assert set(report["admins"]) >= {a.lower() for a in admins}


#: Where the hub, the proxy, the servers and the gateway reach the course
#: service: the hub's Service (z2jh names it "hub"), its extra "course" port.
COURSE_SERVICE = "http://hub:10101"
#: z2jh's hub volume (hub.db.type sqlite-pvc): the PVC hub-db-dir, mounted here.
HUB_VOLUME = "/srv/jupyterhub"


def check_course_service(report: dict, rendered: Rendered) -> None:
    """The course service as the hub would run it (hub.extraConfig
    20-course-service, course_hub/hub/wiring.py): hub-managed in the hub pod,
    reached through the hub's Service, its database and hand-ins on the hub's
    persistent volume, the roles that let students, servers and the gateway in."""
    services = {s["name"]: s for s in report["services"]}
    course = services.get("course")
    assert course, f"no course service in the hub: {sorted(services)}"
    assert course["url"] == COURSE_SERVICE
    assert course["command"][1:] == ["-m", "course_hub.service"]
    # "hub" names the Service, not the pod: the service listens on every address.
    assert course["environment"]["COURSE_SERVICE_BIND_IP"] == "0.0.0.0"  # noqa: S104
    port = int(COURSE_SERVICE.rsplit(":", 1)[1])
    [svc_port] = [p for p in rendered.get("Service", "hub")["spec"]["ports"] if p["port"] == port]
    assert svc_port["targetPort"] == port
    # Its state on the hub's PersistentVolumeClaim: nothing lost when the pod restarts.
    state = course["environment"]["COURSE_SERVICE_STATE_DIR"]
    assert state.startswith(f"{HUB_VOLUME}/"), state
    hub = rendered.pod_specs()["Deployment/hub"]
    [mount] = [
        m
        for m in rendered.container("Deployment/hub", "hub")["volumeMounts"]
        if m["mountPath"].rstrip("/") == HUB_VOLUME
    ]
    [volume] = [v for v in hub["volumes"] if v["name"] == mount["name"]]
    claim = volume["persistentVolumeClaim"]["claimName"]
    rendered.get("PersistentVolumeClaim", claim)
    # Students' and servers' tokens reach it (HubOAuth checks the scope); the
    # service looks users and groups up (who teaches); the gateway reads its presets.
    access = "access:services!service=course"
    for role in ("user", "server"):
        assert access in report["roles"][role], role
    # Preparing the class: the roster, its servers, their activity (kept from the culler).
    assert {"read:groups", "read:users", "list:users", "servers", "users:activity"} <= set(
        report["roles"]["course-service"]
    )
    # As many spawns at a time as the hub allows (z2jh's hub.concurrentSpawnLimit).
    assert course["environment"]["COURSE_SPAWN_CONCURRENCY"] == str(
        report["concurrent_spawn_limit"]
    )
    assert report["role_services"]["course-service"] == ["course"]
    assert report["roles"]["course-gateway"] == [access]
    assert report["role_services"]["course-gateway"] == ["dask-gateway"]
    # Where a student's server and the gateway find it.
    url = f"{COURSE_SERVICE}/services/course/"
    assert report["spawn_env"]["COURSE_SERVICE_URL"] == url
    gateway_env = rendered.pod_env(f"Deployment/api-{RELEASE}-dask-gateway", "gateway")
    assert gateway_env["COURSE_SERVICE_URL"] == url


def check_gateway(report: dict, rendered: Rendered, values: dict, env: dict) -> None:
    """dask-gateway-server as the chart's config and our snippets made it."""
    from course_hub.hub.gateway import manifest_presets
    from course_hub.manifest import MANIFEST_NAME, load_manifest

    gw = effective(values)["dask-gateway"]["gateway"]
    # Per-student limits, and dashboards served to their cluster's owner only.
    assert report["backend_class"] == (
        "course_hub.hub.kube_dashboards.LimitedKubeDashboardsBackend"
    )
    assert report["authenticator_class"] == "course_hub.hub.auth.CourseHubAuthenticator"
    assert report["api_token_set"]
    assert report["jupyterhub_api_url"] == (
        f"http://{env['HUB_SERVICE_HOST']}:{env['HUB_SERVICE_PORT']}/hub/api"
    )
    hub_services = effective(values)["jupyterhub"]["hub"]["services"]
    assert report["jupyterhub_service_name"] == "dask-gateway" and "dask-gateway" in hub_services
    api = f"api-{RELEASE}-dask-gateway"
    assert report["api_url"] == f"http://{api}.{NAMESPACE}:8000/api"
    assert rendered.get("Service", api)["spec"]["ports"][0]["port"] == 8000
    assert report["gateway_instance"] == f"{RELEASE}-dask-gateway"
    # The options form and the session presets of the course.
    genv = {e["name"]: e["value"] for e in gw["env"]}
    presets = json.loads(genv["COURSE_PRESETS"])  # "{}" until render-values fills it
    if "dask-gateway" in values:  # rendered by render-values, not the bare chart
        course = REPO / "course"
        assert presets == manifest_presets(load_manifest(course / MANIFEST_NAME, course))
    assert report["option_fields"] == ["session", "worker_cores", "worker_memory"]
    assert set(presets) | {"custom"} == set(report["sessions"])
    for session, preset in presets.items():
        got = report["presets"][session]
        assert got["worker_cores"] == preset["worker_cores"], session
        assert got["worker_memory"] == int(preset["worker_memory"] * 2**30), session
    assert len(report["refused"]) == 2  # 5 cores, 9 GiB: beyond the course's range
    # Limits and the idle timeout from the gateway's environment.
    limits = report["limits"]
    assert limits["max_clusters"] == int(genv["COURSE_USER_MAX_CLUSTERS"])
    assert limits["max_cores"] == float(genv["COURSE_USER_MAX_CORES"])
    assert limits["max_memory_gib"] == float(genv["COURSE_USER_MAX_MEMORY_GIB"])
    cluster = report["cluster"]
    assert cluster["cluster_max_workers"] == int(genv["COURSE_CLUSTER_MAX_WORKERS"])
    assert cluster["cluster_max_cores"] == float(genv["COURSE_CLUSTER_MAX_CORES"])
    assert cluster["cluster_max_memory"] == int(genv["COURSE_CLUSTER_MAX_MEMORY_GIB"]) * 2**30
    assert cluster["idle_timeout"] == float(genv["COURSE_CLUSTER_IDLE_TIMEOUT"])
    # Schedulers and workers: our image, sized as the values say, quiet.
    assert cluster["image"] == images_of(values)[1]
    sched = gw["backend"]["scheduler"]
    assert (cluster["scheduler_cores"], cluster["scheduler_cores_limit"]) == (
        sched["cores"]["request"],
        sched["cores"]["limit"],
    )
    assert cluster["scheduler_memory"] == int(sched["memory"]["request"].rstrip("G")) * 2**30
    assert cluster["scheduler_memory_limit"] == int(sched["memory"]["limit"].rstrip("G")) * 2**30
    assert cluster["worker_threads"] == gw["backend"]["worker"]["threads"]
    assert cluster["worker_cmd"] == ["dask", "worker", "--no-dashboard"]
    # Where they run (the class overlay: the user pool).
    for pod in ("scheduler", "worker"):
        assert cluster[f"{pod}_extra_pod_config"] == gw["backend"][pod].get("extraPodConfig", {})
    assert cluster["environment"]["DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL"] == "500ms"


def run_probe_here(probe: str, config: Path, env: dict[str, str], cwd: Path) -> dict:
    """Run a probe with this machine's Python (the dev environment has the
    hub's and gateway's packages), with only the pod's environment."""
    import os
    import subprocess
    import sys

    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "SSL_CERT_FILE") if k in os.environ}
    proc = subprocess.run(
        [sys.executable, str(PROBES / probe), str(config)],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{probe} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    return probe_output(proc.stdout)


def hub_report_here(rendered: Rendered, tmp: Path) -> dict:
    root = tmp / "hub-etc"
    env = hub_layout(rendered, root, etc=str(root))
    (tmp / "hub-srv").mkdir()  # the hub's volume, its working directory
    return run_probe_here("hub_probe.py", root / "jupyterhub_config.py", env, tmp / "hub-srv")


def gateway_report_here(rendered: Rendered, tmp: Path) -> tuple[dict, dict]:
    root = tmp / "gateway-etc"
    env = gateway_layout(rendered, root)
    (tmp / "gateway-tmp").mkdir()
    env["TMPDIR"] = str(tmp / "gateway-tmp")  # the pod's own /tmp (course repository clone)
    return run_probe_here("gateway_probe.py", root / "dask_gateway_config.py", env, root), env
