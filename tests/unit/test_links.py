"""Links a student's browser opens (issue 15, point 4), without a hub: the
LocalCluster dashboard link each deployment sets, the proxied redirects that
keep the prefix, the Spark card's link. tests/e2e/test_terminal_links.py and
tests/browser/test_links.py check them on the real hub."""

from __future__ import annotations

import dask
import pytest
from distributed.utils import format_dashboard_link
from tornado.httputil import HTTPHeaders

from course_hub.hub.wiring import DASHBOARD_LINK, gateway_environment
from course_hub.proxy_redirects import keep_prefix
from course_hub.spark_link import _with_link, proxied

from .test_daskhub import hub_config_after_snippets, rendered


def test_local_and_compose_servers_get_the_dashboard_link(monkeypatch):
    env = gateway_environment("127.0.0.1:8003", "127.0.0.1:8004")
    assert env["DASK_DISTRIBUTED__DASHBOARD__LINK"] == DASHBOARD_LINK
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    with dask.config.set({"distributed.dashboard.link": DASHBOARD_LINK}):
        assert format_dashboard_link("127.0.0.1", 8787) == "/user/ada/proxy/8787/status"


def test_the_charts_servers_get_it_through_kubespawner():
    from kubespawner import KubeSpawner

    values = rendered("class", host="hub.example.org")
    c = hub_config_after_snippets(values, {"HELM_RELEASE_NAME": "course", "POD_NAMESPACE": "sdd"})
    link = c.KubeSpawner.environment["DASK_DISTRIBUTED__DASHBOARD__LINK"]

    class User:
        name = "ada"
        id = 1
        url = "/user/ada/"

    # A KubeSpawner without a Kubernetes client (its __init__ wants a kube config).
    spawner = KubeSpawner.__new__(KubeSpawner)
    spawner.user = User()
    # KubeSpawner.get_env: the hub calls functions; KubeSpawner then formats the
    # strings with its own names ({username}...), where dask's {port} is unknown.
    assert spawner._expand_env({"X": link}) == {}  # a function's value is left alone
    with pytest.raises(KeyError):
        spawner._expand_env({"X": DASHBOARD_LINK})
    value = link(spawner)
    with dask.config.set({"distributed.dashboard.link": value}):
        assert format_dashboard_link("127.0.0.1", 8787) == "/user/ada/proxy/8787/status"


class Response:
    def __init__(self, code: int, location: str) -> None:
        self.code = code
        self.headers = HTTPHeaders({"Location": location})


class Request:
    host = "hub.example.org"


@pytest.mark.parametrize(
    ("code", "location", "expected"),
    [
        (302, "http://hub.example.org/jobs/", "/jobs/"),  # Jetty: the browser's host
        (302, "http://HUB.example.org/jobs/?id=1#x", "/jobs/?id=1"),
        (301, "http://hub.example.org", "/"),
        (302, "/jobs/", "/jobs/"),  # jupyter-server-proxy prefixes it itself
        (302, "https://elsewhere.example.org/", "https://elsewhere.example.org/"),
        (200, "http://hub.example.org/jobs/", "http://hub.example.org/jobs/"),
    ],
)
def test_redirects_to_the_browsers_host_become_paths(code, location, expected):
    response = Response(code, location)
    keep_prefix(response, Request())
    assert response.headers["Location"] == expected


def test_the_spark_card_links_through_the_server(monkeypatch):
    card = '<p><a href="http://localhost:4040">Spark UI</a></p>'
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert _with_link(card, "http://localhost:4040") == card  # outside a hub: Spark's own
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert proxied("http://localhost:4041") == "/user/ada/proxy/4041/jobs/"
    assert _with_link(card, "http://localhost:4040") == (
        '<p><a href="/user/ada/proxy/4040/jobs/" target="_blank">Spark UI</a></p>'
    )
    assert _with_link(None, "http://localhost:4040") is None
