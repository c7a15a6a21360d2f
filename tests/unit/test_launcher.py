"""`course-hub hub` refuses to start, in one clear line, when something is wrong."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from course_hub.hub.local import free_port_block
from course_hub.launcher import clear_stale_pid_file, reap_orphans, run

CONFIG = Path(__file__).resolve().parents[2] / "hub_config" / "local" / "jupyterhub_config.py"


@pytest.fixture
def env(tmp_path, monkeypatch, mini_course):
    monkeypatch.setenv("COURSE_CONTENT_DIR", str(mini_course))
    monkeypatch.setenv("CONFIGURABLE_HTTP_PROXY", "/bin/true")
    # run() sets these for the hub it starts; monkeypatch restores them afterwards.
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("HUB_PORT", "8000")
    for name in ("COURSE_PASSWORD", "COURSE_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def free_port() -> int:
    """The hub takes six ports from this one: all must be free, or the launcher
    reports busy ports before what the test is about."""
    return free_port_block()


def test_invalid_manifest(env, mini_course, capsys):
    (mini_course / "course.yml").write_text("course: {id: x, title: X}\nsessions: []\n")
    assert run(CONFIG, state_dir=str(env / "state"), port=free_port()) == 2
    err = capsys.readouterr().err
    assert "cannot start the hub" in err and "sessions: List should have at least 1 item" in err
    assert not (env / "state").exists()  # nothing written


def test_port_in_use(env, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run(CONFIG, state_dir=str(env / "state"), port=port) == 2
    err = capsys.readouterr().err
    # The busy port is named first (a neighbour of it may be busy too on a shared machine).
    assert re.search(rf"port\(s\) {port}(, \d+)* already in use", err), err


def test_short_admin_password(env, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_ADMIN_PASSWORD", "short")
    assert run(CONFIG, state_dir=str(env / "state"), port=free_port()) == 2
    assert "COURSE_ADMIN_PASSWORD must be at least 32 characters" in capsys.readouterr().err


def test_missing_config(env, capsys):
    assert run(env / "nope.py") == 2
    assert "no hub config" in capsys.readouterr().err


def test_exited_children_are_reaped_and_stale_pid_files_removed(tmp_path):
    """What a crashed hub leaves (its proxy, once stopped) must not look alive."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    kept = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        end = time.monotonic() + 10
        while psutil.Process(gone.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < end
            time.sleep(0.05)
        pid_file = tmp_path / "proxy.pid"
        pid_file.write_text(str(gone.pid))
        clear_stale_pid_file(pid_file)
        assert not pid_file.exists()  # a zombie is not a running proxy
        reap_orphans(skip=kept.pid)
        assert not psutil.pid_exists(gone.pid) or gone.pid not in [
            p.pid for p in psutil.Process().children()
        ]
        pid_file.write_text(str(kept.pid))
        clear_stale_pid_file(pid_file)
        assert pid_file.read_text() == str(kept.pid)  # a live process keeps its file
        assert kept.poll() is None
        pid_file.write_text("not a pid")
        clear_stale_pid_file(pid_file)  # unreadable: left for JupyterHub to report
        assert pid_file.exists()
    finally:
        kept.kill()
        kept.wait()
        try:
            os.waitpid(gone.pid, os.WNOHANG)
        except ChildProcessError:
            pass
