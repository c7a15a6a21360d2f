"""Course hub: a Jupyter server extension for a distributed-computing course.

It serves the course program, brings each session's notebooks into the
student's home with nbgitpuller's rules, and manages the student's Dask
Gateway clusters. See :mod:`course_hub.app` for its configuration.
"""

from __future__ import annotations

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    from .app import CourseHub

    return [{"module": "course_hub.app", "app": CourseHub}]
