"""Per-student limits, enforced by the gateway: 409 and a sentence, nothing half started."""

from __future__ import annotations

import asyncio
import base64
import copy
import time
import uuid
from collections import defaultdict
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest
from aiohttp import web
from dask_gateway import BasicAuth, Gateway
from dask_gateway.client import GatewayClusterError
from dask_gateway_server.models import User
from dask_gateway_server.utils import Flag
from dask_gateway_server.workqueue import WorkQueue
from kubernetes_asyncio.client.rest import ApiException
from traitlets.config import Config

from course_hub.content import GitSource
from course_hub.hub.gateway import LiveClusterOptions
from course_hub.hub.kube import LimitedKubeBackend
from course_hub.hub.limits import StudentLimits

from .conftest import mini_server_config, serve_as_alice, start_gateway
from .helpers import call
from .test_git_source import teacher_repo  # noqa: F401


@pytest.fixture
def gateway(jp_asyncio_loop, mini_course):
    c = Config()
    c.StudentLimits.max_clusters = 2
    c.ClusterConfig.scheduler_cores = 1
    c.StudentLimits.max_cores = 3  # schedulers count: 1 core each by default
    c.StudentLimits.max_memory_gib = 64
    info = start_gateway(jp_asyncio_loop, mini_course, c)
    yield from serve_as_alice(jp_asyncio_loop, info)


@pytest.fixture
def jp_server_config(mini_course, gateway, cache_dir):
    return mini_server_config(mini_course, gateway, cache_dir)


async def active(gateway, user="alice"):
    async with Gateway(
        address=gateway.address, proxy_address=gateway.proxy_address,
        auth=BasicAuth(username=user), asynchronous=True,
    ) as gw:  # fmt: skip
        return [c.name for c in await gw.list_clusters()]


async def test_cores_across_clusters(jp_fetch, gateway):
    # Scheduler (1 core) + 2 workers x 1 core: all of the 3 cores.
    status, first = await call(jp_fetch, "POST", "clusters", body={"session": "dask"})
    assert status == 201, first
    # Even a second scheduler would not fit.
    status, reply = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    assert status == 409, reply
    assert reply["reason"] == "limit"
    assert reply["message"] == (
        "Limit reached: your clusters may use 3 cores in all and this would make 4. "
        "Scale a cluster down or stop one, then try again."
    )
    assert await active(gateway) == [first["name"]]  # nothing half started
    # Scaling or adapting the first one beyond the budget is refused; within it, fine.
    status, reply = await call(jp_fetch, "PATCH", f"clusters/{first['name']}", body={"workers": 3})
    assert status == 409 and reply["reason"] == "limit", reply
    status, reply = await call(
        jp_fetch,
        "PATCH",
        f"clusters/{first['name']}",
        body={"adaptive": {"minimum": 0, "maximum": 9}},
    )
    assert status == 409, reply
    status, reply = await call(jp_fetch, "PATCH", f"clusters/{first['name']}", body={"workers": 1})
    assert status == 200, reply
    # Now a second cluster's scheduler fits; its preset's two workers would not.
    status, reply = await call(jp_fetch, "POST", "clusters", body={"session": "dask"})
    assert status == 409 and "would make 5" in reply["message"], reply
    assert await active(gateway) == [first["name"]]
    await call(jp_fetch, "DELETE", f"clusters/{first['name']}")


async def test_clusters_at_once(jp_fetch, gateway):
    names = []
    for _ in range(2):
        status, model = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
        assert status == 201, model
        names.append(model["name"])
    status, reply = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    assert status == 409
    assert "you may have 2 cluster(s) at once and you have 2" in reply["message"]
    # Another student is not counted against alice.
    async with Gateway(
        address=gateway.address, proxy_address=gateway.proxy_address,
        auth=BasicAuth(username="bob"), asynchronous=True,
    ) as bob:  # fmt: skip
        theirs = await bob.submit()
        await bob.stop_cluster(theirs)
    for name in names:
        await call(jp_fetch, "DELETE", f"clusters/{name}")
    status, model = await call(jp_fetch, "POST", "clusters", body={"workers": 0})
    assert status == 201  # stopping frees the places
    await call(jp_fetch, "DELETE", f"clusters/{model['name']}")


