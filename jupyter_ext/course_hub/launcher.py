"""Run the local hub in the foreground and stop everything it started.

``course-hub hub`` checks the course and the settings before anything
starts (a broken manifest or a short password is one clear line, not a
traceback in a service log), starts JupyterHub, prints the URL and how to log
in, and on Ctrl-C stops the hub, every student's server and every Dask
cluster. Clusters run in their own sessions so that they survive a gateway
restart; the launcher registers as a child subreaper so they stay its
descendants and none outlives ``make hub``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from .errors import CourseError
from .hub.accounts import auth_mode
from .hub.gateway import cluster_options
from .hub.local import Credentials, LayoutError, LocalLayout, credentials, local_layout
from .manifest import MANIFEST_NAME, load_manifest

RESTARTS_PER_MINUTE = 3
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def _prctl(option: int, value: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: best effort
        pass


def _die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def preflight(layout: LocalLayout) -> Credentials:
    """Everything that can be checked before starting; raises with a clear sentence."""
    manifest_path = layout.content_dir / MANIFEST_NAME
    manifest = load_manifest(manifest_path, layout.content_dir)
    cluster_options(manifest)
    busy = [p for p in layout.ports if not _port_free(p)]
    if busy:
        raise LayoutError(
            f"port(s) {', '.join(map(str, busy))} already in use (is another hub running?); "
            f"set HUB_PORT to use ports HUB_PORT..HUB_PORT+{len(layout.ports) - 1} elsewhere"
        )
    layout.proxy_command()
    layout.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    return credentials(layout.secrets)


def banner(
    layout: LocalLayout, logins: Credentials, elapsed: float, since: float | None = None
) -> str:
    """How to log in. ``since``: the wall-clock start, to name the handouts made since."""
    secrets_dir = layout.secrets
    student = (
        f"the course password {logins.student_password}"
        if "student" in logins.created
        else "the course password"
        + ("" if os.environ.get("COURSE_PASSWORD") else f" (in {secrets_dir / 'course-password'})")
    )
    admin = (
        f"the admin password {logins.admin_password}"
        if "admin" in logins.created
        else "the admin password"
        + (
            ""
            if os.environ.get("COURSE_ADMIN_PASSWORD")
            else f" (in {secrets_dir / 'admin-password'})"
        )
    )
    lines = ["", f"Course hub ready at {layout.url} (started in {elapsed:.1f} s)"]
    teachers = f"  Teachers: log in as {', '.join(logins.admin_users)} with {admin}"
    if auth_mode() == "workshop":
        lines += [
            "  WORKSHOP MODE (COURSE_AUTH=workshop): everyone shares one password, and anyone",
            "  who types a classmate's name opens their home. Not for a class.",
            f"  Students: log in with any user name and {student}",
            teachers,
        ]
        if logins.created:
            lines.append(
                f"  (Generated passwords are shown this once; they are kept in {secrets_dir}.)"
            )
    else:
        handouts = sorted(secrets_dir.glob("handout-*.csv"))
        new = [p for p in handouts if since is not None and p.stat().st_mtime >= since - 1]
        lines += [
            teachers,
            "  Students: each logs in with their own account (change it at /hub/change-password).",
        ]
        if "admin" in logins.created:
            lines.append(
                "  (The admin password is shown this once; it is kept in the file above.)"
            )
        if new:
            lines += [f"  New accounts from the roster, passwords to hand out: {p}" for p in new]
        elif handouts:
            lines.append(f"  Handouts of earlier accounts: {secrets_dir}/handout-*.csv")
        lines += [
            "  Add students: COURSE_ROSTER=roster.txt (accounts at the next start), or",
            f"    course-hub accounts add NAME... --hub {layout.url} --token TOKEN",
            f"    (TOKEN: log in as a teacher, then {layout.url}/hub/token)",
        ]
    warning = answer_key_warning(layout)
    if warning:
        lines += ["", warning]
    lines += ["Press Ctrl-C to stop the hub, the students' servers and their Dask clusters.", ""]
    return "\n".join(lines)


def answer_key_warning(layout: LocalLayout) -> str | None:
    """A warning when students' servers could read the teacher's course folder.

    Without Docker every student's server runs as this very OS account (no
    accounts of their own), so a student's terminal or kernel can open the
    course folder, solutions included; docs/security.md says so too.
    """
    manifest = layout.content_dir / MANIFEST_NAME
    if not os.access(manifest, os.R_OK):
        return None
    return (
        "  WARNING: students' servers run as the same OS account as the course content "
        f"({layout.content_dir}):\n"
        "  a student's terminal can read the teacher's notebooks, solutions included. Keep\n"
        "  graded solutions out of this folder, or run the hub in containers "
        "(docs/security.md)."
    )


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/hub/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def stop_descendants(grace: float = 15.0) -> int:
    """Terminate every process still below us (servers, clusters); return how many."""
    me = psutil.Process()
    procs = me.children(recursive=True)
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return len(procs)


#: What a hub that died without cleaning up leaves behind and starts again.
SERVICE_MARKERS = (
    "dask-gateway-server",
    "jupyterhub_idle_culler",
    "configurable-http-proxy",
    "course_hub.service",
)


def stop_services() -> int:
    """Stop the hub's leftover services (not students' servers or clusters)."""
    return stop_matching(SERVICE_MARKERS)


def stop_matching(markers: tuple[str, ...], grace: float = 15.0) -> int:
    """Terminate the descendants whose command line has one of ``markers``."""
    procs = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any(m in " ".join(p.cmdline()) for m in markers):
                procs.append(p)
                p.terminate()
        except psutil.NoSuchProcess:
            continue
    _wait_gone(procs, grace)
    return len(procs)


def _wait_gone(procs: list[psutil.Process], grace: float) -> None:
    """Wait until each process has exited, then kill the rest.

    Processes that are not our children stay zombies until their own parent
    reaps them: exited is what counts, not reaped.
    """
    deadline = time.monotonic() + grace
    alive = list(procs)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _running(p)]
        if alive:
            time.sleep(0.1)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def reap_orphans(skip: int | None = None) -> None:
    """Reap the adopted children that have exited, except ``skip`` (the hub).

    As a child subreaper we adopt what a crashed hub leaves behind: the proxy,
    students' servers. Once they exit, only we can reap them, and a zombie
    looks alive to ``kill(pid, 0)``: a restarted hub would wait in vain for
    its old proxy to stop, and its spawner for a stopped server to go.
    """
    for p in psutil.Process().children():
        if p.pid == skip:
            continue
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(p.pid, os.WNOHANG)
        except (psutil.NoSuchProcess, ChildProcessError):
            pass


def clear_stale_pid_file(pid_file: Path) -> None:
    """Remove a pid file whose process is gone, so the next hub starts a new proxy."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    if not alive:
        pid_file.unlink(missing_ok=True)


