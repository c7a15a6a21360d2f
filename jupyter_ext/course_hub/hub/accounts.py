"""Each student's own account: the hub's authenticator (NativeAuthenticator).

Why: with one shared course password, any student who types a classmate's
name opens the classmate's home. Here every name has its own bcrypt-hashed
password in the hub database (NativeAuthenticator's ``users_info`` table):

- the teacher (``admin_users``) logs in with the admin password, written into
  the account at every hub start, so scripts and the health check keep working;
- the roster's students get an account with a generated password at hub
  start, written once to a printable handout (CSV, mode 0600);
- or, until a deadline the teacher sets, roster students sign up themselves
  (only names on the roster that have no account yet, never a teacher's name);
- repeated failed logins lock the name for a while;
- the teacher resets a password through the hub API (``accounts_api``),
  students change their own at /hub/change-password.

NativeAuthenticator rather than FirstUseAuthenticator: with first use, the
first person to type a name sets its password, so a classmate who logs in
first owns the account. ``COURSE_AUTH=workshop`` keeps the shared password
for a workshop of strangers, with a loud warning.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import secrets as pysecrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from traitlets import Bool, TraitError, Unicode, default, validate

from .secrets import password as new_password

#: bcrypt hashes the first 72 bytes only; bcrypt 5 raises on longer passwords.
MAX_PASSWORD_BYTES = 72
AUTH_MODES = ("accounts", "workshop")
TOO_LONG = (
    f"Passwords are at most {MAX_PASSWORD_BYTES} bytes (about {MAX_PASSWORD_BYTES} "
    "letters without accents): choose a shorter one."
)


class AccountError(Exception):
    """A refused account operation; ``message`` is a sentence for the teacher."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def auth_mode(environ: Any = None) -> str:
    """``COURSE_AUTH``: "accounts" (default) or "workshop" (one shared password)."""
    environ = os.environ if environ is None else environ  # read at call time
    mode = (environ.get("COURSE_AUTH") or "accounts").strip().lower()
    if mode not in AUTH_MODES:
        raise ValueError(f"COURSE_AUTH must be accounts or workshop, got {mode!r}")
    return mode


def too_long(password: str) -> bool:
    return len(password.encode()) > MAX_PASSWORD_BYTES


