"""The Kubernetes logins (``render-values --auth``), checked offline.

Each login's values are validated against the charts' schemas, then turned
into the hub's traitlets config as z2jh does (hub.config, then every
hub.extraConfig snippet); the authenticator class the config names is
imported the way JupyterHub resolves it and instantiated with that config, and
its settings are compared with what render-values was told. The OAuth client
secret comes from the secrets file only. tests/e2e/test_lti13_login.py
launches a real hub from an LMS.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import pytest
import yaml
from jupyterhub.app import JupyterHub
from ltiauthenticator.lti13.auth import LTI13Authenticator
from tornado.web import HTTPError
from traitlets.config import Config

from course_hub import cli
from course_hub.daskhub import write_secrets
from course_hub.daskhub_logins import SECRET_PLACEHOLDER, Login, read_roster
from course_hub.hub.accounts import workshop_warning

from .test_daskhub import (
    BASE,
    REPO,
    STRONG,
    VALUES,
    hub_config_after_snippets,
    load,
    rendered,
    schema_errors,
)

HOST = "hub.your-school.org"
ENV = {"HELM_RELEASE_NAME": "course", "POD_NAMESPACE": "sdd"}
SECRET = "the-provider-client-secret-0123456789"
ROSTER = ["ada", "grace-h", "linus"]

LOGINS = {
    "github": Login(
        "github",
        client_id="gh-client",
        allowed_orgs=["sdd-course", "cnes:teachers"],
        admins=["Prof-Ada"],
    ),
    "github+roster": Login("github", client_id="gh-client", roster=ROSTER, admins=["prof-ada"]),
    "google": Login(
        "google",
        client_id="g.apps.googleusercontent.com",
        allowed_domains=["Your-School.org"],
        admins=["prof.ada"],
    ),
    "google+roster": Login(
        "google",
        client_id="g.apps.googleusercontent.com",
        allowed_domains=["your-school.org"],
        roster=ROSTER,
        admins=["prof.ada"],
    ),
    "oidc keycloak groups": Login(
        "oidc",
        client_id="course-hub",
        issuer="https://sso.your-school.org/realms/students/",
        allowed_groups=["sdd-2026"],
        admin_groups=["sdd-teachers"],
    ),
    "oidc endpoints roster": Login(
        "oidc",
        client_id="course-hub",
        authorize_url="https://idp.your-school.org/oidc/authorize",
        token_url="https://idp.your-school.org/oidc/token",
        userinfo_url="https://idp.your-school.org/oidc/userinfo",
        username_claim="uid",
        roster=ROSTER,
        admins=["prof-ada"],
    ),
    "lti13 moodle": Login(
        "lti13",
        client_id="AbC123xyz",
        issuer="https://moodle.your-school.org/",
        lti_courses=["42"],
    ),
    "lti13 endpoints roster": Login(
        "lti13",
        client_id="10000000000001",
        issuer="https://canvas.instructure.com",
        authorize_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
        jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
        username_claim="custom_username",
        lti_courses=["1207", "1208"],
        roster=ROSTER,
        admins=["prof-ada"],
    ),
    "workshop+roster": Login("workshop", roster=ROSTER, admins=["prof-ada"]),
}


def values_for(case: str, overlay: str | None = "class") -> dict:
    return rendered(overlay, host=HOST, login=LOGINS[case])


def secrets_for(login: Login, tmp_path: Path, client_secret: str | None = SECRET) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data, _ = write_secrets(tmp_path / "secrets.yaml", login.mode, client_secret)
    return data


def authenticator(values: dict, secrets: dict):
    """The hub's config as z2jh builds it, and the authenticator it names."""
    # The hub pod's environment: the chart's, and hub.extraEnv.
    env = {**ENV, **values["jupyterhub"]["hub"].get("extraEnv", {})}
    c = hub_config_after_snippets(values, env, secrets)
    cls = JupyterHub(config=c).authenticator_class  # entry point names resolved as the hub does
    return cls(config=c), c


@pytest.mark.parametrize("overlay", [None, "class", "test"])
@pytest.mark.parametrize("case", LOGINS)
def test_login_values_validate_against_the_chart_schemas(case, overlay):
    assert schema_errors(values_for(case, overlay)) == []