async def test_a_burst_through_the_course_api(jp_fetch, gateway):
    """The issue's reproduction: 20 ``POST /course/api/clusters`` at once by one
    student (max_clusters 2): 2 created, 18 refused with the limit sentence."""
    out, seconds = await burst(
        call(jp_fetch, "POST", "clusters", body={"workers": 0}) for _ in range(20)
    )
    statuses = sorted(status for status, _ in out)
    print(f"20 concurrent POST clusters -> {statuses.count(201)} x 201, "
          f"{statuses.count(409)} x 409, {seconds:.1f} s")  # fmt: skip
    assert statuses == [201] * 2 + [409] * 18, out
    for status, reply in out:
        if status == 409:
            assert reply["reason"] == "limit", reply
            assert "you may have 2 cluster(s) at once and you have 2" in reply["message"]
    created = [reply["name"] for status, reply in out if status == 201]
    assert sorted(await active(gateway)) == sorted(created)
    for name in created:
        await call(jp_fetch, "DELETE", f"clusters/{name}")


def test_teachers_have_their_own_limits():
    limits = StudentLimits(max_clusters=1, admin_max_clusters=None, admin_max_cores=40)
    assert limits.limits_for("ada", teacher=False) == (1, 8.0, 16.0)
    assert limits.limits_for("teacher", teacher=True) == (None, 40.0, None)
    assert limits._check("ada", False, cores=9, memory=0).startswith("Limit reached")
    assert limits._check("teacher", True, cores=39, memory=10**12) is None


def test_a_teacher_is_an_admin_or_in_the_teachers_group(monkeypatch):
    """The course service's rule, from the same variables: a teacher in the group
    who is not a hub admin gets the teachers' limits, a student does not."""
    for name in ("COURSE_SERVICE_TEACHER_GROUP", "COURSE_TEACHER_GROUP"):
        monkeypatch.delenv(name, raising=False)
    limits = StudentLimits()
    assert limits.teacher_group == "teachers"
    assert limits.is_teacher(User("admin", admin=True))
    assert limits.is_teacher(User("tom", groups=["teachers", "x"]))
    assert not limits.is_teacher(User("ada", groups=["students"]))
    assert not limits.is_teacher(None)  # no request: a student's limits
    monkeypatch.setenv("COURSE_TEACHER_GROUP", "staff")
    assert StudentLimits().teacher_group == "staff"
    monkeypatch.setenv("COURSE_SERVICE_TEACHER_GROUP", "profs")
    limits = StudentLimits()
    assert limits.is_teacher(User("tom", groups=["profs"]))
    assert not limits.is_teacher(User("tom", groups=["teachers"]))


# --- Bursts: many requests at once by one student (issue 12, part 2) -------------


def git_gateway_with(loop, teacher_repo, tmp_path, **limits):  # noqa: F811
    """The in-process gateway with the options the hub builds from a teacher's git
    repository (``LiveClusterOptions`` + ``GitSource``): refreshing it runs git in a
    thread, so each start waits there, between the usage check and the start, as on
    a real hub; without the per-student lock 20 of 20 starts passed. Schedulers: 1
    core and 2 GiB each; ``limits``: the ``StudentLimits``. Yields, then stops it."""
    c = Config()
    c.ClusterConfig.scheduler_cores = 1
    c.ClusterConfig.scheduler_memory = "2 G"
    c.ClusterConfig.worker_cores = 1
    for name, value in limits.items():
        setattr(c.StudentLimits, name, value)
    c.Backend.cluster_options = LiveClusterOptions(
        GitSource(
            f"file://{teacher_repo}",
            "term-1",
            cache_dir=tmp_path / "gateway-content",
            refresh_interval=0.0,
        )
    )
    info = start_gateway(loop, teacher_repo / "course", c)
    yield info
    loop.run_until_complete(info.app.cleanup())


@pytest.fixture
def git_gateway(jp_asyncio_loop, teacher_repo, tmp_path):  # noqa: F811
    """Clusters and cores bind: 2 clusters, 3 cores, memory far off (64 GiB)."""
    yield from git_gateway_with(
        jp_asyncio_loop, teacher_repo, tmp_path, max_clusters=2, max_cores=3, max_memory_gib=64
    )


@pytest.fixture
def memory_gateway(jp_asyncio_loop, teacher_repo, tmp_path):  # noqa: F811
    """Only memory binds: 5 GiB (two 2 GiB schedulers fit, a third would not);
    10 clusters and 100 cores far off."""
    yield from git_gateway_with(
        jp_asyncio_loop, teacher_repo, tmp_path, max_clusters=10, max_cores=100, max_memory_gib=5
    )