def _env_int(name: str, fallback: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else fallback
    except ValueError:
        raise TraitError(
            f"{name} must be a whole number of seconds or tries, got {raw!r}"
        ) from None


class CourseAuthenticator(NativeAuthenticator):
    """NativeAuthenticator for a class: teacher-made accounts, roster-only sign-up."""

    admin_password = Unicode(
        "",
        help="""The password of every admin user (COURSE_ADMIN_PASSWORD, or the one
        generated into the secrets folder), written into their accounts at each
        hub start. Empty: admins keep the password they have.""",
    ).tag(config=True)

    handout_dir = Unicode(
        "",
        help="""Folder (made mode 0700) for the handouts: CSV files name,password
        of the accounts made at hub start from the roster, each written once,
        mode 0600. Empty: no roster enrolment at start.""",
    ).tag(config=True)

    signup_until = Unicode(
        "",
        help="""Sign-up stays open until this ISO date-time with its zone, e.g.
        2026-09-15T18:00+02:00, for roster names without an account (never an
        admin's name). Empty: sign-up closed. Default: $COURSE_SIGNUP_UNTIL.""",
    ).tag(config=True)

    enable_signup = Bool(
        help="""Whether the sign-up page exists at all; on by default when
        signup_until is set. Even on, only roster names without an account may
        sign up, and only before signup_until.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Defaults are computed on first use: check the settings at start, not at a login.
        _ = (self.signup_until, self.allowed_failed_logins, self.seconds_before_next_try)

    @default("signup_until")
    def _signup_until_default(self) -> str:
        value = os.environ.get("COURSE_SIGNUP_UNTIL", "").strip()
        if value:  # defaults skip @validate: check it here too
            self._parse_deadline(value)
        return value

    @validate("signup_until")
    def _check_signup_until(self, proposal: dict) -> str:
        value = proposal["value"].strip()
        if value:
            self._parse_deadline(value)
        return value

    @default("enable_signup")
    def _enable_signup_default(self) -> bool:
        return bool(self.signup_until)

    @default("allowed_failed_logins")
    def _failures_default(self) -> int:
        # Tries before the name is locked; $COURSE_LOGIN_MAX_FAILURES, 0 = never locked.
        return _env_int("COURSE_LOGIN_MAX_FAILURES", 5)

    @default("seconds_before_next_try")
    def _lockout_default(self) -> int:
        # How long a locked name waits; $COURSE_LOGIN_LOCKOUT_SECONDS.
        return _env_int("COURSE_LOGIN_LOCKOUT_SECONDS", 60)

    @default("minimum_password_length")
    def _min_length_default(self) -> int:
        return 8

    @default("check_common_password")
    def _common_default(self) -> bool:
        return True

    @staticmethod
    def _parse_deadline(value: str) -> datetime:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise TraitError(
                f"COURSE_SIGNUP_UNTIL must be an ISO date-time, e.g. 2026-09-15T18:00+02:00, "
                f"got {value!r}"
            ) from None
        if when.tzinfo is None:
            raise TraitError(
                f"COURSE_SIGNUP_UNTIL needs its time zone, e.g. {value}+02:00 or {value}Z"
            )
        return when

    # ------------------------------------------------------------- who is who
    @property
    def admins(self) -> set[str]:
        return {self.normalize_username(n) for n in self.admin_users}

    @property
    def roster_names(self) -> set[str]:
        """The roster (allowed_users) without the teachers; empty if anyone may log in."""
        if self.allow_all:
            return set()
        return {self.normalize_username(n) for n in self.allowed_users} - self.admins

    def signup_open(self, now: datetime | None = None) -> bool:
        if not (self.enable_signup and self.roster_names):
            return False
        if not self.signup_until:
            return True
        return (now or datetime.now(UTC)) < self._parse_deadline(self.signup_until)

    def may_sign_up(self, name: str) -> bool:
        """A roster name without an account, while sign-up is open."""
        name = self.normalize_username(name)
        return (
            self.signup_open()
            and name in self.roster_names
            and name not in self.admins
            and not self.user_exists(name)
        )

    # ------------------------------------------------------------- accounts
    def _store(self, name: str, password: str | bytes, commit: bool = True) -> UserInfo:
        """Create or overwrite the account ``name`` (authorized) with ``password``
        (or its bcrypt hash)."""
        hashed = password if isinstance(password, bytes) else hash_password(password)
        info = self.get_user(name)
        if info is None:
            info = UserInfo(username=name, password=hashed, is_authorized=True)
            self.db.add(info)
        else:
            info.password = hashed
            info.is_authorized = True
        if commit:
            self.db.commit()
        return info

    def create_user(self, username: str, password: str, **kwargs: Any) -> UserInfo | None:
        """Sign-up (the /hub/signup page): roster names only, authorized at once."""
        name = self.normalize_username(username)
        if too_long(password) or not self.validate_username(name):
            return None
        if not self.may_sign_up(name) or not self.is_password_strong(password):
            return None
        kwargs.pop("email", None)
        has_2fa = bool(kwargs.pop("has_2fa", False))
        info = self._store(name, password, commit=False)
        info.has_2fa = has_2fa
        self.db.commit()
        self.log.info("Account %s signed up (on the roster)", name)
        return info

    def change_password(self, username: str, new_password: str) -> bool | None:
        if too_long(new_password):
            return None
        return super().change_password(username, new_password)

    async def authenticate(self, handler: Any, data: dict) -> str | None:
        """NativeAuthenticator's check, with bcrypt (about 0.25 s) in a thread: a
        class logging in at once does not freeze the hub, and uses every core."""
        name = self.normalize_username(data["username"])
        password = data.get("password") or ""
        info = self.get_user(name)
        if info is None or too_long(password):
            return None
        if self.allowed_failed_logins and self.is_blocked(name):
            return None
        hashed = info.password
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed)
        if (
            ok
            and info.is_authorized
            and (not info.has_2fa or info.is_valid_token(data.get("2fa")))
        ):
            self.successful_login(name)
            return name
        self.add_login_attempt(name)
        return None

    def check_name(self, raw: Any) -> str:
        """A name the teacher may enrol, normalized; AccountError(400) if not."""
        if not isinstance(raw, str) or not raw.strip():
            raise AccountError(400, f"{raw!r} is not a user name")
        name = self.normalize_username(raw.strip())
        if not self.validate_username(name):
            raise AccountError(
                400,
                f"{raw!r} is not a valid user name (lower-case letters, digits, "
                "'-' and '_'; no spaces, commas or slashes)",
            )
        if name in self.admins:
            raise AccountError(
                400,
                f"{name} is a teacher: their password is the admin password "
                "(COURSE_ADMIN_PASSWORD), set at hub start",
            )
        if not self.allow_all and name not in self.roster_names:
            raise AccountError(
                400, f"{name} is not on the roster (COURSE_ROSTER): add them there first"
            )
        return name

    async def enroll(self, names: list[Any]) -> tuple[dict[str, str], list[str]]:
        """Accounts for ``names``: ``({new name: initial password}, [existing names])``.

        Every name is checked before any account is made; existing accounts
        keep their password. Hashing runs in threads, not in the hub's loop.
        """
        checked = list(dict.fromkeys(self.check_name(n) for n in names))
        existing = [name for name in checked if self.user_exists(name)]
        created = {name: new_password() for name in checked if name not in existing}
        hashes = await asyncio.gather(
            *(asyncio.to_thread(hash_password, p) for p in created.values())
        )
        for name, hashed in zip(created, hashes, strict=True):
            if self.user_exists(name):  # made meanwhile by another request
                raise AccountError(409, f"{name} got an account meanwhile: try again")
            self._store(name, hashed, commit=False)
        self.db.commit()
        if created:
            self.log.info("Enrolled %d account(s): %s", len(created), ", ".join(created))
        return created, existing

    async def reset_password(self, raw: Any) -> str:
        """A new generated password for a student's account (which is unlocked)."""
        name = self.check_name(raw)
        if not self.user_exists(name):
            raise AccountError(404, f"{name} has no account: enrol them first")
        password = new_password()
        self._store(name, await asyncio.to_thread(hash_password, password))
        self.successful_login(name)  # forgets their failed tries
        self.log.info("Password of %s reset by a teacher", name)
        return password

    # ------------------------------------------------------------- at start
    def check_allow_config(self) -> None:
        """JupyterHub calls this once at start, with the database up: sync the
        teachers' password and enrol the roster."""
        super().check_allow_config()
        self.sync_admins()
        self.enroll_roster()

    def sync_admins(self) -> None:
        if not self.admin_password:
            return
        if too_long(self.admin_password):
            raise ValueError(f"the admin password is longer than {MAX_PASSWORD_BYTES} bytes")
        for name in sorted(self.admins):
            self._store(name, self.admin_password, commit=False)
        self.db.commit()
        self.log.info("Admin password set for %s", ", ".join(sorted(self.admins)))

    def enroll_roster(self, now: datetime | None = None) -> Path | None:
        """Accounts for roster names without one; their passwords into a new handout."""
        missing = sorted(n for n in self.roster_names if not self.user_exists(n))
        if not missing:
            return None
        if self.signup_open(now):
            self.log.info(
                "Sign-up open until %s: %d roster name(s) without an account may sign up",
                self.signup_until or "further notice",
                len(missing),
            )
            return None
        if not self.handout_dir:
            self.log.warning("No handout folder configured: roster names get no account")
            return None
        passwords = {name: new_password() for name in missing}
        path = write_handout(Path(self.handout_dir), passwords, now)
        try:
            for name, password in passwords.items():
                self._store(name, password, commit=False)
            self.db.commit()
        except Exception:
            self.db.rollback()
            path.unlink(missing_ok=True)
            raise
        self.log.warning(
            "Made %d account(s) from the roster; their passwords are in the handout %s "
            "(shown nowhere else: print it, then keep or delete it)",
            len(passwords),
            path,
        )
        return path

    def get_handlers(self, app: Any) -> list[tuple]:
        from .accounts_api import handlers

        return handlers(super().get_handlers(app))


def hash_password(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt())


def write_handout(folder: Path, passwords: dict[str, str], now: datetime | None = None) -> Path:
    """Write ``name,password`` rows to a new file in ``folder`` (0600); return its path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["name", "password"])
    writer.writerows(sorted(passwords.items()))
    while True:
        path = folder / f"handout-{stamp}-{pysecrets.token_hex(2)}.csv"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            continue
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text.getvalue())
    return path


def workshop_warning(switch: str = "COURSE_AUTH=workshop") -> str:
    """What every hub in workshop mode logs at start; ``switch`` names what chose it
    (the local and compose hubs' variable, the Kubernetes values' ``--auth``)."""
    return (
        f"WORKSHOP MODE ({switch}): every student logs in with the same "
        "course password, and anyone who types a classmate's name opens their home. "
        "Use it for a one-off workshop, never for a class with graded work."
    )


class WorkshopAuthenticator(SharedPasswordAuthenticator):
    """One shared password for everyone (COURSE_AUTH=workshop), with a loud warning."""

    def check_allow_config(self) -> None:
        super().check_allow_config()
        self.log.warning(workshop_warning())
