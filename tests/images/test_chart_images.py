"""The course-hub chart's hub and gateway programs, run in our images.

The chart is rendered (Helm's engine, tests/chart.py) with the images this
tier built as its images; then each pod's files are laid out as Kubernetes
mounts them and the image the manifests name runs the chart's own program on
them, as the pod's user, with the pod's environment and no network:

- the hub image runs z2jh's jupyterhub_config.py (and z2jh.py) from
  /usr/local/etc/jupyterhub, and JupyterHub initialises from it
  (tests/chart_probes/hub_probe.py);
- the single-user image runs dask-gateway-server on the dask-gateway chart's
  /etc/dask-gateway/dask_gateway_config.py (gateway_probe.py).

The traitlets they end with are checked as in the unit tier (tests/chart.py:
check_hub, check_gateway), which runs the same programs with the dev
environment.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .. import chart
from ..chart import (
    PROBES,
    Z2JH_ETC,
    case_values,
    check_gateway,
    check_hub,
    gateway_layout,
    hub_layout,
    images_of,
    prepared_chart,
    probe_output,
    render_chart,
)
from ..dockertools import HUB, SINGLEUSER, docker


@pytest.fixture(scope="module")
def built_images(tmp_path_factory):
    """render-values for the images this tier built (REGISTRY/TAG of the Makefile)."""
    registry, tag = HUB.rsplit("/", 1)[0], HUB.rsplit(":", 1)[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chart, "REGISTRY", registry)
        mp.setattr(chart, "TAG", tag)
        work = tmp_path_factory.mktemp("chart")
        chart_dir = prepared_chart(work)
        out = {}
        for case in ("class", "test", "lti13", "github", "google", "oidc"):
            _, values = case_values(case, work)
            assert images_of(values) == (HUB, SINGLEUSER)
            out[case] = (values, render_chart(chart_dir, values))
        yield out


def readable(root: Path) -> None:
    """Files as a Secret/ConfigMap volume presents them (0644, dirs 0755)."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def env_args(env: dict[str, str]) -> list[str]:
    return [arg for k, v in sorted(env.items()) for arg in ("-e", f"{k}={v}")]


def run_probe(image: str, args: list[str], probe: str, config: str) -> dict:
    proc = docker(
        "run", "--rm", "--network", "none",
        "-v", f"{PROBES}:/probes:ro",
        *args,
        "--entrypoint", "python3",
        image, f"/probes/{probe}", config,
        timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, (
        f"{probe} in {image}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    return probe_output(proc.stdout)


@pytest.mark.parametrize("case", ["class", "test", "lti13", "github", "google", "oidc"])
def test_z2jh_config_starts_jupyterhub_in_our_hub_image(built_images, case, tmp_path):
    values, rendered = built_images[case]
    root = tmp_path / "etc-jupyterhub"
    env = hub_layout(rendered, root)  # z2jh.py unchanged: the pod's real paths
    readable(root)
    hub = rendered.container("Deployment/hub", "hub")
    assert hub["image"] == HUB
    security = hub.get("securityContext", {})
    user = f"{security.get('runAsUser', 0)}:{security.get('runAsGroup', 0)}"
    assert user == "1000:1000"  # z2jh's default, which our image must run as
    volume = f"uid={security['runAsUser']},gid={security['runAsGroup']}"
    report = run_probe(
        HUB,
        [
            "--user", user,
            "-v", f"{root}:{Z2JH_ETC}:ro",
            # The hub's PersistentVolume (fsGroup 1000), its working directory.
            "--tmpfs", f"/srv/jupyterhub:{volume},mode=0770",
            "-w", "/srv/jupyterhub",
            *env_args(env),
        ],
        "hub_probe.py",
        f"{Z2JH_ETC}/jupyterhub_config.py",
    )  # fmt: skip
    check_hub(report, rendered, values, case)


@pytest.mark.parametrize("case", ["class", "test"])
def test_gateway_config_starts_dask_gateway_in_our_singleuser_image(built_images, case, tmp_path):
    values, rendered = built_images[case]
    root = tmp_path / "etc-dask-gateway"
    env = gateway_layout(rendered, root)
    readable(root)
    container = rendered.container(f"Deployment/api-{chart.RELEASE}-dask-gateway", "gateway")
    assert container["image"] == SINGLEUSER
    mounts = ["-v", f"{root}:/etc/dask-gateway:ro"]
    repo = env.get("COURSE_CONTENT_REPO", "")
    if repo.startswith("file://"):  # the test's course repository, where the URL says
        path = repo.removeprefix("file://")
        subprocess.run(["chmod", "-R", "a+rX", path], check=True)
        mounts += ["-v", f"{path}:{path}:ro"]
    report = run_probe(
        SINGLEUSER,
        [*mounts, "-w", "/tmp", *env_args(env)],
        "gateway_probe.py",
        "/etc/dask-gateway/dask_gateway_config.py",
    )
    check_gateway(report, rendered, values, env)