#: The refusal when a third 2 GiB scheduler would pass the 5 GiB limit.
MEMORY_REFUSAL = (
    "Limit reached: your clusters may use 5 GiB in all and this would make 6.0 GiB. "
    "Scale a cluster down or stop one, then try again."
)


@asynccontextmanager
async def gateway_as(info, user: str):
    async with Gateway(
        address=info.address, proxy_address=info.proxy_address,
        auth=BasicAuth(username=user), asynchronous=True,
    ) as gw:  # fmt: skip
        yield gw


async def burst(calls) -> tuple[list, float]:
    """Run the calls at once: (each one's result or exception, in order; seconds)."""
    t0 = time.monotonic()
    out = await asyncio.gather(*calls, return_exceptions=True)
    return out, time.monotonic() - t0


def split(out: list) -> tuple[list, list[Exception]]:
    errors = [r for r in out if isinstance(r, Exception)]
    return [r for r in out if not isinstance(r, Exception)], errors


async def test_a_burst_of_new_clusters_leaves_max_clusters(git_gateway):
    async with gateway_as(git_gateway, "alice") as gw:
        out, seconds = await burst(gw.submit() for _ in range(20))
        names, errors = split(out)
        print(
            f"20 concurrent submit -> {len(names)} created, {len(errors)} x 409, {seconds:.1f} s"
        )
        assert len(names) == 2, (names, errors)
        assert len(errors) == 18
        for exc in errors:
            assert isinstance(exc, GatewayClusterError), exc
            assert str(exc) == (
                "Limit reached: you may have 2 cluster(s) at once and you have 2. "
                "Stop one (Course panel: Stop), then try again."
            )
        assert sorted(c.name for c in await gw.list_clusters()) == sorted(names)
        assert git_gateway.app.backend._course_pending["alice"] == {}  # reported: released
        for name in names:
            await gw.stop_cluster(name)


async def test_a_burst_of_new_clusters_stops_at_the_memory_limit(memory_gateway):
    """20 submits at once where memory alone binds: exactly 2 clusters (4 of 5
    GiB), 18 refused with the memory sentence, nothing half started."""
    async with gateway_as(memory_gateway, "alice") as gw:
        out, seconds = await burst(gw.submit() for _ in range(20))
        names, errors = split(out)
        print(f"20 concurrent submit, 5 GiB -> {len(names)} created, {seconds:.1f} s")
        assert len(names) == 2 and len(errors) == 18, (names, errors)
        for exc in errors:
            assert isinstance(exc, GatewayClusterError), exc
            assert str(exc) == MEMORY_REFUSAL
        assert sorted(c.name for c in await gw.list_clusters()) == sorted(names)
        assert memory_gateway.app.backend._course_pending["alice"] == {}
        with pytest.raises(GatewayClusterError) as refused:
            await gw.submit()  # counted from the list now, not from reservations
        assert str(refused.value) == MEMORY_REFUSAL
        for name in names:
            await gw.stop_cluster(name)


async def test_a_burst_of_scale_requests_stays_within_the_cores(git_gateway):
    """Two clusters (2 schedulers of 1 core: 2 of alice's 3 cores), then 20 scale
    requests to 1 worker at once, 10 per cluster: one worker fits, two would not."""
    backend = git_gateway.app.backend
    async with gateway_as(git_gateway, "alice") as gw:
        a, b = await gw.submit(), await gw.submit()
        clusters = [await gw.connect(a), await gw.connect(b)]  # running: scale reaches them
        names = [a, b] * 10
        out, seconds = await burst(gw.scale_cluster(n, 1) for n in names)
        _, errors = split(out)
        failed = [n for n, r in zip(names, out, strict=True) if isinstance(r, Exception)]
        print(
            f"20 concurrent scale -> {20 - len(errors)} ok, {len(errors)} x 409, {seconds:.1f} s"
        )
        assert len(errors) == 10, errors
        assert all(isinstance(e, GatewayClusterError) for e in errors), errors
        assert str(errors[0]) == (
            "Limit reached: your clusters may use 3 cores in all and this would make 4. "
            "Scale a cluster down or stop one, then try again."
        )
        assert len(set(failed)) == 1  # all refusals for the cluster served second
        # What really runs: one worker in all, once the schedulers have acted.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            workers = sum(len(backend.schedulers[n].workers) for n in (a, b))
            if workers == 1:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # and it stays so
        assert sum(len(backend.schedulers[n].workers) for n in (a, b)) == 1
        for cluster in clusters:
            await cluster.shutdown()


