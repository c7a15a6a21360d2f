"""`make push` to a real container registry, and the images back from it.

A registry of our own runs on 127.0.0.1 (Debian's docker-registry package,
distribution 2.8; its storage in a temporary folder). The test pushes with
`make push REGISTRY=127.0.0.1:PORT/course`, reads what the registry holds
(every layer's bytes checked against its digest), removes the local tags and
pulls each image back by digest, brings the compose hub up from the pulled
images, and checks that `course-hub render-values --registry ... --tag SHA`
and the chart rendered with those values name exactly what was pushed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from ..chart import REPO, prepared_chart, render_chart
from ..dockertools import compose_command, docker
from ..e2e.conftest import ADMIN_PASSWORD, PASSWORD, free_port_block
from .test_make import calver_ok, commit_tag, make

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)
IMAGES = ("hub", "singleuser")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registry on 127.0.0.1:PORT with its storage in a temporary folder."""
    binary = shutil.which("docker-registry")
    assert binary, (
        "Debian's docker-registry package is needed (make test installs it: tests/setup-machine)"
    )
    root = tmp_path_factory.mktemp("registry")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    (root / "config.yml").write_text(yaml.safe_dump(config))
    log = (root / "registry.log").open("w")
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/v2/", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None, (root / "registry.log").read_text()
        assert time.monotonic() < deadline, "the registry did not answer in 30 s"
        time.sleep(0.2)
    try:
        yield f"127.0.0.1:{port}", url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def manifest(url: str, name: str, ref: str) -> tuple[str, dict]:
    r = requests.get(
        f"{url}/v2/{name}/manifests/{ref}", headers={"Accept": MANIFEST_TYPES}, timeout=30
    )
    assert r.status_code == 200, f"{name}:{ref}: {r.status_code} {r.text[:300]}"
    return r.headers["Docker-Content-Digest"], r.json()


def local_tags(prefix: str) -> list[str]:
    out = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return [ref for ref in out if ref.startswith(prefix)]


def test_make_push_then_pull_by_digest_and_render_values_names_it(registry, tmp_path):
    host, url = registry
    prefix = f"{host}/course"
    started = time.monotonic()
    try:
        _push_pull_and_check(prefix, url, tmp_path, started)
    finally:
        for ref in local_tags(prefix):
            docker("image", "rm", ref, check=False)


