"""Bring a session's notebooks into the student's home, never losing their work.

The merge rules are nbgitpuller's, and so is the code that applies them: each
session's folder in ``~/course/<session-id>/`` is an nbgitpuller clone of a
small per-session repository. That repository lives in the student's cache
and receives a commit whenever the course content of that session changes,
whatever the source (a folder in the image or a teacher's git repository).
nbgitpuller then does what it does for thousands of classes:

- files new upstream arrive; a file the student deleted comes back;
- upstream changes merge, the student's side winning every conflict
  (``git merge -Xours``), after their changes are committed locally;
- a student's own file that would clash with a new upstream file is renamed
  aside, not overwritten.

This module adds what nbgitpuller does not say: which files were added,
updated and kept, a check that a merged notebook is still valid JSON (if not,
the student's version is restored), a backup when the folder is not a clone,
and a lock so that two opens at once queue instead of racing.
"""

from __future__ import annotations

import asyncio
import datetime
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbgitpuller.pull import GitPuller

from .content import ContentSource, git
from .errors import CourseError
from .manifest import Session
from .notebooks import student_bytes

log = logging.getLogger(__name__)

BRANCH = "main"
_EXCLUDES = ".ipynb_checkpoints/\n__pycache__/\n*.pyc\n.DS_Store\n"
# Fixed identity and dates make snapshot commits reproducible from their tree.
_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "course-hub",
    "GIT_AUTHOR_EMAIL": "course-hub@localhost",
    "GIT_COMMITTER_NAME": "course-hub",
    "GIT_COMMITTER_EMAIL": "course-hub@localhost",
}
_RENAMED = re.compile(r"^Renamed (?P<src>.+) to (?P<dst>.+) to avoid conflict with upstream")


