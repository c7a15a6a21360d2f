"""A class on the real hub: students log in, open sessions, run Dask clusters."""

from __future__ import annotations

import json
import time

import nbformat
import requests
from nbformat.v4 import new_code_cell

from ..hubclient import Deadline
from .conftest import ADMIN_PASSWORD, PASSWORD


def test_students_log_in_and_get_a_server(hub, alice, bob):
    assert alice.timings["server"] < 90 and bob.timings["server"] < 90
    r = alice.hub_api("GET", f"/users/{alice.name}")
    assert r.json()["servers"][""]["ready"] is True
    # A student cannot act on another student's server.
    r = alice.hub_api("DELETE", f"/users/{bob.name}/server")
    assert r.status_code in (403, 404)
    r = requests.get(f"{bob.server_url}/course/api/sessions", headers=alice.headers, timeout=30)
    assert r.status_code in (403, 404), r.status_code


def test_the_program(alice):
    r = alice.api("GET", "/sessions")
    assert r.status_code == 200
    sessions = r.json()["sessions"]
    assert [s["id"] for s in sessions] == [
        "big-data",
        "kubernetes-intro",
        "kubernetes",
        "spark",
        "dask",
        "evaluation",
    ]
    assert sessions[0]["title"] == "Big Data & Distributed Computing"


def test_reopen_after_an_edit_and_an_upstream_change(hub, alice):
    r = alice.api("POST", "/sessions/spark/open")
    assert r.status_code == 200, r.text
    report = r.json()
    path = "course/spark/01-spark-wordcount.ipynb"
    assert path in report["added"]
    assert report["open"] == "course/spark/02-mapreduce-with-spark.ipynb"

    # The student edits the first code cell through Jupyter's contents API.
    model = alice.contents(path)
    nb = nbformat.from_dict(model["content"])
    nb.cells[1].source = "# my notes\n" + nb.cells[1].source
    alice.save(path, {"type": "notebook", "format": "json", "content": nb})
    status = alice.api("GET", "/sessions/spark").json()["notebooks"][0]
    assert status["present"] and status["modified"]

    # The teacher appends a cell and adds a data file upstream.
    upstream = hub.content / "spark" / "01-spark-wordcount.ipynb"
    teacher = nbformat.read(upstream, as_version=4)
    teacher.cells.append(new_code_cell("print('new exercise')", id="teacher-new"))
    nbformat.write(teacher, upstream)
    (hub.content / "spark" / "words.txt").write_text("spark dask spark\n")

    r = alice.api("POST", "/sessions/spark/open")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["kept"] == [path]
    assert report["added"] == ["course/spark/words.txt"]
    merged = nbformat.from_dict(alice.contents(path)["content"])
    sources = [c.source for c in merged.cells]
    assert sources[1].startswith("# my notes\n")  # the edit survived
    assert sources[-1] == "print('new exercise')"  # the upstream change arrived
    assert alice.contents("course/spark/words.txt")["content"] == "spark dask spark\n"

    # A deleted notebook comes back on the next open.
    alice.delete_file(path)
    report = alice.api("POST", "/sessions/spark/open").json()
    assert path in report["added"]


def test_cluster_lifecycle_and_isolation(hub, alice, bob):
    t0 = time.monotonic()
    r = alice.api("POST", "/clusters", json={"session": "dask"})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    try:
        model = alice.wait_cluster(name, 2)
        hub.timings["cluster 2 workers"] = time.monotonic() - t0
        assert model["cores"] == 2 and model["memory"] == 2 * 2 * 2**30

        # The connection code, run in the student's kernel on the hub.
        out = alice.run_code(
            [
                model["connection_code"],
                "import dask.array as da\n"
                "x = da.ones((4000, 4000), chunks=(1000, 1000))\n"
                "print(int(x.sum().compute()))\n"
                "print(len(client.scheduler_info()['workers']))",
            ]
        )
        assert out[1].split() == ["16000000", "2"], out

        # The second student sees none of it and can touch none of it.
        assert bob.api("GET", "/clusters").json()["clusters"] == []
        for method, kw in [("GET", {}), ("DELETE", {}), ("PATCH", {"json": {"workers": 0}})]:
            assert bob.api(method, f"/clusters/{name}", **kw).status_code == 404

        r = alice.api("PATCH", f"/clusters/{name}", json={"workers": 1})
        assert r.status_code == 200, r.text
        alice.wait_cluster(name, 1)
    finally:
        r = alice.api("DELETE", f"/clusters/{name}")
    assert r.status_code == 204
    assert [c["name"] for c in alice.api("GET", "/clusters").json()["clusters"]] == []