# --- Kubernetes: the real LimitedKubeBackend, the API server stood in for ---------


class StandInKubernetes:
    """Stands in for the Kubernetes API server, the dask-gateway controller and the
    watch behind the backend's ``Informer``: nothing else.

    ``create_namespaced_custom_object`` / ``patch_namespaced_custom_object`` keep the
    DaskCluster object; ``lag`` seconds later the "watch" puts it in the informer's
    cache (``get``) and calls the backend's ``on_cluster_event``, as the real
    informer does, with the phase the controller would set. Until then the real
    ``KubeBackend.list_clusters`` does not know the cluster: the window a burst used.
    With ``running`` the controller has started it: phase Running, its scheduler
    Service and its credentials Secret (``read_namespaced_secret``), API token in
    ``tokens``, as the controller makes them.
    """

    def __init__(self, lag: float, fail_creates: int = 0, running: bool = False) -> None:
        self.lag = lag
        self.fail_creates = fail_creates
        self.running = running
        self.backend = None
        self.seen: dict[str, dict] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, str] = {}

    def get(self, key: str, default=None):  # Informer.get
        return self.seen.get(key, default)

    async def create_namespaced_custom_object(self, group, version, namespace, plural, obj):
        if self.fail_creates:
            self.fail_creates -= 1
            raise ApiException(status=500, reason="stand-in: create refused")
        obj = copy.deepcopy(obj)
        obj["metadata"].update(namespace=namespace, creationTimestamp="2026-12-03T20:00:00Z")
        obj["status"] = {"phase": "Pending"}
        if self.running:
            name = obj["metadata"]["name"]
            token = uuid.uuid4().hex
            self.tokens[f"{namespace}.{name}"] = token
            self.secrets[f"dask-credentials-{name}"] = {
                k: base64.b64encode(v.encode()).decode()
                for k, v in {"dask.crt": "cert", "dask.pem": "key", "api-token": token}.items()
            }
            obj["status"] = {
                "phase": "Running",
                "service": f"dask-{name}",
                "credentials": f"dask-credentials-{name}",
            }
        self._watch(obj)
        return obj

    async def read_namespaced_secret(self, name, namespace):
        return SimpleNamespace(data=self.secrets[name])

    async def patch_namespaced_custom_object(self, group, version, namespace, plural, name, patch):
        obj = copy.deepcopy(self.seen[f"{namespace}.{name}"])
        obj["status"] = {"phase": "Stopped", "completionTime": "2026-12-03T20:01:00Z"}
        self._watch(obj)

    def _watch(self, obj: dict) -> None:
        def deliver() -> None:
            self.seen[self.backend.get_cluster_name(obj)] = obj
            self.backend.on_cluster_event(obj)

        asyncio.get_running_loop().call_later(self.lag, deliver)


@asynccontextmanager
async def kube_backend(
    lag: float, fail_creates: int = 0, backend_class=LimitedKubeBackend, running=False, **limits
):
    """The real ``LimitedKubeBackend`` (limits, start/stop, informer event handling,
    ``sync_cluster``, ``list_clusters``, ``get_cluster`` all upstream's and ours), set
    up as ``KubeBackend.setup`` does but with :class:`StandInKubernetes` for its
    Kubernetes clients and informer."""
    backend = backend_class(gateway_instance="test", **limits)
    kube = StandInKubernetes(lag, fail_creates, running)
    kube.backend = backend
    backend.custom_client = backend.core_client = backend.informer = kube
    backend.cluster_waiters = defaultdict(Flag)
    backend.clusters = {}
    backend.username_to_clusters = defaultdict(dict)
    backend.queue = WorkQueue()
    backend.sync_task = asyncio.ensure_future(backend.sync_clusters_loop())
    try:
        yield backend
    finally:
        backend.queue.close()
        await backend.sync_task


