"""`course-hub hub` refuses to start, in one clear line, when something is wrong."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from course_hub.launcher import run

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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    assert f"port(s) {port} already in use" in capsys.readouterr().err


def test_short_admin_password(env, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_ADMIN_PASSWORD", "short")
    assert run(CONFIG, state_dir=str(env / "state"), port=free_port()) == 2
    assert "COURSE_ADMIN_PASSWORD must be at least 32 characters" in capsys.readouterr().err


def test_missing_config(env, capsys):
    assert run(env / "nope.py") == 2
    assert "no hub config" in capsys.readouterr().err
