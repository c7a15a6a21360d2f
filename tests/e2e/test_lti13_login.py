"""LTI 1.3 launches into a real JupyterHub configured by the rendered DaskHub values.

``course-hub render-values --auth lti13`` values are turned into a hub config
as z2jh does (chart defaults, hub.config, every hub.extraConfig snippet), and
a real ``jupyterhub`` process runs it on free local ports, with a simple
spawner instead of KubeSpawner. A tiny "LMS" in the test (an HTTP server
with Moodle's endpoint paths) holds an RSA key pair: it publishes the public
key as a JWKS, answers the hub's authorization redirect, and signs the
id_token a real Moodle would post back. The test launches as an LMS and a
browser would, and checks who is logged in, who is admin, that forged or
misdirected tokens are refused, and (a second hub, with --roster) that only the
roster and the admins get in.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from course_hub.daskhub import deep_merge, render
from course_hub.daskhub_logins import Login
from course_hub.hub.local import free_port_block

from ..chart import dependency_file
from ..hubclient import Deadline

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".test-artifacts"
CLIENT_ID = "moodle-client-AbC123"
COURSE_ID = "42"  # the Moodle course the hub serves (render-values --lti-course)
KID = "lms-key-1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = [LIS + "membership#Instructor"]
LEARNER = [LIS + "membership#Learner"]

HUB_CONFIG = '''\
"""The hub config z2jh would build from the rendered values (tests/e2e/test_lti13_login.py)."""
import json
import os

c = get_config()  # noqa: F821
settings = json.loads(open(os.environ["LTI_E2E_SETTINGS"]).read())
for section, values in settings["config"].items():  # hub.config first, as z2jh does
    c[section].update(values)
c.KubeSpawner.environment = {}
c.JupyterHub.services = [
    {"name": "e2e-admin", "api_token": os.environ["LTI_E2E_TOKEN"]},
    # z2jh adds hub.services with the token it generated (10-course-hub checks it).
    {"name": "dask-gateway", "display": False, "api_token": os.urandom(16).hex()},
]
c.JupyterHub.load_roles = [
    {"name": "e2e-admin", "scopes": ["admin:users"], "services": ["e2e-admin"]},
]
for name in sorted(settings["extraConfig"]):
    code = compile(settings["extraConfig"][name], f"hub.extraConfig.{name}", "exec")
    # z2jh's get_name: our chart keeps its short names ("hub").
    exec(code, {"c": c, "get_name": lambda name: name})
# This machine instead of Kubernetes. The course service would run in the hub
# pod (/srv/course, hub:10101): these tests are about logins, so it stays out.
c.JupyterHub.services = [s for s in c.JupyterHub.services if s["name"] != "course"]
c.JupyterHub.load_roles = [
    r for r in c.JupyterHub.load_roles if "course" not in r.get("services", [])
]
port = int(os.environ["LTI_E2E_PORT"])
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.command = [os.environ["LTI_E2E_CHP"]]
c.ConfigurableHTTPProxy.pid_file = "proxy.pid"
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "cookie_secret"
c.JupyterHub.spawner_class = "simple"
'''


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Lms:
    """A learning platform as the hub sees one: a JWKS, an authorize endpoint, signed launches."""

    issuer: str
    key: rsa.RSAPrivateKey
    seen: list[tuple[str, dict]] = field(default_factory=list)

    def id_token(
        self,
        hub_url: str,
        nonce: str,
        email: str,
        roles: list[str],
        signing_key: rsa.RSAPrivateKey | None = None,
        **over,
    ) -> str:
        """The id_token of a resource link launch, signed with the LMS's key (or ``signing_key``)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": uuid.uuid4().hex[:8],
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": email,
            "name": email.split("@")[0],
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": "1",
            LTI + "target_link_uri": f"{hub_url}/hub/home",
            LTI + "resource_link": {"id": "course-hub-activity", "title": "Course hub"},
            LTI + "roles": roles,
            LTI + "context": {"id": COURSE_ID, "label": "SDD", "title": "SDD DE course"},
        }
        claims.update(over)
        key = signing_key or self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


