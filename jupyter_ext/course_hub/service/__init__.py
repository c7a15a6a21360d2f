"""The hub-side course service: the one place the course lives on the hub side.

A JupyterHub service (``course``, run by the hub) that serves the course
program and each session's files (students' versions to students), the Dask
Gateway presets, and keeps the hand-ins of assignments. Run it with
``python -m course_hub.service`` (or ``course-hub-service``). It imports only
from this folder and the shared course model (manifest, notebooks, content,
errors), never from the server extension.
"""
