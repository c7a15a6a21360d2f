"""A kernel that answers late is waited for, as JupyterLab waits for it.

jupyter-server drops a kernel's websocket when the kernel has not answered
``kernel_info`` within ``kernel_info_timeout`` (60 s): on a loaded machine (20
students starting at 9:00) a kernel still importing lost the health check's and
the class-day benchmark's student with "Connection to remote host was lost".
Here a real ``jupyter server`` has a kernel that starts 4 s late and a
``kernel_info_timeout`` of 1.5 s: the client's first connection is dropped
exactly that way, and it connects again until the kernel runs code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests
import websocket

from ..hubclient import Deadline, HubError, Student

TOKEN = "kernel-ready-test-token"  # a throw-away local server's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def slow_kernel_server(tmp_path):
    """A jupyter server at /user/ada/ whose default kernel starts 4 s late."""
    spec = tmp_path / "data" / "kernels" / "slow"
    spec.mkdir(parents=True)
    argv = ["bash", "-c", f"sleep 4; exec {sys.executable} -m ipykernel_launcher -f $0", "{connection_file}"]  # fmt: skip
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "slow", "language": "python"}))  # fmt: skip
    port = free_port()
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path / "data"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.base_url=/user/ada/", "--allow-root",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}",
         "--MappingKernelManager.default_kernel_name=slow",
         "--MappingKernelManager.kernel_info_timeout=1.5"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = Deadline(60, "the jupyter server to answer")
    while deadline:
        try:
            if requests.get(f"{url}/user/ada/api/status", params={"token": TOKEN}, timeout=5).ok:
                break
        except requests.ConnectionError:
            pass
        assert proc.poll() is None, (tmp_path / "server.log").read_text()
        time.sleep(0.2)
    else:
        deadline.fail((tmp_path / "server.log").read_text())
    try:
        yield url, tmp_path / "server.log"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


class OneTry(Student):
    """The client before the fix: one connection, no second try."""

    def wait_kernel_ready(self, kernel_id: str, timeout: float = 180) -> None:
        self.run_code(["pass"], kernel_id=kernel_id, timeout=120)


def test_a_kernel_that_answers_late_is_waited_for(slow_kernel_server):
    url, server_log = slow_kernel_server
    with pytest.raises(websocket.WebSocketException, match="Connection to remote host was lost"):
        OneTry(url, "ada", token=TOKEN).start_kernel()
    assert "kernel_info" in server_log.read_text() or "Timeout" in server_log.read_text()

    ada = Student(url, "ada", token=TOKEN)
    t0 = time.monotonic()
    kernel_id = ada.start_kernel()
    assert time.monotonic() - t0 >= 2  # it did wait for the late kernel
    assert ada.run_code(["print(6 * 7)"], kernel_id=kernel_id) == ["42\n"]
    ada.stop_kernel(kernel_id)


def test_a_kernel_that_never_answers_fails_with_a_sentence(slow_kernel_server):
    url, _ = slow_kernel_server
    ada = Student(url, "ada", token=TOKEN)
    r = requests.post(f"{url}/user/ada/api/kernels", headers=ada.headers, json={}, timeout=60)
    kernel_id = r.json()["id"]
    with pytest.raises(HubError, match=r"start a kernel: .* \(for 2 s\)"):
        ada.wait_kernel_ready(kernel_id, timeout=2)
    ada.stop_kernel(kernel_id)
