"""The admin verbs: `make help`, the image settings and `make push`, without a registry.

`make push DRY_RUN=1` prints the docker commands it would run; the last test
runs the real thing after the tier's build, with a docker wrapper that tags
for real and records each push instead of sending it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ..dockertools import REPO, docker

MAKEFILE = REPO / "Makefile"
REGISTRY = "localhost:1/x"  # port 1: nothing could ever be pushed there
SETTINGS = ("REGISTRY", "TAG", "BASE_IMAGE", "CA_BUNDLE")


def make(*args: str, cwd: Path = REPO, env: dict | None = None, check: bool = True):
    # The image settings from the test's own environment would win over .env,
    # and so would the variables of a `make VAR=...` that runs the tests (make
    # passes them to every make below it through MAKEFLAGS).
    inherited = (*SETTINGS, "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL")
    base = {k: v for k, v in os.environ.items() if k not in inherited}
    proc = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", str(MAKEFILE), *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"make {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def commit_tag(cwd: Path = REPO) -> re.Pattern:
    sha = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True, text=True
    ).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", sha)
    return re.compile(rf"{sha}(-dirty)?")


def calver_ok(tag: str) -> bool:
    today = dt.datetime.now(dt.UTC).date()
    return tag in {d.strftime("%Y.%m.%d") for d in (today, today - dt.timedelta(days=1))}


@pytest.fixture
def checkout(tmp_path):
    """A git checkout with no .env, for the Makefile run from there."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=tmp_path, check=True)
    return tmp_path


def settings(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines())


def test_help_lists_every_verb():
    out = make("help").stdout
    listed = re.findall(r"^  make (\S+)", out, re.M)
    documented = re.findall(r"^([a-zA-Z0-9_-]+):[^=\n]*## ", MAKEFILE.read_text(), re.M)
    assert listed == documented
    for verb in ("help", "env", "hub", "test", "test-e2e", "images", "up", "push", "lint"):
        assert verb in listed, verb


def test_push_tags_the_built_images_with_the_commit_and_the_date():
    out = make("push", f"REGISTRY={REGISTRY}", "TAG=t", "DRY_RUN=1").stdout.splitlines()
    commands = [line.split() for line in out if line.startswith("docker ")]
    for image in ("hub", "singleuser"):
        source = f"{REGISTRY}/{image}:t"
        tags = [c[3] for c in commands if c[1] == "tag" and c[2] == source]
        pushed = [c[2] for c in commands if c[1] == "push" and f"/{image}:" in c[2]]
        assert len(tags) == 2, out
        sha, calver = (t.rsplit(":", 1)[1] for t in tags)
        assert commit_tag().fullmatch(sha), sha
        assert calver_ok(calver), calver
        # Both new tags, and TAG itself (a release name, not `dev`).
        assert pushed == [*tags, source]
    assert len(commands) == 10
    assert f"render-values --registry {REGISTRY} --tag " in out[-1]


def test_push_builds_first():
    """Without DRY_RUN, push depends on `images`: no stale or missing image is tagged."""
    out = make("-n", "push", f"REGISTRY={REGISTRY}", "TAG=t").stdout
    build, tag = out.find("build init singleuser"), out.find(" tag ")
    assert 0 <= build < tag, out


def test_push_refuses_the_local_name(checkout):
    proc = make("push", "DRY_RUN=1", cwd=checkout, check=False)
    assert proc.returncode == 2
    assert "set REGISTRY=" in proc.stderr


def test_dev_is_not_pushed_as_a_tag(checkout):
    out = make("push", "DRY_RUN=1", "REGISTRY=reg.example.org/c", cwd=checkout).stdout
    assert ":dev" not in " ".join(line for line in out.splitlines() if " push " in line)


def test_image_settings_come_from_the_command_line_then_env_file(checkout):
    """Compose prefers the shell's variables to .env's, and make exports its
    settings: so make must take them from .env too, or it would override it."""
    assert settings(make("settings", cwd=checkout).stdout) == {
        "REGISTRY": "course-hub",
        "TAG": "dev",
        "BASE_IMAGE": "debian:12.12-slim",
        "CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"
        if Path("/etc/ssl/certs/ca-certificates.crt").exists()
        else "",
    }
    (checkout / ".env").write_text(
        "# an admin's .env\n"
        'REGISTRY="reg.example.org/course"  # quoted, with a comment\n'
        "TAG=term-1\n"
        "TAG=term-2\n"  # the last one wins, as in compose
        "BASE_IMAGE=registry.example.org/debian:12\n"
        "CA_BUNDLE=/srv/ca/bundle.pem\n"
    )
    assert settings(make("settings", cwd=checkout).stdout) == {
        "REGISTRY": "reg.example.org/course",
        "TAG": "term-2",
        "BASE_IMAGE": "registry.example.org/debian:12",
        "CA_BUNDLE": "/srv/ca/bundle.pem",
    }
    out = make("settings", "TAG=hotfix", "CA_BUNDLE=/x.pem", cwd=checkout).stdout
    assert settings(out)["TAG"] == "hotfix" and settings(out)["CA_BUNDLE"] == "/x.pem"
    assert settings(out)["REGISTRY"] == "reg.example.org/course"
    # The shell's environment wins over .env, as it does for compose.
    out = make("settings", cwd=checkout, env={"REGISTRY": "shell.example.org/c"}).stdout
    assert settings(out)["REGISTRY"] == "shell.example.org/c"
    push = make("push", "DRY_RUN=1", cwd=checkout).stdout
    assert "docker tag reg.example.org/course/hub:term-2 reg.example.org/course/hub:" in push


def test_push_after_a_plain_build_tags_what_was_built(tmp_path):
    """The real `make push`, its pushes recorded instead of sent: it builds with
    the registry and tag (a warm build), tags those images, pushes each tag."""
    pushed = tmp_path / "pushed"
    wrapper = tmp_path / "docker"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = push ]; then echo "$2" >> {pushed}; exit 0; fi\n'
        'exec docker "$@"\n'
    )
    wrapper.chmod(0o755)
    # The base image and CA bundle the tier's images were built with: a warm build.
    env = {k: os.environ[k] for k in ("BASE_IMAGE", "CA_BUNDLE") if k in os.environ}
    env["DOCKER"] = str(wrapper)
    try:
        out = make("push", f"REGISTRY={REGISTRY}", "TAG=t", env=env).stdout
        names = pushed.read_text().split()
        assert len(names) == 6, out
        for image in ("hub", "singleuser"):
            built = json.loads(docker("image", "inspect", f"{REGISTRY}/{image}:t").stdout)[0]
            mine = [n for n in names if n.startswith(f"{REGISTRY}/{image}:")]
            assert len(mine) == 3
            for name in mine:
                assert name in built["RepoTags"], (name, built["RepoTags"])
    finally:
        listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        ours = [n for n in listed if n.startswith(f"{REGISTRY}/")]
        if ours:
            docker("rmi", *ours, check=False)  # untags; the layers are the tier's images'
