"""A hub user driven over HTTP, as a browser and a notebook would.

Used by ``course-hub health-check`` against any hub URL, by the benchmark and
by the end-to-end tests: log in through the hub's form (cookie + XSRF) or use
an admin token, get a user token, start the server, call the course API, and
run code in a kernel over the Jupyter websocket protocol.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from typing import Any

import requests
import websocket

#: How long :meth:`HubUser.wait_kernel_ready` waits for a new kernel (seconds).
KERNEL_READY_TIMEOUT = 180.0


class HubError(Exception):
    """A step against the hub failed; the message says which and how."""


class Deadline:
    """``while deadline: ...`` with a clear failure message at the end."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.what = what
        self.seconds = seconds

    def __bool__(self) -> bool:
        return time.monotonic() < self.end

    @property
    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def fail(self, detail: Any = "") -> None:
        raise HubError(f"timed out after {self.seconds:.0f} s waiting for {self.what}: {detail}")


def _expect(ok: bool, message: str) -> None:
    if not ok:
        raise HubError(message)


def _login_error(page: str) -> str:
    """The login page's own sentence (e.g. a locked name), if it shows one."""
    m = re.search(r'<p class="login_error">\s*(.*?)\s*</p>', page, re.S)
    return f" ({html.unescape(m[1])})" if m else ""


def _admin_post(hub_url: str, admin_token: str, path: str, body: dict | None = None) -> dict:
    r = requests.post(
        f"{hub_url.rstrip('/')}/hub/api/course/accounts{path}",
        headers={"Authorization": f"token {admin_token}"},
        json=body or {},
        timeout=60,
    )
    if r.status_code == 404 and "course/accounts" in r.url and not path:
        raise HubError("this hub has no accounts API (is it in workshop mode?)")
    if r.status_code not in (200, 201):
        try:
            message = r.json().get("message") or r.text[:200]
        except ValueError:
            message = r.text[:200]
        raise HubError(f"{r.status_code}: {message}")
    return r.json()


def enroll(hub_url: str, admin_token: str, names: list[str]) -> dict[str, str]:
    """Accounts for ``names`` on a hub in accounts mode: ``{new name: initial password}``.

    Names that already have an account are left out (their password is untouched).
    """
    return _admin_post(hub_url, admin_token, "", {"users": list(names)})["created"]


def reset_password(hub_url: str, admin_token: str, name: str) -> str:
    """A new generated password for ``name``; the old one stops working."""
    return _admin_post(hub_url, admin_token, f"/{name}/reset")["password"]


