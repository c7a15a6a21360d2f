"""The hub's pages and API for per-student accounts (``CourseAuthenticator``).

Served by the authenticator's ``get_handlers``, which JupyterHub mounts under
/hub/ with the hub's own login and tokens (``JupyterHub.extra_handlers`` does
the same but is deprecated since JupyterHub 3.1):

- ``POST /hub/api/course/accounts`` ``{"users": [...]}``: enrol, 201 with the
  new accounts' initial passwords (existing ones are listed, untouched);
- ``POST /hub/api/course/accounts/<name>/reset``: a new generated password.

Both need the ``admin:users`` scope (teachers); students get 403. The login,
sign-up and change-password pages are NativeAuthenticator's, with a clear
sentence instead of a server error for passwords bcrypt cannot hash
(over 72 bytes), for a locked name, and for sign-ups outside the roster.
"""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.scopes import needs_scope
from nativeauthenticator import handlers as native
from tornado import web

from .accounts import TOO_LONG, AccountError, too_long

#: Every password field of NativeAuthenticator's forms.
PASSWORD_FIELDS = (
    "password",
    "signup_password",
    "signup_password_confirmation",
    "old_password",
    "new_password",
    "new_password_confirmation",
)


class AccountsHandler(APIHandler):
    """Enrol students: accounts with generated initial passwords."""

    @needs_scope("admin:users")
    async def post(self) -> None:
        body = self.get_json_body()
        users = body.get("users") if isinstance(body, dict) else None
        if not isinstance(users, list) or not users:
            raise web.HTTPError(400, 'Send {"users": ["name", ...]}: a list of user names.')
        try:
            created, existing = await self.authenticator.enroll(users)
        except AccountError as exc:
            raise web.HTTPError(exc.code, "%s", exc.message) from None
        self.set_status(201 if created else 200)
        self.finish(json.dumps({"created": created, "existing": existing}))


class AccountResetHandler(APIHandler):
    """A new generated password for one student (shown once, to the teacher)."""

    @needs_scope("admin:users")
    async def post(self, name: str) -> None:
        try:
            password = await self.authenticator.reset_password(name)
        except AccountError as exc:
            raise web.HTTPError(exc.code, "%s", exc.message) from None
        self.finish(json.dumps({"name": name.lower(), "password": password}))


class GuardPasswords:
    """Answers a form with a password bcrypt cannot hash with a sentence, not a 500."""

    async def prepare(self) -> None:
        await super().prepare()  # type: ignore[misc]
        if self.request.method == "POST" and any(  # type: ignore[attr-defined]
            too_long(self.get_body_argument(f, "", strip=False))  # type: ignore[attr-defined]
            for f in PASSWORD_FIELDS
        ):
            await self.refuse(TOO_LONG)

    async def refuse(self, message: str) -> None:
        raise NotImplementedError


class LoginHandler(GuardPasswords, native.LoginHandler):
    async def refuse(self, message: str) -> None:
        username = self.get_body_argument("username", "", strip=True)
        self.finish(await self._render(login_error=message, username=username))

    def _render(self, login_error: str | None = None, username: str | None = None) -> Any:
        auth = self.authenticator
        if login_error and username and auth.allowed_failed_logins:
            if auth.is_blocked(auth.normalize_username(username)):
                login_error = (
                    f"Too many failed logins for {username}: wait "
                    f"{auth.seconds_before_next_try} seconds, then try again "
                    "(or ask your teacher to reset your password)."
                )
        # NativeAuthenticator's page, with the sign-up link only while sign-up is open.
        enable_signup = auth.enable_signup
        try:
            auth.enable_signup = auth.signup_open()
            return super()._render(login_error=login_error, username=username)
        finally:
            auth.enable_signup = enable_signup


class SignUpHandler(GuardPasswords, native.SignUpHandler):
    async def get(self) -> None:
        if not self.authenticator.signup_open():
            raise web.HTTPError(404)
        await super().get()

    async def post(self) -> None:
        if not self.authenticator.signup_open():
            raise web.HTTPError(404)
        name = self.get_body_argument("username", "", strip=False)
        if not self.authenticator.may_sign_up(name):
            await self.refuse(
                f"{name} cannot sign up: only names on the course roster that have no "
                "account yet can. Ask your teacher if this is your name."
            )
            return
        await super().post()

    def get_result_message(self, user: Any, *args: Any) -> tuple[str, str]:
        if user is not None and user.is_authorized:
            return "alert-success", "Your account is ready: go to the home page and log in."
        return super().get_result_message(user, *args)

    async def refuse(self, message: str) -> None:
        auth = self.authenticator
        html = await self.render_template(
            "signup.html",
            ask_email=auth.ask_email_on_signup,
            result_message=message,
            alert="alert-danger",
            two_factor_auth=auth.allow_2fa,
            recaptcha_key=auth.recaptcha_key,
            tos=auth.tos,
        )
        self.finish(html)


class ChangePasswordHandler(GuardPasswords, native.ChangePasswordHandler):
    async def prepare(self) -> None:
        await super().prepare()
        user = self.current_user
        if self._finished or user is None or self.request.method != "POST":
            return
        if user.name in self.authenticator.admins:
            await self.refuse(
                "The teacher's password is the admin password (COURSE_ADMIN_PASSWORD or the "
                "secrets folder): change it there, then restart the hub."
            )
        elif self.authenticator.get_user(user.name) is None:
            await self.refuse("This user has no password on this hub (made with a token).")

    async def refuse(self, message: str) -> None:
        html = await self.render_template(
            "change-password.html",
            user_name=getattr(self.current_user, "name", ""),
            result_message=message,
            alert="alert-danger",
        )
        self.finish(html)


class ChangePasswordAdminHandler(GuardPasswords, native.ChangePasswordAdminHandler):
    async def refuse(self, message: str) -> None:
        html = await self.render_template(
            "change-password-admin.html",
            user_name=self.path_args[0] if self.path_args else "",
            result_message=message,
            alert="alert-danger",
        )
        self.finish(html)


REPLACED = {
    native.LoginHandler: LoginHandler,
    native.SignUpHandler: SignUpHandler,
    native.ChangePasswordHandler: ChangePasswordHandler,
    native.ChangePasswordAdminHandler: ChangePasswordAdminHandler,
}


def handlers(native_handlers: list[tuple]) -> list[tuple]:
    """NativeAuthenticator's routes with the guarded pages, plus the accounts API."""
    out = [(route, REPLACED.get(cls, cls), *rest) for route, cls, *rest in native_handlers]
    return [
        *out,
        (r"/api/course/accounts", AccountsHandler),
        (r"/api/course/accounts/([^/]+)/reset", AccountResetHandler),
    ]
