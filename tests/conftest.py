"""Shared test helpers: a small synthetic course whose upstream tests can edit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]

MINI_MANIFEST = """\
course:
  id: mini
  title: Mini course
sessions:
  - id: intro
    title: Introduction
    duration: 1h30m
    summary: Two notebooks and a data file.
    slides:
      - title: Slides
        url: https://example.org/slides.html
    notebooks:
      - path: a.ipynb
        title: Notebook A
      - path: b.ipynb
        title: Notebook B
        main: true
    quiz:
      - question: What moves data between machines?
        choices: {A: map, B: shuffle, C: reduce}
        answer: B
        explanation: The shuffle.
      - question: How many replicas does HDFS keep?
        choices: {A: "1", B: "2", C: "3"}
        answer: C
  - id: dask
    title: Dask
    duration: 2h
    notebooks:
      - path: cluster.ipynb
        title: A cluster
    cluster:
      workers: 2
      worker_cores: 1
      worker_memory: 1.0
  - id: lecture
    title: A lecture without files
    duration: 45m
"""


def server_config(**course_hub: object) -> Config:
    """A Jupyter server with the course extension, unauthenticated access off."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"course_hub": True},
                "allow_unauthenticated_access": False,
            },
            "CourseHub": course_hub,
        }
    )


def write_notebook(path: Path, *sources: str) -> None:
    """A small valid notebook: a title cell, then one code cell per source."""
    nb = new_notebook(cells=[new_markdown_cell(f"# {path.stem}")])
    nb.cells += [new_code_cell(s) for s in sources]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def git(*args: str, cwd: Path) -> None:
    """git as a teacher runs it on their repository (an identity, no prompts)."""
    subprocess.run(
        ["git", "-c", "user.name=Teacher", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_mini_course(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.yml").write_text(MINI_MANIFEST)
    write_notebook(root / "intro" / "a.ipynb", "print('a')")
    write_notebook(root / "intro" / "b.ipynb", "print('b')")
    (root / "intro" / "data.csv").write_text("x,y\n1,2\n")
    write_notebook(root / "dask" / "cluster.ipynb", "1 + 1")
    return root


def pytest_collection_modifyitems(items):
    """Each test is marked with its tier, the folder it lives in."""
    for item in items:
        tier = Path(str(item.fspath)).relative_to(REPO / "tests").parts[0]
        if tier in ("unit", "integration", "e2e", "browser", "images", "compose"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture
def mini_course(tmp_path: Path) -> Path:
    """A course folder the test may change, like a teacher updating content."""
    return make_mini_course(tmp_path / "upstream")


@pytest.fixture
def real_course(tmp_path: Path) -> Path:
    """A copy of this project's course/ folder."""
    dst = tmp_path / "course"
    shutil.copytree(REPO / "course", dst)
    return dst
