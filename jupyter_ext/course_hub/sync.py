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
updated, kept, removed and renamed (:mod:`.clone` wraps each update), a
backup when the folder is not a clone or is damaged, and a lock so that two
opens at once queue instead of racing. It keeps each answer true:

- a teacher's rename leaves the student's edited copy under its old name and
  adds the new one;
- a merge that fails is undone (the folder is left as the student had it),
  its output goes to the server log, the answer says what happened, the
  session shows as ``broken``, and a second failure in a row moves the folder
  to a backup and starts from fresh copies instead of failing forever;
- a damaged clone is shown as ``broken`` without failing the listing of the
  others, and opening it moves it to a backup and clones it again;
- the upstream repositories are a cache: a missing one is rebuilt from the
  student's clone (which holds every snapshot it merged), and snapshot
  commits are reproducible, so clearing ``~/.cache`` loses nothing.
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

from . import clone
from .clone import BRANCH, FAILED_MARK, MergeFailed, SyncBusy
from .content import ContentSource, git
from .errors import CourseError
from .manifest import Session
from .notebooks import student_bytes
from .service_source import ServiceSource, Snapshot

log = logging.getLogger(__name__)

_EXCLUDES = ".ipynb_checkpoints/\n__pycache__/\n*.pyc\n.DS_Store\n"
# Fixed identity and dates make a snapshot commit a function of its tree,
# parent and message: the same content gives the same commit id, for every
# student and every time it is made again (e.g. after the cache was cleared).
_SNAPSHOT_DATE = "2000-01-01T00:00:00+0000"
_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "course-hub",
    "GIT_AUTHOR_EMAIL": "course-hub@localhost",
    "GIT_AUTHOR_DATE": _SNAPSHOT_DATE,
    "GIT_COMMITTER_NAME": "course-hub",
    "GIT_COMMITTER_EMAIL": "course-hub@localhost",
    "GIT_COMMITTER_DATE": _SNAPSHOT_DATE,
}
_LAST_FAILED = "Its last sync failed."
_HEX_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


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
        no subprocess on this path, which the sidebar polls, except when a
        clone's synced version is first read.

        ``state`` is ``"new"`` (never opened), ``"opened"`` or ``"broken"``
        (the clone is damaged or its last sync failed; ``problem`` says so and
        how to repair it). A broken session never fails the listing.
        """
        try:
            return self._status(session)
        except Exception:  # one session's folder must not hide the whole program
            log.exception("Status of session %s failed", session.id)
            target = self.target(session)
            try:
                opened = (target / ".git").is_dir()
            except OSError:
                opened = False
            return {
                "folder": self.relpath(target),
                "opened": opened,
                "state": "broken",
                "problem": self._problem_sentence(target, "It cannot be read."),
                "notebooks": [
                    {
                        "path": nb.path,
                        "title": nb.title,
                        "main": nb is session.main_notebook,
                        "local_path": self.relpath(target / nb.path),
                        "present": False,
                        "modified": False,
                    }
                    for nb in session.notebooks
                ],
            }

    def _problem_sentence(self, target: Path, problem: str) -> str:
        where = "a backup folder beside it (all your files stay there)"
        if problem == _LAST_FAILED:
            way_out = (
                "Open the session again to try once more; if it fails again, your folder "
                f"is moved to {where} and fresh copies are brought."
            )
        else:
            way_out = (
                f"Open the session again to repair it: your folder is moved to {where} "
                "and fresh copies are brought."
            )
        return f"This session's folder ({self.relpath(target)}) needs repair: {problem} {way_out}"

    def _status(self, session: Session) -> dict:
        target = self.target(session)
        opened = (target / ".git").is_dir()
        problem = None
        upstream: dict[str, str] = {}
        if opened:
            try:
                problem = self._quick_problem(target)
                if not problem:
                    upstream = self._upstream_blobs(target)
            except (subprocess.CalledProcessError, OSError, ValueError) as exc:
                log.warning("Session folder %s cannot be read: %s", target, exc)
                problem = "Its git data cannot be read."
        notebooks = []
        for nb in session.notebooks:
            local = target / nb.path
            present = local.is_file() and not local.is_symlink()
            modified = False
            if present and nb.path in upstream:
                try:
                    modified = self._local_sha(local) != upstream[nb.path]
                except OSError:
                    present = False
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
        state = "broken" if problem else "opened" if opened else "new"
        if problem:
            problem = self._problem_sentence(target, problem)
        return {
            "folder": self.relpath(target),
            "opened": opened,
            "state": state,
            "problem": problem,
            "notebooks": notebooks,
        }

    def _quick_problem(self, target: Path) -> str | None:
        """Damage seen without running git (cheap enough for every poll)."""
        dot_git = target / ".git"
        if (dot_git / FAILED_MARK).is_file():
            return _LAST_FAILED
        head = (dot_git / "HEAD").read_text().strip()
        if not (head.startswith("ref: refs/") or _HEX_ID.match(head)):
            return "Its git data is damaged."
        sha = clone.origin_ref(target)
        if not sha or not _HEX_ID.match(sha):
            return "Its git data is damaged."
        loose = dot_git / "objects" / sha[:2] / sha[2:]
        if not loose.is_file() and not any((dot_git / "objects" / "pack").glob("*.pack")):
            return "Its git data is damaged (files of its history are missing)."
        return None

    def _local_sha(self, path: Path) -> str:
        st = path.stat()
        key = str(path)
        cached = self._file_cache.get(key)
        if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        sha = blob_sha(path.read_bytes())
        self._file_cache[key] = (st.st_mtime_ns, st.st_size, sha)
        return sha

    def _upstream_blobs(self, target: Path) -> dict[str, str]:
        sha = clone.origin_ref(target)
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
            # The course service's files are fetched here, on the event loop;
            # a folder or git source is read in the thread.
            snapshot = await self.source.snapshot(session.id) if self._from_service else None
            return await asyncio.to_thread(self._open_locked, session, snapshot)

    @property
    def _from_service(self) -> bool:
        return isinstance(self.source, ServiceSource)

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

    def _open_locked(self, session: Session, snapshot: Snapshot | None = None) -> dict:
        with self._file_lock(session):
            target = self.target(session)
            report: dict = {"added": [], "updated": [], "kept": [], "removed": [], "renamed": []}
            try:
                clone.check_not_busy(target)
                reason = self._backup_reason(target)
                if reason:
                    self._move_to_backup(target, reason, report)
                commit = self._publish(session, seed=target, snapshot=snapshot)
                repo = self._upstream_repo(session)
                if target.exists() and not self._has_history(target, repo):
                    reason = "its history no longer matched the course's."
                    self._move_to_backup(target, reason, report)
                if target.exists():
                    self._update_or_repair(session, repo, target, commit, report)
                else:
                    self._clone(repo, target, report)
            except SyncBusy:
                raise CourseError(
                    409,
                    f"Another git command is working in {self.relpath(target)} (for example "
                    "the Git panel). Nothing was changed; try again in a minute.",
                    reason="sync-busy",
                ) from None
            except subprocess.CalledProcessError as exc:
                log.error(
                    "Sync of session %s failed: %s\n%s%s",
                    session.id,
                    exc.cmd,
                    exc.stdout or "",
                    exc.stderr or "",
                )
                if report.get("backup"):
                    done = (
                        f"Your folder had been moved to {report['backup']} first (all your "
                        "files are there)."
                    )
                else:
                    done = "Nothing in your folder was changed."
                raise CourseError(
                    500,
                    f"Bringing the notebooks of session {session.title!r} failed while "
                    f"running git. {done} Try again, and tell your teacher if it keeps "
                    "failing.",
                    reason="sync-failed",
                ) from None
        main = session.main_notebook
        report.update(
            session=session.id,
            folder=self.relpath(target),
            open=self.relpath(target / main.path) if main else None,
        )
        return report

    def _publish(
        self, session: Session, seed: Path | None = None, snapshot: Snapshot | None = None
    ) -> str:
        """Commit the session's current content to its upstream repo; return the commit.

        The content is the course service's ``snapshot`` when there is one,
        else the session's folder in the content source.

        The upstream repository is a cache: when it lacks what the student's
        clone (``seed``) last merged, that history is fetched back from the
        clone, and the new snapshot is made on top of it. Clearing the cache
        therefore changes nothing for the student.
        """
        repo = self._upstream_repo(session)
        if snapshot is None:
            src = (self.source.root / session.source_folder).resolve()
            if not src.is_relative_to(self.source.root.resolve()):
                raise CourseError(503, "The session folder leaves the course content.", "content")
        if not (repo / "HEAD").exists():
            repo.parent.mkdir(parents=True, exist_ok=True)
            git("init", "-q", "--bare", "-b", BRANCH, str(repo))
            (repo / "info").mkdir(exist_ok=True)
            (repo / "info" / "exclude").write_text(_EXCLUDES)
        src = self._stage(session, src) if snapshot is None else self._unpack(session, snapshot)
        revision = snapshot.revision if snapshot is not None else self.source.revision
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
        synced = self._synced_commit(repo, seed) if seed is not None else None
        if synced and (not head or not self._is_ancestor(repo, synced, head)):
            head = synced
        if head and _git_with(env, "rev-parse", f"{head}^{{tree}}").strip() == tree:
            commit = head
        else:
            message = f"Course content of session {session.id} ({revision or 'unknown'})"
            parents = ["-p", head] if head else []
            commit = _git_with(env, "commit-tree", tree, *parents, "-m", message).strip()
        # No old-value check: the branch may move sideways onto the clone's
        # history; the session's file lock keeps other writers out.
        _git_with(env, "update-ref", f"refs/heads/{BRANCH}", commit)
        return commit

    def _synced_commit(self, repo: Path, seed: Path) -> str | None:
        """The upstream commit the clone last merged, fetched into ``repo`` if missing."""
        if not (seed / ".git").is_dir():
            return None
        synced = clone.origin_ref(seed)
        if not synced or not _HEX_ID.match(synced):
            return None
        try:
            git("cat-file", "-e", f"{synced}^{{commit}}", cwd=repo)
            return synced
        except subprocess.CalledProcessError:
            pass
        try:
            git(
                "fetch",
                "-q",
                "--no-tags",
                str(seed),
                f"+refs/remotes/origin/{BRANCH}:refs/course-hub/synced",
                cwd=repo,
            )
            git("cat-file", "-e", f"{synced}^{{commit}}", cwd=repo)
        except subprocess.CalledProcessError as exc:
            log.warning("Could not rebuild %s from %s: %s", repo, seed, exc.stderr)
            return None
        log.info("Rebuilt the upstream history of %s from the student's clone", repo)
        return synced

    @staticmethod
    def _is_ancestor(repo: Path, old: str, new: str) -> bool:
        try:
            git("merge-base", "--is-ancestor", old, new, cwd=repo)
        except subprocess.CalledProcessError:
            return False
        return True

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

    def _unpack(self, session: Session, snapshot: Snapshot) -> Path:
        """The course service's files for the session, written as they came.

        The service already gave the right version (a student's copy to a
        student, the teacher's to a teacher): nothing is blanked again here.
        Paths were checked when the snapshot was read (see :mod:`.service_source`).
        """
        stage = self.cache_dir / "staging" / session.id
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        for rel, data in sorted(snapshot.files.items()):
            dst = stage / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
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

    def _move_to_backup(self, target: Path, reason: str, report: dict) -> None:
        backup = self.relpath(self._backup(target))
        log.warning("Moved %s to %s: %s", target, backup, reason)
        report["backup"] = backup
        report["backup_reason"] = (
            f"Your folder was moved to {backup} because {reason} All your files are "
            "there; the session's folder has fresh copies."
        )

    def _backup_reason(self, target: Path) -> str | None:
        """Why the folder cannot be synced in place (the end of a sentence), if so."""
        if not target.exists() and not target.is_symlink():
            return None
        if target.is_symlink() or not (target / ".git").is_dir():
            return "it was not a session folder made by the course."
        if (target / ".git" / FAILED_MARK).is_file() and (target / ".git" / "MERGE_HEAD").exists():
            return "its last sync failed and git could not undo the half-done merge."
        for args in (
            ("rev-parse", "--verify", "-q", "HEAD^{commit}"),
            ("rev-parse", "--verify", "-q", f"refs/remotes/origin/{BRANCH}^{{commit}}"),
            ("fsck", "--connectivity-only", "--no-dangling", "--no-progress"),
        ):
            try:
                git(*args, cwd=target)
            except subprocess.CalledProcessError as exc:
                log.warning("Session folder %s is damaged: git %s: %s", target, args, exc.stderr)
                return "its git data was damaged."
        return None

    def _has_history(self, target: Path, repo: Path) -> bool:
        """The upstream still holds what the clone last merged (else: a fresh clone)."""
        old = clone.origin_ref(target)
        if not old:
            return False
        try:
            git("cat-file", "-e", f"{old}^{{commit}}", cwd=repo)
        except subprocess.CalledProcessError:
            return False
        return self._is_ancestor(repo, old, BRANCH)

    def _clone(self, repo: Path, target: Path, report: dict) -> None:
        prefix = self.relpath(target) + "/"
        report["added"] = [prefix + f for f in clone.clone(repo, target)]

    def _update_or_repair(
        self, session: Session, repo: Path, target: Path, commit: str, report: dict
    ) -> None:
        """Merge in place; after a second failure in a row, start from fresh copies."""
        mark = target / ".git" / FAILED_MARK
        failed_before = mark.is_file()
        try:
            clone.update(repo, target, commit, report, self.relpath(target) + "/")
        except MergeFailed as failed:
            if not failed_before:
                mark.write_text(failed.cause + "\n")
                raise CourseError(
                    500,
                    f"Bringing the notebooks of session {session.title!r} failed: git "
                    f"could not merge the new course files into {self.relpath(target)}. "
                    f"{failed.outcome} The new course files did not arrive, and the error "
                    "is in the server log. Open the session again to try once more; if it "
                    "fails again, your folder is moved to a backup folder beside it (all "
                    "your files stay there) and fresh copies are brought.",
                    reason="sync-failed",
                ) from None
            report["renamed"] = []
            reason = (
                "the sync failed twice in a row (the error is in the server log)."
                f" {failed.outcome}"
            )
            self._move_to_backup(target, reason, report)
            self._clone(repo, target, report)
            return
        mark.unlink(missing_ok=True)