class HubUser:
    """One user of one hub. ``password`` logs in; ``token`` skips the login."""

    def __init__(
        self, hub_url: str, name: str, password: str | None = None, token: str | None = None
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        self.password = password
        self.browser = requests.Session()  # cookies, like a browser
        self.token = token
        self.timings: dict[str, float] = {}

    @classmethod
    def from_admin_token(cls, hub_url: str, name: str, admin_token: str) -> HubUser:
        """Create (if needed) user ``name`` with an admin token and get a token for it."""
        hub_url = hub_url.rstrip("/")
        headers = {"Authorization": f"token {admin_token}"}
        r = requests.get(f"{hub_url}/hub/api/users/{name}", headers=headers, timeout=30)
        if r.status_code == 404:
            r = requests.post(f"{hub_url}/hub/api/users/{name}", headers=headers, timeout=30)
            _expect(r.status_code == 201, f"creating user {name}: {r.status_code} {r.text[:200]}")
        else:
            _expect(r.status_code == 200, f"admin token refused: {r.status_code} {r.text[:200]}")
        r = requests.post(
            f"{hub_url}/hub/api/users/{name}/tokens",
            headers=headers,
            json={"note": "course-hub health check", "expires_in": 3600},
            timeout=30,
        )
        _expect(r.status_code == 201, f"token for {name}: {r.status_code} {r.text[:200]}")
        return cls(hub_url, name, token=r.json()["token"])

    # ------------------------------------------------------------- hub side
    def login(self) -> None:
        """The hub's login form, then an API token for this user."""
        t0 = time.monotonic()
        r = self.browser.get(f"{self.hub_url}/hub/login", timeout=30)
        _expect(r.status_code == 200, f"login page: {r.status_code}")
        xsrf = self.browser.cookies.get("_xsrf", path="/hub/")
        r = self.browser.post(
            f"{self.hub_url}/hub/login",
            data={"username": self.name, "password": self.password or "", "_xsrf": xsrf},
            allow_redirects=False,
            timeout=30,
        )
        _expect(
            r.status_code == 302,
            f"login of {self.name} refused ({r.status_code}): wrong password or not allowed"
            + _login_error(r.text),
        )
        xsrf = self.browser.cookies.get("_xsrf", path="/hub/")
        r = self.browser.post(
            f"{self.hub_url}/hub/api/users/{self.name}/tokens",
            json={"note": "course-hub client", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf or ""},
            timeout=30,
        )
        _expect(r.status_code == 201, f"token for {self.name}: {r.status_code} {r.text[:300]}")
        self.token = r.json()["token"]
        self.timings["login"] = time.monotonic() - t0

    @property
    def headers(self) -> dict[str, str]:
        _expect(bool(self.token), "log in first")
        return {"Authorization": f"token {self.token}"}

    def hub_api(self, method: str, path: str, **kw: Any) -> requests.Response:
        timeout = kw.pop("timeout", 60)
        url = f"{self.hub_url}/hub/api{path}"
        return requests.request(method, url, headers=self.headers, timeout=timeout, **kw)

    def start_server(self, timeout: float = 120) -> None:
        t0 = time.monotonic()
        r = self.hub_api("POST", f"/users/{self.name}/server")
        _expect(r.status_code in (201, 202, 400), f"start server: {r.status_code} {r.text[:300]}")
        deadline = Deadline(timeout, f"the server of {self.name}")
        model: Any = None
        while deadline:
            model = self.hub_api("GET", f"/users/{self.name}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                self.timings["server"] = time.monotonic() - t0
                return
            time.sleep(0.3)
        deadline.fail(model)

    def stop_server(self, timeout: float = 60) -> None:
        r = self.hub_api("DELETE", f"/users/{self.name}/server")
        _expect(r.status_code in (202, 204, 400), f"stop server: {r.status_code} {r.text[:300]}")
        deadline = Deadline(timeout, f"the server of {self.name} to stop")
        while deadline:
            model = self.hub_api("GET", f"/users/{self.name}").json()
            if not model.get("servers"):
                return
            time.sleep(0.3)
        deadline.fail(model)

    # ---------------------------------------------------------- server side
    @property
    def server_url(self) -> str:
        return f"{self.hub_url}/user/{self.name}"

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        """The course API of this user's server."""
        timeout = kw.pop("timeout", 180)
        url = f"{self.server_url}/course/api{path}"
        return requests.request(method, url, headers=self.headers, timeout=timeout, **kw)

    def contents(self, path: str) -> dict:
        r = requests.get(
            f"{self.server_url}/api/contents/{path}", headers=self.headers, timeout=30
        )
        _expect(r.status_code == 200, f"read {path}: {r.status_code}")
        return r.json()

    def save(self, path: str, model: dict) -> None:
        r = requests.put(
            f"{self.server_url}/api/contents/{path}", headers=self.headers, json=model, timeout=30
        )
        _expect(r.status_code in (200, 201), f"save {path}: {r.status_code} {r.text[:200]}")

    def delete_file(self, path: str) -> None:
        r = requests.delete(
            f"{self.server_url}/api/contents/{path}", headers=self.headers, timeout=30
        )
        _expect(r.status_code == 204, f"delete {path}: {r.status_code}")

    def wait_cluster(self, name: str, workers: int, timeout: float = 120) -> dict:
        deadline = Deadline(timeout, f"cluster {name} to have {workers} workers")
        model: Any = None
        while deadline:
            r = self.api("GET", f"/clusters/{name}")
            _expect(r.status_code == 200, f"cluster {name}: {r.status_code} {r.text[:200]}")
            model = r.json()
            if model["status"] == "running" and model["workers"] == workers:
                return model
            time.sleep(0.2)  # what the student waits for: notice it soon
        deadline.fail(model)
        raise AssertionError  # unreachable

    def logout(self) -> None:
        """The hub's logout page: ends the browser login (tokens stay valid until they expire)."""
        r = self.browser.get(f"{self.hub_url}/hub/logout", timeout=30)
        _expect(r.status_code == 200, f"log out: {r.status_code}")

    # --------------------------------------------------------------- kernel
    def start_kernel(self) -> str:
        """Start a Python kernel on the user's server; return its id once it answers."""
        r = requests.post(
            f"{self.server_url}/api/kernels", headers=self.headers, json={}, timeout=60
        )
        _expect(r.status_code == 201, f"start kernel: {r.status_code} {r.text[:200]}")
        kernel_id = r.json()["id"]
        self.wait_kernel_ready(kernel_id)
        return kernel_id

    def wait_kernel_ready(self, kernel_id: str, timeout: float = KERNEL_READY_TIMEOUT) -> None:
        """Wait until the kernel runs code, not only until it was spawned.

        jupyter-server drops a kernel's websocket when the kernel has not
        answered ``kernel_info`` within ``kernel_info_timeout`` (60 s): a kernel
        still importing on a loaded machine (a class starting at once) is lost
        that way ("Connection to remote host was lost"). JupyterLab connects
        again; so does this, until ``timeout``."""
        deadline = Deadline(timeout, f"kernel {kernel_id} to answer")
        while True:
            try:
                self.run_code(["pass"], kernel_id=kernel_id, timeout=max(deadline.left, 1))
                return
            except (websocket.WebSocketException, ConnectionError) as exc:
                if not deadline:
                    raise HubError(f"start a kernel: {exc} (for {timeout:.0f} s)") from None
                time.sleep(1)

    def stop_kernel(self, kernel_id: str) -> None:
        """Best effort: a server that is gone has no kernel left to stop."""
        try:
            requests.delete(
                f"{self.server_url}/api/kernels/{kernel_id}", headers=self.headers, timeout=30
            )
        except requests.RequestException:
            pass

    def run_code(
        self, cells: list[str], timeout: float = 300, kernel_id: str | None = None
    ) -> list[str]:
        """Run code cells in a kernel on the user's server; return their text outputs.

        A fresh kernel (shut down afterwards) unless ``kernel_id`` names one.
        Raises :class:`HubError` on the first cell that fails, with its traceback.
        """
        own = kernel_id is None
        if own:
            r = requests.post(
                f"{self.server_url}/api/kernels", headers=self.headers, json={}, timeout=60
            )
            _expect(r.status_code == 201, f"start kernel: {r.status_code} {r.text[:200]}")
            kernel_id = r.json()["id"]
        assert kernel_id is not None
        ws_url = self.server_url.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
        ws = websocket.create_connection(ws_url, header=self.headers, timeout=timeout)
        outputs: list[str] = []
        try:
            for source in cells:
                outputs.append(self._execute(ws, source, timeout))
        finally:
            ws.close()
            if own:
                self.stop_kernel(kernel_id)
        return outputs

    def _execute(self, ws: websocket.WebSocket, source: str, timeout: float) -> str:
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": self.name,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": source, "silent": False, "allow_stdin": False},
                    "channel": "shell",
                }
            )
        )
        text: list[str] = []
        deadline = Deadline(timeout, f"cell to finish: {source[:80]!r}")
        while deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                raise HubError(
                    f"cell failed: {source[:200]!r}\n" + "\n".join(content["traceback"])
                )
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(text)
        deadline.fail(source)
        return ""
