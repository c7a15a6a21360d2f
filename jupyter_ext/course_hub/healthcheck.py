"""Post-deploy health check: the whole student journey against any hub URL.

Logs in (``--user`` with their own password, any name with a workshop's shared
password, or an admin token that creates a test user), starts the server, opens a session through the course API, creates a
Gateway cluster with one worker, starts a kernel and computes on the cluster
from it, then stops the cluster and, if it started it, the server. Each step
is timed; the verdict is PASS only if every step passed. Nothing is left
running, even on failure. The class-day benchmark (``bench/``) runs this same
journey for every simulated student.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from websocket import WebSocketException

from .hubclient import HubError, HubUser

COMPUTE = (
    "import dask.array as da\n"
    "x = da.ones((2000, 2000), chunks=(500, 500))\n"
    "print('health-check-result', int(x.sum().compute()))"
)


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class Report:
    hub_url: str
    user: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def text(self) -> str:
        lines = [f"Health check of {self.hub_url} as {self.user}"]
        for s in self.steps:
            mark = "ok  " if s.ok else "FAIL"
            lines.append(f"  {mark} {s.name:<22} {s.seconds:6.1f} s  {s.detail}".rstrip())
        total = sum(s.seconds for s in self.steps)
        lines.append(f"Verdict: {'PASS' if self.ok else 'FAIL'} ({total:.1f} s)")
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "hub_url": self.hub_url,
                "user": self.user,
                "ok": self.ok,
                "steps": [asdict(s) for s in self.steps],
            },
            indent=2,
        )


def run_health_check(
    hub_url: str,
    user: str | None = None,
    password: str | None = None,
    admin_token: str | None = None,
    session: str | None = None,
    timeout: float = 300,
    workers: int = 1,
    logout: bool = False,
    on_step: Callable[[Step], None] | None = None,
) -> Report:
    name = user or f"healthcheck-{uuid.uuid4().hex[:6]}"
    report = Report(hub_url.rstrip("/"), name)
    state: dict = {}

    def step(title: str, action: Callable[[], str | None]) -> bool:
        t0 = time.monotonic()
        try:
            detail = action() or ""
            report.steps.append(Step(title, True, time.monotonic() - t0, detail))
        # A kernel's websocket lost under load is that step's failure, not a traceback.
        except (HubError, OSError, ValueError, KeyError, WebSocketException) as exc:
            report.steps.append(Step(title, False, time.monotonic() - t0, str(exc)[:500]))
        if on_step is not None:
            on_step(report.steps[-1])
        return report.steps[-1].ok

    def log_in() -> str:
        if admin_token:
            state["who"] = HubUser.from_admin_token(hub_url, name, admin_token)
            return "with an admin token"
        state["who"] = HubUser(hub_url, name, password=password)
        try:
            state["who"].login()
        except HubError as exc:
            if user:
                raise
            raise HubError(
                f"{exc}; on a hub with per-student accounts, give --user and that "
                "user's own password, or --admin-token"
            ) from None
        return "with a password"

    def start() -> str:
        who: HubUser = state["who"]
        model = who.hub_api("GET", f"/users/{name}").json()
        state["started"] = not (model.get("servers") or {}).get("", {}).get("ready")
        who.start_server(timeout=timeout)
        return "started" if state["started"] else "already running"

    def open_session() -> str:
        who: HubUser = state["who"]
        r = who.api("GET", "/sessions")
        if r.status_code != 200:
            raise HubError(f"course API: {r.status_code} {r.text[:200]}")
        sessions = r.json()["sessions"]
        chosen = session or next(
            (s["id"] for s in sessions if s["cluster"] and s["notebooks"]),
            sessions[0]["id"],
        )
        r = who.api("POST", f"/sessions/{chosen}/open")
        if r.status_code != 200:
            raise HubError(f"open {chosen}: {r.status_code} {r.text[:200]}")
        return f"{chosen}: {len(r.json()['notebooks'])} notebook(s)"

    def create() -> str:
        who: HubUser = state["who"]
        r = who.api("POST", "/clusters", json={"workers": workers})
        if r.status_code != 201:
            raise HubError(f"create cluster: {r.status_code} {r.text[:200]}")
        state["cluster"] = r.json()
        model = who.wait_cluster(state["cluster"]["name"], workers, timeout=timeout)
        state["cluster"] = model
        return f"{model['name'][:12]} with {workers} worker{'s' if workers > 1 else ''}"

    def kernel() -> str:
        state["kernel"] = state["who"].start_kernel()
        return "python3"

    def compute() -> str:
        who: HubUser = state["who"]
        out = who.run_code(
            [state["cluster"]["connection_code"], COMPUTE],
            timeout=timeout,
            kernel_id=state["kernel"],
        )
        if "health-check-result 4000000" not in out[1]:
            raise HubError(f"unexpected result: {out[1][-300:]}")
        return "4000000 as expected"

    def stop_cluster() -> str:
        who: HubUser = state["who"]
        r = who.api("DELETE", f"/clusters/{state['cluster']['name']}")
        if r.status_code != 204:
            raise HubError(f"stop cluster: {r.status_code} {r.text[:200]}")
        return "stopped"

    def stop_server() -> str:
        state["who"].stop_server(timeout=timeout)
        return "stopped"

    def log_out() -> str:
        state["who"].logout()
        return "logged out"

    ok = step("log in", log_in) and step("start server", start)
    ok = ok and step("open a session", open_session)
    if ok and step("create a cluster", create) and step("start a kernel", kernel):
        step("compute on it", compute)
    if "kernel" in state:
        state["who"].stop_kernel(state["kernel"])
    if "cluster" in state:
        step("stop the cluster", stop_cluster)
    if state.get("started"):
        step("stop the server", stop_server)
    if logout and "who" in state and not admin_token:
        step("log out", log_out)
    return report
