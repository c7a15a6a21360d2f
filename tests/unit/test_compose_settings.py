"""docker-compose.yml and .env.example agree, and every setting reaches its service.

`.env.example` is the admin's list of settings: each variable docker-compose.yml
interpolates must be documented there, and each one documented there must be
used. The compose config files are then executed the way the hub and gateway
containers run them, with an environment that records what they read: each
variable they read must be one compose gives that service (or one its image
sets). Interpolation follows the Compose specification, on parsed YAML values,
as Compose does; `tests/compose` checks the same file with the real Compose.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from course_hub.cli import _secrets

# What the hub's config imports reads settings of its own at import time
# (JupyterHub's metrics and XSRF settings, gettext's locale): imported here, once,
# so the recording below sees what the config itself reads, whichever test runs first.
import jupyterhub.app  # noqa: F401  isort: skip
import course_hub.hub.accounts  # noqa: F401  isort: skip

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
CONFIG = REPO / "hub_config" / "compose"

#: `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}`, `${NAME:?error}`...
BRACED = re.compile(r"\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-+?])(?P<arg>[^${}]*))?\}")
UNBRACED = re.compile(r"(?<!\$)\$(?P<name>[A-Za-z_]\w*)")
SETTING = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>.*)$")

#: Paths inside a container, fixed by its volumes and image: not settings.
INTERNAL = {
    "COURSE_SECRETS_DIR": "the secrets volume's mount point",
    "COURSE_HUB_DATA": "the hub-data volume's mount point",
    "GATEWAY_STATE_DIR": "the gateway-data volume's mount point",
    "COURSE_CONTENT_DIR": "the course content in the image",
}


def documented() -> dict[str, str]:
    """The settings of .env.example and their example values."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if m := SETTING.match(line):
            found[m["name"]] = m["value"]
    return found


def interpolated() -> set[str]:
    text = COMPOSE_FILE.read_text()
    return {m["name"] for m in BRACED.finditer(text)} | {
        m["name"] for m in UNBRACED.finditer(text)
    }


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation of every string of a parsed compose file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match) -> str:
        name, op, arg = m["name"], m["op"], m["arg"]
        have = env.get(name)
        if op is None:
            return have or ""
        if op == ":-":
            return have or arg
        if op == "-":
            return arg if have is None else have
        if op == ":+":
            return arg if have else ""
        if op == "+":
            return "" if have is None else arg
        if have:  # ":?" and "?"
            return have
        raise AssertionError(f"compose would stop: {name}: {arg}")

    out = BRACED.sub(one, value)
    assert "${" not in out, f"interpolation this test does not know: {value!r}"
    return out


def compose_project(**settings: str) -> dict:
    """docker-compose.yml as Compose sees it with these .env settings."""
    return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), settings)


def service_env(project: dict, service: str) -> dict[str, str]:
    env = project["services"][service].get("environment", {})
    assert isinstance(env, dict), f"{service}: environment as a mapping, please"
    return {k: "" if v is None else str(v) for k, v in env.items()}


def image_env(dockerfile: Path) -> set[str]:
    """Names the image's ENV instructions set."""
    text = dockerfile.read_text().replace("\\\n", " ")
    names = set()
    for line in text.splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"([A-Za-z_]\w*)=", line))
    return names