def _push_pull_and_check(prefix: str, url: str, tmp_path: Path, started: float) -> None:
    # 1. make push, as an admin runs it (a warm build, then the pushes).
    # The base image and CA bundle the tier's images were built with: a warm build.
    env = {k: os.environ[k] for k in ("BASE_IMAGE", "CA_BUNDLE") if k in os.environ}
    commit = commit_tag()  # before the build: a commit made meanwhile is not this push's
    proc = make("push", f"REGISTRY={prefix}", env=env)
    pushed = re.search(r"^pushed (\S+) (\S+) of hub singleuser to (\S+);", proc.stdout, re.M)
    assert pushed, proc.stdout[-2000:]
    sha, calver = pushed[1], pushed[2]
    assert commit.fullmatch(sha) and calver_ok(calver) and pushed[3] == prefix
    assert f"render-values --registry {prefix} --tag {sha}" in proc.stdout
    print(f"make push: {time.monotonic() - started:.0f} s")

    # 2. What the registry holds: both tags of both images, one manifest each,
    #    every blob there with the bytes its digest names.
    catalog = requests.get(f"{url}/v2/_catalog", timeout=10).json()["repositories"]
    assert sorted(catalog) == [f"course/{i}" for i in IMAGES]
    digests = {}
    for image in IMAGES:
        name = f"course/{image}"
        tags = requests.get(f"{url}/v2/{name}/tags/list", timeout=10).json()["tags"]
        assert sorted(tags) == sorted([sha, calver]), tags
        digest, body = manifest(url, name, sha)
        assert manifest(url, name, calver)[0] == digest  # the two tags: one image
        for blob in [body["config"], *body["layers"]]:
            h = hashlib.sha256()
            with requests.get(
                f"{url}/v2/{name}/blobs/{blob['digest']}", stream=True, timeout=60
            ) as r:
                assert r.status_code == 200, blob
                for chunk in r.iter_content(1 << 20):
                    h.update(chunk)
            assert f"sha256:{h.hexdigest()}" == blob["digest"], f"{name}: corrupt {blob['digest']}"
        digests[image] = (digest, body["config"]["digest"])

    # 3. A clean engine state for these images: every tag of each (the build's
    #    own REGISTRY/TAG included) removed, so the image and its own layers are
    #    gone from the engine; then each pulled by digest, its layers from the
    #    registry, and given its tags back (the tiers after this one use them).
    built = {
        i: docker("image", "inspect", "-f", "{{.Id}}", f"{prefix}/{i}:{sha}").stdout.strip()
        for i in IMAGES
    }
    tags = {
        i: docker("image", "inspect", "-f", '{{join .RepoTags " "}}', image_id).stdout.split()
        for i, image_id in built.items()
    }
    try:
        for image, image_id in built.items():
            for ref in tags[image]:
                docker("image", "rm", ref)
            assert docker("image", "inspect", image_id, check=False).returncode != 0, image
        assert not local_tags(prefix)
        for image, (digest, config) in digests.items():
            ref = f"{prefix}/{image}@{digest}"
            assert docker("image", "inspect", ref, check=False).returncode != 0
            docker("pull", "-q", ref, timeout=900)
            image_id = docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
            assert image_id == config == built[image], (image, image_id, config)
    finally:
        for image, (digest, _) in digests.items():
            ref = f"{prefix}/{image}@{digest}"
            if docker("image", "inspect", ref, check=False).returncode == 0:
                for tag in {*tags[image], f"{prefix}/{image}:{sha}"}:
                    docker("tag", ref, tag)  # the names compose, the chart and the tiers use
    print(f"pushed, checked and pulled back: {time.monotonic() - started:.0f} s")

    # 4. render-values names exactly what was pushed, and so does the chart.
    out = tmp_path / "values.rendered.yaml"
    cli = Path(sys.executable).parent / "course-hub"
    subprocess.run(
        [str(cli), "render-values", "--registry", prefix, "--tag", sha, "--overlay", "class",
         "--host", "hub.your-school.org", "--auth", "workshop",
         "--secrets", str(tmp_path / "hub-secrets.yaml"),
         "-o", str(out)],
        cwd=REPO, check=True, capture_output=True, text=True,
    )  # fmt: skip
    values = yaml.safe_load(out.read_text())
    secrets = yaml.safe_load((tmp_path / "hub-secrets.yaml").read_text())
    from course_hub.daskhub import deep_merge

    rendered = render_chart(prepared_chart(tmp_path), deep_merge(values, secrets))
    named = {
        c["image"]
        for spec in rendered.pod_specs().values()
        for c in spec.get("initContainers", []) + spec["containers"]
        if c["image"].startswith(prefix)
    }
    jh = values["jupyterhub"]
    named.add(f"{jh['singleuser']['image']['name']}:{jh['singleuser']['image']['tag']}")
    backend = values["dask-gateway"]["gateway"]["backend"]["image"]
    named.add(f"{backend['name']}:{backend['tag']}")
    assert named == {f"{prefix}/hub:{sha}", f"{prefix}/singleuser:{sha}"}, named
    for ref in named:
        image, tag = ref.removeprefix(f"{prefix}/").split(":")
        assert manifest(url, f"course/{image}", tag)[0] == digests[image][0], ref

    # 5. The compose hub from the pulled images (no build).
    _compose_hub_from(prefix, sha)
    print(f"compose hub up and down from the pulled images: {time.monotonic() - started:.0f} s")


def _compose_hub_from(prefix: str, tag: str) -> None:
    project = "course-hub-pulled"
    port = free_port_block(1)
    env = dict(
        os.environ,
        REGISTRY=prefix,
        TAG=tag,
        HUB_PORT=str(port),
        COURSE_PASSWORD=PASSWORD,
        COURSE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        COURSE_NETWORK=project,
        COURSE_SUBNET="172.31.243.0/24",
    )
    base = [*compose_command(), "-p", project, "-f", str(REPO / "docker-compose.yml")]

    def compose(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*base, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
        assert proc.returncode == 0, f"compose {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    try:
        compose("up", "-d", "--no-build", "--pull", "never", "--wait", "--wait-timeout", "300")
        r = requests.get(f"http://127.0.0.1:{port}/hub/health", timeout=10)
        assert r.status_code == 200
        containers = docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                            "--format", "{{.Image}}").stdout.split()  # fmt: skip
        assert set(containers) == {f"{prefix}/hub:{tag}", f"{prefix}/singleuser:{tag}"}
        assert len(containers) >= 4, containers  # init, singleuser, gateway, hub
    finally:
        subprocess.run(
            [*base, "down", "--volumes"], env=env, cwd=REPO, capture_output=True, timeout=300
        )
