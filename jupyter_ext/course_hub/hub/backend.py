"""A Dask Gateway backend that runs each student's clusters as their own account.

dask-gateway's ``LocalBackend`` already starts a cluster's scheduler and
workers as the OS user named like the student, with a private 0700 working
folder for its TLS credentials; it only needs those accounts to exist. In the
gateway container (the single-user image, run as root) they do not, so this
backend creates a locked account (no password, no home, no login shell) the
first time a student starts a cluster. Students' Dask processes then cannot
read each other's cluster credentials, and no student's home is mounted in
the gateway container at all.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import threading
from pathlib import Path

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import LocalBackend
from traitlets import Unicode

from .limits import StudentLimits
from .names import ACCOUNT_NAME

_lock = threading.Lock()


def ensure_account(name: str, shell: str = "/usr/sbin/nologin") -> pwd.struct_passwd:
    """The account ``name``, created (locked, without a home) if it is missing."""
    if not ACCOUNT_NAME.match(name):
        raise PublicException(
            f"The user name {name!r} cannot run Dask clusters here: use lowercase "
            "letters, digits, '-' and '_' (at most 32 characters)."
        )
    with _lock:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        subprocess.run(
            ["useradd", "--no-create-home", "--user-group", "--shell", shell, name],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return pwd.getpwnam(name)


class StudentAccountsBackend(StudentLimits, LocalBackend):
    """``LocalBackend`` that creates each student's OS account on first use,
    with per-student limits (:mod:`.limits`)."""

    account_shell = Unicode(
        "/usr/sbin/nologin",
        help="Login shell of the accounts created for students (they never log in).",
        config=True,
    )

    def setup_working_directory(self, cluster):  # type: ignore[no-untyped-def]
        ensure_account(cluster.username, self.account_shell)
        return super().setup_working_directory(cluster)

    def set_file_permissions(self, paths, username):  # type: ignore[no-untyped-def]
        """Give the student their cluster's working folder, and nothing else.

        dask-gateway-server 2026.3 builds the list with ``paths.extend(path)``
        for the TLS files, so it holds their characters: upstream would chown
        "/" to the student, then fail on "v". Only real entries inside the
        clusters folder are kept, and the TLS files they contain are added.
        """
        root = Path(self.clusters_directory).resolve()
        targets: set[str] = set()
        for p in paths:
            path = Path(p)
            if len(p) < 2 or not path.is_absolute() or not path.exists():
                continue
            if not path.resolve().is_relative_to(root) or path.resolve() == root:
                continue
            targets.add(str(path))
            if path.is_dir():
                targets.update(str(f) for f in path.iterdir() if f.is_file())
        for p in sorted(targets):
            pw = pwd.getpwnam(username)
            os.chown(p, pw.pw_uid, pw.pw_gid)
