"""A student's terminal and links on the real local hub (issue 15, points 3-4).

The terminal is a real one, opened through the server's terminals API and
driven over its websocket as JupyterLab does; the links are what a kernel on
the student's server produces for a LocalCluster and a Spark session.
"""

from __future__ import annotations

import json
import re
import uuid

import requests
import websocket

from ..hubclient import Deadline

COMMANDS = ("python", "pip", "jupyter", "dask")
CHECK = (
    f'for c in {" ".join(COMMANDS)}; do echo "CMD=$(command -v $c)"; done; '
    'python -c \'import dask_gateway; print("gateway" + "-ok")\''
)


def terminal_output(student, command: str, timeout: float = 60) -> str:
    """Open a terminal on ``student``'s server, run ``command``, return what it printed."""
    r = requests.post(f"{student.server_url}/api/terminals", headers=student.headers, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    name = r.json()["name"]
    ws_url = student.server_url.replace("http", "ws", 1) + f"/terminals/websocket/{name}"
    ws = websocket.create_connection(ws_url, header=student.headers, timeout=timeout)
    marker = uuid.uuid4().hex
    out = ""
    try:
        ws.send(json.dumps(["stdin", f"{command}; echo {marker[:8]}''{marker[8:]}\r"]))
        deadline = Deadline(timeout, f"the terminal to run {command!r}")
        while deadline:
            kind, *rest = json.loads(ws.recv())
            if kind == "stdout":
                out += rest[0]
                if marker in out:
                    return out.split(marker)[0]
        deadline.fail(out[-2000:])
    finally:
        ws.close()
        requests.delete(
            f"{student.server_url}/api/terminals/{name}", headers=student.headers, timeout=30
        )
    return out


def test_a_terminal_starts_in_the_course_environment(hub, alice):
    out = terminal_output(alice, CHECK)
    found = re.findall(r"CMD=(/[^\s\"]*)", out)
    env_bin = str(hub.proc.args[0]).rsplit("/", 1)[0]  # .venv/bin: course-hub's own
    assert found == [f"{env_bin}/{c}" for c in COMMANDS], out
    assert "gateway-ok" in out, out


def test_a_local_clusters_dashboard_link_goes_through_the_server(alice):
    code = (
        "from dask.distributed import LocalCluster\n"
        "cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,"
        " dashboard_address='127.0.0.1:0')\n"
        "print('LINK', cluster.dashboard_link)\n"
        "cluster.close()"
    )
    out = alice.run_code([code], timeout=120)[0]
    link = out.split("LINK ", 1)[1].split()[0]
    assert link.startswith(f"/user/{alice.name}/proxy/") and link.endswith("/status"), out


def test_the_spark_ui_link_and_its_redirect_keep_the_prefix(alice):
    kernel = alice.start_kernel()
    try:
        code = (
            "from pyspark.sql import SparkSession\n"
            "spark = SparkSession.builder.master('local[1]')"
            ".config('spark.ui.showConsoleProgress', 'false').getOrCreate()\n"
            "fmt = get_ipython().display_formatter.formatters['text/html']\n"
            "print('CARD', fmt(spark.sparkContext))\n"
            "print('SESSION', fmt(spark))\n"
        )
        out = alice.run_code([code], kernel_id=kernel, timeout=240)[0]
        link = f'href="/user/{alice.name}/proxy/4040/jobs/"'
        card, session = out.split("CARD", 1)[1].split("SESSION", 1)
        assert link in card and link in session, out
        assert "localhost:4040" not in out, out
        # The UI's root redirects to its jobs page under the student's prefix.
        r = requests.get(
            f"{alice.server_url}/proxy/4040/",
            headers=alice.headers,
            allow_redirects=False,
            timeout=60,
        )
        assert r.status_code in (301, 302, 303, 307), r.status_code
        assert r.headers["Location"] == f"/user/{alice.name}/proxy/4040/jobs/", r.headers
        page = requests.get(f"{alice.server_url}/proxy/4040/", headers=alice.headers, timeout=60)
        assert page.status_code == 200 and "Spark Jobs" in page.text
        assert page.url.startswith(f"{alice.server_url}/proxy/4040/jobs/")
        alice.run_code(["spark.stop()"], kernel_id=kernel, timeout=60)
    finally:
        alice.stop_kernel(kernel)