@pytest.fixture(scope="module")
def lms() -> Iterator[Lms]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()
    seen: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            seen.append((url.path, dict(parse_qsl(url.query))))
            if url.path == "/mod/lti/certs.php":
                body, kind = jwks, "application/json"
            elif url.path == "/mod/lti/auth.php":
                # A real Moodle answers with a self-posting form; the test posts it.
                body, kind = json.dumps(dict(parse_qsl(url.query))).encode(), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Lms(f"http://127.0.0.1:{server.server_address[1]}", key, seen)
    finally:
        server.shutdown()
        server.server_close()


def chp() -> str:
    found = os.environ.get("CONFIGURABLE_HTTP_PROXY") or shutil.which(
        "configurable-http-proxy",
        path=str(REPO / "hub_config" / "local" / "node_modules" / ".bin"),
    )
    found = found or shutil.which("configurable-http-proxy")
    if not found:
        pytest.fail(
            "configurable-http-proxy is not installed: run `make env` (npm ci in hub_config/local)"
        )
    return found


def hub_settings(login: Login) -> dict:
    """hub.config and hub.extraConfig as the jupyterhub chart receives them."""
    values = render(
        REPO / "hub_config" / "helm",
        REPO / "course",
        "r.example.org/c",
        "e2e",
        "test",
        login=login,
    )
    chart = yaml.safe_load(dependency_file("jupyterhub", "values.yaml"))
    hub = deep_merge(chart, values["jupyterhub"])["hub"]
    return {
        "config": hub["config"],
        "extraConfig": hub["extraConfig"],
        "extraEnv": hub.get("extraEnv", {}),
    }


@dataclass
class Hub:
    url: str
    token: str
    settings: dict

    def user(self, name: str) -> dict | None:
        r = browser().get(
            f"{self.url}/hub/api/users/{name}",
            headers={"Authorization": f"token {self.token}"},
            timeout=10,
        )
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()


