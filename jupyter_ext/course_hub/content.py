"""Where the course content comes from: a folder, or a git repository.

Both kinds of source end up as a local folder holding ``course.yml`` and the
session folders. A folder source is used in place (the course in the hub
image, or a teacher's working copy: the wheel ships none); a git source is cloned into
the student's cache and fetched again at most every ``refresh_interval``
seconds, which is how teachers publish changes during the term.

A manifest that becomes invalid after an update never replaces the last good
one: students keep working with the previous program, and the error is
reported (``source.error``) for the teacher to see.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from .errors import CourseError
from .manifest import MANIFEST_NAME, Manifest, ManifestError, load_manifest

log = logging.getLogger(__name__)

#: The variables that say where the course comes from. Only the hub's course
#: service reads them (hub/wiring.py): never a student's server nor the gateway,
#: since a repository URL may carry a token and the repository the answer keys.
CONTENT_SOURCE_VARS = (
    "COURSE_CONTENT_REPO",
    "COURSE_CONTENT_BRANCH",
    "COURSE_CONTENT_SUBDIR",
    "COURSE_CONTENT_REFRESH_INTERVAL",
)


def git(*args: str, cwd: Path | None = None, timeout: float = 120) -> str:
    """Run git without prompts, in the C locale, and return its stdout."""
    env = dict(os.environ, LANG="C", LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc.stdout


class ContentSource:
    """Base class: caches the manifest and reloads it when ``course.yml`` changes."""

    def __init__(self) -> None:
        self._manifest: Manifest | None = None
        self._stamp: tuple[int, int] | None = None
        self.error: CourseError | None = None
        self._lock = asyncio.Lock()

    @property
    def root(self) -> Path:
        raise NotImplementedError

    @property
    def revision(self) -> str:
        """A label of the content version, recorded in sync commits."""
        return "folder"

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    def describe(self) -> str:
        raise NotImplementedError

    async def refresh(self, force: bool = False) -> None:
        """Bring the local copy up to date (no-op for a folder)."""

    def manifest(self) -> Manifest:
        """The current manifest, reloaded if the file changed since last read.

        Raises the manifest's :class:`ManifestError` only if no valid manifest
        was ever loaded; otherwise keeps serving the last good one.
        """
        path = self.manifest_path
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if self._manifest is None or stamp != self._stamp:
            try:
                self._manifest = load_manifest(path, self.root)
                self.error = None
            except ManifestError as exc:
                self.error = exc
                log.error("%s", exc.message)
                if self._manifest is None:
                    raise
            self._stamp = stamp
        return self._manifest


class FolderSource(ContentSource):
    """Content read in place from a local folder."""

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self._root = Path(path).resolve()

    @property
    def root(self) -> Path:
        return self._root

    def describe(self) -> str:
        return f"folder {self._root}"


class GitSource(ContentSource):
    """Content from a git repository URL and branch, cloned into a cache folder."""

    def __init__(
        self,
        url: str,
        branch: str,
        cache_dir: Path | str,
        subdir: str = "",
        refresh_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.url = url
        self.branch = branch
        self.checkout = Path(cache_dir) / "source"
        self.subdir = subdir.strip("/")
        self.refresh_interval = refresh_interval
        self._fetched_at = 0.0
        self._revision = ""
        self._rejected: ManifestError | None = None  # the newest commit not used, why
        self._rejected_commit = ""

    @property
    def root(self) -> Path:
        return self._root_in(self.checkout)

    def _root_in(self, tree: Path) -> Path:
        if self.subdir:
            return tree / self.subdir
        # A repository with course.yml at its top, or this project's layout.
        if (tree / MANIFEST_NAME).exists() or not (tree / "course").is_dir():
            return tree
        return tree / "course"

    @property
    def revision(self) -> str:
        return self._revision or "unknown"

    def describe(self) -> str:
        return f"git {self.url} (branch {self.branch})"

    async def refresh(self, force: bool = False) -> None:
        async with self._lock:
            fresh = time.monotonic() - self._fetched_at < self.refresh_interval
            if self._fetched_at and fresh and not force:
                return
            try:
                await asyncio.to_thread(self._update)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                detail = getattr(exc, "stderr", "") or str(exc)
                log.warning("Could not update course content from %s: %s", self.url, detail)
                if not (self.checkout / ".git").is_dir():
                    raise CourseError(
                        503,
                        f"The course content could not be downloaded from {self.url} "
                        f"(branch {self.branch}). Try again in a minute; if it keeps "
                        "failing, tell your teacher.",
                        reason="content-unreachable",
                    ) from None
                # Keep working with the copy we have.
            self._fetched_at = time.monotonic()

    def _update(self) -> None:
        if not (self.checkout / ".git").is_dir():
            self.checkout.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.checkout.with_name(self.checkout.name + ".partial")
            if tmp.exists():
                shutil.rmtree(tmp)
            git("clone", "--depth", "1", "--branch", self.branch, "--", self.url, str(tmp))
            tmp.rename(self.checkout)
        else:
            git("fetch", "--depth", "1", "origin", self.branch, cwd=self.checkout)
            fetched = git("rev-parse", "FETCH_HEAD", cwd=self.checkout).strip()
            current = git("rev-parse", "HEAD", cwd=self.checkout).strip()
            known_bad = self._rejected is not None and self._rejected_commit == fetched
            if fetched != current and not known_bad and self._accepts(fetched):
                git("reset", "--hard", fetched, cwd=self.checkout)
            git("clean", "-fdx", cwd=self.checkout)
        self._revision = git("rev-parse", "HEAD", cwd=self.checkout).strip()

    def _accepts(self, commit: str) -> bool:
        """Whether ``commit``'s course is valid, checked in a worktree of its own.

        The checkout moves only to a commit whose manifest loads: a broken push
        leaves it, session files included, at the last good commit, so a
        restarted service (or server) still serves the last good program
        rather than nothing. The push's problem is kept as :attr:`error` for
        the teacher until a good commit replaces it."""
        trial = self.checkout.with_name(self.checkout.name + ".trial")
        if trial.exists():
            shutil.rmtree(trial)
        git("worktree", "prune", cwd=self.checkout)
        git("worktree", "add", "--detach", "--force", str(trial), commit, cwd=self.checkout)
        try:
            root = self._root_in(trial)
            load_manifest(root / MANIFEST_NAME, root)
        except ManifestError as exc:
            # Named as the checkout's, the teacher's own path, not the trial's.
            problems = [p.replace(str(trial), str(self.checkout)) for p in exc.problems]
            problems.append(f"commit {commit[:12]} is not used: the last good one is served")
            self._rejected = ManifestError(self.manifest_path, problems)
            self._rejected_commit = commit
            log.error("Course content at %s not used: %s", commit[:12], exc.message)
            return False
        finally:
            shutil.rmtree(trial, ignore_errors=True)
            git("worktree", "prune", cwd=self.checkout)
        if self._rejected is not None and self.error is self._rejected:
            # The fix may leave course.yml's bytes as they were (a revert): the
            # manifest is then not reloaded, so the push's error goes here.
            self.error = None
        self._rejected = None
        return True

    def manifest(self) -> Manifest:
        manifest = super().manifest()
        if self._rejected is not None and self.error is None:
            self.error = self._rejected  # the checkout's manifest is fine, the push is not
        return manifest


def content_source(
    repo: str,
    branch: str,
    cache_dir: Path | str,
    subdir: str,
    refresh_interval: float,
    folder: Path | str,
) -> ContentSource:
    """The teacher's git repository if one is named, else the folder: the one
    rule of the servers, the course service and the gateway."""
    if repo:
        return GitSource(
            repo, branch, cache_dir=Path(cache_dir), subdir=subdir,
            refresh_interval=refresh_interval,
        )  # fmt: skip
    return FolderSource(folder)
