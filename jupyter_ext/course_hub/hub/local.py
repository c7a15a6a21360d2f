"""Layout of the hub without Docker (``make hub``): folders, ports, logins.

The hub and gateway configuration files and the launcher all read it from
the same environment variables, so they can never disagree on a port or a
path. Everything the hub writes lives in one state folder (git-ignored):

``STATE/jupyterhub.sqlite``, ``STATE/secrets/``, ``STATE/homes/<user>/``,
``STATE/gateway/`` (database and cluster working folders),
``STATE/course-service/`` (the course service's database and hand-ins).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from .secrets import ensure_secret, password

#: Minimum lengths enforced by JupyterHub's shared-password authenticator.
MIN_STUDENT_PASSWORD = 8
MIN_ADMIN_PASSWORD = 32
#: Passwords a class would guess first (hub_config/helm/course-hub/values.yaml has the same list).
WEAK_PASSWORDS = {
    "password", "passw0rd", "password1", "12345678", "123456789", "1234567890",
    "qwertyui", "azertyui", "changeme", "changeit", "letmein1", "welcome1",
    "jupyter1", "jupyterhub", "student1", "students", "course123", "teacher1",
    "admin123", "sdd-de-2026",
}  # fmt: skip


def weak(password: str) -> bool:
    """A default, a common password, or one character repeated."""
    p = password.strip().lower()
    return p in WEAK_PASSWORDS or len(set(p)) <= 2


#: How many consecutive ports a local hub takes from HUB_PORT (see LocalLayout).
PORT_BLOCK = 7


class LayoutError(ValueError):
    """A setting of the local hub is unusable; the message says which and why."""


def _int_env(name: str, default: int, low: int = 0, high: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LayoutError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise LayoutError(f"{name} must be {bound}, got {value}")
    return value


@dataclass(frozen=True)
class LocalLayout:
    """Folders and ports of one local hub. Ports are consecutive from HUB_PORT."""

    repo: Path
    state: Path
    content_dir: Path
    hub_port: int

    @property
    def secrets(self) -> Path:
        return self.state / "secrets"

    @property
    def homes(self) -> Path:
        return self.state / "homes"

    @property
    def gateway_dir(self) -> Path:
        return self.state / "gateway"

    @property
    def course_service_dir(self) -> Path:
        return self.state / "course-service"

    @property
    def hub_api_port(self) -> int:
        return self.hub_port + 1

    @property
    def proxy_api_port(self) -> int:
        return self.hub_port + 2

    @property
    def gateway_http_port(self) -> int:
        return self.hub_port + 3

    @property
    def gateway_tcp_port(self) -> int:
        return self.hub_port + 4

    @property
    def gateway_api_port(self) -> int:
        return self.hub_port + 5

    @property
    def course_service_port(self) -> int:
        return self.hub_port + 6

    @property
    def ports(self) -> list[int]:
        """Every port this hub listens on (HUB_PORT and the PORT_BLOCK - 1 after it)."""
        return list(range(self.hub_port, self.hub_port + PORT_BLOCK))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    @property
    def course_service_url(self) -> str:
        """The course service, as the hub and the servers on this machine reach it."""
        return f"http://127.0.0.1:{self.course_service_port}"

    @property
    def gateway_url(self) -> str:
        """The gateway as servers on this machine reach it (not through the hub proxy)."""
        return f"http://127.0.0.1:{self.gateway_http_port}/services/dask-gateway"

    def env(self) -> dict[str, str]:
        """The variables that make another process compute this same layout."""
        return {
            "COURSE_STATE_DIR": str(self.state),
            "COURSE_CONTENT_DIR": str(self.content_dir),
            "HUB_PORT": str(self.hub_port),
        }

    def proxy_command(self) -> str:
        """configurable-http-proxy, installed by ``npm ci`` in hub_config/local."""
        explicit = os.environ.get("CONFIGURABLE_HTTP_PROXY")
        local = self.repo / "hub_config" / "local" / "node_modules" / ".bin"
        found = explicit or shutil.which("configurable-http-proxy", path=str(local))
        found = found or shutil.which("configurable-http-proxy")
        if not found:
            raise LayoutError(
                "configurable-http-proxy is not installed: run `make hub` "
                "(it runs `npm ci` in hub_config/local), or set CONFIGURABLE_HTTP_PROXY"
            )
        return found


def local_layout(repo: Path | str) -> LocalLayout:
    """The layout for the checkout at ``repo``, from the environment."""
    repo = Path(repo).resolve()
    state = Path(os.environ.get("COURSE_STATE_DIR") or repo / ".state").expanduser().resolve()
    content = Path(os.environ.get("COURSE_CONTENT_DIR") or repo / "course").expanduser()
    port = _int_env("HUB_PORT", 8000, 1024, 65536 - PORT_BLOCK)
    return LocalLayout(repo=repo, state=state, content_dir=content.resolve(), hub_port=port)


@dataclass(frozen=True)
class Credentials:
    student_password: str
    admin_password: str
    admin_users: tuple[str, ...]
    created: tuple[str, ...]  # which passwords were generated just now


def credentials(secrets_dir: Path) -> Credentials:
    """Passwords from COURSE_PASSWORD / COURSE_ADMIN_PASSWORD, or generated once
    into ``secrets_dir`` (the same rules for the local and the compose hub)."""
    created = []
    student = os.environ.get("COURSE_PASSWORD", "")
    if student:
        if len(student) < MIN_STUDENT_PASSWORD:
            raise LayoutError(
                f"COURSE_PASSWORD must be at least {MIN_STUDENT_PASSWORD} characters"
            )
        if weak(student):
            raise LayoutError("COURSE_PASSWORD is a well-known password: choose another")
    else:
        student, new = ensure_secret(secrets_dir / "course-password", password)
        if new:
            created.append("student")
    admin = os.environ.get("COURSE_ADMIN_PASSWORD", "")
    if admin:
        if weak(admin):
            raise LayoutError("COURSE_ADMIN_PASSWORD is a well-known password: choose another")
        if len(admin) < MIN_ADMIN_PASSWORD:
            raise LayoutError(
                f"COURSE_ADMIN_PASSWORD must be at least {MIN_ADMIN_PASSWORD} characters "
                "(JupyterHub's rule for admin passwords)"
            )
    else:
        admin, new = ensure_secret(secrets_dir / "admin-password", lambda: password(24))
        if new:
            created.append("admin")
    if admin == student:
        raise LayoutError("COURSE_PASSWORD and COURSE_ADMIN_PASSWORD must differ")
    admins = tuple(
        u.strip() for u in os.environ.get("COURSE_ADMIN_USERS", "teacher").split(",") if u.strip()
    )
    return Credentials(student, admin, admins, tuple(created))


def roster(path: str | None) -> set[str] | None:
    """Allowed students from a file (one name per line, # comments), or None for anyone."""
    if not path:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LayoutError(f"COURSE_ROSTER {path}: {exc.strerror or exc}") from None
    names = {line.split("#", 1)[0].strip().lower() for line in lines}
    names.discard("")
    if not names:
        raise LayoutError(f"COURSE_ROSTER {path} lists no student")
    return names


def free_port_block(size: int = PORT_BLOCK) -> int:
    """A base port such that base..base+size-1 are all free on 127.0.0.1.

    The local hub takes ``size`` consecutive ports from ``HUB_PORT`` (see
    :class:`LocalLayout`); the benchmark and the tests start throw-away hubs
    on such a block.
    """
    for _ in range(200):
        base = random.randrange(20000, 40000)  # noqa: S311 (ports, not secrets)
        socks = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports found")
