"""Logins for the Kubernetes hub: which authenticator the chart's values name.

``course-hub render-values --auth MODE`` merges ``hub_config/helm/values-auth-MODE.yaml``
over the values and fills it from the command line: the client id, the OAuth
callback URL (from the host), the identity provider's endpoints, who may log
in (a roster, GitHub organisations, Google domains, provider groups) and who
are admins (the teachers). ``workshop`` (formerly ``shared``) keeps the chart's
one shared course password: anyone who has it can log in as any student, so
it is never the default of the command line, and the hub warns at start
(snippet ``05-course-passwords``). An OAuth client secret goes to the secrets
file, never into the values; docs/admin.md ("Logins") is the admin's guide.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

AUTH_MODES = ("workshop", "github", "google", "oidc", "lti13")
#: Former names, still accepted: ``--auth shared`` is ``--auth workshop``.
MODE_ALIASES = {"shared": "workshop"}

#: The traitlets section of each mode's authenticator in hub.config.
SECTIONS = {
    "workshop": "SharedPasswordAuthenticator",
    "github": "GitHubOAuthenticator",
    "google": "GoogleOAuthenticator",
    "oidc": "GenericOAuthenticator",
    "lti13": "LTI13Authenticator",
}
OAUTH_MODES = ("github", "google", "oidc")

#: In the secrets file until the admin pastes the provider's client secret;
#: the hub refuses to start with it (the chart's 06-course-login-secret).
SECRET_PLACEHOLDER = "paste-the-client-secret-from-your-identity-provider-here"  # noqa: S105

#: Moodle's LTI 1.3 endpoints under its URL (the "platform ID", i.e. the issuer).
MOODLE_PATHS = {"authorize_url": "/mod/lti/auth.php", "jwks_endpoint": "/mod/lti/certs.php"}
#: Keycloak's OpenID Connect endpoints under a realm's issuer URL.
KEYCLOAK_PATHS = {
    "authorize_url": "/protocol/openid-connect/auth",
    "token_url": "/protocol/openid-connect/token",
    "userdata_url": "/protocol/openid-connect/userinfo",
}


def canonical_mode(mode: str) -> str:
    """``mode`` by its current name (``shared`` is ``workshop``); ValueError if unknown."""
    mode = MODE_ALIASES.get(mode, mode)
    if mode not in AUTH_MODES:
        raise ValueError(f"--auth must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
    return mode


@dataclass
class Login:
    """What ``render-values --auth ...`` was told about the login.

    ``mode`` has no default: one shared password (``workshop``) lets anyone be
    anyone, so a caller says so rather than getting it by omission."""

    mode: str
    client_id: str | None = None
    issuer: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    jwks_url: str | None = None
    username_claim: str | None = None
    groups_claim: str = "groups"
    allowed_orgs: list[str] = field(default_factory=list)
    allowed_domains: list[str] = field(default_factory=list)
    allowed_groups: list[str] = field(default_factory=list)
    admin_groups: list[str] = field(default_factory=list)
    lti_courses: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)
    roster: list[str] = field(default_factory=list)


def read_roster(path: Path | str) -> list[str]:
    """User names, one a line; blank lines and ``#`` comments skipped; lowercased
    as JupyterHub normalises them; duplicates dropped, order kept."""
    names: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip().lower()
        if name and name not in names:
            names.append(name)
    if not names:
        raise ValueError(f"{path}: the roster names no one (one user name a line)")
    return names


def _url(value: str, option: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise ValueError(f"{option} must be an http(s) URL, not {value!r}")
    return value


def _check_options(login: Login) -> None:
    """Refuse options the chosen mode would silently ignore."""
    meant_for = {
        "--allowed-org": ("github", login.allowed_orgs),
        "--allowed-domain": ("google", login.allowed_domains),
        "--allowed-group": ("oidc", login.allowed_groups),
        "--admin-group": ("oidc", login.admin_groups),
        "--auth-token-url": ("oidc", login.token_url),
        "--auth-userinfo-url": ("oidc", login.userinfo_url),
        "--auth-jwks-url": ("lti13", login.jwks_url),
        "--lti-course": ("lti13", login.lti_courses),
    }
    for option, (mode, value) in meant_for.items():
        if value and login.mode != mode:
            raise ValueError(f"{option} is for --auth {mode}, not --auth {login.mode}")
    unused = {
        "--auth-client-id": login.mode == "workshop" and login.client_id,
        "--auth-issuer": login.mode in ("workshop", "github", "google") and login.issuer,
        "--auth-authorize-url": login.mode in ("workshop", "github", "google")
        and login.authorize_url,
        "--auth-username-claim": login.mode in ("workshop", "github", "google")
        and login.username_claim,
    }
    for option, value in unused.items():
        if value:
            raise ValueError(f"{option} is not used by --auth {login.mode}")


def apply_login(values: dict, values_dir: Path, login: Login, host: str | None) -> dict:
    """The values with the login of ``login.mode`` merged and filled in.

    Raises ValueError, with the option to give, for an incomplete login."""
    from .daskhub import _load, deep_merge, overlay_path

    login = replace(login, mode=canonical_mode(login.mode))
    _check_options(login)
    if login.mode != "workshop":
        values = deep_merge(values, _load(overlay_path(values_dir, f"auth-{login.mode}")))
    config = values["jupyterhub"]["hub"]["config"]
    auth = config.setdefault("Authenticator", {})
    # The shared passwords stay out of the values (the secrets file has them).
    section = {} if login.mode == "workshop" else config.setdefault(SECTIONS[login.mode], {})
    if login.mode in OAUTH_MODES or login.mode == "lti13":
        if not login.client_id:
            raise ValueError(f"--auth {login.mode} needs --auth-client-id (from the provider)")
    if login.mode in OAUTH_MODES:
        if not host:
            raise ValueError(
                f"--auth {login.mode} needs --host: the provider sends students back to "
                "https://HOST/hub/oauth_callback"
            )
        section["client_id"] = login.client_id
        section["oauth_callback_url"] = f"https://{host}/hub/oauth_callback"

    if login.mode == "github":
        if not (login.allowed_orgs or login.roster):
            raise ValueError("--auth github needs --allowed-org ORG[:TEAM] or --roster FILE")
        section["allowed_organizations"] = list(login.allowed_orgs)
    elif login.mode == "google":
        if not (login.allowed_domains or login.roster):
            raise ValueError("--auth google needs --allowed-domain DOMAIN or --roster FILE")
        section["hosted_domain"] = [d.lower() for d in login.allowed_domains]
        # The whole domain, unless a roster narrows it (hosted_domain still applies).
        auth["allow_all"] = bool(login.allowed_domains) and not login.roster
    elif login.mode == "oidc":
        _oidc(section, login)
    elif login.mode == "lti13":
        if not login.issuer:
            raise ValueError("--auth lti13 needs --auth-issuer (Moodle: its URL, the platform ID)")
        # Compared character by character with each launch's "iss": kept as given.
        section["issuer"] = _url(login.issuer, "--auth-issuer")
        issuer = login.issuer.rstrip("/")
        section["client_id"] = [login.client_id]
        section["authorize_url"] = _url(
            login.authorize_url or issuer + MOODLE_PATHS["authorize_url"], "--auth-authorize-url"
        )
        section["jwks_endpoint"] = _url(
            login.jwks_url or issuer + MOODLE_PATHS["jwks_endpoint"], "--auth-jwks-url"
        )
        if login.username_claim:
            section["username_key"] = login.username_claim
        if not login.lti_courses:
            raise ValueError(
                "--auth lti13 needs --lti-course ID, the LMS's course id (Moodle: the id= of "
                "the course page's URL): any course of the LMS may add the tool, and its "
                "teachers would be admins here"
            )
        courses = ",".join(str(c).strip() for c in login.lti_courses)
        values["jupyterhub"]["hub"].setdefault("extraEnv", {})["COURSE_LTI13_COURSES"] = courses

    if login.mode in ("github", "google") and not login.admins:
        raise ValueError(f"--auth {login.mode} needs --admin NAME: at least one teacher")
    if login.mode == "oidc" and not (login.admins or login.admin_groups):
        raise ValueError("--auth oidc needs --admin NAME or --admin-group GROUP (the teachers)")
    if login.admins:
        auth["admin_users"] = [a.lower() for a in login.admins]
    if login.roster:
        # Admins are always allowed as well (JupyterHub adds them). The roster is
        # the truth: a name taken off it may no longer log in, even if it did before.
        auth["allowed_users"] = list(login.roster)
        auth["allow_all"] = False
        auth["allow_existing_users"] = False
    hub = values["jupyterhub"]["hub"]
    if hub.get("extraConfig"):
        hub["extraConfig"] = dict(sorted(hub["extraConfig"].items()))  # as z2jh runs them
    return values


def _oidc(section: dict, login: Login) -> None:
    if not (login.roster or login.allowed_groups):
        raise ValueError("--auth oidc needs --roster FILE or --allowed-group GROUP")
    urls = {
        "authorize_url": (login.authorize_url, "--auth-authorize-url"),
        "token_url": (login.token_url, "--auth-token-url"),
        "userdata_url": (login.userinfo_url, "--auth-userinfo-url"),
    }
    issuer = _url(login.issuer, "--auth-issuer").rstrip("/") if login.issuer else None
    keycloak = issuer is not None and "/realms/" in urlparse(issuer).path
    for key, (given, option) in urls.items():
        if given:
            section[key] = _url(given, option)
        elif keycloak:
            section[key] = issuer + KEYCLOAK_PATHS[key]
        else:
            raise ValueError(
                f"--auth oidc needs {option} (the provider's .well-known/openid-configuration "
                "lists it), or a Keycloak realm as --auth-issuer (https://HOST/realms/NAME)"
            )
    if login.username_claim:
        section["username_claim"] = login.username_claim
    if login.allowed_groups or login.admin_groups:
        # Groups come from the provider's userinfo (a "groups" claim by default).
        section["manage_groups"] = True
        section["auth_state_groups_key"] = f"oauth_user.{login.groups_claim}"
        if login.allowed_groups:
            section["allowed_groups"] = list(login.allowed_groups)
        if login.admin_groups:
            section["admin_groups"] = list(login.admin_groups)


def login_secrets(mode: str, client_secret: str | None) -> dict:
    """The hub.config secrets a login needs (workshop's passwords are daskhub's)."""
    mode = canonical_mode(mode)
    if mode not in OAUTH_MODES:
        return {}
    return {SECTIONS[mode]: {"client_secret": client_secret or SECRET_PLACEHOLDER}}