def test_dashboard_is_behind_the_students_login(hub, alice, bob):
    r = alice.api("POST", "/clusters", json={"workers": 0})
    assert r.status_code == 201, r.text
    model = r.json()
    try:
        link = model["dashboard_link"]
        assert link.startswith(f"/user/{alice.name}/proxy/")
        r = requests.get(hub.url + link, headers=alice.headers, timeout=60)
        assert r.status_code == 200 and "Dask" in r.text
        r = requests.get(hub.url + link, timeout=60, allow_redirects=False)
        assert r.status_code in (302, 403)
        r = requests.get(hub.url + link, headers=bob.headers, timeout=60, allow_redirects=False)
        assert r.status_code in (302, 403, 404)
        # The gateway's own dashboard route is not published by the hub at all.
        route = f"{hub.url}/services/dask-gateway/clusters/{model['name']}/status"
        r = requests.get(route, timeout=30)  # the hub's own "not found"
        assert r.status_code == 404 and "Dask Diagnostic UI" not in r.text, r.url
    finally:
        alice.api("DELETE", f"/clusters/{model['name']}")


def test_clusters_made_elsewhere_are_listed(alice):
    """A notebook's Gateway() and dask-labextension's NEW button make Gateway
    clusters of the same student, and the course API lists them."""
    out = alice.run_code(
        [
            "from dask_gateway import Gateway\ng = Gateway()\nprint(g.submit(session='dask'))",
        ]
    )
    from_code = out[0].strip()
    r = requests.put(
        f"{alice.server_url}/dask/clusters", headers=alice.headers, data="{}", timeout=180
    )
    assert r.status_code == 200, r.text
    lab_model = r.json()
    try:
        deadline = Deadline(60, "both clusters in the course API")
        names: list[str] = []
        while deadline:
            names = [c["name"] for c in alice.api("GET", "/clusters").json()["clusters"]]
            if from_code in names and len(names) == 2:
                break
            time.sleep(0.5)
        else:
            deadline.fail(names)
    finally:
        requests.delete(
            f"{alice.server_url}/dask/clusters/{lab_model['id']}",
            headers=alice.headers,
            timeout=60,
        )
        for name in names:
            alice.api("DELETE", f"/clusters/{name}")
    assert alice.api("GET", "/clusters").json()["clusters"] == []


def test_course_notebooks_run_on_the_hub(hub, alice):
    """The notebooks students run as they are (no exercise to fill in), opened
    through the API and run in the student's kernel on the hub: Spark local[*],
    Gateway clusters with session presets. (Every teacher's solution runs in
    the integration tier.)"""
    sessions = alice.api("GET", "/sessions").json()["sessions"]
    ran = []
    for session in sessions:
        if not session["notebooks"]:
            continue
        r = alice.api("POST", f"/sessions/{session['id']}/open")
        assert r.status_code == 200, r.text
        for nb_status in r.json()["notebooks"]:
            model = alice.contents(nb_status["local_path"])
            nb = nbformat.from_dict(model["content"])
            if any("# YOUR CODE HERE" in c.source for c in nb.cells):
                continue  # a student's exercise: blanks to fill in
            cells = [c.source for c in nb.cells if c.cell_type == "code"]
            t0 = time.monotonic()
            alice.run_code(cells, timeout=300)
            hub.timings[f"run {nb_status['local_path']}"] = time.monotonic() - t0
            ran.append(nb_status["local_path"])
    assert sorted(ran) == [
        "course/dask/01-check-your-environment.ipynb",
        "course/evaluation/00-getting-started.ipynb",
        "course/spark/01-spark-wordcount.ipynb",
    ], ran  # the others have exercises: their teacher versions run in the integration tier
    # The notebooks shut their clusters down.
    assert alice.api("GET", "/clusters").json()["clusters"] == []


def test_spark_ui_through_the_students_server(hub, alice):
    """The Spark UI of a local[*] session, behind the student's login."""
    r = requests.post(
        f"{alice.server_url}/api/kernels", headers=alice.headers, json={}, timeout=60
    )
    assert r.status_code == 201
    kernel = r.json()["id"]
    try:
        code = (
            "from pyspark.sql import SparkSession\n"
            "spark = SparkSession.builder.master('local[2]')"
            ".config('spark.ui.showConsoleProgress', 'false').getOrCreate()\n"
            "print('sum =', spark.sparkContext.parallelize(range(10)).sum())"
        )
        out = alice.run_code([code], kernel_id=kernel)[0]
        assert "sum = 45" in out, out
        page = requests.get(
            f"{alice.server_url}/proxy/4040/jobs/", headers=alice.headers, timeout=60
        )
        assert page.status_code == 200, page.status_code
        assert "Spark Jobs" in page.text
        assert f"/user/{alice.name}/proxy/4040/jobs/job/" in page.text  # links keep the prefix
        anonymous = requests.get(
            f"{alice.server_url}/proxy/4040/jobs/", timeout=60, allow_redirects=False
        )
        assert anonymous.status_code in (302, 403)
    finally:
        requests.delete(
            f"{alice.server_url}/api/kernels/{kernel}", headers=alice.headers, timeout=30
        )


