"""`docker compose up`: the same hub in containers, with a real Docker engine.

Runs the stack as its own compose project, network and subnet, so it never
touches a stack a teacher runs on the same machine; students have unique
names, and everything is removed at the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest
import requests

from course_hub.hubclient import enroll

from ..dockertools import HUB, REPO, SINGLEUSER, compose_command, docker
from ..e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, PASSWORD, free_port_block
from ..e2e.test_terminal_links import CHECK, COMMANDS, terminal_output
from ..hubclient import Deadline, HubError, Student
from ..images.test_images import solution_texts

PROJECT = "course-hub-test"


class Stack:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = dict(
            os.environ,
            HUB_PORT=str(port),
            COURSE_PASSWORD=PASSWORD,
            COURSE_ADMIN_PASSWORD=ADMIN_PASSWORD,
            COURSE_NETWORK=PROJECT,
            COURSE_SUBNET="172.31.241.0/24",
            GATEWAY_CPUS="2",
            GATEWAY_MEM_LIMIT="6g",
        )
        self.students: list[str] = []
        self.passwords: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._admin_token = ""
        self.handin: tuple[str, dict] | None = None  # (student, receipt), checked after down/up

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        cmd = [*compose_command(), "-p", PROJECT, "-f", str(REPO / "docker-compose.yml"), *args]
        proc = subprocess.run(
            cmd, env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def up(self) -> float:
        t0 = time.monotonic()
        self.compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "300")
        deadline = Deadline(120, "the compose hub to answer")
        while deadline:
            try:
                if requests.get(f"{self.url}/hub/health", timeout=3).status_code == 200:
                    return time.monotonic() - t0
            except requests.RequestException:
                pass
            time.sleep(0.5)
        deadline.fail(self.logs()[-3000:])
        return 0.0

    def down(self, volumes: bool = False) -> float:
        t0 = time.monotonic()
        self.compose("down", *(["--volumes"] if volumes else []), timeout=300)
        return time.monotonic() - t0

    def config(self, **settings: str) -> dict:
        """The compose file as Compose resolves it (no engine needed)."""
        env, self.env = self.env, {**self.env, **settings}
        try:
            return json.loads(self.compose("config", "--format", "json").stdout)
        finally:
            self.env = env

    def logs(self) -> str:
        proc = subprocess.run(
            [
                *compose_command(),
                "-p",
                PROJECT,
                "-f",
                str(REPO / "docker-compose.yml"),
                "logs",
                "--no-color",
                "--tail",
                "200",
            ],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return proc.stdout + proc.stderr

    @property
    def admin_token(self) -> str:
        """A teacher's API token, from the teacher's own login (made once)."""
        if not self._admin_token:
            teacher = Student(self.url, "teacher", ADMIN_PASSWORD)
            teacher.login()
            self._admin_token = teacher.token or ""
        return self._admin_token

    def enroll(self, name: str) -> str:
        """The student's own account, made by the teacher; their initial password."""
        self.students.append(name)
        self.passwords[name] = enroll(self.url, self.admin_token, [name])[name]
        return self.passwords[name]

    def student(self, prefix: str) -> Student:
        # Letters and digits only: DockerSpawner escapes anything else in names.
        name = f"{prefix}{uuid.uuid4().hex[:6]}"
        return Student(self.url, name, self.enroll(name))


@pytest.fixture(scope="module")
def stack(request):
    s = Stack(free_port_block(1))
    s.down(volumes=True)  # a previous run interrupted half way
    try:
        s.timings["compose up to ready (first start)"] = s.up()
        yield s
    finally:
        if request.session.testsfailed:
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "compose-logs.txt").write_text(s.logs())
            print(f"\n--- docker compose logs ---\n{s.logs()[-6000:]}")
        s.down(volumes=True)
        for name in s.students:
            docker("rm", "-f", f"course-hub-{name}", check=False)
            docker("volume", "rm", "-f", f"course-hub-home-{name}", check=False)
        print("\ncompose timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in s.timings.items()))
        (ARTIFACTS / "compose").mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "compose" / "timings.json").write_text(
            json.dumps({k: round(v, 1) for k, v in s.timings.items()}, indent=2) + "\n"
        )


