"""`make test`'s own set-up (tests/setup-machine): on a machine that has it all,
it says nothing and names the base image; run by a user who is not root on a
machine that lacks something, it stops at once with the command to run."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..dockertools import REPO

SCRIPT = REPO / "tests" / "setup-machine"


def run(
    *prefix: str, env: dict[str, str], script: Path = SCRIPT
) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [*prefix, "bash", str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    return proc, time.monotonic() - t0


def test_a_ready_machine_is_left_alone():
    """This machine (CI's, after the set-up) has everything: nothing to do."""
    env = {**os.environ, "BASE_IMAGE": "course-hub/debian:bookworm"}
    proc, seconds = run(env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "course-hub/debian:bookworm\n"
    assert proc.stderr == ""
    assert seconds < 15


def test_not_root_it_stops_with_the_command_to_run():
    """A user who is not root, on a machine without Docker: the exact command."""
    # /usr/bin:/bin only: dockerd (/usr/sbin) is not found, as on a fresh machine.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "BASE_IMAGE": "course-hub/debian:bookworm"}
    nobody: list[str] = []
    script = SCRIPT
    if os.getuid() == 0:  # as root (CI), drop to nobody; a developer already is not root
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed"
        nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        # nobody may not read a checkout under a private folder (mktemp -d's 0700):
        # a copy of the script where anyone may read it.
        public = Path(tempfile.mkdtemp(prefix="setup-machine-"))
        public.chmod(0o755)
        (public / "tests").mkdir(mode=0o755)
        script = public / "tests" / "setup-machine"
        shutil.copy(SCRIPT, script)
        script.chmod(0o755)
    try:
        proc, seconds = run(*nobody, env=env, script=script)
    finally:
        if script != SCRIPT:
            shutil.rmtree(script.parent.parent, ignore_errors=True)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == ""  # no base image named: make test stops here
    assert "missing" in proc.stderr and "docker.io" in proc.stderr
    command = [line.strip() for line in proc.stderr.splitlines() if "apt-get" in line]
    assert command and command[0].startswith("sudo apt-get update && sudo apt-get install -y ")
    assert "docker.io" in command[0].split()
    assert seconds < 10  # at once: nothing was installed or started


def test_what_it_installs_never_reaches_the_base_image_line(tmp_path):
    """As root on a machine that lacks something, apt's (and any other) output goes
    to stderr: `make test` reads stdout as the base image's name (a fresh CI
    machine once got apt's whole log there, and the images failed to build)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for real in ("bash", "id", "dirname", "python3", "cat", "seq", "sleep"):
        (bin_dir / real).symlink_to(shutil.which(real))
    log = tmp_path / "calls"
    stub = f'#!/bin/sh\necho "$(basename "$0") $*" >> {log}\necho "noise from $(basename "$0")"\n'
    # Everything but `dot` is there: graphviz is installed through the stub apt-get.
    for name in ("git", "make", "npm", "java", "dockerd", "debootstrap", "docker-registry",
                 "docker", "apt-get", "basename"):  # fmt: skip
        path = bin_dir / name
        path.write_text(stub if name != "basename" else '#!/bin/sh\necho "${1##*/}"\n')
        path.chmod(0o755)
    chromium = bin_dir / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "CHROMIUM": str(chromium),
           "BASE_IMAGE": "course-hub/debian:bookworm"}  # fmt: skip
    proc, _ = run(env=env)
    if os.getuid() != 0:  # a developer: told the command, nothing installed
        assert proc.returncode == 1 and proc.stdout == "", proc
        assert "apt-get install -y graphviz" in proc.stderr and not log.exists()
        return
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "course-hub/debian:bookworm\n"
    assert "noise from apt-get" in proc.stderr and "installing graphviz" in proc.stderr
    installs = [line for line in log.read_text().splitlines() if "install" in line]
    assert len(installs) == 1 and "graphviz" in installs[0].split(), installs


def test_the_engine_it_starts_does_not_hold_make_tests_pipe(tmp_path):
    """`make test` reads the base image's name with `$(tests/setup-machine)`: the
    Docker daemon it starts outlives it and must not keep that pipe open, or the
    command substitution never ends. CI hung on exactly this until it was killed,
    having printed only "starting dockerd". A stub daemon that stays running."""
    if os.getuid() != 0:  # a developer is told the command; only root starts the engine
        return test_not_root_it_stops_with_the_command_to_run()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for real in ("bash", "id", "dirname", "python3", "cat", "seq", "sleep", "touch"):
        (bin_dir / real).symlink_to(shutil.which(real))
    up, pid_file = tmp_path / "up", tmp_path / "dockerd.pid"
    scripts = {
        # Up once the daemon has started; the base image is there.
        "docker": f'#!/bin/sh\ncase "$1" in info) [ -e {up} ] ;; *) exit 0 ;; esac\n',
        "dockerd": f"#!/bin/sh\necho $$ > {pid_file}\ntouch {up}\nexec sleep 300\n",
        "chromium": "#!/bin/sh\n",
        "apt-get": "#!/bin/sh\n",
    }
    for name in ("git", "make", "npm", "java", "dot", "debootstrap", "docker-registry"):
        scripts[name] = "#!/bin/sh\n"
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "CHROMIUM": str(bin_dir / "chromium"),
           "BASE_IMAGE": "course-hub/debian:bookworm"}  # fmt: skip
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            ["bash", "-c", f'base=$(bash {SCRIPT}) && echo "got $base"'],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon held make test's pipe: $(...) never ended") from None
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), 15)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "got course-hub/debian:bookworm\n"
    assert "starting dockerd" in proc.stderr
    assert time.monotonic() - t0 < 30