@pytest.mark.parametrize("mode", ["github", "google", "oidc", "lti13"])
def test_overlays_alone_validate(mode):
    from course_hub.daskhub import deep_merge

    values = deep_merge(load(BASE), load(VALUES / f"values-auth-{mode}.yaml"))
    assert schema_errors(values) == []


def test_github(tmp_path):
    values = values_for("github")
    config = values["jupyterhub"]["hub"]["config"]
    assert "client_secret" not in config["GitHubOAuthenticator"]  # secrets stay out
    auth, _ = authenticator(values, secrets_for(LOGINS["github"], tmp_path))
    assert type(auth).__name__ == "GitHubOAuthenticator"
    assert auth.client_id == "gh-client"
    assert auth.client_secret == SECRET
    assert auth.oauth_callback_url == f"https://{HOST}/hub/oauth_callback"
    assert auth.allowed_organizations == {"sdd-course", "cnes:teachers"}
    assert "read:org" in auth.scope
    assert auth.admin_users == {"prof-ada"}  # and not "teacher": anyone may own that login
    assert not auth.allow_all and auth.allowed_users == set()

    roster, _ = authenticator(values_for("github+roster"), secrets_for(LOGINS["github"], tmp_path))
    assert roster.allowed_users == set(ROSTER) and not roster.allowed_organizations


def test_google(tmp_path):
    auth, _ = authenticator(values_for("google"), secrets_for(LOGINS["google"], tmp_path))
    assert type(auth).__name__ == "GoogleOAuthenticator"
    assert auth.client_id == "g.apps.googleusercontent.com" and auth.client_secret == SECRET
    assert auth.oauth_callback_url == f"https://{HOST}/hub/oauth_callback"
    assert auth.hosted_domain == ["your-school.org"] and auth.strip_domain
    assert auth.allow_all  # the whole domain ...
    assert auth.admin_users == {"prof.ada"}

    def model(hd: str) -> dict:
        return {"auth_state": {"google_user": {"hd": hd}}}

    # ... and only the domain, even with allow_all (checked before it).
    assert auth.check_blocked_users("ada", model("your-school.org"))
    assert not auth.check_blocked_users("mallory", model("gmail.example"))

    roster, _ = authenticator(values_for("google+roster"), secrets_for(LOGINS["google"], tmp_path))
    assert not roster.allow_all and roster.allowed_users == set(ROSTER)
    assert not roster.check_blocked_users("ada", model("other.example"))


def test_oidc_keycloak_with_groups(tmp_path):
    auth, _ = authenticator(
        values_for("oidc keycloak groups"), secrets_for(LOGINS["oidc keycloak groups"], tmp_path)
    )
    assert type(auth).__name__ == "GenericOAuthenticator"
    realm = "https://sso.your-school.org/realms/students/protocol/openid-connect"
    assert (auth.authorize_url, auth.token_url, auth.userdata_url) == (
        f"{realm}/auth",
        f"{realm}/token",
        f"{realm}/userinfo",
    )
    assert auth.client_id == "course-hub" and auth.client_secret == SECRET
    assert auth.oauth_callback_url == f"https://{HOST}/hub/oauth_callback"
    assert auth.username_claim == "preferred_username"
    assert {"openid", "profile", "email"} <= set(auth.scope)
    assert auth.manage_groups and auth.auth_state_groups_key == "oauth_user.groups"
    assert auth.allowed_groups == {"sdd-2026"} and auth.admin_groups == {"sdd-teachers"}
    assert not auth.allow_all and auth.admin_users == set()

    async def login(groups: list[str]) -> tuple[bool, bool]:
        model = {"name": "x", "admin": None, "auth_state": {"oauth_user": {"groups": groups}}}
        model = await auth._apply_managed_groups(model)
        return await auth.check_allowed("x", model), model["admin"]

    assert asyncio.run(login(["sdd-2026"])) == (True, False)
    assert asyncio.run(login(["sdd-teachers"])) == (True, True)  # teachers are admins
    assert asyncio.run(login(["another-course"])) == (False, False)