def test_gateway_and_students_run_the_single_user_image():
    """Clusters run in the gateway container: it must be the notebooks' image."""
    config = Stack(8000).config()
    services = config["services"]
    assert services["singleuser"]["image"] == SINGLEUSER
    assert services["gateway"]["image"] == SINGLEUSER
    assert services["gateway"]["pull_policy"] == "never"  # the one just built
    assert services["hub"]["environment"]["SINGLEUSER_IMAGE"] == SINGLEUSER
    assert "build" not in services["gateway"]  # built once, by the singleuser service


def test_roster_setting_becomes_a_read_only_mount():
    stack = Stack(8000)
    default = stack.config(COURSE_ROSTER="")["services"]["hub"]
    given = stack.config(COURSE_ROSTER="roster.txt")["services"]["hub"]
    mounts = [
        [v for v in hub["volumes"] if v["target"] == "/srv/course-roster.txt"]
        for hub in (default, given)
    ]
    assert mounts[0] == [
        {
            "type": "bind",
            "source": str(REPO / "hub_config/compose/roster.example.txt"),
            "target": "/srv/course-roster.txt",
            "read_only": True,
        }
    ]
    assert mounts[1][0]["source"] == str(REPO / "roster.txt")  # relative to the project
    assert mounts[1][0]["read_only"] is True
    assert default["environment"]["COURSE_ROSTER"] == ""  # not read: anyone may log in
    assert given["environment"]["COURSE_ROSTER"] == "/srv/course-roster.txt"


def start(student: Student) -> None:
    student.login()
    student.start_server(timeout=180)


PROBE = """
import json, os
def probe(paths):
    out = {"uid": os.getuid()}
    for p in paths:
        try:
            if os.path.isdir(p):
                os.listdir(p)
            else:
                open(p, "rb").read(1)
            out[p] = "readable"
        except PermissionError:
            out[p] = "denied"
        except FileNotFoundError:
            out[p] = "missing"
    return out
"""


def test_students_dask_processes_cannot_read_each_other(stack):
    alice, bob = stack.student("alice"), stack.student("bob")
    start(alice)
    start(bob)
    theirs = bob.api("POST", "/clusters", json={"workers": 0})
    assert theirs.status_code == 201, theirs.text
    mine = alice.api("POST", "/clusters", json={"session": "dask"})
    assert mine.status_code == 201, mine.text
    try:
        model = alice.wait_cluster(mine.json()["name"], 2, timeout=180)
        base = "/var/lib/dask-gateway"
        own = f"{base}/clusters/{model['name']}/.certs/dask.pem"
        other = f"{base}/clusters/{theirs.json()['name']}/.certs/dask.pem"
        paths = [
            own,
            other,
            f"{base}/clusters",
            f"{base}/gateway.sqlite",
            "/srv/secrets/gateway-api-token",
            f"/home/{bob.name}",
        ]
        out = alice.run_code(
            [
                model["connection_code"],
                PROBE + f"print(json.dumps(list(client.run(probe, {paths!r}).values())))",
            ]
        )
        results = json.loads(out[1].strip().splitlines()[-1])
        assert len(results) == 2  # both workers answered
        for r in results:
            assert r[own] == "readable"  # a student's own cluster credentials
            assert r[other] == "denied", r  # another student's: no
            assert r[f"{base}/clusters"] == "denied"  # nor even their names
            assert r[f"{base}/gateway.sqlite"] == "denied"
            assert r["/srv/secrets/gateway-api-token"] == "denied"
            assert r[f"/home/{bob.name}"] == "missing"  # no student home in the gateway
            assert r["uid"] != 0
        # In the notebook container: only the student's own home.
        listing = alice.run_code(["import os; print(sorted(os.listdir('/home')))"])[0]
        assert listing.strip() == "['jovyan']"
        # Bob's server is another container: his files are not even addressable.
        assert alice.api("GET", f"/clusters/{theirs.json()['name']}").status_code == 404
    finally:
        alice.api("DELETE", f"/clusters/{mine.json()['name']}")
        bob.api("DELETE", f"/clusters/{theirs.json()['name']}")


