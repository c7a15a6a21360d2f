"""A student, as the tests see one: HTTP against a real hub, nothing mocked.

Logs in through the hub's login form (cookie + XSRF, as a browser does),
gets an API token, starts the server and calls the course API and the
Jupyter kernel protocol with ``Authorization: token`` headers.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests
import websocket


class Deadline:
    """``while deadline: ...`` with a clear failure message at the end."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.what = what
        self.seconds = seconds

    def __bool__(self) -> bool:
        return time.monotonic() < self.end

    def fail(self, detail: Any = "") -> None:
        raise AssertionError(
            f"timed out after {self.seconds:.0f} s waiting for {self.what}: {detail}"
        )


class Student:
    def __init__(self, hub_url: str, name: str, password: str) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        self.password = password
        self.browser = requests.Session()  # cookies, like a browser
        self.token: str | None = None
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------- hub side
    def login(self) -> None:
        t0 = time.monotonic()
        r = self.browser.get(f"{self.hub_url}/hub/login", timeout=30)
        r.raise_for_status()
        xsrf = self.browser.cookies.get("_xsrf", path="/hub/")
        r = self.browser.post(
            f"{self.hub_url}/hub/login",
            data={"username": self.name, "password": self.password, "_xsrf": xsrf},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 302, f"login of {self.name} failed: {r.status_code} {r.text[:300]}"
        xsrf = self.browser.cookies.get("_xsrf", path="/hub/")
        r = self.browser.post(
            f"{self.hub_url}/hub/api/users/{self.name}/tokens",
            json={"note": "tests", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf or ""},
            timeout=30,
        )
        assert r.status_code == 201, f"token for {self.name}: {r.status_code} {r.text[:300]}"
        self.token = r.json()["token"]
        self.timings["login"] = time.monotonic() - t0

    @property
    def headers(self) -> dict[str, str]:
        assert self.token, "log in first"
        return {"Authorization": f"token {self.token}"}

    def hub_api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(
            method, f"{self.hub_url}/hub/api{path}", headers=self.headers, timeout=60, **kw
        )

    def start_server(self, timeout: float = 120) -> None:
        t0 = time.monotonic()
        r = self.hub_api("POST", f"/users/{self.name}/server")
        assert r.status_code in (201, 202, 400), r.text
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

    def stop_server(self) -> None:
        r = self.hub_api("DELETE", f"/users/{self.name}/server")
        assert r.status_code in (202, 204, 400), r.text

    # ---------------------------------------------------------- server side
    @property
    def server_url(self) -> str:
        return f"{self.hub_url}/user/{self.name}"

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        timeout = kw.pop("timeout", 180)
        url = f"{self.server_url}/course/api{path}"
        return requests.request(method, url, headers=self.headers, timeout=timeout, **kw)

    def contents(self, path: str) -> dict:
        r = requests.get(
            f"{self.server_url}/api/contents/{path}", headers=self.headers, timeout=30
        )
        r.raise_for_status()
        return r.json()

    def save(self, path: str, model: dict) -> None:
        r = requests.put(
            f"{self.server_url}/api/contents/{path}", headers=self.headers, json=model, timeout=30
        )
        assert r.status_code in (200, 201), r.text

    def delete_file(self, path: str) -> None:
        r = requests.delete(
            f"{self.server_url}/api/contents/{path}", headers=self.headers, timeout=30
        )
        assert r.status_code == 204, r.text

    def wait_cluster(self, name: str, workers: int, timeout: float = 120) -> dict:
        deadline = Deadline(timeout, f"cluster {name} to have {workers} workers")
        model: Any = None
        while deadline:
            r = self.api("GET", f"/clusters/{name}")
            assert r.status_code == 200, r.text
            model = r.json()
            if model["status"] == "running" and model["workers"] == workers:
                return model
            time.sleep(0.5)
        deadline.fail(model)
        raise AssertionError  # unreachable

    # --------------------------------------------------------------- kernel
    def run_code(
        self, cells: list[str], timeout: float = 300, kernel_id: str | None = None
    ) -> list[str]:
        """Run code cells in a kernel on the student's server; return text outputs.

        A fresh kernel (shut down afterwards) unless ``kernel_id`` names one.
        Fails on the first cell that raises, with the traceback.
        """
        own = kernel_id is None
        if own:
            r = requests.post(
                f"{self.server_url}/api/kernels", headers=self.headers, json={}, timeout=60
            )
            assert r.status_code == 201, r.text
            kernel_id = r.json()["id"]
        ws_url = self.server_url.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
        ws = websocket.create_connection(ws_url, header=self.headers, timeout=timeout)
        outputs: list[str] = []
        try:
            for source in cells:
                outputs.append(self._execute(ws, source, timeout))
        finally:
            ws.close()
            if own:
                requests.delete(
                    f"{self.server_url}/api/kernels/{kernel_id}",
                    headers=self.headers,
                    timeout=30,
                )
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
                raise AssertionError(
                    f"cell failed: {source[:200]!r}\n" + "\n".join(content["traceback"])
                )
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(text)
        deadline.fail(source)
        return ""
