"""The course-hub chart rendered with Helm's own engine, offline, and checked.

The chart is rendered by helm-python-sdk (Helm v4's Go SDK) with the
dependency archives of ../shared/charts in its charts/ folder, for the chart's
defaults, render-values' variants (class and test overlays, course
repository) and every login. Then:

- every manifest validates against the Kubernetes API schemas of the oldest
  version we support and the newest kubernetes-validate knows; the Traefik
  objects against the CRDs the chart ships;
- the facts that matter are read from the manifests: our images with one tag,
  the gateway's token from the hub's Secret, resources, network policies
  (evaluated: what may connect to what), culler, pre-puller, placeholders, no
  secret in a ConfigMap;
- z2jh's jupyterhub_config.py (with its z2jh.py) runs on the rendered hub
  Secret and ConfigMap, and JupyterHub initialises from it; the dask-gateway
  chart's config runs in dask-gateway-server; their traitlets are checked
  (tests/chart.py: check_hub, check_gateway). The images tier does the same
  in our images (tests/images/test_chart_images.py);
- broken values fail these checks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import helm_python
import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kube

from course_hub.daskhub import deep_merge

from ..chart import (
    ARCHIVES,
    CASES,
    CHART,
    CLIENT_SECRET,
    NAMESPACE,
    REGISTRY,
    RELEASE,
    REPO,
    VALUES_DIR,
    Rendered,
    case_values,
    check_gateway,
    check_hub,
    gateway_report_here,
    hub_report_here,
    image_ref,
    images_of,
    load_yaml,
    lock_digest,
    prepared_chart,
    render_chart,
)


def oldest_kubernetes() -> str:
    """The oldest Kubernetes the chart installs on: its kubeVersion's floor
    (">=1.30.0-0": dask-gateway 2026.3.0's, above z2jh 4.4.0's 1.28). Helm
    refuses older clusters, so validating for them would prove nothing."""
    match = re.fullmatch(
        r">=\s*(\d+)\.(\d+)\.(\d+)(-0)?", load_yaml(CHART / "Chart.yaml")["kubeVersion"]
    )
    assert match, "kubeVersion is no longer a plain lower bound: pick the oldest by hand"
    return ".".join(match.group(1, 2, 3))


#: The oldest Kubernetes the chart supports and the newest kubernetes-validate knows.
KUBE_VERSIONS = (oldest_kubernetes(), kube.latest_version())
#: Images that stay upstream: infrastructure the course does not change.
UPSTREAM_IMAGES = (
    "quay.io/jupyterhub/configurable-http-proxy:",
    "quay.io/jupyterhub/k8s-network-tools:",
    "quay.io/jupyterhub/k8s-secret-sync:",
    "quay.io/jupyterhub/k8s-image-awaiter:",
    "registry.k8s.io/kube-scheduler:",
    "registry.k8s.io/pause:",
    "docker.io/traefik:",
    "traefik:",
)


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory) -> Path:
    return prepared_chart(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cases")


@pytest.fixture(scope="module")
def cases(chart_dir, work) -> dict[str, tuple[dict, Rendered]]:
    """Every case rendered once: (the values helm gets, the manifests)."""
    out = {}
    start = time.monotonic()
    for case in CASES:
        _, values = case_values(case, work)
        out[case] = (values, render_chart(chart_dir, values))
    elapsed = time.monotonic() - start
    assert elapsed < 60, f"rendering {len(CASES)} cases took {elapsed:.0f} s"
    return out


# --- The chart and its lock --------------------------------------------------


def test_chart_lock_digest_is_helms():
    chart, lock = load_yaml(CHART / "Chart.yaml"), load_yaml(CHART / "Chart.lock")
    assert lock["digest"] == lock_digest(chart["dependencies"], lock["dependencies"])
    assert [(d["name"], d["version"], d["repository"]) for d in lock["dependencies"]] == [
        (d["name"], d["version"], d["repository"]) for d in chart["dependencies"]
    ]
    for dep in chart["dependencies"]:
        assert ARCHIVES[dep["name"]].name == f"{dep['name']}-{dep['version']}.tgz"
    # The chart asks for the newest Kubernetes its dependencies ask for.
    wanted = [load_yaml_text(dep, "Chart.yaml")["kubeVersion"] for dep in ARCHIVES]
    assert chart["kubeVersion"] == max(wanted, key=lambda v: tuple(map(int, v[2:-2].split("."))))
    # charts/ is filled by `helm dependency build` (or the tests): never committed.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(CHART / "charts" / "jupyterhub-4.4.0.tgz")], cwd=REPO
    )
    assert ignored.returncode == 0


def load_yaml_text(dep: str, name: str) -> dict:
    from ..chart import dependency_file

    return yaml.safe_load(dependency_file(dep, name))


@pytest.fixture
def chart_repository(tmp_path):
    """../shared/charts served as a chart repository on 127.0.0.1."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for archive in ARCHIVES.values():
        shutil.copy(archive, repo)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    helm_python.repo_index_generate(repo, base_url=url.rstrip("/"))
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(repo)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the chart repository did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_helm_dependency_update_and_build_agree_with_the_lock(tmp_path, chart_repository):
    """Helm's own dependency update and build, from a local copy of the two
    chart repositories: Helm writes the digest we compute, and accepts ours."""
    mirror = chart_repository
    chart = tmp_path / "course-hub"
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    text = (chart / "Chart.yaml").read_text()
    for dep in load_yaml(CHART / "Chart.yaml")["dependencies"]:
        text = text.replace(dep["repository"], mirror)
    (chart / "Chart.yaml").write_text(text)
    helm_python.dependency_update(chart)  # `helm dependency update`
    written = load_yaml(chart / "Chart.lock")
    requested = load_yaml(chart / "Chart.yaml")["dependencies"]
    assert written["digest"] == lock_digest(requested, written["dependencies"])
    # `helm dependency build` from a lock written our way, into an empty charts/.
    ours = load_yaml(CHART / "Chart.lock")
    for dep in ours["dependencies"]:
        dep["repository"] = mirror
    ours["digest"] = lock_digest(requested, ours["dependencies"])
    (chart / "Chart.lock").write_text(yaml.safe_dump(ours, sort_keys=False))
    shutil.rmtree(chart / "charts")
    helm_python.dependency_build(chart)
    for archive in ARCHIVES.values():
        assert (chart / "charts" / archive.name).read_bytes() == archive.read_bytes()
    # A lock out of step with Chart.yaml is refused, as by `helm dependency build`.
    ours["digest"] = "sha256:" + "0" * 64
    (chart / "Chart.lock").write_text(yaml.safe_dump(ours, sort_keys=False))
    with pytest.raises(helm_python.HelmError, match="out of sync"):
        helm_python.dependency_build(chart)


