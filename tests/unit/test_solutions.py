"""Students get the blanks, teachers the solutions, from one source notebook."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_hub.notebooks import PLACEHOLDER, YOUR_ANSWER

from ..conftest import server_config
from .helpers import call


def tagged_notebook(path):
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Exercise"),
            new_code_cell("# Add one to x\ny = x + 1", metadata={"tags": ["solution"]}),
            new_markdown_cell("The shuffle.", metadata={"tags": ["answer"]}),
            new_markdown_cell("Grade generously.", metadata={"tags": ["teacher"]}),
        ]
    )
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    nbformat.write(nb, path)


@pytest.fixture
def tagged_course(mini_course):
    tagged_notebook(mini_course / "intro" / "a.ipynb")
    return mini_course


async def test_students_get_blanks(jp_fetch, jp_root_dir, tagged_course):
    status, _ = await call(jp_fetch, "POST", "sessions/intro/open")
    assert status == 200
    nb = nbformat.read(jp_root_dir / "course/intro/a.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == [
        "# Exercise",
        f"# Add one to x\n{PLACEHOLDER}",
        YOUR_ANSWER,
    ]
    _, body = await call(jp_fetch, "GET", "sessions/intro")
    assert body["notebooks"][0]["modified"] is False  # compared with the students' copy


class TestTeachers:
    @pytest.fixture
    def jp_server_config(self, tagged_course, gateway, cache_dir):
        return server_config(
            content_dir=str(tagged_course),
            cache_dir=str(cache_dir),
            gateway_address=gateway.address,
            solutions=True,
        )

    async def test_teachers_get_solutions(self, jp_fetch, jp_root_dir):
        status, _ = await call(jp_fetch, "POST", "sessions/intro/open")
        assert status == 200
        nb = nbformat.read(jp_root_dir / "course/intro/a.ipynb", as_version=4)
        assert "y = x + 1" in nb.cells[1].source
        assert nb.cells[3].source == "Grade generously."