async def until(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        await asyncio.sleep(0.05)


async def test_kubernetes_reservations_cover_the_informer_lag():
    """20 starts at once while the informer lags 2 s: 2 clusters, then the limit holds
    once they are listed, and a failed start gives its place back."""
    ada = User("ada")
    async with kube_backend(lag=2.0, max_clusters=2) as backend:
        out, seconds = await burst(backend.start_cluster(ada, {}) for _ in range(20))
        listed = await backend.list_clusters("ada")
        names, errors = split(out)
        print(
            f"kube, 2 s lag: 20 concurrent -> {len(names)} created, {len(errors)} x 409, {seconds:.2f} s"
        )
        assert len(names) == 2, out
        assert all(isinstance(e, web.HTTPConflict) for e in errors) and len(errors) == 18
        assert "you may have 2 cluster(s) at once and you have 2" in errors[0].reason
        assert listed == []  # the informer had not seen them yet
        await until(lambda: len(backend.clusters) == 2, "the informer to report both")
        assert sorted(c.name for c in await backend.list_clusters("ada")) == sorted(names)
        with pytest.raises(web.HTTPConflict):
            await backend.start_cluster(ada, {})
        assert backend._course_pending["ada"] == {}  # reported: counted from the list
        # Stopped (once the informer says so) frees a place.
        await backend.stop_cluster(names[0])
        stopped = backend.clusters[names[0]]
        await until(lambda: backend.clusters[names[0]] is not stopped, "the informer to report it")
        assert len(await backend.start_cluster(ada, {})) > 0


async def test_kubernetes_reservations_count_cores_and_failed_starts():
    ada = User("ada")
    async with kube_backend(lag=1.0, fail_creates=1, max_clusters=10, max_cores=3) as backend:
        with pytest.raises(ApiException):
            await backend.start_cluster(ada, {})
        assert backend._course_pending["ada"] == {}  # the failed start gave its place back
        # KubeClusterConfig: 1 core per scheduler; 3 cores: 3 clusters.
        out, _ = await burst(backend.start_cluster(ada, {}) for _ in range(20))
        names, errors = split(out)
        print(f"kube, 1 s lag, 3 cores: 20 concurrent -> {len(names)} created")
        assert len(names) == 3 and len(errors) == 17, out
        assert "may use 3 cores in all and this would make 4" in errors[0].reason


async def test_kubernetes_reservations_count_memory():
    """Memory alone binds (KubeClusterConfig: 2 GiB per scheduler; 5 GiB, 100
    cores, 10 clusters): 20 starts at once while the informer lags 1 s: exactly 2,
    before and after the informer reports them."""
    ada = User("ada")
    limits = {"max_clusters": 10, "max_cores": 100, "max_memory_gib": 5}
    async with kube_backend(lag=1.0, **limits) as backend:
        out, _ = await burst(backend.start_cluster(ada, {}) for _ in range(20))
        names, errors = split(out)
        print(f"kube, 1 s lag, 5 GiB: 20 concurrent -> {len(names)} created")
        assert len(names) == 2 and len(errors) == 18, out
        assert all(isinstance(e, web.HTTPConflict) for e in errors), errors
        assert {e.reason for e in errors} == {MEMORY_REFUSAL}
        assert await backend.list_clusters("ada") == []  # all from reservations
        await until(lambda: len(backend.clusters) == 2, "the informer to report both")
        with pytest.raises(web.HTTPConflict) as refused:
            await backend.start_cluster(ada, {})
        assert refused.value.reason == MEMORY_REFUSAL
        assert backend._course_pending["ada"] == {}


async def test_an_adaptive_cluster_counts_at_its_maximum(git_gateway):
    """Adapting may grow the cluster at any time: its maximum is reserved, so
    another cluster cannot take the same core meanwhile."""
    async with gateway_as(git_gateway, "alice") as gw:
        a, b = await gw.submit(), await gw.submit()
        clusters = [await gw.connect(a), await gw.connect(b)]
        await gw.adapt_cluster(a, minimum=0, maximum=1)  # 2 schedulers + 1: 3 cores
        with pytest.raises(GatewayClusterError, match="this would make 4"):
            await gw.scale_cluster(b, 1)
        await gw.scale_cluster(a, 0)  # a fixed size again: the core is free
        await gw.scale_cluster(b, 1)
        for cluster in clusters:
            await cluster.shutdown()


async def test_kubernetes_reservation_ends_after_its_timeout():
    """A cluster the informer never reports stops counting after
    ``reservation_timeout`` (a student is not blocked for good)."""
    ada = User("ada")
    async with kube_backend(lag=3600, max_clusters=1, reservation_timeout=0.5) as backend:
        await backend.start_cluster(ada, {})
        with pytest.raises(web.HTTPConflict):
            await backend.start_cluster(ada, {})
        await asyncio.sleep(0.6)
        await backend.start_cluster(ada, {})
