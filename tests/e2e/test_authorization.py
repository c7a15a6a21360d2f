"""Authorization on the real hub, not only authentication.

- A student shares her server read-only with a classmate (JupyterHub 5's
  shares API): he may look at her course API, never start, scale or stop her
  clusters, open sessions, write files or start kernels; a share with the
  write scope lets him act.
- A Dask dashboard opens for its cluster's owner (through her own server) and
  for teachers, never for a classmate, whether through his own server or
  straight at the gateway's HTTP port; its bokeh websocket works.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
import websocket

from course_hub.handlers import REFUSED

from ..hubclient import Student
from .conftest import ADMIN_PASSWORD, cmdline

WRITE_SCOPE = "custom:jupyter_server:write:*"


def gateway_http(hub) -> str:
    """The gateway's HTTP port (the hub's port + 3, see course_hub.hub.local)."""
    return f"http://127.0.0.1:{int(hub.url.rsplit(':', 1)[1]) + 3}/services/dask-gateway"


def share(owner: Student, guest: Student, scopes: list[str] | None = None) -> dict:
    body: dict = {"user": guest.name}
    if scopes:
        body["scopes"] = [f"{s}!server={owner.name}/" for s in scopes]
    r = owner.hub_api("POST", f"/shares/{owner.name}/", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def unshare(owner: Student) -> None:
    r = owner.hub_api("DELETE", f"/shares/{owner.name}/")
    assert r.status_code in (200, 204), r.text


def fresh_headers(student: Student) -> dict[str, str]:
    """A new API token of ``student``: a server remembers what a token may do for
    a few minutes (jupyterhub's HubAuth cache), so each share state gets its own."""
    r = student.hub_api("POST", f"/users/{student.name}/tokens", json={"expires_in": 600})
    assert r.status_code == 201, r.text
    return {"Authorization": f"token {r.json()['token']}"}


def as_guest(
    headers: dict[str, str], owner: Student, method: str, path: str, **kw
) -> requests.Response:
    """A guest (``headers``: his token) calls ``owner``'s course API."""
    url = f"{owner.server_url}/course/api{path}"
    return requests.request(method, url, headers=headers, timeout=120, **kw)


@pytest.fixture
def alice_cluster(alice):
    r = alice.api("POST", "/clusters", json={"workers": 0})
    assert r.status_code == 201, r.text
    model = r.json()
    yield model
    alice.api("DELETE", f"/clusters/{model['name']}")


def test_a_read_only_share_lets_a_classmate_look_not_act(hub, alice, bob, alice_cluster):
    name = alice_cluster["name"]
    # Before any share, bob cannot even look.
    assert as_guest(fresh_headers(bob), alice, "GET", "/sessions").status_code == 403
    share(alice, bob)  # JupyterHub's default share: access to the server, nothing more
    guest = fresh_headers(bob)
    try:
        r = as_guest(guest, alice, "GET", "/sessions")
        assert r.status_code == 200 and r.json()["sessions"], r.text
        r = as_guest(guest, alice, "GET", "/clusters")
        assert r.status_code == 200 and [c["name"] for c in r.json()["clusters"]] == [name]
        # Her dashboard too (looking), but no way from it to the gateway's API
        # with her token (cluster credentials are there).
        link = alice_cluster["dashboard_link"]
        r = requests.get(hub.url + link, headers=guest, timeout=60)
        assert r.status_code == 200 and "bokeh" in r.text.lower()
        escape = link.rsplit("/status", 1)[0] + "/%2E%2E/%2E%2E/api/v1/clusters/"
        r = requests.get(hub.url + escape, headers=guest, timeout=60, allow_redirects=False)
        assert r.status_code in (401, 403, 404) and "tls_key" not in r.text, r.status_code
        writes = [
            ("POST", "/clusters", {"workers": 0}),
            ("PATCH", f"/clusters/{name}", {"workers": 2}),
            ("DELETE", f"/clusters/{name}", None),
            ("POST", "/sessions/dask/open", {}),
        ]
        for method, path, body in writes:
            r = as_guest(
                guest, alice, method, path, data=None if body is None else json.dumps(body)
            )
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["message"] == REFUSED["write"]
        # Nothing changed: one cluster, still running, no worker asked for.
        clusters = alice.api("GET", "/clusters").json()["clusters"]
        assert [(c["name"], c["status"]) for c in clusters] == [(name, "running")]
        # Read-only everywhere on her server, not only in the course API.
        r = requests.put(
            f"{alice.server_url}/api/contents/from-bob.txt",
            json={"type": "file", "format": "text", "content": "hi"},
            headers=guest,
            timeout=60,
        )
        assert r.status_code == 403, r.status_code
        r = requests.post(f"{alice.server_url}/api/kernels", headers=guest, timeout=60)
        assert r.status_code == 403, r.status_code
        r = requests.get(f"{alice.server_url}/api/contents", headers=guest, timeout=60)
        assert r.status_code == 200

        # A share with the write scope lets him act on her clusters.
        share(alice, bob, ["access:servers", WRITE_SCOPE])
        r = as_guest(fresh_headers(bob), alice, "DELETE", f"/clusters/{name}")
        assert r.status_code == 204, r.text
    finally:
        unshare(alice)
    assert as_guest(fresh_headers(bob), alice, "GET", "/sessions").status_code == 403


def test_teachers_keep_full_access_to_students_servers(hub, alice):
    teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
    teacher.login()
    r = as_guest(teacher.headers, alice, "POST", "/sessions/big-data/open", data="{}")
    assert r.status_code == 200, r.text


def test_a_dashboard_opens_for_its_owner_and_teachers_only(hub, alice, bob, alice_cluster):
    name = alice_cluster["name"]
    link = alice_cluster["dashboard_link"]
    assert link.startswith(f"/user/{alice.name}/proxy/") and link.endswith(f"/{name}/status")

    # Alice, through her own server: the real bokeh page.
    r = requests.get(hub.url + link, headers=alice.headers, timeout=60)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert "Dask" in r.text and "bokeh" in r.text.lower()

    # Bob, with the same address through his own server: refused by the gateway.
    his = link.replace(f"/user/{alice.name}/", f"/user/{bob.name}/", 1)
    r = requests.get(hub.url + his, headers=bob.headers, timeout=60)
    assert r.status_code in (403, 404), r.status_code
    assert "bokeh" not in r.text.lower()

    # Straight at the gateway's HTTP port (as any server, or a compose container, can).
    direct = f"{gateway_http(hub)}/clusters/{name}/status"
    r = requests.get(direct, timeout=30)
    assert r.status_code == 401 and "bokeh" not in r.text.lower(), r.status_code
    for bad in ("made-up", bob.token):
        r = requests.get(direct, headers={"Authorization": f"jupyterhub {bad}"}, timeout=30)
        assert r.status_code in (401, 403) and "bokeh" not in r.text.lower(), r.status_code
    r = requests.get(direct, headers={"Authorization": f"jupyterhub {bob.token}"}, timeout=30)
    assert r.status_code == 403 and "another student" in r.json()["error"]
    r = requests.get(direct, headers={"Authorization": f"jupyterhub {alice.token}"}, timeout=30)
    assert r.status_code == 200 and "bokeh" in r.text.lower()
    teacher = Student(hub.url, "teacher", ADMIN_PASSWORD)
    teacher.login()
    r = requests.get(direct, headers={"Authorization": f"jupyterhub {teacher.token}"}, timeout=30)
    assert r.status_code == 200 and "bokeh" in r.text.lower()
    # The scheduler's dashboard itself listens on loopback only: nothing but the
    # gateway (same machine or container) reaches it without the check.
    commands = [cmdline(p).split() for p in hub.processes()]
    schedulers = [c for c in commands if "scheduler" in c and "--dashboard-address" in c]
    assert schedulers, "no scheduler process found"
    for cmd in schedulers:
        assert cmd[cmd.index("--dashboard-address") + 1] == "127.0.0.1:0", cmd
    # An unknown cluster is not found, for anyone logged in.
    r = requests.get(
        f"{gateway_http(hub)}/clusters/no-such-cluster/status",
        headers={"Authorization": f"jupyterhub {alice.token}"},
        timeout=30,
    )
    assert r.status_code == 404


def test_the_dashboards_websocket_works_for_its_owner(hub, alice, alice_cluster):
    """Bokeh's live updates: the page's websocket through her server and the gateway."""
    link = alice_cluster["dashboard_link"]
    page = requests.get(hub.url + link, headers=alice.headers, timeout=60)
    assert page.status_code == 200
    token = re.search(r'"token":\s*"([^"]+)"|token\s*=\s*"([^"]+)"', page.text)
    assert token, page.text[:2000]
    session_token = token.group(1) or token.group(2)
    ws_url = hub.url.replace("http", "ws", 1) + link + "/ws"
    ws = websocket.create_connection(
        ws_url,
        header=[f"Authorization: token {alice.token}"],
        subprotocols=["bokeh", session_token],
        timeout=60,
    )
    try:
        first = ws.recv()  # bokeh's ACK/PULL-DOC messages start with a JSON header
        assert first, first
    finally:
        ws.close()