class RecordingEnviron(dict):
    """os.environ that remembers each variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


@pytest.fixture
def container(tmp_path):
    """Run code as a compose service would: only the environment compose gives it.
    Returns the variables it read."""

    def run(service: str, project: dict, fn, image_env_names: set[str]) -> set[str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
        env.update(service_env(project, service))
        env.update(
            COURSE_SECRETS_DIR=str(tmp_path / "secrets"),
            COURSE_HUB_DATA=str(tmp_path / "hub-data"),
            GATEWAY_STATE_DIR=str(tmp_path / "gateway-data"),
        )
        if "CONFIGURABLE_HTTP_PROXY" in image_env_names:
            env["CONFIGURABLE_HTTP_PROXY"] = "/bin/true"
        recording = RecordingEnviron(env)
        with pytest.MonkeyPatch.context() as mp:
            # In this process only (os.getenv reads it too); the real one is untouched.
            mp.setattr(os, "environ", recording)
            fn()
        return recording.read

    return run


def load_config(name: str):
    return PyFileConfigLoader(name, path=str(CONFIG)).load_config()


def secrets_made_by_init(tmp_path: Path) -> None:
    """What the init service runs (`course-hub secrets /srv/secrets`)."""
    assert _secrets(argparse.Namespace(folder=str(tmp_path / "secrets"))) == 0


# --- .env.example <-> docker-compose.yml


def test_every_variable_the_compose_file_uses_is_documented():
    missing = sorted(interpolated() - set(documented()))
    assert missing == [], f"used in docker-compose.yml, not in .env.example: {missing}"


def test_every_documented_setting_is_used():
    unused = sorted(set(documented()) - interpolated())
    assert unused == [], f"in .env.example, never used by docker-compose.yml: {unused}"


def test_every_setting_has_a_comment_above_it():
    paragraphs = ENV_EXAMPLE.read_text().split("\n\n")
    for paragraph in paragraphs:
        lines = paragraph.strip().splitlines()
        names = [m["name"] for line in lines if (m := SETTING.match(line))]
        if names:
            assert lines[0].startswith("#"), f"{names}: say what they are in a comment"


def test_example_values_are_the_compose_defaults():
    """Copying .env.example to .env changes nothing: its values are the defaults."""
    example = documented()
    for m in BRACED.finditer(COMPOSE_FILE.read_text()):
        if m["op"] == ":-" and example.get(m["name"]):
            assert example[m["name"]] == m["arg"], m[0]


def test_compose_file_uses_no_unbraced_variable():
    """`$NAME` is easy to miss, and cannot carry a default."""
    assert [m[0] for m in UNBRACED.finditer(COMPOSE_FILE.read_text())] == []


# --- Each service receives what its code reads


def test_hub_config_reads_only_what_compose_passes(container, tmp_path):
    project = compose_project()
    image = image_env(REPO / "images/hub/Dockerfile")
    read = container("init", project, lambda: secrets_made_by_init(tmp_path), set())
    missing = read - set(service_env(project, "init")) - set(INTERNAL) - {"PATH", "HOME"}
    assert not missing, f"the init service reads {sorted(missing)}, compose does not pass them"

    read = container("hub", project, lambda: load_config("jupyterhub_config.py"), image)
    missing = read - set(service_env(project, "hub")) - image - set(INTERNAL)
    assert not missing, f"the hub reads {sorted(missing)}, compose does not pass them"


def test_gateway_config_reads_only_what_compose_passes(container, tmp_path):
    project = compose_project()
    container("init", project, lambda: secrets_made_by_init(tmp_path), set())
    image = image_env(REPO / "images/singleuser/Dockerfile")
    read = container("gateway", project, lambda: load_config("dask_gateway_config.py"), image)
    missing = read - set(service_env(project, "gateway")) - image - set(INTERNAL)
    assert not missing, f"the gateway reads {sorted(missing)}, compose does not pass them"


# --- The settings that once went nowhere


def roster_mount(project: dict) -> dict:
    mounts = [
        v
        for v in project["services"]["hub"]["volumes"]
        if isinstance(v, dict) and v.get("target") == "/srv/course-roster.txt"
    ]
    assert len(mounts) == 1, project["services"]["hub"]["volumes"]
    return mounts[0]


def test_without_a_roster_anyone_may_log_in(container, tmp_path):
    project = compose_project()
    mount = roster_mount(project)
    # An empty example stands in for the mount, so `up` needs no file...
    assert (REPO / mount["source"]).is_file()
    assert mount["type"] == "bind" and mount["read_only"] is True
    # ...and the hub does not read it.
    assert service_env(project, "hub")["COURSE_ROSTER"] == ""
    container("init", project, lambda: secrets_made_by_init(tmp_path), set())
    configs = []
    image = image_env(REPO / "images/hub/Dockerfile")
    container("hub", project, lambda: configs.append(load_config("jupyterhub_config.py")), image)
    assert configs[0].Authenticator.allow_all is True


def test_a_roster_in_env_is_mounted_read_only_and_enforced(container, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("# term 2\nAda\ngrace  # late enrolment\n\n")
    project = compose_project(COURSE_ROSTER=str(roster))
    mount = roster_mount(project)
    assert mount == {
        "type": "bind",
        "source": str(roster),
        "target": "/srv/course-roster.txt",
        "read_only": True,
    }
    hub_env = service_env(project, "hub")
    assert hub_env["COURSE_ROSTER"] == mount["target"]
    # The hub reads the file at the mount's target: here, the file itself.
    project["services"]["hub"]["environment"]["COURSE_ROSTER"] = str(roster)
    container("init", project, lambda: secrets_made_by_init(tmp_path), set())
    configs = []
    image = image_env(REPO / "images/hub/Dockerfile")
    container("hub", project, lambda: configs.append(load_config("jupyterhub_config.py")), image)
    c = configs[0]
    assert c.Authenticator.allowed_users == {"ada", "grace"}
    assert c.Authenticator.allow_existing_users is False  # the roster is the whole list
    assert "allow_all" not in c.Authenticator


def test_a_relative_roster_path_is_a_bind_mount_not_a_volume():
    """Compose resolves a relative bind source against the project folder; in the
    short `src:dst` syntax, `roster.txt` would name a volume instead."""
    mount = roster_mount(compose_project(COURSE_ROSTER="roster.txt"))
    assert mount["type"] == "bind" and mount["source"] == "roster.txt"


def test_content_settings_reach_the_course_service_not_the_servers(container, tmp_path):
    """The teacher's repository is read by the hub's course service only; students'
    servers get the service's address (and the gateway its presets from it)."""
    project = compose_project(
        COURSE_CONTENT_REPO="https://git.example.org/course.git",
        COURSE_CONTENT_BRANCH="term-2",
        COURSE_CONTENT_SUBDIR="autumn",
    )
    container("init", project, lambda: secrets_made_by_init(tmp_path), set())
    configs = []
    image = image_env(REPO / "images/hub/Dockerfile")
    container("hub", project, lambda: configs.append(load_config("jupyterhub_config.py")), image)
    [course] = [s for s in configs[0].JupyterHub.services if s["name"] == "course"]
    env = course["environment"]
    assert env["COURSE_CONTENT_REPO"] == "https://git.example.org/course.git"
    assert env["COURSE_CONTENT_BRANCH"] == "term-2"
    assert env["COURSE_CONTENT_SUBDIR"] == "autumn"
    assert env["COURSE_SERVICE_STATE_DIR"] == str(tmp_path / "hub-data" / "course-service")
    assert course["url"] == "http://hub:10101"
    servers = configs[0].Spawner.environment
    assert servers["COURSE_SERVICE_URL"] == "http://hub:10101/services/course/"
    assert not {"COURSE_CONTENT_REPO", "COURSE_CONTENT_DIR"} & set(servers)
    gateway = service_env(project, "gateway")
    assert gateway["COURSE_SERVICE_URL"] == servers["COURSE_SERVICE_URL"]
    assert "COURSE_CONTENT_REPO" not in gateway


@pytest.mark.parametrize(
    ("settings", "authenticator"),
    [
        ({}, "course_hub.hub.accounts.CourseAuthenticator"),
        ({"COURSE_AUTH": "workshop"}, "course_hub.hub.accounts.WorkshopAuthenticator"),
    ],
)
def test_the_compose_hub_gives_each_student_an_account(
    container, tmp_path, settings, authenticator
):
    """By default each student logs in with their own password; the shared course
    password only when .env asks for the workshop mode."""
    project = compose_project(**settings)
    container("init", project, lambda: secrets_made_by_init(tmp_path), set())
    configs = []
    image = image_env(REPO / "images/hub/Dockerfile")
    container("hub", project, lambda: configs.append(load_config("jupyterhub_config.py")), image)
    assert configs[0].JupyterHub.authenticator_class == authenticator
