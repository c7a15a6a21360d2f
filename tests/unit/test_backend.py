"""The compose gateway's backend: accounts per student, and the chown fix."""

from __future__ import annotations

import os
import pwd

import pytest
from dask_gateway_server.backends.base import PublicException

from course_hub.hub.backend import StudentAccountsBackend, ensure_account


def test_only_the_cluster_folder_is_given_away(tmp_path, monkeypatch):
    workdir = tmp_path / "clusters" / "abc"
    certs = workdir / ".certs"
    logs = workdir / "logs"
    certs.mkdir(parents=True)
    logs.mkdir()
    (certs / "dask.crt").write_text("cert")
    (certs / "dask.pem").write_text("key")
    backend = StudentAccountsBackend(clusters_directory=str(tmp_path / "clusters"))
    chowned = []
    monkeypatch.setattr(os, "chown", lambda p, uid, gid: chowned.append(p))
    # What dask-gateway-server 2026.3 passes: the folders, then the cert and
    # key paths *extended* character by character.
    paths = [str(workdir), str(certs), str(logs)]
    paths.extend(str(certs / "dask.crt"))
    paths.extend(str(certs / "dask.pem"))
    me = pwd.getpwuid(os.getuid()).pw_name
    backend.set_file_permissions(paths, me)
    assert "/" not in chowned
    assert sorted(chowned) == sorted(
        [str(workdir), str(certs), str(logs), str(certs / "dask.crt"), str(certs / "dask.pem")]
    )


@pytest.mark.parametrize("name", ["Alice", "a.b", "x" * 33, "service:jupyterhub", "1abc"])
def test_names_that_cannot_be_accounts_are_refused(name):
    with pytest.raises(PublicException, match="cannot run Dask clusters here"):
        ensure_account(name)


def test_existing_account_is_reused():
    me = pwd.getpwuid(os.getuid()).pw_name
    assert ensure_account(me).pw_uid == os.getuid()
