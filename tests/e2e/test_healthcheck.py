"""`course-hub health-check` against the real local hub: pass, and a clear fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..hubclient import Student
from .conftest import ADMIN_PASSWORD, PASSWORD

CLI = str(Path(sys.executable).parent / "course-hub")


#: The health check's steps, in order (the benchmark's journey adds "log out").
STEPS = [
    "log in",
    "start server",
    "open a session",
    "create a cluster",
    "start a kernel",
    "compute on it",
    "stop the cluster",
    "stop the server",
]


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "health-check", *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_passes_with_a_students_own_password(hub):
    student = hub.student("healthcheck")
    proc = check(hub.url, "--user", student.name, "--password", student.password, "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["ok"] is True
    names = [s["name"] for s in report["steps"]]
    assert names == STEPS
    for s in report["steps"]:
        hub.timings[f"health: {s['name']}"] = s["seconds"]


def test_passes_with_an_admin_token(hub):
    teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
    teacher.login()
    proc = check(hub.url, "--admin-token", teacher.token, "--session", "kubernetes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Verdict: PASS" in proc.stdout
    assert "kubernetes: 2 notebook(s)" in proc.stdout


def test_fails_clearly(hub):
    proc = check(hub.url, "--password", "not-the-password")
    assert proc.returncode == 1
    assert "FAIL log in" in proc.stdout and "wrong password" in proc.stdout
    assert "give --user" in proc.stdout  # the course password is gone: say what to do
    proc = check(hub.url, "--password", PASSWORD)  # the old course password opens nothing
    assert proc.returncode == 1 and "wrong password" in proc.stdout
    assert "Verdict: FAIL" in proc.stdout
    proc = check(hub.url)
    assert proc.returncode == 2 and "give --password" in proc.stderr
