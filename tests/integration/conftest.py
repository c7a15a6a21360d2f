"""Integration tier: the extension against a real dask-gateway-server process
(the local hub's config, UnsafeLocalBackend: real scheduler and worker
processes), restartable to test what survives a gateway restart. The course
notebooks' run times are kept in .test-artifacts/notebooks/ and listed at the
end of the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dask
import pytest
import requests

from ..conftest import server_config
from ..e2e.conftest import ARTIFACTS, free_port_block
from ..hubclient import Deadline

pytest_plugins = ("pytest_jupyter.jupyter_server",)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NOTEBOOK_ARTIFACTS = ARTIFACTS / "notebooks"
# Each course notebook run of this session: seconds, parameters, outcome, results.
NOTEBOOK_RUNS: dict[str, dict] = {}


def record_notebook_run(path: str, run: dict) -> None:
    """Keep a notebook's run, and write them all to timings.json (CI keeps the folder)."""
    NOTEBOOK_RUNS[path] = run
    NOTEBOOK_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = {"cpus": os.cpu_count(), "notebooks": NOTEBOOK_RUNS}
    (NOTEBOOK_ARTIFACTS / "timings.json").write_text(json.dumps(report, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter) -> None:
    """The notebooks' run times and sizes, in the CI log."""
    if not NOTEBOOK_RUNS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("course notebooks: run time and parameters")
    for path, run in NOTEBOOK_RUNS.items():
        sizes = ", ".join(
            f"{k}={v:_}" if isinstance(v, int) else f"{k}={v}"
            for k, v in run["parameters"].items()
        )
        write(f"{run['seconds']:7.1f} s  {run['outcome']:6}  {path}  {sizes or '(its defaults)'}")
    total = sum(run["seconds"] for run in NOTEBOOK_RUNS.values())
    write(f"{total:7.1f} s  in all ({os.cpu_count()} CPUs); {NOTEBOOK_ARTIFACTS / 'timings.json'}")


@dataclass
class GatewayProcess:
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    config_file: Path = HERE / "gateway_config.py"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port + 3}/services/dask-gateway"

    @property
    def proxy_address(self) -> str:
        return f"gateway://127.0.0.1:{self.port + 4}"

    def start(self) -> None:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dask-gateway-server"),
                "-f",
                str(self.config_file),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = Deadline(60, "the gateway to answer")
        while deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if requests.get(f"{self.address}/api/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        deadline.fail(self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def kill_clusters(state: Path) -> None:
    """Clusters outlive the gateway on purpose; the tests clean up after themselves."""
    marker = str(state)
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        pid, _, args = line.strip().partition(" ")
        if "dask" not in args:
            continue
        try:
            if marker in Path(f"/proc/{pid}/cwd").resolve(strict=True).as_posix():
                os.kill(int(pid), signal.SIGTERM)
        except OSError:
            continue  # it ended meanwhile


def run_gateway(tmp: Path, log_name: str, config_file: Path | None = None, **env: str):
    """Start a gateway on a copy of the course (extra env: limits; another config
    file, e.g. one that loads gateway_config.py and changes the authenticator);
    yield it; clean up."""
    content = tmp / "course"
    shutil.copytree(REPO / "course", content)
    port = free_port_block()
    ARTIFACTS.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        COURSE_STATE_DIR=str(tmp / "state"),
        COURSE_CONTENT_DIR=str(content),
        HUB_PORT=str(port),
        **env,
    )
    gw = GatewayProcess(env=env, port=port, log_path=ARTIFACTS / log_name)
    if config_file is not None:
        gw.config_file = config_file
    gw.log_path.write_text("")
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()
        kill_clusters(tmp / "state")


@pytest.fixture(scope="module")
def real_gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gateway")
    with dask.config.set(
        {"gateway.auth.type": "basic", "gateway.auth.kwargs": {"username": "alice"}}
    ):
        yield from run_gateway(tmp, "integration-gateway.log")


@pytest.fixture
def jp_server_config(real_gateway, tmp_path):
    return server_config(
        content_dir=real_gateway.env["COURSE_CONTENT_DIR"],
        cache_dir=str(tmp_path / "cache"),
        gateway_address=real_gateway.address,
        gateway_proxy_address=real_gateway.proxy_address,
    )
