"""Schema-based fuzzing of the course API (schemathesis, hypothesis).

A real ``jupyter server`` process with the extension, behind a hub-like
base URL, talks to a real Dask Gateway whose per-student limit is one
cluster. One real cluster runs during the whole fuzz, so listings and
lookups reach a live scheduler, and every generated create is refused by
the limit at once (409) rather than starting processes.

The API description is the one the server publishes
(``course/api/openapi.json``). Every operation gets valid requests
(positive mode, checked against the documented statuses, content types
and response schemas) and invalid ones (negative mode, which must be
refused with a 4xx). Any 5xx fails; afterwards the server must still answer,
with its cluster intact and no traceback in its log.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ..e2e.conftest import ARTIFACTS, free_port_block
from ..hubclient import Deadline
from .conftest import run_gateway

#: Generated requests per operation and mode (12 operations x 2 modes).
EXAMPLES = int(os.environ.get("COURSE_FUZZ_EXAMPLES", "200"))
BASE_URL = "/user/fuzzer/"
POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [not_a_server_error, negative_data_rejection]


@dataclass
class ApiServer:
    root: str  # http://127.0.0.1:port/user/fuzzer
    token: str
    log_path: Path
    proc: subprocess.Popen

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def api(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(
            method, f"{self.root}/course/api/{path}", headers=self.headers, timeout=60, **kw
        )


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-gateway")
    yield from run_gateway(tmp, "fuzz-gateway.log", COURSE_USER_MAX_CLUSTERS="1")


@pytest.fixture(scope="module")
def api_server(fuzz_gateway, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-server")
    home = tmp / "home"
    home.mkdir()
    port = free_port_block(1)
    token = secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        DASK_GATEWAY__AUTH__TYPE="basic",
        DASK_GATEWAY__AUTH__KWARGS__USERNAME="fuzzer",
    )
    log_path = ARTIFACTS / "fuzz-server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter-server"),
            "--no-browser",
            "--allow-root",  # CI machines run the tests as root
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.base_url={BASE_URL}",
            f"--ServerApp.root_dir={home}",
            f"--IdentityProvider.token={token}",
            f"--CourseHub.content_dir={fuzz_gateway.env['COURSE_CONTENT_DIR']}",
            f"--CourseHub.cache_dir={tmp / 'cache'}",
            f"--CourseHub.gateway_address={fuzz_gateway.address}",
            f"--CourseHub.gateway_proxy_address={fuzz_gateway.proxy_address}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = ApiServer(f"http://127.0.0.1:{port}{BASE_URL.rstrip('/')}", token, log_path, proc)
    deadline = Deadline(60, "the Jupyter server to answer")
    while deadline:
        assert proc.poll() is None, log_path.read_text()[-3000:]
        try:
            if requests.get(f"{server.root}/api/status", headers=server.headers, timeout=2).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    else:
        deadline.fail(log_path.read_text()[-3000:])
    yield server
    proc.send_signal(signal.SIGTERM)  # stops its clusters on the way out
    proc.wait(timeout=60)


def fuzz(operation, mode: GenerationMode, server: ApiServer, http: requests.Session, seen):
    checks = POSITIVE_CHECKS if mode.is_positive else NEGATIVE_CHECKS

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: a failure reproduces
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(
            base_url=server.root, session=http, headers=server.headers, timeout=60
        )
        seen[(operation.label, mode.value, response.status_code)] += 1
        case.validate_response(response, checks=checks, headers=server.headers)

    run()


def test_thousands_of_generated_requests_no_server_error(api_server):
    created = api_server.api("POST", "clusters", json={"workers": 0})
    assert created.status_code == 201, created.text
    cluster = created.json()["name"]

    schema = schemathesis.openapi.from_url(
        f"{api_server.root}/course/api/openapi.json", headers=api_server.headers
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11  # schemathesis leaves out the document itself

    seen: Counter = Counter()
    started = time.monotonic()
    with requests.Session() as http:
        for operation in operations:
            modes = [GenerationMode.POSITIVE]
            if len(operation.path_parameters) or len(operation.body):
                modes.append(GenerationMode.NEGATIVE)  # something to get wrong
            for mode in modes:
                fuzz(operation, mode, api_server, http, seen)
    elapsed = time.monotonic() - started

    total = sum(seen.values())
    by_status = Counter()
    by_operation = Counter()
    for (label, mode, status), n in seen.items():
        by_status[status] += n
        by_operation[f"{label} ({mode})"] += n
    figures = {
        "requests": total,
        "operations": len(operations),
        "seconds": round(elapsed, 1),
        "by_status": dict(sorted(by_status.items())),
        "by_operation": dict(sorted(by_operation.items())),
    }
    (ARTIFACTS / "fuzz-figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"\nfuzzed {total} requests in {elapsed:.0f} s: {figures['by_status']}")

    assert total >= 2000, figures
    assert not [s for s in by_status if s >= 500], figures
    # The fuzz reached real work, not only the validation layer.
    assert by_status[200] > 0 and by_status[409] > 0 and by_status[404] > 0, figures

    # Still healthy: alive, answering, its cluster intact, nothing crashed.
    assert api_server.proc.poll() is None
    assert api_server.api("GET", "sessions").status_code == 200
    opened = api_server.api("POST", "sessions/dask/open")
    assert opened.status_code == 200, opened.text
    listed = api_server.api("GET", "clusters").json()["clusters"]
    assert [(c["name"], c["status"]) for c in listed] == [(cluster, "running")]
    log = api_server.log_path.read_text()
    assert "Traceback" not in log, log[-5000:]
    assert "Uncaught exception" not in log


def refused(operation, server: ApiServer, http: requests.Session, statuses: Counter) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        if case.headers and "Authorization" in case.headers:
            case.headers["Authorization"] = "token " + case.headers["Authorization"]
        response = case.call(base_url=server.root, session=http, timeout=60)
        statuses[response.status_code] += 1
        assert response.status_code == 403, (operation.label, response.text[:300])
        assert "sessions" not in response.text

    run()


def test_generated_requests_without_a_login_are_all_refused(api_server):
    """The same operations, with whatever (or no) Authorization a generator invents."""
    schema = schemathesis.openapi.from_url(
        f"{api_server.root}/course/api/openapi.json", headers=api_server.headers
    )
    statuses: Counter = Counter()
    with requests.Session() as http:
        for result in schema.get_all_operations():
            refused(result.ok(), api_server, http, statuses)
    print(f"\n{sum(statuses.values())} requests without a valid login: {dict(statuses)}")
    (ARTIFACTS / "fuzz-unauthenticated.json").write_text(json.dumps(dict(statuses)) + "\n")
    assert statuses[403] >= 250