def test_oidc_explicit_endpoints_and_roster(tmp_path):
    login = LOGINS["oidc endpoints roster"]
    auth, _ = authenticator(values_for("oidc endpoints roster"), secrets_for(login, tmp_path))
    assert auth.authorize_url == "https://idp.your-school.org/oidc/authorize"
    assert auth.token_url == "https://idp.your-school.org/oidc/token"
    assert auth.userdata_url == "https://idp.your-school.org/oidc/userinfo"
    assert auth.username_claim == "uid"
    assert not auth.manage_groups
    assert auth.allowed_users == set(ROSTER) and auth.admin_users == {"prof-ada"}


ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def test_lti13_moodle(tmp_path):
    values = values_for("lti13 moodle")
    auth, _ = authenticator(values, secrets_for(LOGINS["lti13 moodle"], tmp_path))
    assert type(auth).__name__ == "LTI13Authenticator"
    assert auth.issuer == "https://moodle.your-school.org/"  # as given: compared with "iss"
    assert auth.client_id == {"AbC123xyz"}
    assert auth.authorize_url == "https://moodle.your-school.org/mod/lti/auth.php"
    assert auth.jwks_endpoint == "https://moodle.your-school.org/mod/lti/certs.php"
    assert auth.username_key == "email"
    assert auth.allow_all and auth.admin_users == set()
    # The hub's LTI endpoints, as docs/admin.md tells the admin to register them.
    assert auth.login_url("/hub/") == "/hub/lti13/oauth_login"
    assert auth.callback_url("/hub/") == "/hub/lti13/oauth_callback"
    assert "SharedPasswordAuthenticator" not in values["jupyterhub"]["hub"]["config"]
    assert values["jupyterhub"]["hub"]["extraEnv"]["COURSE_LTI13_COURSES"] == "42"

    def launch(roles: list[str], name: str = "ada@your-school.org", course: str = "42") -> bool:
        model = {
            "name": name,
            "admin": auth.is_admin(None, {"name": name}),
            "auth_state": {ROLES: roles, CONTEXT: {"id": course, "label": "SDD"}},
        }
        return auth.post_auth_hook(auth, None, model)["admin"]

    assert launch([LIS + "membership#Instructor"]) is True
    assert launch([LIS + "membership/Instructor#TeachingAssistant"]) is True
    assert launch([LIS + "institution/person#Administrator", LIS + "membership#Learner"]) is True
    assert launch([LIS + "membership#Learner"]) is False  # demoted if the LMS says so
    assert launch([]) is False
    # Another course of the LMS added the tool: its teacher (and students) are refused.
    with pytest.raises(HTTPError) as refused:
        launch([LIS + "membership#Instructor"], course="57")
    assert refused.value.status_code == 403 and "another course" in refused.value.log_message


def test_lti13_other_platform_roster_and_admins(tmp_path):
    login = LOGINS["lti13 endpoints roster"]
    auth, _ = authenticator(values_for("lti13 endpoints roster"), secrets_for(login, tmp_path))
    assert auth.authorize_url == "https://sso.canvaslms.com/api/lti/authorize_redirect"
    assert auth.jwks_endpoint == "https://sso.canvaslms.com/api/lti/security/jwks"
    assert auth.username_key == "custom_username"
    assert not auth.allow_all and auth.allowed_users == set(ROSTER)
    assert auth.admin_users == {"prof-ada"}
    model = {
        "name": "prof-ada",
        "admin": True,
        "auth_state": {ROLES: [LIS + "membership#Learner"], CONTEXT: {"id": "1208"}},
    }
    assert auth.post_auth_hook(auth, None, model)["admin"] is True  # admin_users stay admins
    custom = {"username": "ada"}  # Moodle: custom parameter username=$User.username
    token = {"sub": "42", "https://purl.imsglobal.org/spec/lti/claim/custom": custom}
    assert auth.get_username(token) == "ada"


def test_workshop_mode_is_the_charts_own_and_takes_a_roster():
    default = rendered("class", host=HOST)  # no login: the chart's (the command line asks)
    assert (
        default["jupyterhub"]["hub"]["config"]["JupyterHub"]["authenticator_class"]
        == "shared-password"
    )
    assert default["jupyterhub"]["hub"]["config"]["Authenticator"] == {
        "admin_users": ["teacher"],
        "allow_all": True,
    }
    assert rendered("class", host=HOST, login=Login("shared")) == default  # its former name
    assert rendered("class", host=HOST, login=Login("workshop")) == default
    auth, _ = authenticator(values_for("workshop+roster"), STRONG)
    assert type(auth).__name__ == "SharedPasswordAuthenticator"
    assert auth.allowed_users == set(ROSTER) and not auth.allow_all
    assert not auth.allow_existing_users  # off the roster, out
    assert auth.admin_users == {"prof-ada"}