def test_unauthenticated_requests_are_refused(hub, alice):
    paths = [
        ("GET", "/sessions"),
        ("GET", "/sessions/dask"),
        ("POST", "/sessions/dask/open"),
        ("GET", "/clusters"),
        ("POST", "/clusters"),
        ("GET", "/cluster-options"),
        ("GET", "/clusters/abc"),
        ("PATCH", "/clusters/abc"),
        ("DELETE", "/clusters/abc"),
    ]
    for method, path in paths:
        for headers in ({}, {"Authorization": "token made-up"}):
            r = requests.request(
                method,
                f"{alice.server_url}/course/api{path}",
                headers=headers,
                data=json.dumps({}),
                timeout=30,
                allow_redirects=False,
            )
            assert r.status_code in (302, 403), (method, path, headers, r.status_code)
            assert "sessions" not in r.text
    # The gateway has no public route (its dashboards would answer without a login).
    r = requests.get(f"{hub.url}/services/dask-gateway/api/v1/clusters/", timeout=30)
    assert r.status_code == 404 and "cluster_options" not in r.text
    # And to a made-up token it answers 401, not 500.
    port = int(hub.url.rsplit(":", 1)[1]) + 3
    r = requests.get(
        f"http://127.0.0.1:{port}/services/dask-gateway/api/v1/clusters/",
        headers={"Authorization": "jupyterhub made-up"},
        timeout=30,
    )
    assert r.status_code == 401, (r.status_code, r.text)


def gateway_clusters(hub, student) -> list:
    """The student's clusters, asked of the gateway itself with their token."""
    port = int(hub.url.rsplit(":", 1)[1]) + 3
    r = requests.get(
        f"http://127.0.0.1:{port}/services/dask-gateway/api/v1/clusters/",
        headers={"Authorization": f"jupyterhub {student.token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return list(r.json())


def test_clusters_stop_with_the_server(hub):
    eve = hub.student("eve")
    eve.login()
    eve.start_server()
    r = eve.api("POST", "/clusters", json={"workers": 1})
    assert r.status_code == 201, r.text
    out = eve.run_code(["from dask_gateway import Gateway\nprint(Gateway().submit())"])
    assert len(gateway_clusters(hub, eve)) == 2  # one from the API, one from code
    eve.stop_server()
    deadline = Deadline(60, "eve's clusters to stop with her server")
    while deadline:
        if gateway_clusters(hub, eve) == []:
            break
        time.sleep(0.5)
    else:
        deadline.fail(gateway_clusters(hub, eve))
    assert out[0].strip()


def test_zz_no_secret_in_the_logs(hub):
    """After everything above: no password, token or key appears in the hub's log."""
    secrets = {p.name: p.read_text().strip() for p in (hub.state / "secrets").iterdir()}
    secrets["course password"] = PASSWORD
    secrets["admin password"] = ADMIN_PASSWORD
    log = hub.log_path.read_text(errors="replace")
    assert len(log) > 10_000  # the log is real
    leaked = [name for name, value in secrets.items() if len(value) >= 8 and value in log]
    assert leaked == []
    for path in (hub.state / "secrets").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_forged_xsrf_is_refused(hub):
    """A page on another site cannot make a logged-in student's browser act."""
    mia = hub.student("mia")
    mia.login()
    mia.start_server()
    r = mia.browser.get(f"{mia.server_url}/lab", timeout=60)  # the OAuth dance sets the cookies
    assert r.status_code == 200
    xsrf = next(c.value for c in mia.browser.cookies if c.name == "_xsrf" and "/user/" in c.path)
    url = f"{mia.server_url}/course/api/sessions/big-data/open"
    assert mia.browser.post(url, data="{}", timeout=60).status_code == 403
    forged = mia.browser.post(url, data="{}", headers={"X-XSRFToken": "forged"}, timeout=60)
    assert forged.status_code == 403
    real = mia.browser.post(url, data="{}", headers={"X-XSRFToken": xsrf}, timeout=60)
    assert real.status_code == 200, real.text
    mia.stop_server()


def test_cannot_connect_to_another_students_cluster(alice, bob):
    r = alice.api("POST", "/clusters", json={"workers": 0})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    try:
        attempt = (
            "from dask_gateway import Gateway\n"
            "try:\n"
            f"    Gateway().connect({name!r})\n"
            "    print('connected')\n"
            "except Exception as exc:\n"
            "    print('refused', type(exc).__name__)"
        )
        out = bob.run_code([attempt])[0]
        assert out.startswith("refused"), out
        for method, kw in [("POST", {"json": {"count": 3}}), ("DELETE", {})]:
            port = int(alice.hub_url.rsplit(":", 1)[1]) + 3
            suffix = "/scale" if method == "POST" else ""
            direct = requests.request(
                method,
                f"http://127.0.0.1:{port}/services/dask-gateway/api/v1/clusters/{name}{suffix}",
                headers={"Authorization": f"jupyterhub {bob.token}"},
                timeout=30,
                **kw,
            )
            assert direct.status_code == 403, (method, direct.status_code)
        assert alice.api("GET", f"/clusters/{name}").json()["status"] == "running"
    finally:
        alice.api("DELETE", f"/clusters/{name}")