@contextmanager
def running_hub(login: Login, workdir: Path, name: str) -> Iterator[Hub]:
    """A real jupyterhub process with the settings rendered for ``login``."""
    settings = hub_settings(login)
    (workdir / "settings.json").write_text(json.dumps(settings))
    (workdir / "jupyterhub_config.py").write_text(HUB_CONFIG)
    port = free_port_block(3)
    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        LTI_E2E_SETTINGS=str(workdir / "settings.json"),
        LTI_E2E_TOKEN=token,
        LTI_E2E_PORT=str(port),
        LTI_E2E_CHP=chp(),
        HELM_RELEASE_NAME="course",  # what the chart's pod has, for the snippets
        POD_NAMESPACE="sdd",
        **settings["extraEnv"],  # hub.extraEnv, as the chart gives it to the hub pod
    )
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{name}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = Deadline(60, "the LTI 1.3 hub to answer /hub/health")
        while deadline:
            if proc.poll() is not None:
                pytest.fail(
                    f"jupyterhub exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            try:
                if browser().get(f"{url}/hub/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            deadline.fail(log_path.read_text()[-4000:])
        yield Hub(url, token, settings)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        pid_file = workdir / "proxy.pid"
        if pid_file.exists():  # the hub stops the proxy it started; make sure
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass


@pytest.fixture(scope="module")
def hub(lms: Lms, tmp_path_factory) -> Iterator[Hub]:
    """The hub of `render-values --auth lti13 --auth-issuer LMS --auth-client-id ID`."""
    login = Login("lti13", client_id=CLIENT_ID, issuer=lms.issuer, lti_courses=[COURSE_ID])
    with running_hub(login, tmp_path_factory.mktemp("lti13-hub"), "e2e-lti13-hub") as hub:
        yield hub


ROSTER = ["ada-on-the-roster@your-school.example"]


@pytest.fixture(scope="module")
def roster_hub(lms: Lms, tmp_path_factory) -> Iterator[Hub]:
    """The same, with `--roster` and `--admin`."""
    login = Login(
        "lti13",
        client_id=CLIENT_ID,
        issuer=lms.issuer,
        lti_courses=[COURSE_ID],
        roster=ROSTER,
        admins=["head@your-school.example"],
    )
    with running_hub(
        login, tmp_path_factory.mktemp("lti13-roster-hub"), "e2e-lti13-roster-hub"
    ) as hub:
        yield hub


def browser() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # straight to 127.0.0.1, whatever proxy the machine has
    return s


def start_launch(hub: Hub, lms: Lms, s: requests.Session) -> dict:
    """Steps 1-2: the LMS's login initiation, then the hub's redirect to the LMS."""
    r = s.post(
        f"{hub.url}/hub/lti13/oauth_login",
        data={
            "iss": lms.issuer,
            "login_hint": "moodle-user-7",
            "target_link_uri": f"{hub.url}/hub/home",
            "lti_message_hint": "launch-42",
            "client_id": CLIENT_ID,
            "lti_deployment_id": "1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.startswith(f"{lms.issuer}/mod/lti/auth.php?"), location
    params = s.get(location, timeout=10).json()  # the browser follows to the LMS
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == f"{hub.url}/hub/lti13/oauth_callback"
    assert (params["login_hint"], params["lti_message_hint"]) == ("moodle-user-7", "launch-42")
    assert (params["response_type"], params["response_mode"]) == ("id_token", "form_post")
    assert params["scope"] == "openid" and params["prompt"] == "none"
    assert params["state"] and params["nonce"]
    return params


def finish_launch(s: requests.Session, params: dict, id_token: str) -> requests.Response:
    """Step 3: the LMS's page posts the signed id_token back to the hub."""
    return s.post(
        params["redirect_uri"],
        data={"id_token": id_token, "state": params["state"]},
        allow_redirects=False,
        timeout=20,
    )


def logged_in(hub: Hub, s: requests.Session) -> bool:
    r = s.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=10)
    return r.status_code == 200


def email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}@your-school.example"


def test_the_hub_runs_the_rendered_lti13_settings(hub: Hub, lms: Lms):
    lti = hub.settings["config"]["LTI13Authenticator"]
    assert lti["issuer"] == lms.issuer
    assert lti["authorize_url"] == f"{lms.issuer}/mod/lti/auth.php"
    assert lti["jwks_endpoint"] == f"{lms.issuer}/mod/lti/certs.php"
    assert "07-course-lti13-launches" in hub.settings["extraConfig"]
    assert hub.settings["extraEnv"]["COURSE_LTI13_COURSES"] == COURSE_ID
    # What an LMS can install the tool from: the login initiation URL to register.
    config = browser().get(f"{hub.url}/hub/lti13/config", timeout=10).json()
    assert config["oidc_initiation_url"] == f"{hub.url}/hub/lti13/oauth_login"


def test_a_student_launch_logs_in_as_a_student(hub: Hub, lms: Lms):
    s, name = browser(), email("ada")
    params = start_launch(hub, lms, s)
    r = finish_launch(s, params, lms.id_token(hub.url, params["nonce"], name, LEARNER))
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/hub/home"  # the target link of the launch
    assert logged_in(hub, s)
    user = hub.user(name)
    assert user is not None and user["admin"] is False
    assert any(path == "/mod/lti/certs.php" for path, _ in lms.seen)  # the key came from the JWKS


def test_an_instructor_is_admin_and_the_lms_stays_the_truth(hub: Hub, lms: Lms):
    name = email("prof")
    s = browser()
    params = start_launch(hub, lms, s)
    assert (
        finish_launch(
            s, params, lms.id_token(hub.url, params["nonce"], name, INSTRUCTOR)
        ).status_code
        == 302
    )
    assert logged_in(hub, s)
    assert hub.user(name)["admin"] is True
    # The same person launching later as a learner (role changed in Moodle) is no admin.
    s = browser()
    params = start_launch(hub, lms, s)
    assert (
        finish_launch(s, params, lms.id_token(hub.url, params["nonce"], name, LEARNER)).status_code
        == 302
    )
    assert hub.user(name)["admin"] is False


def test_a_launch_from_another_course_is_refused(hub: Hub, lms: Lms):
    """Another Moodle course added the same tool: its teacher gets no admin here, nor entry."""
    s, name = browser(), email("prof-elsewhere")
    params = start_launch(hub, lms, s)
    other = {"id": "57", "label": "OTHER", "title": "Another course"}
    token = lms.id_token(hub.url, params["nonce"], name, INSTRUCTOR, **{LTI + "context": other})
    r = finish_launch(s, params, token)
    assert r.status_code == 403 and "This hub serves another course" in html.unescape(r.text)
    assert not logged_in(hub, s)
    assert hub.user(name) is None


def tampered_payload(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join([header, b64url(json.dumps(claims).encode()), signature])


#: Each forgery, and the hub's reason for refusing it (ltiauthenticator and PyJWT).
FORGERIES = {
    "claim changed after signing": "Signature verification failed",
    "signed by another key": "Signature verification failed",
    "another tool's audience": "Audience doesn't match",
    "another issuer": "Invalid issuer",
    "another nonce": "OAuth nonce mismatch",
    "expired": "Signature has expired",
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_or_misdirected_tokens_are_refused(hub: Hub, lms: Lms, forgery: str):
    s, name = browser(), email("mallory")
    params = start_launch(hub, lms, s)
    nonce = params["nonce"]
    if forgery == "claim changed after signing":
        honest = lms.id_token(hub.url, nonce, name, LEARNER)
        token = tampered_payload(honest, **{LTI + "roles": INSTRUCTOR})
    elif forgery == "signed by another key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = lms.id_token(hub.url, nonce, name, INSTRUCTOR, signing_key=other)
    elif forgery == "another tool's audience":
        token = lms.id_token(hub.url, nonce, name, LEARNER, aud="another-tool")
    elif forgery == "another issuer":
        token = lms.id_token(hub.url, nonce, name, LEARNER, iss="https://evil.example")
    elif forgery == "another nonce":
        token = lms.id_token(hub.url, "0" * 64, name, LEARNER)
    else:
        past = int(time.time()) - 3600
        token = lms.id_token(hub.url, nonce, name, LEARNER, iat=past, exp=past + 300)
    r = finish_launch(s, params, token)
    assert r.status_code in (400, 401), (r.status_code, r.text[:300])
    assert FORGERIES[forgery] in html.unescape(r.text)
    assert not logged_in(hub, s)
    assert hub.user(name) is None


def test_a_replayed_launch_is_refused(hub: Hub, lms: Lms):
    s, name = browser(), email("replay")
    params = start_launch(hub, lms, s)
    token = lms.id_token(hub.url, params["nonce"], name, LEARNER)
    assert finish_launch(s, params, token).status_code == 302
    thief = browser()  # the same token and state, without the browser's launch cookies
    r = finish_launch(thief, params, token)
    assert r.status_code == 400 and "OAuth state missing from cookies" in r.text
    assert not logged_in(hub, thief)


def test_the_roster_decides_who_gets_in(roster_hub: Hub, lms: Lms):
    def launch(name: str, roles: list[str]) -> tuple[requests.Response, requests.Session]:
        s = browser()
        params = start_launch(roster_hub, lms, s)
        return finish_launch(
            s, params, lms.id_token(roster_hub.url, params["nonce"], name, roles)
        ), s

    r, s = launch(ROSTER[0], LEARNER)
    assert r.status_code == 302 and logged_in(roster_hub, s)
    r, s = launch("eve-not-enrolled@your-school.example", LEARNER)
    assert r.status_code == 403 and not logged_in(roster_hub, s)
    assert roster_hub.user("eve-not-enrolled@your-school.example") is None
    # Admins are always let in; being an Instructor somewhere does not get one in.
    r, s = launch("head@your-school.example", LEARNER)
    assert r.status_code == 302 and roster_hub.user("head@your-school.example")["admin"] is True
    r, _ = launch("prof-elsewhere@your-school.example", INSTRUCTOR)
    assert r.status_code == 403
