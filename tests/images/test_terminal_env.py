"""Shells in the single-user image start in the course's environment (issue 15, point 3).

A login shell (Debian's /etc/profile resets PATH; /etc/profile.d/course-env.sh
puts /opt/venv/bin back first) and the shell JupyterLab's terminals run (a
non-login bash, from the extension's config: it keeps the image's PATH) both
find the environment's python, pip, jupyter and dask (kubectl too where the
image ships it), and dask_gateway imports.
"""

from __future__ import annotations

import json

from ..dockertools import SINGLEUSER, run_in

COMMANDS = ("python", "pip", "jupyter", "dask")
CHECK = (
    'for c in python pip jupyter dask kubectl; do echo "$c=$(command -v $c)"; done; '
    "python -c 'import dask_gateway; print(\"gateway-ok\")'"
)


def found(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def check(paths: dict[str, str], out: str) -> None:
    for c in COMMANDS:
        assert paths[c] == f"/opt/venv/bin/{c}", out
    # kubectl, if the image ships one, is the image's own (never a student's).
    assert paths["kubectl"] in (
        "",
        "/opt/venv/bin/kubectl",
        "/usr/bin/kubectl",
        "/usr/local/bin/kubectl",
    ), out
    assert "gateway-ok" in out, out


def test_a_login_shell_finds_the_course_environment():
    out = run_in(SINGLEUSER, "bash", "-lc", CHECK)
    check(found(out), out)


def test_the_terminals_shell_finds_it_too():
    settings = run_in(
        SINGLEUSER,
        "python",
        "-c",
        "import json; from jupyter_server.serverapp import ServerApp; "
        "a = ServerApp(); a.initialize(argv=['--port=0'], find_extensions=True, new_httpserver=False); "
        "print(json.dumps(a.terminado_settings))",
    )
    shell = json.loads(settings.strip().splitlines()[-1])["shell_command"]
    assert shell == ["/bin/bash"]
    # What the terminal runs, with the image's environment (no login: PATH kept).
    out = run_in(SINGLEUSER, *shell, "-ic", CHECK)
    check(found(out), out)