def _running(p: psutil.Process) -> bool:
    try:
        if p.status() != psutil.STATUS_ZOMBIE:
            return True
        p.wait(timeout=0)  # reap it if it is ours (an orphan we adopted)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
        pass
    return False


def run(config: Path, state_dir: str | None = None, port: int | None = None) -> int:
    """Run the hub until Ctrl-C or SIGTERM; return the exit code."""
    config = config.resolve()
    if not config.is_file():
        print(f"course-hub: no hub config at {config}", file=sys.stderr)
        return 2
    if state_dir:
        os.environ["COURSE_STATE_DIR"] = str(Path(state_dir).expanduser().resolve())
    if port:
        os.environ["HUB_PORT"] = str(port)
    started, wall_start = time.monotonic(), time.time()
    try:
        layout = local_layout(config.parents[2])
        logins = preflight(layout)
        auth_mode()
    except (CourseError, LayoutError, ValueError) as exc:
        message = exc.message if isinstance(exc, CourseError) else str(exc)
        print(f"course-hub: cannot start the hub: {message}", file=sys.stderr)
        return 2

    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    env = dict(os.environ, **layout.env())
    log_level = os.environ.get("HUB_LOG_LEVEL", "INFO")
    command = [sys.executable, "-m", "jupyterhub", "-f", str(config), f"--log-level={log_level}"]

    def start_hub() -> subprocess.Popen:
        return subprocess.Popen(
            command,
            cwd=layout.state,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop things in order
            preexec_fn=_die_with_parent,
        )

    hub = start_hub()
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            print("\ncourse-hub: stopping the hub...", file=sys.stderr, flush=True)
            # Students' servers first, while the gateway still answers: each
            # stops its own clusters on the way out.
            stop_matching(("jupyterhub-singleuser",))
            hub.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if wait_ready(layout.url, hub):
        print(banner(layout, logins, time.monotonic() - started, wall_start), flush=True)
    elif not stopping:
        print("course-hub: the hub did not become ready; see its log above.", file=sys.stderr)
        hub.send_signal(signal.SIGTERM)
        stopping = True
    # Supervise: a hub that exits on its own (a crash, a kill) is restarted, and
    # students' servers and clusters, which do not depend on it, keep running.
    restarts: list[float] = []
    while True:
        try:
            while (code := hub.poll()) is None:
                reap_orphans(skip=hub.pid)
                time.sleep(0.5)
        except KeyboardInterrupt:
            code = hub.wait()
        if stopping:
            break
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        if len(restarts) > RESTARTS_PER_MINUTE:
            print(
                f"course-hub: the hub exited {len(restarts)} times in a minute "
                f"(last exit code {code}); giving up.",
                file=sys.stderr,
            )
            break
        print(f"course-hub: the hub exited ({code}); restarting it.", file=sys.stderr, flush=True)
        stop_services()
        reap_orphans()
        clear_stale_pid_file(layout.state / "proxy.pid")
        hub = start_hub()
        if wait_ready(layout.url, hub):
            print(f"course-hub: the hub is back at {layout.url}", file=sys.stderr, flush=True)
    try:
        hub.wait(timeout=30)
    except subprocess.TimeoutExpired:
        hub.kill()
    leftovers = stop_descendants()
    if leftovers:
        print(f"course-hub: stopped {leftovers} remaining process(es).", file=sys.stderr)
    return 0 if stopping else (code or 1)
