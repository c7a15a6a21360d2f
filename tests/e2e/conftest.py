"""End-to-end tier: the real local hub, started from hub_config/local by the
same command `make hub` runs, in a temporary state folder on free ports.

Students are real hub users, each enrolled with their own account through the
hub's accounts API (as a teacher would, with `course-hub accounts add`), logging
in through the login form over HTTP; every wait has a deadline;
every cluster a test makes is stopped by the test, and the hub fixture checks
on the way out that Ctrl-C (SIGINT) left no process behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import requests

from course_hub.hub.local import free_port_block
from course_hub.hubclient import enroll

from ..hubclient import Deadline, Student

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".test-artifacts"
PASSWORD = "e2e-course-password"
ADMIN_PASSWORD = "e2e-admin-password-that-is-long-enough"


@dataclass
class Hub:
    url: str
    proc: subprocess.Popen
    state: Path
    content: Path
    log_path: Path
    ready_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    workshop: bool = False  # COURSE_AUTH=workshop: one shared password
    _admin_token: str = ""

    @property
    def admin_token(self) -> str:
        """A teacher's API token, from the teacher's own login (made once)."""
        if not self._admin_token:
            teacher = Student(self.url, "teacher", ADMIN_PASSWORD)
            teacher.login()
            self._admin_token = teacher.token or ""
        return self._admin_token

    def student(self, prefix: str = "student") -> Student:
        """A new student with their own account (enrolled by the teacher), not logged in."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        if self.workshop:
            return Student(self.url, name, PASSWORD)
        return Student(self.url, name, enroll(self.url, self.admin_token, [name])[name])

    def log_tail(self, lines: int = 120) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def processes(self) -> list[psutil.Process]:
        """Every process still running that belongs to this hub's state folder."""
        found = []
        marker = str(self.state)
        for p in psutil.process_iter(["cmdline", "environ", "cwd"]):
            try:
                text = " ".join(p.info["cmdline"] or []) + str(p.info.get("cwd") or "")
                env = p.info.get("environ") or {}
                if marker in text or env.get("COURSE_STATE_DIR") == marker:
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return [p for p in found if p.pid != os.getpid()]

    def stop(self, timeout: float = 90) -> float:
        """Ctrl-C, as a teacher would; return how long everything took to stop."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError(f"the hub did not stop within {timeout} s") from None
        return time.monotonic() - t0

    def wait_all_stopped(self, timeout: float = 30) -> None:
        deadline = Deadline(timeout, "every process of the hub to stop after Ctrl-C")
        while deadline:
            left = self.processes()
            if not left:
                return
            time.sleep(0.5)
        deadline.fail([cmdline(p) for p in left])


def cmdline(p: psutil.Process) -> str:
    """A process's command line, or "" once it has exited (gone or a zombie)."""
    try:
        return " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess included
        return ""


def crash_the_hub(hub: Hub, timeout: float = 180) -> float:
    """SIGKILL JupyterHub; return the seconds until the launcher has restarted it
    and it answers its health check again."""
    [jupyterhub] = [
        p for p in psutil.Process(hub.proc.pid).children() if "jupyterhub" in cmdline(p)
    ]
    t0 = time.monotonic()
    jupyterhub.kill()
    deadline = Deadline(timeout, "the launcher to restart the hub")
    while deadline:
        new = [p for p in psutil.Process(hub.proc.pid).children() if p.pid != jupyterhub.pid]
        try:
            ok = requests.get(f"{hub.url}/hub/health", timeout=2).status_code == 200
        except requests.RequestException:
            ok = False
        if ok and any("jupyterhub" in cmdline(p) for p in new):
            return time.monotonic() - t0
        time.sleep(0.5)
    deadline.fail(hub.log_tail(40))
    raise AssertionError  # unreachable


def start_hub(tmp: Path, name: str, env: dict[str, str] | None = None) -> Hub:
    ARTIFACTS.mkdir(exist_ok=True)
    state = tmp / "state"
    content = tmp / "course"
    shutil.copytree(REPO / "course", content)
    port = free_port_block()
    env = {
        **os.environ,
        "COURSE_STATE_DIR": str(state),
        "COURSE_CONTENT_DIR": str(content),
        "COURSE_PASSWORD": PASSWORD,
        "COURSE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HUB_PORT": str(port),
        "COURSE_CLUSTER_IDLE_TIMEOUT": "600",
        **(env or {}),  # may name another state folder: a restart of an earlier hub
    }
    state = Path(env["COURSE_STATE_DIR"])
    log_path = ARTIFACTS / f"{name}.log"
    log = open(log_path, "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "course-hub"), "hub"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = Deadline(120, "the hub to be ready")
    while deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the hub exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/hub/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        deadline.fail(log_path.read_text()[-3000:])
    workshop = env.get("COURSE_AUTH") == "workshop"
    return Hub(url, proc, state, content, log_path, time.monotonic() - t0, workshop=workshop)


@pytest.fixture(scope="session")
def hub(tmp_path_factory, request):
    hub = start_hub(tmp_path_factory.mktemp("hub"), "e2e-hub")
    hub.timings["hub ready"] = hub.ready_seconds
    yield hub
    hub.timings["stop (Ctrl-C)"] = hub.stop()
    if request.session.testsfailed:
        print(f"\n--- last lines of {hub.log_path} ---\n{hub.log_tail()}")
    print("\nE2E timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in hub.timings.items()))
    hub.wait_all_stopped()


@pytest.fixture(scope="session")
def alice(hub) -> Student:
    s = hub.student("alice")
    s.login()
    s.start_server()
    hub.timings["alice login"] = s.timings["login"]
    hub.timings["alice server"] = s.timings["server"]
    return s


@pytest.fixture(scope="session")
def bob(hub) -> Student:
    s = hub.student("bob")
    s.login()
    s.start_server()
    hub.timings["bob server"] = s.timings["server"]
    return s
