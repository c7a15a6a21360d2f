"""The gateway's session presets follow the course source the servers read.

A teacher publishing to the course repository during the term changes what
the servers show within a minute; the gateway's options form and
``new_cluster(session=...)`` in notebooks must follow without a restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from course_hub.content import FolderSource, GitSource
from course_hub.hub.gateway import LiveClusterOptions

from ..conftest import git, server_config
from .conftest import serve_as_alice, start_gateway
from .helpers import call
from .test_git_source import push_extra_session, teacher_repo  # noqa: F401


@pytest.fixture
def gateway(jp_asyncio_loop, teacher_repo, tmp_path):  # noqa: F811
    c = Config()
    c.Backend.cluster_options = LiveClusterOptions(
        GitSource(
            f"file://{teacher_repo}",
            "term-1",
            cache_dir=tmp_path / "gateway-content",
            refresh_interval=0.0,
        )
    )
    yield from serve_as_alice(
        jp_asyncio_loop, start_gateway(jp_asyncio_loop, teacher_repo / "course", c)
    )


@pytest.fixture
def jp_server_config(teacher_repo, gateway, tmp_path):  # noqa: F811
    return server_config(
        content_repo=f"file://{teacher_repo}",
        content_branch="term-1",
        content_refresh_interval=0.0,
        cache_dir=str(tmp_path / "cache"),
        gateway_address=gateway.address,
    )


async def session_choices(jp_fetch) -> list[str]:
    status, body = await call(jp_fetch, "GET", "cluster-options")
    assert status == 200, body
    return {f["field"]: f for f in body["fields"]}["session"]["options"]


async def test_a_pushed_preset_reaches_the_gateway(jp_fetch, teacher_repo):  # noqa: F811
    assert await session_choices(jp_fetch) == ["custom", "dask"]

    push_extra_session(teacher_repo)
    assert await session_choices(jp_fetch) == ["custom", "dask", "extra"]
    status, model = await call(jp_fetch, "POST", "clusters", body={"session": "extra"})
    assert status == 201, model
    assert model["session"] == "extra"
    assert model["options"] == {"session": "extra", "worker_cores": 2, "worker_memory": 1.5}
    status, _ = await call(jp_fetch, "DELETE", f"clusters/{model['name']}")
    assert status == 204

    # A broken push: the gateway keeps the last good presets, as the servers do.
    (teacher_repo / "course" / "course.yml").write_text("course: {id: x}\nsessions: []\n")
    git("commit", "-qam", "oops", cwd=teacher_repo)
    assert await session_choices(jp_fetch) == ["custom", "dask", "extra"]


async def test_unreachable_source_still_gives_a_form(tmp_path):
    # Before any good manifest (the repository cannot be cloned), the form
    # offers cores and memory only; it never fails the student's request.
    options = LiveClusterOptions(
        GitSource(f"file://{tmp_path / 'missing'}", "main", cache_dir=tmp_path / "c")
    )
    form = await options(None)
    assert form.get_specification()[0]["spec"]["options"] == ["custom"]


def test_a_broken_local_manifest_stops_the_gateway_at_start(tmp_path: Path):
    (tmp_path / "course.yml").write_text("course: {id: x}\n")
    with pytest.raises(Exception, match=r"course\.title"):
        LiveClusterOptions(FolderSource(tmp_path)).check()