def test_helm_lint(chart_dir):
    report = helm_python.lint(chart_dir, kube_version=f"v{KUBE_VERSIONS[0]}")
    errors = [m for m in report["messages"] if m["severity"] >= 3]
    assert not errors and not report["errors"], report


# --- Every manifest valid --------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_every_manifest_validates_against_the_kubernetes_api(cases, case):
    assert KUBE_VERSIONS[0] in kube.all_versions(), f"kubernetes-validate lacks {KUBE_VERSIONS}"
    _, rendered = cases[case]
    crd_schemas = {}
    for crd in rendered.crds:
        kube.validate(crd, KUBE_VERSIONS[0], strict=True)
        spec = crd["spec"]
        for version in spec["versions"]:
            api = f"{spec['group']}/{version['name']}"
            crd_schemas[(api, spec["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    by_crd = 0
    for manifest in rendered.manifests:
        key = (manifest["apiVersion"], manifest["kind"])
        if key in crd_schemas:
            jsonschema.validate(manifest, crd_schemas[key])
            by_crd += 1
            continue
        for version in KUBE_VERSIONS:
            try:
                kube.validate(manifest, version, strict=True)
            except kube.ValidationError as exc:
                name = f"{manifest['kind']}/{manifest['metadata']['name']}"
                pytest.fail(
                    f"{name} ({rendered.sources[id(manifest)]}), Kubernetes {version}: {exc}"
                )
    # Traefik objects: the gateway's API route, its two middlewares, our dashboards route.
    assert len(rendered.manifests) >= 35 and by_crd == 4, (len(rendered.manifests), by_crd)
    print(f"{case}: {len(rendered.manifests)} manifests, {by_crd} by their CRD, {KUBE_VERSIONS}")


# --- Facts in the manifests ------------------------------------------------------


@pytest.mark.parametrize("case", ["chart defaults", "class", "test", "github"])
def test_images_are_ours_with_one_tag(cases, case):
    values, rendered = cases[case]
    hub, singleuser = images_of(values)
    assert hub.rsplit(":", 1)[1] == singleuser.rsplit(":", 1)[1]
    assert hub.endswith("/hub:" + hub.rsplit(":", 1)[1]) and "/singleuser:" in singleuser
    gateway = f"Deployment/api-{RELEASE}-dask-gateway"
    controller = f"Deployment/controller-{RELEASE}-dask-gateway"
    assert rendered.container("Deployment/hub", "hub")["image"] == hub
    assert rendered.container(gateway, "gateway")["image"] == singleuser
    assert rendered.container(controller, "controller")["image"] == singleuser
    gw_values = gateway_properties(rendered)["gateway"]
    assert image_ref(gw_values["backend"]["image"]) == singleuser  # schedulers and workers
    ours = {hub, singleuser}
    for workload, spec in rendered.pod_specs().items():
        for c in spec.get("initContainers", []) + spec["containers"]:
            image = c["image"]
            assert image in ours or image.startswith(UPSTREAM_IMAGES), (workload, image)
    if effective_prepuller(values):
        puller = rendered.pod_specs()["DaemonSet/hook-image-puller"]
        assert singleuser in {c["image"] for c in puller["initContainers"]}


def effective_prepuller(values: dict) -> bool:
    from ..chart import effective

    return effective(values)["jupyterhub"]["prePuller"]["hook"]["enabled"]


@pytest.mark.parametrize("case", ["chart defaults", "class", "test"])
def test_gateway_token_comes_from_the_hubs_secret(cases, case):
    _, rendered = cases[case]
    container = rendered.container(f"Deployment/api-{RELEASE}-dask-gateway", "gateway")
    [token] = [e for e in container["env"] if e["name"] == "JUPYTERHUB_API_TOKEN"]
    ref = token["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "hub", "key": "hub.services.dask-gateway.apiToken"}
    assert len(rendered.secret_data("hub")[ref["key"]]) >= 32
    assert not [s for s in rendered.of_kind("Secret") if "dask-gateway" in s["metadata"]["name"]]
    assert not gateway_properties(rendered)["gateway"]["auth"]["jupyterhub"].get("apiToken")


def gateway_properties(rendered: Rendered) -> dict:
    """The values the dask-gateway chart writes into its gateway's config file."""
    text = rendered.get("ConfigMap", f"api-{RELEASE}-dask-gateway")["data"][
        "dask_gateway_config.py"
    ]
    [literal] = re.findall(r"^_PROPERTIES = json\.loads\((.*)\)$", text, re.M)
    return json.loads(json.loads(literal))


@pytest.mark.parametrize("case", ["chart defaults", "class", "test"])
def test_every_course_pod_has_requests_and_limits(cases, case):
    _, rendered = cases[case]
    ours = ["Deployment/hub", "Deployment/proxy"] + [
        f"Deployment/{kind}-{RELEASE}-dask-gateway" for kind in ("api", "controller", "traefik")
    ]
    for workload in ours:
        for container in rendered.pod_specs()[workload]["containers"]:
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            assert {"cpu", "memory"} <= set(requests) and "memory" in limits, (workload, resources)


def test_class_and_test_overlays_in_the_manifests(cases):
    class_values, klass = cases["class"]
    _, test = cases["test"]
    # Warm seats: one placeholder in eight students; none in a trial.
    placeholders = klass.get("StatefulSet", "user-placeholder")
    assert placeholders["spec"]["replicas"] == 10
    assert not test.of_kind("StatefulSet")
    # The image pulled on every node before class (hook and continuous); not in a trial.
    pullers = {m["metadata"]["name"] for m in klass.of_kind("DaemonSet")}
    assert pullers == {"hook-image-puller", "continuous-image-puller"}
    assert not test.of_kind("DaemonSet")
    # HTTPS with Let's Encrypt for the class's host; a NodePort for a trial.
    autohttps = klass.get("ConfigMap", "autohttps")["data"]
    assert "hub.your-school.org" in json.dumps(autohttps) and "it@your-school.org" in json.dumps(
        autohttps
    )
    assert test.get("Service", "proxy-public")["spec"]["type"] == "NodePort"
    # The hub's database on its own volume; the hub sized for a class.
    assert klass.get("PersistentVolumeClaim", "hub-db-dir")
    hub = klass.container("Deployment/hub", "hub")["resources"]
    assert hub == class_values["jupyterhub"]["hub"]["resources"]
    # The gateway's Traefik stays inside the cluster.
    assert klass.get("Service", f"traefik-{RELEASE}-dask-gateway")["spec"]["type"] == "ClusterIP"


@pytest.mark.parametrize("case", CASES)
def test_no_secret_in_clear_in_a_configmap(cases, case):
    values, rendered = cases[case]
    hub_secret = rendered.secret_data("hub")
    secrets = {v for k, v in hub_secret.items() if k != "values.yaml" and len(v) >= 8}
    config = values["jupyterhub"]["hub"]["config"]
    for section in config.values():
        for key in ("user_password", "admin_password", "client_secret"):
            if key in section:
                secrets.add(section[key])
    assert secrets, "no secret to look for"
    if CASES[case] and CASES[case].get("login") in ("github", "google", "oidc"):
        assert CLIENT_SECRET in secrets
    for cm in rendered.of_kind("ConfigMap"):
        text = json.dumps(cm.get("data", {}))
        leaked = [s[:4] + "..." for s in secrets if s in text]
        assert not leaked, f"ConfigMap {cm['metadata']['name']} holds {leaked}"
    # Nor in the pods' specs (environment values, arguments).
    for workload, spec in rendered.pod_specs().items():
        text = json.dumps(spec)
        assert not [s for s in secrets if s in text], workload


@pytest.mark.parametrize("case", CASES)
def test_one_gateway_api_process(cases, case):
    """The per-student limits (course_hub/hub/limits.py) lock each student's
    requests and hold reservations in the gateway's own process: with two
    replicas a burst spread over both would slip past them."""
    _, rendered = cases[case]
    assert rendered.get("Deployment", f"api-{RELEASE}-dask-gateway")["spec"]["replicas"] == 1


# --- Network policies, evaluated -------------------------------------------------

GATEWAY = f"{RELEASE}-dask-gateway"
#: Pods the controller and KubeSpawner create (not rendered): their labels and ports.
RUNTIME_PODS = {
    "ada": (
        {
            "app": "jupyterhub",
            "release": RELEASE,
            "component": "singleuser-server",
            "hub.jupyter.org/network-access-hub": "true",
        },
        {"notebook-port": 8888},
    ),
    "scheduler": (
        {
            "app.kubernetes.io/name": "dask-gateway",
            "gateway.dask.org/instance": GATEWAY,
            "gateway.dask.org/cluster": "c1",
            "app.kubernetes.io/component": "dask-scheduler",
        },
        # As the controller makes them (test_the_gateway_api_reaches_schedulers_...).
        {"scheduler": 8786, "dashboard": 8787, "api": 8788},
    ),
    "worker": (
        {
            "app.kubernetes.io/name": "dask-gateway",
            "gateway.dask.org/instance": GATEWAY,
            "gateway.dask.org/cluster": "c1",
            "app.kubernetes.io/component": "dask-worker",
        },
        {},
    ),
    "other-app": ({"app": "something-else"}, {"http": 8080}),
}
EXTERNAL = {"internet": "8.8.8.8", "metadata": "169.254.169.254"}


class Network:
    """What NetworkPolicies allow between pods of one namespace (and out)."""

    def __init__(self, rendered: Rendered):
        self.policies = rendered.of_kind("NetworkPolicy")
        self.pods: dict[str, tuple[dict, dict, str]] = {}
        deployments = {
            "hub": "Deployment/hub",
            "proxy": "Deployment/proxy",
            "gateway": f"Deployment/api-{GATEWAY}",
            "traefik": f"Deployment/traefik-{GATEWAY}",
            "controller": f"Deployment/controller-{GATEWAY}",
        }
        workloads = {
            f"{m['kind']}/{m['metadata']['name']}": m
            for m in rendered.manifests
            if m["kind"] == "Deployment"
        }
        for i, (name, ref) in enumerate(deployments.items()):
            template = workloads[ref]["spec"]["template"]
            ports = {
                p.get("name", str(p["containerPort"])): p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
            }
            self.pods[name] = (template["metadata"]["labels"], ports, f"10.1.0.{i + 2}")
        for i, (name, (labels, ports)) in enumerate(RUNTIME_PODS.items()):
            self.pods[name] = (labels, ports, f"10.1.1.{i + 2}")
        self.pods["bob"] = (RUNTIME_PODS["ada"][0], RUNTIME_PODS["ada"][1], "10.1.2.2")

    @staticmethod
    def _selects(selector: dict, labels: dict) -> bool:
        if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
            return False
        for expr in selector.get("matchExpressions", []):
            assert expr["operator"] in ("In", "NotIn", "Exists", "DoesNotExist"), expr
            value = labels.get(expr["key"])
            if expr["operator"] == "In" and value not in expr["values"]:
                return False
            if expr["operator"] == "NotIn" and value in expr["values"]:
                return False
            if expr["operator"] == "Exists" and expr["key"] not in labels:
                return False
            if expr["operator"] == "DoesNotExist" and expr["key"] in labels:
                return False
        return True

    def _peer(self, peer: dict, who: str) -> bool:
        ip = self.pods[who][2] if who in self.pods else EXTERNAL[who]
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            addr = ipaddress.ip_address(ip)
            return addr in ipaddress.ip_network(block["cidr"]) and not any(
                addr in ipaddress.ip_network(e) for e in block.get("except", [])
            )
        if who not in self.pods:
            return False
        if "namespaceSelector" in peer:
            ns_labels = {"kubernetes.io/metadata.name": NAMESPACE}
            if not self._selects(peer["namespaceSelector"], ns_labels):
                return False
        return self._selects(peer.get("podSelector", {}), self.pods[who][0])

    def _port(self, specs: list | None, dst: str, port: int) -> bool:
        if not specs:
            return True
        named = self.pods[dst][1] if dst in self.pods else {}
        for spec in specs:
            if spec.get("protocol", "TCP") != "TCP":
                continue
            want = spec.get("port")
            if want is None or want == port or named.get(want) == port:
                return True
            if isinstance(want, int) and want <= port <= spec.get("endPort", want):
                return True
        return False

    def _allowed(self, direction: str, pod: str, other: str, dst: str, port: int) -> bool:
        key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [
            p
            for p in self.policies
            if self._selects(p["spec"]["podSelector"], self.pods[pod][0])
            and direction in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(key) or []:
                who = rule.get(peers)
                if (not who or any(self._peer(p, other) for p in who)) and self._port(
                    rule.get("ports"), dst, port
                ):
                    return True
        return False

    def can(self, src: str, dst: str, port: int) -> bool:
        out = self._allowed("Egress", src, dst, dst, port)
        into = dst not in self.pods or self._allowed("Ingress", dst, src, dst, port)
        return out and into


NEEDED = [
    ("ada", "traefik", 8000, "a server to the gateway's API and its schedulers (TLS by SNI)"),
    ("traefik", "gateway", 8000, "Traefik to the gateway's API"),
    ("traefik", "scheduler", 8786, "Traefik to a scheduler (students' clients)"),
    ("gateway", "scheduler", 8787, "the gateway API to a dashboard (it checks who asks)"),
    ("gateway", "scheduler", 8788, "the gateway API to a scheduler's API (scale, adapt)"),
    ("scheduler", "gateway", 8000, "a scheduler's heartbeats"),
    ("worker", "scheduler", 8786, "a worker to its scheduler"),
    ("scheduler", "worker", 40123, "a scheduler to its workers"),
    ("worker", "worker", 40123, "workers to each other"),
    ("gateway", "hub", 8081, "the gateway checks tokens with the hub"),
    ("ada", "hub", 8081, "a server to the hub's API"),
    ("proxy", "ada", 8888, "the proxy to a server"),
    ("worker", "internet", 443, "a worker reads data from the Internet"),
    ("ada", "hub", 10101, "a server to the course service (sessions, hand-ins)"),
    ("proxy", "hub", 10101, "the proxy to the course service (/services/course/)"),
    ("gateway", "hub", 10101, "the gateway reads its presets from the course service"),
]
DENIED = [
    ("ada", "scheduler", 8786, "a server straight to a scheduler"),
    ("ada", "scheduler", 8787, "a server straight to a dashboard"),
    ("ada", "scheduler", 8788, "a server straight to a scheduler's API"),
    ("traefik", "scheduler", 8788, "Traefik to a scheduler's API"),
    ("worker", "scheduler", 8788, "students' code on a worker to a scheduler's API"),
    ("controller", "scheduler", 8788, "the controller to a scheduler's API (it never calls one)"),
    ("other-app", "scheduler", 8788, "another app to a scheduler's API"),
    ("traefik", "scheduler", 8787, "Traefik to a dashboard (routed to the gateway API)"),
    ("worker", "scheduler", 8787, "students' code on a worker to a dashboard"),
    ("other-app", "scheduler", 8787, "another app to a dashboard"),
    ("ada", "gateway", 8000, "a server straight to the gateway's API"),
    ("ada", "worker", 40123, "a server to a worker"),
    ("ada", "controller", 8000, "a server to the controller"),
    ("ada", "bob", 8888, "a server to a classmate's"),
    ("worker", "ada", 8888, "students' code on a worker to a server"),
    ("worker", "hub", 8081, "a worker to the hub"),
    ("worker", "gateway", 8000, "a worker to the gateway's API"),
    ("worker", "metadata", 80, "a worker to the cloud's metadata server"),
    ("scheduler", "metadata", 80, "a scheduler to the metadata server"),
    ("worker", "other-app", 8080, "a worker to another app of the namespace"),
    ("other-app", "traefik", 8000, "another app to the gateway's Traefik"),
    ("other-app", "scheduler", 8786, "another app to a scheduler"),
    ("other-app", "gateway", 8000, "another app to the gateway's API"),
    ("other-app", "worker", 40123, "another app to a worker"),
    ("other-app", "controller", 8000, "another app to the controller"),
    ("worker", "hub", 10101, "students' code on a worker to the course service"),
    ("scheduler", "hub", 10101, "a scheduler to the course service"),
    ("other-app", "hub", 10101, "another app to the course service"),
]


@pytest.mark.parametrize("case", ["chart defaults", "class", "test"])
def test_network_policies_allow_what_the_course_needs_and_deny_the_rest(cases, case):
    net = Network(cases[case][1])
    z2jh = {"hub", "proxy", "singleuser"} | ({"autohttps"} if case == "class" else set())
    assert {p["metadata"]["name"] for p in net.policies} >= z2jh | {
        f"{RELEASE}-{name}"
        for name in (
            "singleuser-to-dask-gateway",
            "dask-gateway-traefik",
            "dask-gateway-api",
            "dask-gateway-controller",
            "dask-schedulers",
            "dask-workers",
            "hub-course-service",
            "to-hub-course-service",
        )
    }
    for src, dst, port, why in NEEDED:
        assert net.can(src, dst, port), f"blocked: {why} ({src} -> {dst}:{port})"
    for src, dst, port, why in DENIED:
        assert not net.can(src, dst, port), f"allowed: {why} ({src} -> {dst}:{port})"


async def gateway_addresses(service: str, namespace: str = NAMESPACE) -> dict[str, str]:
    """Where the gateway API's Kubernetes backend reaches a running cluster whose
    scheduler Service is ``service``: its own sync_cluster on a DaskCluster
    object as the controller reports it (the informer and the Kubernetes API
    stand-ins give it that object and the cluster's credentials)."""
    import base64
    from collections import defaultdict
    from types import SimpleNamespace

    from dask_gateway_server.backends.kubernetes.backend import KubeBackend
    from dask_gateway_server.utils import Flag

    obj = {
        "metadata": {
            "name": "c1",
            "namespace": namespace,
            "creationTimestamp": "2026-01-05T09:00:00Z",
        },
        "spec": {"username": "ada"},
        "status": {"phase": "Running", "service": service, "credentials": f"{service}-tls"},
    }

    async def read_namespaced_secret(name: str, namespace: str) -> SimpleNamespace:
        data = {"dask.crt": b"crt", "dask.pem": b"key", "api-token": b"token"}
        return SimpleNamespace(data={k: base64.b64encode(v) for k, v in data.items()})

    backend = KubeBackend()
    # What KubeBackend.setup() makes, without a Kubernetes API.
    backend.clusters, backend.username_to_clusters = {}, defaultdict(dict)
    backend.cluster_waiters = defaultdict(Flag)
    backend.informer = SimpleNamespace(get=lambda name: obj)
    backend.core_client = SimpleNamespace(read_namespaced_secret=read_namespaced_secret)
    await backend.sync_cluster(f"{namespace}.c1")
    cluster = backend.clusters[f"{namespace}.c1"]
    return {
        "scheduler": cluster.scheduler_address,
        "dashboard": cluster.dashboard_address,
        "api": cluster.api_address,
    }


@pytest.mark.parametrize("case", ["chart defaults", "class"])
def test_the_gateway_api_reaches_schedulers_where_dask_gateway_says(cases, case):
    """The scheduler and worker pods the policies are evaluated for are the
    controller's own (labels, ports), and the gateway API sends scale and adapt
    requests (``forward_message_to_scheduler``: POST <api_address>/api/comm)
    to the scheduler's API port, 8788, which the policies let it reach."""
    from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig

    _, rendered = cases[case]
    controller = rendered_controller(rendered)
    config = KubeClusterConfig(parent=controller)
    pods = {
        name: controller.make_pod(NAMESPACE, "c1", config, is_worker=name == "worker")
        for name in ("scheduler", "worker")
    }
    for name, pod in pods.items():
        labels = RUNTIME_PODS[name][0]
        assert labels.items() <= pod["metadata"]["labels"].items(), name
    [scheduler] = pods["scheduler"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in scheduler["ports"]}
    assert ports == RUNTIME_PODS["scheduler"][1]
    assert scheduler["readinessProbe"]["httpGet"]["port"] == ports["api"]  # from the node
    # The scheduler's Service (headless: straight to the pod) and what the backend calls.
    service = controller.make_service("c1")
    assert service["spec"]["selector"].items() <= pods["scheduler"]["metadata"]["labels"].items()
    by_port = {p["port"]: p["target_port"] for p in service["spec"]["ports"]}
    name = service["metadata"]["name"]
    addresses = asyncio.run(gateway_addresses(name))
    assert addresses["api"] == f"http://{name}.{NAMESPACE}:8788"
    assert ports[by_port[8788]] == 8788
    net = Network(rendered)
    for kind, address in addresses.items():
        port = int(address.rsplit(":", 1)[1])
        assert ports[by_port[port]] == port
        src = "traefik" if kind == "scheduler" else "gateway"  # clients' TLS comes by Traefik
        assert net.can(src, "scheduler", port), (kind, address)
    # Nothing else reaches the scheduler's API: not a student's server, nor its workers.
    for src in ("ada", "worker", "traefik", "controller", "other-app"):
        assert not net.can(src, "scheduler", 8788), src


# --- Dask dashboards: every request through the gateway's check ------------------


def rendered_controller(rendered: Rendered):
    """dask-gateway's controller configured by the chart's rendered config."""
    from dask_gateway_server.backends.kubernetes.controller import KubeController

    text = rendered.get("ConfigMap", f"controller-{GATEWAY}")["data"]["dask_gateway_config.py"]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "dask_gateway_config.py"
        config.write_text(text)
        controller = KubeController()
        controller.load_config_file(str(config))
    return controller


def controller_route(rendered: Rendered, cluster: str, namespace: str = NAMESPACE) -> dict:
    """The IngressRoute dask-gateway's controller makes for a cluster, from the
    chart's rendered controller config (its own program, make_ingressroute)."""
    return rendered_controller(rendered).make_ingressroute(cluster, namespace)


@pytest.mark.parametrize("case", ["chart defaults", "class", "test"])
def test_dashboards_route_to_the_gateways_check_ahead_of_the_controllers(cases, case):
    values, rendered = cases[case]
    from ..chart import effective

    prefix = effective(values)["dask-gateway"]["gateway"]["prefix"].rstrip("/")
    ours = rendered.get("IngressRoute", f"{RELEASE}-dask-dashboards")
    # Traefik sees it: the label its kubernetescrd provider selects on.
    traefik = rendered.container(f"Deployment/traefik-{GATEWAY}", "traefik")
    [selector] = [
        a.split("=", 1)[1]
        for a in traefik["args"]
        if a.startswith("--providers.kubernetescrd.labelselector=")
    ]
    key, value = selector.split("=")
    assert ours["metadata"]["labels"][key] == value == GATEWAY
    [route] = ours["spec"]["routes"]
    assert route["match"] == f"PathPrefix(`{prefix}/clusters/`)"
    # To the gateway API (the backend that checks), as the chart's API route goes.
    api = f"api-{GATEWAY}"
    config = "".join(rendered.get("ConfigMap", api)["data"].values())
    backend = "course_hub.hub.kube_dashboards.LimitedKubeDashboardsBackend"
    assert f'c.DaskGateway.backend_class = "{backend}"' in config  # started: check_gateway
    assert route["services"] == [{"name": api, "port": 8000}]
    service = rendered.get("Service", api)
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "gateway"
    [middleware] = route["middlewares"]
    strip = rendered.get("Middleware", middleware["name"])["spec"]["stripPrefix"]
    assert strip["prefixes"] == [prefix]
    assert rendered.get("IngressRoute", api)["spec"]["routes"][0]["middlewares"] == [middleware]
    # The controller's per-cluster routes (its own code, on the rendered config):
    # to the scheduler's 8787, on the same entry point, no explicit priority.
    theirs = controller_route(rendered, uuid.uuid4().hex)
    assert theirs["spec"]["entryPoints"] == ours["spec"]["entryPoints"] == ["web"]
    [their] = theirs["spec"]["routes"]
    assert their["services"][0]["port"] == 8787 and "priority" not in their
    path = re.fullmatch(r"PathPrefix\(`(.*)`\)", their["match"]).group(1)
    assert path.startswith(f"{prefix}/clusters/{NAMESPACE}.")
    # Every path theirs match, ours matches, and ours wins: Traefik's default
    # priority is the rule's length, even for the longest names Kubernetes allows.
    assert path.startswith(f"{prefix}/clusters/")
    longest = controller_route(rendered, "c" * 253, "n" * 63)["spec"]["routes"][0]["match"]
    assert route["priority"] > len(longest) > len(their["match"])
    # Above the chart's own API route too (its rule is shorter, no priority).
    [api_route] = rendered.get("IngressRoute", api)["spec"]["routes"]
    assert "priority" not in api_route and route["priority"] > len(api_route["match"])
    # After the prefix is stripped, the gateway API gets /clusters/<ns>.<name>/...
    stripped = f"{path}status"[len(prefix) :]
    assert re.fullmatch(r"/clusters/[^/]+/.*", stripped), stripped
    # Only the gateway API reaches a dashboard: not Traefik, a server or a worker.
    net = Network(rendered)
    assert net.can("gateway", "scheduler", 8787)
    for src in ("traefik", "ada", "worker", "other-app"):
        assert not net.can(src, "scheduler", 8787), src


def test_network_policies_can_be_turned_off(chart_dir, cases):
    values, _ = cases["class"]
    rendered = render_chart(chart_dir, deep_merge(values, {"networkPolicy": {"enabled": False}}))
    assert {p["metadata"]["name"] for p in rendered.of_kind("NetworkPolicy")} == {
        "hub",
        "proxy",
        "singleuser",
        "autohttps",
    }


# --- The charts' own programs on what was rendered ---------------------------------

HUB_CASES = [
    "chart defaults",
    "class",
    "test",
    "github",
    "google",
    "oidc",
    "lti13",
    "shared+roster",
]


@pytest.mark.parametrize("case", HUB_CASES)
def test_z2jh_config_starts_jupyterhub_as_the_values_say(cases, case, tmp_path):
    values, rendered = cases[case]
    report = hub_report_here(rendered, tmp_path)
    check_hub(report, rendered, values, case)
    # Servers send their hub token with dashboard requests: the gateway checks it.
    assert report["kubespawner"]["environment"]["COURSE_DASHBOARD_TOKEN"] == "1"


@pytest.mark.parametrize("case", ["chart defaults", "class", "test"])
def test_gateway_config_starts_dask_gateway_as_the_values_say(cases, case, tmp_path):
    values, rendered = cases[case]
    report, env = gateway_report_here(rendered, tmp_path)
    check_gateway(report, rendered, values, env)
    if case == "test":  # the course repository's presets (file:// here)
        # The course's source is the course service's alone: no COURSE_CONTENT_*
        # reaches the gateway, which takes its presets from the service.
        assert not [k for k in env if k.startswith("COURSE_CONTENT_")]
        assert env["COURSE_SERVICE_URL"] == "http://hub:10101/services/course/"


# --- Broken values fail ------------------------------------------------------------


def test_broken_values_fail(chart_dir, cases, tmp_path):
    values, _ = cases["class"]
    # A typo in a hub.extraConfig snippet: the hub does not start.
    broken = deep_merge(values, {})
    snippet = broken["jupyterhub"]["hub"]["extraConfig"]["10-course-hub"]
    broken["jupyterhub"]["hub"]["extraConfig"]["10-course-hub"] = snippet.replace(
        'env["COURSE_PROXY_HOSTS"] = gateway_host', 'env["COURSE_PROXY_HOSTS"] = gateway_hots'
    )
    with pytest.raises(AssertionError, match="NameError: name 'gateway_hots'"):
        hub_report_here(render_chart(chart_dir, broken), tmp_path / "typo")
    # A wrong service name: the gateway's token is not in the hub's Secret, and
    # the hub refuses to start without its dask-gateway service.
    broken = deep_merge(values, {})
    del broken["jupyterhub"]["hub"]["services"]
    misnamed = prepared_chart(tmp_path / "misnamed")
    chart_values = (misnamed / "values.yaml").read_text()
    wrong = chart_values.replace(
        "      dask-gateway:\n        display: false",
        "      dask_gateway:\n        display: false",
    )
    assert wrong != chart_values
    (misnamed / "values.yaml").write_text(wrong)
    rendered = render_chart(misnamed, broken)
    with pytest.raises(
        AssertionError, match=r"no hub\.services\.dask-gateway\.apiToken in Secret hub"
    ):
        gateway_report_here(rendered, tmp_path / "service")
    with pytest.raises(AssertionError, match="no dask-gateway service"):
        hub_report_here(rendered, tmp_path / "service-hub")
    # A typo in a gateway.extraConfig snippet: the gateway does not start.
    broken = deep_merge(values, {})
    gateway = broken["dask-gateway"]["gateway"]
    gateway["extraConfig"]["30-course-student-limits"] = gateway["extraConfig"][
        "30-course-student-limits"
    ].replace("LimitedKubeDashboardsBackend", "LimitedKubeDashboardsBackand")
    with pytest.raises(AssertionError, match="LimitedKubeDashboardsBackand"):
        gateway_report_here(render_chart(chart_dir, broken), tmp_path / "gateway")
    # A misspelt value: the charts' schemas refuse it at rendering, as helm does.
    broken = deep_merge(values, {"jupyterhub": {"singleuser": {"memory": {"limt": "4G"}}}})
    with pytest.raises(helm_python.HelmValuesError, match="limt"):
        render_chart(chart_dir, broken)
    # And a check that would pass anything is no check: the real one passes.
    hub_report_here(render_chart(chart_dir, values), tmp_path / "fine")


def test_the_chart_is_where_render_values_looks(monkeypatch):
    from course_hub import cli, daskhub

    # render-values reads <--values-dir>/<daskhub.CHART>/values.yaml, with
    # --values-dir's default relative to the checkout (the guide's commands).
    given = []
    monkeypatch.setattr(cli, "_render_values", given.append)
    cli.main(["render-values", "--registry", REGISTRY, "--tag", "t"])
    [args] = given
    assert REPO / args.values_dir / daskhub.CHART == CHART
    assert (REPO / args.values_dir / daskhub.CHART / "values.yaml").is_file()
    for overlay in ("class", "test", "auth-github", "auth-google", "auth-oidc", "auth-lti13"):
        assert (VALUES_DIR / f"values-{overlay}.yaml").is_file(), overlay
    assert not (REPO / "hub_config" / "daskhub").exists()