class Records(logging.Handler):
    """The hub's log (JupyterHub's own logger stops propagating once a hub app exists)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def hub_start_log(values: dict, secrets: dict) -> list[tuple[int, str]]:
    """(level, message) the hub's config logs at start, under JupyterHub's logger."""
    log, records = logging.getLogger("JupyterHub"), Records()
    log.addHandler(records)
    try:
        hub_config_after_snippets(values, ENV, secrets)
    finally:
        log.removeHandler(records)
    return [(r.levelno, r.getMessage()) for r in records.records]


@pytest.mark.parametrize("overlay", [None, "class", "test"])
def test_workshop_mode_warns_at_start_as_the_local_hub_does(overlay):
    warning = workshop_warning("render-values --auth workshop")
    assert warning.startswith("WORKSHOP MODE (render-values --auth workshop): every student")
    # The local and compose hubs' WorkshopAuthenticator says the same (COURSE_AUTH=workshop).
    assert workshop_warning().replace("COURSE_AUTH=workshop", "") == warning.replace(
        "render-values --auth workshop", ""
    )
    for login in (None, Login("workshop"), Login("shared", roster=ROSTER)):
        values = rendered(overlay, host=HOST, login=login)
        assert (logging.WARNING, warning) in hub_start_log(values, STRONG), login
    # The chart alone (no render-values): the same login, the same warning.
    chart = load(BASE)
    snippets = chart["jupyterhub"]["hub"]["extraConfig"]
    chart["jupyterhub"]["hub"]["extraConfig"] = dict(sorted(snippets.items()))  # as z2jh runs them
    assert (logging.WARNING, warning) in hub_start_log(chart, STRONG)


@pytest.mark.parametrize("case", ["github", "oidc keycloak groups", "lti13 moodle"])
def test_own_logins_start_without_the_workshop_warning(case, tmp_path):
    log = hub_start_log(values_for(case), secrets_for(LOGINS[case], tmp_path))
    assert not [m for _, m in log if "WORKSHOP MODE" in m], log


def test_cli_asks_for_the_login_and_names_workshop_mode(tmp_path, capsys):
    """An old caller that passes no --auth gets a sentence, not the shared password."""
    code, _, err = render_cli(tmp_path, capsys)
    assert code == 2 and not (tmp_path / "values.yaml").exists()
    assert "--auth is required" in err and "--auth workshop" in err
    assert "anyone can log in as any student" in err and "docs/admin.md" in err
    for mode in ("workshop", "shared"):
        secrets = tmp_path / f"{mode}-secrets.yaml"
        code, values, err = render_cli(tmp_path, capsys, "--auth", mode, "--secrets", str(secrets))
        assert code == 0, err
        config = values["jupyterhub"]["hub"]["config"]
        assert config["JupyterHub"]["authenticator_class"] == "shared-password"
        assert "--auth workshop: one shared course password: anyone who has it" in err
        assert "auth=workshop" in (tmp_path / "values.yaml").read_text().splitlines()[1]
        passwords = load(secrets)["jupyterhub"]["hub"]["config"]["SharedPasswordAuthenticator"]
        assert len(passwords["user_password"]) >= 8 and len(passwords["admin_password"]) >= 32


def test_cli_static_ip(tmp_path, capsys):
    code, values, err = render_cli(
        tmp_path, capsys, "--overlay", "class", "--host", HOST, "--auth", "workshop",
        "--static-ip", "203.0.113.10",
    )  # fmt: skip
    assert code == 0, err
    assert values["jupyterhub"]["proxy"]["service"]["loadBalancerIP"] == "203.0.113.10"
    code, _, err = render_cli(tmp_path, capsys, "--auth", "workshop", "--static-ip", "203.0.113")
    assert code == 2 and "--static-ip must be an IP address" in err


@pytest.mark.parametrize("case", ["github", "google", "oidc keycloak groups"])
def test_oauth_hub_refuses_a_missing_client_secret(case, tmp_path):
    # No shared passwords in these secrets: the password check is the shared login's only.
    placeholder = secrets_for(LOGINS[case], tmp_path, client_secret=None)
    section = next(iter(placeholder["jupyterhub"]["hub"]["config"].values()))
    assert section == {"client_secret": SECRET_PLACEHOLDER}
    with pytest.raises(ValueError, match="client_secret is missing"):
        hub_config_after_snippets(values_for(case), ENV, placeholder)
    with pytest.raises(ValueError, match="client_secret is missing"):
        hub_config_after_snippets(values_for(case), ENV, {})
    hub_config_after_snippets(values_for(case), ENV, secrets_for(LOGINS[case], tmp_path / "x"))


def test_lti13_needs_no_secret_and_refuses_every_course_unless_told():
    values = values_for("lti13 moodle")
    c = hub_config_after_snippets(values, ENV, {})  # without COURSE_LTI13_COURSES
    assert isinstance(c, Config)
    model = {"name": "ada", "admin": None, "auth_state": {CONTEXT: {"id": "42"}, ROLES: []}}
    auth = LTI13Authenticator(config=c)
    with pytest.raises(HTTPError):
        auth.post_auth_hook(auth, None, model)


def test_secrets_file_gains_a_login_and_keeps_what_it_has(tmp_path):
    path = tmp_path / "hub-secrets.yaml"
    shared, created = write_secrets(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    passwords = shared["jupyterhub"]["hub"]["config"]["SharedPasswordAuthenticator"]
    data, changed = write_secrets(path, "github", None)
    config = data["jupyterhub"]["hub"]["config"]
    assert changed and config["GitHubOAuthenticator"] == {"client_secret": SECRET_PLACEHOLDER}
    assert config["SharedPasswordAuthenticator"] == passwords  # kept
    data, changed = write_secrets(path, "github", SECRET)  # the placeholder replaced
    assert changed and load(path)["jupyterhub"]["hub"]["config"]["GitHubOAuthenticator"] == {
        "client_secret": SECRET
    }
    data, changed = write_secrets(path, "github", "another-secret-0123456789")
    assert (
        not changed
        and data["jupyterhub"]["hub"]["config"]["GitHubOAuthenticator"]["client_secret"] == SECRET
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_secrets(path, "lti13")[1] is False  # LTI 1.3 needs no secret


def test_roster_file(tmp_path):
    path = tmp_path / "roster.txt"
    path.write_text("# SDD 2026, group A\nAda\n\ngrace-h   # late enrolment\nada\n  linus\n")
    assert read_roster(path) == ROSTER
    path.write_text("# nobody yet\n")
    with pytest.raises(ValueError, match="names no one"):
        read_roster(path)


def render_cli(tmp_path: Path, capsys, *args: str) -> tuple[int, dict | None, str]:
    out = tmp_path / "values.yaml"
    code = cli.main(
        [
            "render-values",
            "--registry", "r.example.org/c",
            "--tag", "abc123",
            "--values-dir", str(VALUES),
            "--course", str(REPO / "course"),
            "-o", str(out),
            *args,
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    return code, (yaml.safe_load(out.read_text()) if code == 0 else None), err


def test_cli_github_with_a_secret_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_AUTH_CLIENT_SECRET", SECRET)
    roster = tmp_path / "roster.txt"
    roster.write_text("ada\ngrace-h\n")
    secrets = tmp_path / "hub-secrets.yaml"
    code, values, err = render_cli(
        tmp_path, capsys,
        "--overlay", "class", "--host", HOST, "--auth", "github", "--auth-client-id", "gh-client",
        "--allowed-org", "sdd-course", "--roster", str(roster), "--admin", "prof-ada",
        "--secrets", str(secrets),
    )  # fmt: skip
    assert code == 0, err
    assert schema_errors(values) == []
    config = values["jupyterhub"]["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "github"
    assert config["Authenticator"] == {
        "allow_all": False,
        "admin_users": ["prof-ada"],
        "allowed_users": ["ada", "grace-h"],
        "allow_existing_users": False,
    }
    assert SECRET not in (tmp_path / "values.yaml").read_text()
    assert (
        load(secrets)["jupyterhub"]["hub"]["config"]["GitHubOAuthenticator"]["client_secret"]
        == SECRET
    )
    assert f"https://{HOST}/hub/oauth_callback" in err


def test_cli_lti13_prints_what_to_register_in_moodle(tmp_path, capsys):
    code, values, err = render_cli(
        tmp_path, capsys,
        "--overlay", "test", "--host", HOST, "--auth", "lti13",
        "--auth-issuer", "https://moodle.your-school.org", "--auth-client-id", "AbC123xyz",
        "--lti-course", "42", "--lti-course", "43",
    )  # fmt: skip
    assert code == 0, err
    assert values["jupyterhub"]["hub"]["config"]["LTI13Authenticator"]["client_id"] == [
        "AbC123xyz"
    ]
    assert values["jupyterhub"]["hub"]["extraEnv"]["COURSE_LTI13_COURSES"] == "42,43"
    for url in ("/hub/lti13/oauth_login", "/hub/lti13/oauth_callback"):
        assert f"https://{HOST}{url}" in err


def test_cli_placeholder_secret_is_announced(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COURSE_AUTH_CLIENT_SECRET", raising=False)
    code, _, err = render_cli(
        tmp_path, capsys,
        "--host", HOST, "--auth", "google", "--auth-client-id", "g", "--allowed-domain", "your-school.org",
        "--admin", "prof.ada", "--secrets", str(tmp_path / "s.yaml"),
    )  # fmt: skip
    assert code == 0, err
    assert "paste the provider's client secret as GoogleOAuthenticator.client_secret" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--auth", "github", "--auth-client-id", "x", "--allowed-org", "o", "--admin", "a"], "needs --host"),
        (["--host", HOST, "--auth", "github", "--allowed-org", "o", "--admin", "a"], "needs --auth-client-id"),
        (["--host", HOST, "--auth", "github", "--auth-client-id", "x", "--admin", "a"], "--allowed-org ORG"),
        (["--host", HOST, "--auth", "github", "--auth-client-id", "x", "--allowed-org", "o"], "needs --admin"),
        (["--host", HOST, "--auth", "google", "--auth-client-id", "x", "--allowed-org", "o"], "--allowed-org is for --auth github"),
        (["--host", HOST, "--auth", "oidc", "--auth-client-id", "x", "--allowed-group", "g", "--admin", "a",
          "--auth-issuer", "https://idp.example.org"], "needs --auth-authorize-url"),
        (["--host", HOST, "--auth", "oidc", "--auth-client-id", "x", "--admin", "a",
          "--auth-issuer", "https://idp.example.org/realms/r"], "--roster FILE or --allowed-group"),
        (["--auth", "lti13", "--auth-client-id", "x"], "needs --auth-issuer"),
        (["--auth", "lti13", "--auth-client-id", "x", "--auth-issuer", "https://m.example.org"], "needs --lti-course"),
        (["--auth", "shared", "--lti-course", "42"], "--lti-course is for --auth lti13"),
        (["--auth", "workshop", "--allowed-org", "o"], "--allowed-org is for --auth github"),
        (["--auth", "lti13", "--auth-client-id", "x", "--auth-issuer", "moodle.example.org"], "http(s) URL"),
        (["--auth", "workshop", "--auth-client-id", "x"], "--auth-client-id is not used by --auth workshop"),
        (["--auth", "shared", "--auth-client-id", "x"], "--auth-client-id is not used by --auth workshop"),
        (["--static-ip", "203.0.113.10", "--auth", "workshop", "--overlay", "test"], "LoadBalancer Service"),
    ],
)  # fmt: skip
def test_cli_refuses_incomplete_logins(tmp_path, capsys, args, message):
    code, _, err = render_cli(tmp_path, capsys, *args)
    assert code == 2 and message in err, err


def test_the_admin_guide_covers_every_login():
    from course_hub.daskhub_logins import AUTH_MODES, MODE_ALIASES

    guide = (REPO / "docs" / "admin.md").read_text()
    section = guide[guide.index("\n## Logins\n") :]
    for mode in AUTH_MODES:
        assert f"`{mode}`" in section or f"--auth {mode}" in section, mode
    for url in ("/hub/oauth_callback", "/hub/lti13/oauth_login", "/hub/lti13/oauth_callback"):
        assert f"https://hub.your-school.org{url}" in section, url
    assert set(cli.AUTH_CHOICES) == set(AUTH_MODES) | set(MODE_ALIASES)