def test_each_student_logs_in_as_herself_only(stack):
    """Per-student accounts in compose: a classmate's name with one's own password,
    or the course password, opens nothing; one's own password does."""
    ada, ben = stack.student("ada"), stack.student("ben")
    attempts = (
        (ben.name, stack.passwords[ada.name]),  # a classmate's name, her own password
        (ben.name, PASSWORD),  # the course password of workshop mode
        (ada.name, PASSWORD),
    )
    for name, password in attempts:
        with pytest.raises(HubError, match="refused"):
            Student(stack.url, name, password).login()
    ada.login()
    assert ada.token
    r = requests.get(f"{stack.url}/hub/api/user", headers=ada.headers, timeout=30)
    assert r.status_code == 200 and r.json()["name"] == ada.name


def test_a_terminal_in_a_students_container_starts_in_the_course_environment(stack):
    """A real terminal (terminals API + websocket) in the student's container."""
    fay = stack.student("fay")
    start(fay)
    out = terminal_output(fay, CHECK)
    found = re.findall(r"CMD=(/[^\s\"]*)", out)
    assert found == [f"/opt/venv/bin/{c}" for c in COMMANDS], out
    assert "gateway-ok" in out, out


def test_health_check_passes(stack):
    cli = str(Path(sys.executable).parent / "course-hub")
    name = f"health{uuid.uuid4().hex[:6]}"
    password = stack.enroll(name)
    proc = subprocess.run(
        [cli, "health-check", stack.url, "--user", name, "--password", password],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Verdict: PASS" in proc.stdout
    print("\n" + proc.stdout)


def test_servers_kernels_and_clusters_survive_a_hub_restart(stack):
    dave = stack.student("dave")
    start(dave)
    path = dave.api("POST", "/sessions/dask/open").json()["open"]
    r = dave.api("POST", "/clusters", json={"workers": 1})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    try:
        model = dave.wait_cluster(name, 1, timeout=180)
        kernel = requests.post(
            f"{dave.server_url}/api/kernels", headers=dave.headers, json={}, timeout=60
        ).json()["id"]
        dave.run_code([model["connection_code"], "x = 41"], kernel_id=kernel)
        container = f"course-hub-{dave.name}"
        before = json.loads(docker("inspect", container).stdout)[0]

        t0 = time.monotonic()
        stack.compose("restart", "hub", timeout=300)
        stack.up()  # waits for the hub's health check
        stack.timings["hub restart to ready"] = time.monotonic() - t0

        after = json.loads(docker("inspect", container).stdout)[0]
        assert after["Id"] == before["Id"]  # the same container, never stopped
        assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
        assert after["State"]["Running"]
        # The same browser login, through the new proxy; the same kernel state.
        out = dave.run_code(
            ["print(x + 1, client.submit(sum, range(10)).result())"], kernel_id=kernel
        )
        assert out[0].strip() == "42 45"
        listed = dave.api("GET", "/clusters").json()["clusters"]
        assert [(c["name"], c["status"], c["workers"]) for c in listed] == [(name, "running", 1)]
        assert dave.contents(path)["type"] == "notebook"
    finally:
        dave.api("DELETE", f"/clusters/{name}")


def test_a_gateway_restart_loses_no_file_and_clusters_start_again(stack):
    """In compose, cluster processes live in the gateway container, so restarting
    it stops them (cleanly: stop_clusters_on_shutdown); nothing else is lost."""
    erin = stack.student("erin")
    start(erin)
    path = erin.api("POST", "/sessions/dask/open").json()["open"]
    nb = nbformat.from_dict(erin.contents(path)["content"])
    nb.cells[1].source = "# erin's notes\n" + nb.cells[1].source
    erin.save(path, {"type": "notebook", "format": "json", "content": nb})
    r = erin.api("POST", "/clusters", json={"workers": 0})
    assert r.status_code == 201, r.text
    old = r.json()["name"]

    t0 = time.monotonic()
    stack.compose("restart", "gateway", timeout=300)
    stack.up()
    stack.timings["gateway restart to ready"] = time.monotonic() - t0

    deadline = Deadline(60, "the sidebar to reach the restarted gateway")
    while deadline:
        listing = erin.api("GET", "/clusters")
        if listing.status_code == 200:
            break
        assert listing.json()["reason"] == "gateway-unreachable", listing.text
        time.sleep(1)
    else:
        deadline.fail(listing.text)
    running = [c["name"] for c in listing.json()["clusters"] if c["status"] == "running"]
    assert old not in running
    r = erin.api("POST", "/clusters", json={"workers": 0})
    assert r.status_code == 201, r.text
    assert erin.api("DELETE", f"/clusters/{r.json()['name']}").status_code == 204
    kept = nbformat.from_dict(erin.contents(path)["content"])
    assert kept.cells[1].source.startswith("# erin's notes\n")


#: In the student's kernel: what the client, the scheduler and each worker run.
VERSIONS = """
import json, socket, warnings
with warnings.catch_warnings(record=True) as mismatch:
    warnings.simplefilter("always")
    versions = client.get_versions(check=True, packages=["dask-gateway", "pyarrow"])
print(json.dumps({
    "client": versions["client"]["packages"],
    "scheduler": versions["scheduler"]["packages"],
    "workers": [w["packages"] for w in versions["workers"].values()],
    "mismatch": [str(w.message) for w in mismatch],
    "hosts": {
        "client": socket.gethostname(),
        "scheduler": client.run_on_scheduler(socket.gethostname),
        "workers": sorted(set(client.run(socket.gethostname).values())),
    },
}))
"""


def locked(name: str) -> str:
    lock = (REPO / "requirements/base.lock").read_text()
    m = re.search(rf"^{re.escape(name)}==(\S+)", lock, re.M)
    assert m, name
    return m.group(1)


def assert_cluster_runs_the_notebook_environment(report: dict) -> None:
    """The scheduler and workers (in the gateway container) and the notebook
    (in the student's container) run the same versions: they cannot drift."""
    hosts = report["hosts"]
    assert hosts["scheduler"] != hosts["client"]  # two containers, really
    assert hosts["workers"] == [hosts["scheduler"]]  # the gateway's
    assert report["mismatch"] == []  # distributed's own check
    assert len(report["workers"]) == 2
    for side in (report["scheduler"], *report["workers"]):
        assert side == report["client"]
    for package in ("dask", "distributed", "dask-gateway"):
        assert report["client"][package] == locked(package), package


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_hand_in_through_the_containers_without_the_answer_key(stack):
    """The evaluation, as a student syncs and hands it in from her container:
    no solution reaches it; the hand-in lands in the course service (hub
    container, hub-data volume) byte for byte; the gateway's presets come from
    the service too (the single-user image holds no course)."""
    eve = stack.student("eve")
    start(eve)
    r = eve.api("POST", "/sessions/evaluation/open")
    assert r.status_code == 200, r.text
    container = f"course-hub-{eve.name}"
    patterns = "\n".join(solution_texts()) + "\n"
    # A control file that holds one solution line, written as she would: the
    # search must find it, so an empty answer means "nowhere else she can read".
    control = "/tmp/canary-control.txt"
    subprocess.run(
        ["docker", "exec", "-i", container, "tee", control],
        input=solution_texts()[0] + "\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = subprocess.run(
        ["docker", "exec", "-i", container, "grep", "-rlsF", "--exclude-dir=proc",
         "--exclude-dir=sys", "--exclude-dir=dev", "-f", "-", "/"],
        input=patterns, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    docker("exec", container, "rm", "-f", control)
    # Her whole container as she reads it (the image, her home with its git
    # objects, caches; exit 2: files she may not read, which she cannot open
    # either): the control file, and nothing else.
    assert found.returncode in (0, 2) and found.stdout.split() == [control], (
        f"solutions in her container: {found.stdout}"
    )
    options = eve.api("GET", "/cluster-options").json()["fields"]
    assert {"dask", "evaluation"} <= set(options[0]["options"]), options  # from the service

    path = "/home/jovyan/course/evaluation/01-taxi-fare.ipynb"
    t0 = time.monotonic()
    r = eve.api("POST", "/sessions/evaluation/handin", json={"notebook": "01-taxi-fare.ipynb"})
    stack.timings["hand-in"] = time.monotonic() - t0
    assert r.status_code == 201, r.text
    receipt = r.json()
    sent = docker("exec", container, "cat", path).stdout.encode()
    assert receipt["sha256"] == sha256(sent) and receipt["size"] == len(sent)
    assert receipt["late"] is False and receipt["user"] == eve.name
    # The teacher, straight to the service through the hub's proxy.
    teacher = {"Authorization": f"token {stack.admin_token}"}
    api = f"{stack.url}/services/course/api/sessions/evaluation"
    listed = requests.get(f"{api}/handins", headers=teacher, timeout=60).json()["handins"]
    assert [h["id"] for h in listed if h["user"] == eve.name] == [receipt["id"]]
    r = requests.get(f"{api}/handins.zip", headers=teacher, timeout=60)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.read(f"{eve.name}/01-taxi-fare.ipynb") == sent
    # Stored on the hub-data volume, content-addressed.
    stored = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{PROJECT}_hub-data:/d:ro", "--entrypoint", "find",
         HUB, "/d/course-service", "-name", receipt["sha256"]],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(stored) == 1, stored
    stack.handin = (eve.name, receipt)


def test_full_flow_then_down_and_up_keeps_the_work(stack):
    carol = stack.student("carol")
    t0 = time.monotonic()
    start(carol)
    stack.timings["login to server (container)"] = time.monotonic() - t0
    # The student's container: the single-user image, uid 1000, with its limits.
    info = json.loads(docker("inspect", f"course-hub-{carol.name}").stdout)[0]
    assert info["Config"]["User"] in ("1000", "")
    assert info["HostConfig"]["Memory"] == 2 * 1024**3  # STUDENT_MEM_LIMIT
    host = info["HostConfig"]
    cpus = host["NanoCpus"] / 1e9 or host["CpuQuota"] / host["CpuPeriod"]
    assert cpus == 1.0
    mounts = {m["Destination"]: m["Name"] for m in info["Mounts"] if m["Type"] == "volume"}
    assert mounts == {"/home/jovyan": f"course-hub-home-{carol.name}"}
    r = carol.api("POST", "/sessions/dask/open")
    assert r.status_code == 200, r.text
    path = r.json()["open"]
    nb = nbformat.from_dict(carol.contents(path)["content"])
    nb.cells[1].source = "# carol's own notes\n" + nb.cells[1].source
    carol.save(path, {"type": "notebook", "format": "json", "content": nb})

    t0 = time.monotonic()
    r = carol.api("POST", "/clusters", json={"session": "dask"})
    assert r.status_code == 201, r.text
    model = carol.wait_cluster(r.json()["name"], 2, timeout=180)
    stack.timings["cluster to 2 workers"] = time.monotonic() - t0
    out = carol.run_code(
        [
            model["connection_code"],
            "print(client.submit(sum, range(10)).result())",
            VERSIONS,
        ]
    )
    assert out[1].strip() == "45"
    assert_cluster_runs_the_notebook_environment(json.loads(out[2].strip().splitlines()[-1]))
    gateway = stack.compose("ps", "-q", "gateway").stdout.strip()
    images = {
        json.loads(docker("inspect", c).stdout)[0]["Image"]
        for c in (gateway, f"course-hub-{carol.name}")
    }
    assert images == {json.loads(docker("image", "inspect", SINGLEUSER).stdout)[0]["Id"]}
    assert carol.api("DELETE", f"/clusters/{model['name']}").status_code == 204
    assert carol.api("GET", "/clusters").json()["clusters"] == []

    stack.timings["compose down"] = stack.down()
    # The janitor stopped and removed every student's container with the stack.
    for name in stack.students:
        assert docker("ps", "-aq", "--filter", f"name=^course-hub-{name}$").stdout.strip() == ""
    stack.timings["compose up to ready (restart)"] = stack.up()

    again = Student(stack.url, carol.name, carol.password)  # her account outlived down/up
    start(again)
    kept = nbformat.from_dict(again.contents(path)["content"])
    assert kept.cells[1].source.startswith("# carol's own notes\n")
    report = again.api("POST", "/sessions/dask/open").json()
    assert report["kept"] == [path]


# Kills the course service's process in the hub container (the pattern is split
# so that this command's own command line does not match it).
KILL_SERVICE = (
    "import os, signal\n"
    "for p in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        cmd = open(f'/proc/{p}/cmdline', 'rb').read()\n"
    "    except OSError:\n"
    "        continue\n"
    "    if b'course_hub.' + b'service' in cmd:\n"
    "        os.kill(int(p), signal.SIGKILL); print('killed', p)\n"
)


def test_zx_hand_ins_outlive_a_service_kill_and_a_hub_restart(stack):
    """The course service killed alone (the hub starts it again), then the hub
    container restarted: the hand-in is listed and downloads byte for byte."""
    assert stack.handin, "no hand-in was made above"
    name, receipt = stack.handin
    teacher = {"Authorization": f"token {stack.admin_token}"}
    api = f"{stack.url}/services/course/api"

    def listed() -> list[dict] | None:
        try:
            r = requests.get(f"{api}/sessions/evaluation/handins", headers=teacher, timeout=30)
        except requests.RequestException:
            return None
        return [h for h in r.json()["handins"] if h["user"] == name] if r.ok else None

    killed = stack.compose("exec", "-T", "hub", "python", "-c", KILL_SERVICE).stdout
    assert "killed" in killed, killed
    t0 = time.monotonic()
    deadline = Deadline(120, "the hub to start the course service again")
    while deadline and listed() is None:
        time.sleep(1)
    stack.timings["course service killed to answering again"] = time.monotonic() - t0
    assert listed() == [receipt]
    stack.compose("restart", "hub", timeout=300)
    deadline = Deadline(180, "the course service after a hub restart")
    while deadline and listed() is None:
        time.sleep(1)
    assert listed() == [receipt]
    r = requests.get(f"{api}/handins/{receipt['id']}", headers=teacher, timeout=60)
    assert r.status_code == 200 and sha256(r.content) == receipt["sha256"]


def test_zy_hand_ins_outlive_down_and_up(stack):
    """After `docker compose down` and `up` (the full flow above), the hand-in is there."""
    assert stack.handin, "no hand-in was made above"
    name, receipt = stack.handin
    teacher = {"Authorization": f"token {stack.admin_token}"}
    api = f"{stack.url}/services/course/api"
    listed = requests.get(
        f"{api}/sessions/evaluation/handins", headers=teacher, timeout=60
    ).json()["handins"]
    assert [h for h in listed if h["user"] == name] == [receipt]
    r = requests.get(f"{api}/handins/{receipt['id']}", headers=teacher, timeout=60)
    assert r.status_code == 200 and sha256(r.content) == receipt["sha256"]


def test_zz_no_secret_in_the_logs(stack):
    """Passwords and tokens never reach the services' logs (init prints generated
    passwords once, by design; these were given, so it printed none)."""
    secrets = [PASSWORD, ADMIN_PASSWORD, *stack.passwords.values()]
    for name in ("proxy-token", "gateway-api-token", "cookie-secret", "gateway-encrypt-key"):
        proc = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{PROJECT}_secrets:/s:ro", "--entrypoint", "cat",
             HUB, f"/s/{name}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        secrets.append(proc.stdout.strip())
        mode = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{PROJECT}_secrets:/s:ro", "--entrypoint", "stat",
             HUB, "-c", "%a %U", f"/s/{name}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert mode == ["600", "root"], (name, mode)
    logs = stack.logs()
    assert len(logs) > 2_000
    assert [s for s in secrets if len(s) >= 8 and s in logs] == []