def blob_sha(data: bytes) -> str:
    """The id git gives a file's content, computed without running git."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _git_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, LANG="C", LC_ALL="C", GIT_TERMINAL_PROMPT="0", **extra)


def _git_with(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc.stdout


def _name_status(out: str) -> dict[str, set[str]]:
    """Parse ``git diff --name-status -z`` into {status letter: paths}."""
    result: dict[str, set[str]] = {}
    fields = out.split("\0")
    i = 0
    while i + 1 < len(fields):
        status, path = fields[i][:1], fields[i + 1]
        result.setdefault(status, set()).add(path)
        i += 2
    return result


class SessionSync:
    """Syncs sessions of one content source into one student's home."""

    def __init__(
        self,
        source: ContentSource,
        home: Path,
        course_dir: str,
        cache_dir: Path,
        solutions: bool = False,
    ):
        self.source = source
        self.solutions = solutions
        self.home = Path(home).resolve()
        self.course_dir = course_dir.strip("/") or "course"
        self.cache_dir = Path(cache_dir)
        self._locks: dict[str, asyncio.Lock] = {}
        self._blob_cache: dict[tuple[str, str], dict[str, str]] = {}
        self._file_cache: dict[str, tuple[int, int, str]] = {}

    # ------------------------------------------------------------------ paths
    def target(self, session: Session) -> Path:
        return self.home / self.course_dir / session.id

    def relpath(self, path: Path) -> str:
        """A path as the Jupyter contents API names it (relative to the home)."""
        return path.relative_to(self.home).as_posix()

    def _upstream_repo(self, session: Session) -> Path:
        return self.cache_dir / "upstream" / f"{session.id}.git"

    # ----------------------------------------------------------------- status
    def status(self, session: Session) -> dict:
        """Whether the student has each notebook of the session, and changed it.

        "Changed" compares the file with the upstream version last synced
        (``origin/main`` of the clone), using git blob ids computed in Python:
        no subprocess on this path, which the sidebar polls.
        """
        target = self.target(session)
        opened = (target / ".git").is_dir()
        upstream = self._upstream_blobs(target) if opened else {}
        notebooks = []
        for nb in session.notebooks:
            local = target / nb.path
            present = local.is_file() and not local.is_symlink()
            modified = False
            if present and nb.path in upstream:
                modified = self._local_sha(local) != upstream[nb.path]
            notebooks.append(
                {
                    "path": nb.path,
                    "title": nb.title,
                    "main": nb is session.main_notebook,
                    "local_path": self.relpath(local),
                    "present": present,
                    "modified": modified,
                }
            )
        return {"folder": self.relpath(target), "opened": opened, "notebooks": notebooks}

    def _local_sha(self, path: Path) -> str:
        st = path.stat()
        key = str(path)
        cached = self._file_cache.get(key)
        if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        sha = blob_sha(path.read_bytes())
        self._file_cache[key] = (st.st_mtime_ns, st.st_size, sha)
        return sha

    def _origin_ref(self, target: Path) -> str | None:
        ref = target / ".git" / "refs" / "remotes" / "origin" / BRANCH
        try:
            return ref.read_text().strip()
        except OSError:
            pass
        try:
            return git("rev-parse", "--verify", "-q", f"origin/{BRANCH}", cwd=target).strip()
        except (subprocess.CalledProcessError, OSError):
            return None

    def _upstream_blobs(self, target: Path) -> dict[str, str]:
        sha = self._origin_ref(target)
        if not sha:
            return {}
        key = (str(target), sha)
        if key not in self._blob_cache:
            out = git("ls-tree", "-r", "-z", sha, cwd=target)
            blobs = {}
            for entry in out.split("\0"):
                if entry:
                    meta, path = entry.split("\t", 1)
                    blobs[path] = meta.split()[2]
            self._blob_cache = {k: v for k, v in self._blob_cache.items() if k[0] != str(target)}
            self._blob_cache[key] = blobs
        return self._blob_cache[key]

    # ------------------------------------------------------------------- open
    async def open(self, session: Session) -> dict:
        """Sync one session and report what happened to each file."""
        lock = self._locks.setdefault(session.id, asyncio.Lock())
        async with lock:
            return await asyncio.to_thread(self._open_locked, session)

    @contextmanager
    def _file_lock(self, session: Session) -> Iterator[None]:
        """Also serialise opens across processes (two servers of one user)."""
        lock_dir = self.cache_dir / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{session.id}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _open_locked(self, session: Session) -> dict:
        with self._file_lock(session):
            try:
                commit = self._publish(session)
                report = self._pull(session, commit)
            except subprocess.CalledProcessError as exc:
                log.error(
                    "Sync of session %s failed: %s\n%s%s",
                    session.id,
                    exc.cmd,
                    exc.stdout or "",
                    exc.stderr or "",
                )
                raise CourseError(
                    500,
                    f"Bringing the notebooks of session {session.title!r} failed while "
                    "running git. Your files were not changed; try again, and tell your "
                    "teacher if it keeps failing.",
                    reason="sync-failed",
                ) from None
        main = session.main_notebook
        target = self.target(session)
        report.update(
            session=session.id,
            folder=self.relpath(target),
            open=self.relpath(target / main.path) if main else None,
        )
        return report

    def _publish(self, session: Session) -> str:
        """Commit the session's current content to its upstream repo; return the commit."""
        repo = self._upstream_repo(session)
        src = (self.source.root / session.source_folder).resolve()
        if not src.is_relative_to(self.source.root.resolve()):
            raise CourseError(503, "The session folder leaves the course content.", "content")
        if not (repo / "HEAD").exists():
            repo.parent.mkdir(parents=True, exist_ok=True)
            git("init", "-q", "--bare", "-b", BRANCH, str(repo))
            (repo / "info").mkdir(exist_ok=True)
            (repo / "info" / "exclude").write_text(_EXCLUDES)
        src = self._stage(session, src)
        env = _git_env(
            GIT_DIR=str(repo),
            GIT_WORK_TREE=str(src),
            GIT_INDEX_FILE=str(repo / "snapshot.index"),
            **_COMMIT_ENV,
        )
        _git_with(env, "read-tree", "--empty")
        _git_with(env, "add", "-A", "--", ".")
        tree = _git_with(env, "write-tree").strip()
        try:
            head = _git_with(env, "rev-parse", "--verify", "-q", f"refs/heads/{BRANCH}").strip()
        except subprocess.CalledProcessError:
            head = ""
        if head and _git_with(env, "rev-parse", f"{head}^{{tree}}").strip() == tree:
            return head
        message = f"Course content of session {session.id} ({self.source.revision})"
        parents = ["-p", head] if head else []
        commit = _git_with(env, "commit-tree", tree, *parents, "-m", message).strip()
        _git_with(env, "update-ref", f"refs/heads/{BRANCH}", commit, *([head] if head else []))
        return commit

    def _stage(self, session: Session, src: Path) -> Path:
        """A copy of the session folder as students get it (see :mod:`.notebooks`).

        Teachers (``solutions``) get the notebooks as written; students get
        their version, solutions blanked. Symbolic links are refused: they
        could point anywhere on the server.
        """
        stage = self.cache_dir / "staging" / session.id
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        if not src.is_dir():
            return stage
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src)
            if path.is_symlink():
                raise CourseError(
                    503,
                    f"The course content of session {session.id!r} contains a symbolic "
                    f"link ({rel}); it is not synced. Tell your teacher.",
                    reason="content",
                )
            dst = stage / rel
            if path.is_dir():
                dst.mkdir(exist_ok=True)
            elif path.suffix == ".ipynb" and not self.solutions:
                try:
                    data = student_bytes(path.read_bytes())
                except Exception:  # nbformat raises many kinds for a broken file
                    raise CourseError(
                        503,
                        f"The course notebook {session.source_folder}/{rel} is not a valid "
                        "notebook; nothing was changed in your folder. Tell your teacher.",
                        reason="content",
                    ) from None
                dst.write_bytes(data)
            else:
                shutil.copyfile(path, dst)
        return stage

    def _backup(self, target: Path) -> Path:
        stamp = datetime.datetime.now().strftime("%Y%m%d%H%M%S")
        backup = target.with_name(f"{target.name}_backup_{stamp}")
        n = 1
        while backup.exists():
            backup = target.with_name(f"{target.name}_backup_{stamp}_{n}")
            n += 1
        target.rename(backup)
        return backup

    def _needs_fresh_clone(self, target: Path, repo: Path) -> bool:
        """A folder that is not our clone, or whose history the upstream lost."""
        if not (target / ".git").is_dir():
            return True
        old = self._origin_ref(target)
        if not old:
            return True
        try:
            git("cat-file", "-e", f"{old}^{{commit}}", cwd=repo)
            git("merge-base", "--is-ancestor", old, BRANCH, cwd=repo)
        except subprocess.CalledProcessError:
            return True
        return False

    def _pull(self, session: Session, commit: str) -> dict:
        repo = self._upstream_repo(session)
        target = self.target(session)
        report: dict = {"added": [], "updated": [], "kept": [], "removed": [], "renamed": []}
        if target.exists() and self._needs_fresh_clone(target, repo):
            report["backup"] = self.relpath(self._backup(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix = self.relpath(target) + "/"

        if not target.exists():
            self._run_puller(repo, target)
            files = git("ls-tree", "-r", "-z", "--name-only", "HEAD", cwd=target).split("\0")
            report["added"] = sorted(prefix + f for f in files if f)
            return report

        old = self._origin_ref(target)
        assert old
        before = _name_status(git("diff", "--no-renames", "--name-status", "-z", old, cwd=target))
        mine = before.get("M", set()) | before.get("T", set())
        deleted = before.get("D", set())
        lines = self._run_puller(repo, target)
        new = self._origin_ref(target)
        assert new
        upstream = _name_status(
            git("diff", "--no-renames", "--name-status", "-z", old, new, cwd=target)
        )
        up_added, up_modified = upstream.get("A", set()), upstream.get("M", set())
        up_deleted = upstream.get("D", set())

        for path in sorted(mine & up_modified):
            self._keep_valid_notebook(target, path)
        for line in lines:
            m = _RENAMED.match(line.strip())
            if m:
                report["renamed"].append(
                    {
                        "from": self.relpath(Path(m["src"]).resolve()),
                        "to": self.relpath(Path(m["dst"]).resolve()),
                    }
                )
        report["added"] = sorted(prefix + p for p in up_added | (deleted - up_deleted))
        report["updated"] = sorted(prefix + p for p in up_modified - mine)
        report["kept"] = sorted(prefix + p for p in mine)
        report["removed"] = sorted(prefix + p for p in up_deleted - mine)
        return report

    def _run_puller(self, repo: Path, target: Path) -> list[str]:
        puller = GitPuller(str(repo), str(target), branch=BRANCH, depth=0)
        lines = list(puller.pull())
        log.debug("nbgitpuller %s -> %s:\n%s", repo, target, "".join(lines))
        return lines

    def _keep_valid_notebook(self, target: Path, path: str) -> None:
        """After a line-level merge, a notebook must still be a notebook.

        ``-Xours`` merges non-conflicting upstream hunks into the student's
        file; for JSON that can, rarely, produce an invalid document. Then the
        student's own version (the first parent of the merge) is restored.
        """
        if not path.endswith(".ipynb"):
            return
        f = target / path
        try:
            nbformat.reads(f.read_text(encoding="utf-8"), as_version=4)
            return
        except Exception:
            log.warning("Merged notebook %s is invalid; restoring the student's version", f)
        try:
            git("rev-parse", "--verify", "-q", "HEAD^2", cwd=target)
            theirs = subprocess.run(
                ["git", "show", f"HEAD^1:{path}"], cwd=target, capture_output=True, check=True
            ).stdout
        except subprocess.CalledProcessError:
            return
        f.write_bytes(theirs)
        git(
            "-c",
            "user.email=nbgitpuller@nbgitpuller.link",
            "-c",
            "user.name=nbgitpuller",
            "commit",
            "-q",
            "-m",
            f"Keep the student's version of {path}",
            "--",
            path,
            cwd=target,
        )
