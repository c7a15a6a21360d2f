"""Where sessions land in the student's home is the admin's choice
(``CourseHub.course_dir``), e.g. a folder a school's backup already covers."""

from __future__ import annotations

import pytest

from .conftest import mini_server_config
from .helpers import call


@pytest.fixture
def jp_server_config(mini_course, gateway, cache_dir):
    return mini_server_config(mini_course, gateway, cache_dir, course_dir="work/classes/bigdata")


async def test_sessions_land_in_the_configured_folder(jp_fetch, jp_root_dir):
    status, report = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200, report
    assert report["open"] == "work/classes/bigdata/intro/b.ipynb"
    assert report["folder"] == "work/classes/bigdata/intro"
    assert (jp_root_dir / "work/classes/bigdata/intro/a.ipynb").is_file()
    assert not (jp_root_dir / "course").exists()

    # Status follows the same folder: a student's edit there is seen as theirs.
    (jp_root_dir / "work/classes/bigdata/intro/a.ipynb").write_text(
        (jp_root_dir / "work/classes/bigdata/intro/a.ipynb").read_text().replace("'a'", "'mine'")
    )
    status, body = await call(jp_fetch, "GET", "sessions/intro")
    a = {n["path"]: n for n in body["notebooks"]}["a.ipynb"]
    assert a["present"] and a["modified"]
