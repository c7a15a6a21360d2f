"""A student's session folder, an nbgitpuller clone: what nbgitpuller does not do.

nbgitpuller's update (fetch, rename aside, restore deleted files, commit the
student's changes, ``git merge -Xours``) takes no options and says little. Around
it, this module:

- writes the git settings its calls must follow into the clone's config
  (no rename detection in its diffs, unquoted non-ASCII names);
- renames aside a student's file in the way of a new upstream *folder*
  (nbgitpuller only renames files in the way of new files);
- after a teacher's rename, puts the student's edited copy back under its old
  name (git's merge follows renames whatever ``merge.renames`` says);
- undoes a failed update (merge aborted, files renamed aside put back, the
  files the student had deleted deleted again) and says how the folder is;
- keeps a merged notebook valid JSON, and lists what was added, updated, kept,
  removed and renamed.

:mod:`.sync` decides when to clone, update, back up or repair.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import subprocess
import time
from pathlib import Path

import nbformat
from nbgitpuller.pull import GitPuller

from .content import git
from .errors import CourseError

log = logging.getLogger(__name__)

BRANCH = "main"
# Written to each clone's .git/config, so that nbgitpuller's own git calls
# (which take no options from us) follow them.
CLONE_CONFIG = {
    # A teacher's rename is a deletion plus an addition: the student's edited
    # copy stays under the old name. git's merge (ort, up to at least 2.46)
    # ignores this setting, so keep_old_names() does it after the merge; the
    # setting stays for the gits and strategies that follow it.
    "merge.renames": "false",
    # nbgitpuller reads `git diff --name-status` for new and deleted files; a
    # rename shown as "R old new" hid the new name from its rename-aside step.
    "diff.renames": "false",
    # ... and a quoted non-ASCII name ("caf\\303\\251.md") hid it too.
    "core.quotePath": "false",
}
#: In the clone's .git: the last sync failed (its first line says why).
FAILED_MARK = "course-hub-sync-failed"
_RENAMED_PREFIX = "Renamed "
_RENAMED_SUFFIX = " to avoid conflict with upstream"
_NBGITPULLER_ID = ("-c", "user.email=nbgitpuller@nbgitpuller.link", "-c", "user.name=nbgitpuller")


class SyncBusy(Exception):
    """Another git command holds the clone's index lock."""


class MergeFailed(Exception):
    """nbgitpuller failed in a clone; the clone was put back as it was."""

    def __init__(self, cause: str, outcome: str) -> None:
        super().__init__(cause)
        self.cause = cause
        self.outcome = outcome


def name_status(out: str) -> dict[str, set[str]]:
    """Parse ``git diff --name-status -z`` into {status letter: paths}."""
    result: dict[str, set[str]] = {}
    fields = out.split("\0")
    i = 0
    while i + 1 < len(fields):
        status, path = fields[i][:1], fields[i + 1]
        result.setdefault(status, set()).add(path)
        i += 2
    return result


def parse_renamed(line: str) -> tuple[str, str] | None:
    """The (from, to) paths of nbgitpuller's "Renamed X to Y to avoid conflict"
    line, or None for any other line.

    Either name may contain " to ": the split kept is the one where Y is X
    with nbgitpuller's ``__<14 digits>`` stamp before the extension.
    """
    line = line.rstrip("\r\n")
    if not (line.startswith(_RENAMED_PREFIX) and line.endswith(_RENAMED_SUFFIX)):
        return None
    body = line[len(_RENAMED_PREFIX) : -len(_RENAMED_SUFFIX)]
    i = body.find(" to ")
    while i != -1:
        src, dst = body[:i], body[i + 4 :]
        head, tail = os.path.split(src)
        stem, ext = os.path.splitext(tail)
        pattern = re.escape(stem) + r"__\d{14}" + re.escape(ext)
        if os.path.dirname(dst) == head and re.fullmatch(pattern, os.path.basename(dst)):
            return src, dst
        i = body.find(" to ", i + 1)
    return None


def aside_name(path: Path) -> Path:
    """Where a file in the way goes, named as nbgitpuller names its own."""
    stamp = datetime.datetime.now().strftime("__%Y%m%d%H%M%S")
    stem, ext = os.path.splitext(path.name)
    candidate = path.with_name(f"{stem}{stamp}{ext}")
    n = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{stem}{stamp}_{n}{ext}")
        n += 1
    return candidate


def _rel(path: Path, target: Path) -> str:
    return path.relative_to(target).as_posix()


def origin_ref(target: Path) -> str | None:
    """The upstream commit the clone last merged (``origin/main``), if it has one."""
    ref = target / ".git" / "refs" / "remotes" / "origin" / BRANCH
    try:
        return ref.read_text().strip()
    except OSError:
        pass
    try:
        return git("rev-parse", "--verify", "-q", f"origin/{BRANCH}", cwd=target).strip()
    except (subprocess.CalledProcessError, OSError):
        return None


def check_not_busy(target: Path) -> None:
    """nbgitpuller gives up on an index lock younger than 10 minutes (and
    takes over an older one); say so before touching anything."""
    lock = target / ".git" / "index.lock"
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return
    if age <= 600:
        raise SyncBusy(str(lock))


def configure(target: Path, repo: Path) -> None:
    """Settings nbgitpuller's git calls must follow (see ``CLONE_CONFIG``)."""
    for key, value in CLONE_CONFIG.items():
        git("config", key, value, cwd=target)
    # The clone fetches from wherever the upstream is now.
    git("config", "remote.origin.url", str(repo), cwd=target)


def run_puller(repo: Path, target: Path, lines: list[str]) -> None:
    """Run nbgitpuller, collecting its output in ``lines`` (logged if it fails)."""
    try:
        puller = GitPuller(str(repo), str(target), branch=BRANCH, depth=0)
        for line in puller.pull():
            lines.append(line)
    except Exception:
        log.error("nbgitpuller %s -> %s failed; its output:\n%s", repo, target, "".join(lines))
        raise
    log.debug("nbgitpuller %s -> %s:\n%s", repo, target, "".join(lines))


def clone(repo: Path, target: Path) -> list[str]:
    """A fresh clone of ``repo`` in ``target``; returns its files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    run_puller(repo, target, [])
    configure(target, repo)
    files = git("ls-tree", "-r", "-z", "--name-only", "HEAD", cwd=target).split("\0")
    return sorted(f for f in files if f)


def update(repo: Path, target: Path, commit: str, report: dict, prefix: str) -> None:
    """nbgitpuller's merge, with what it does not do: clear the way for new
    folders, undo a failed merge, keep old names, and say what happened to each
    file (in ``report``, as paths that start with ``prefix``).

    Raises :class:`MergeFailed` when nbgitpuller failed (the folder was put
    back as it was), ``CalledProcessError`` when git failed before it ran (the
    folder unchanged), and :class:`CourseError` when checking its result failed.
    """
    configure(target, repo)
    old = origin_ref(target)
    assert old
    before = name_status(git("diff", "--no-renames", "--name-status", "-z", old, cwd=target))
    mine = before.get("M", set()) | before.get("T", set())
    deleted = before.get("D", set())
    moved = clear_the_way(target, repo, old, commit)
    # Edited files the course drops (or renames): kept whatever git does.
    gone = name_status(
        git("diff", "--no-renames", "--name-status", "-z", old, commit, cwd=repo)
    ).get("D", set())
    saved = {p: (target / p).read_bytes() for p in mine & gone if (target / p).is_file()}
    lines: list[str] = []
    try:
        run_puller(repo, target, lines)
    except Exception as exc:  # nbgitpuller raises bare Exception too
        moved += [(Path(a), Path(b)) for a, b in filter(None, map(parse_renamed, lines))]
        outcome = undo(target, old, moved, deleted, mine)
        cause = next(
            (ln.strip() for ln in lines if ln.startswith(("error:", "fatal:"))), repr(exc)
        )
        raise MergeFailed(cause, outcome) from exc
    moved += [(Path(a), Path(b)) for a, b in filter(None, map(parse_renamed, lines))]
    for src, dst in moved:
        try:
            renamed = {"from": prefix + _rel(src, target), "to": prefix + _rel(dst, target)}
        except ValueError:
            log.warning("nbgitpuller renamed %s to %s, outside the folder", src, dst)
            continue
        report["renamed"].append(renamed)

    try:
        new = origin_ref(target)
        assert new
        upstream = name_status(
            git("diff", "--no-renames", "--name-status", "-z", old, new, cwd=target)
        )
        up_added, up_modified = upstream.get("A", set()), upstream.get("M", set())
        up_deleted = upstream.get("D", set())
        for path in sorted(mine & up_modified):
            keep_valid_notebook(target, path)
        keep_old_names(target, saved, up_added - mine, new)
    except subprocess.CalledProcessError as exc:
        log.error("Checking the sync of %s failed: %s\n%s", target, exc.cmd, exc.stderr)
        raise CourseError(
            500,
            f"The new course files arrived in {prefix.rstrip('/')}, but checking the "
            "result failed (the error is in the server log). Your edits were kept; "
            "open the session again to see what changed.",
            reason="sync-failed",
        ) from None
    kept = {p for p in mine if (target / p).exists()}
    if kept != mine:
        log.warning("Edited files gone after the sync of %s: %s", target, mine - kept)
    report["added"] = sorted(prefix + p for p in up_added | (deleted - up_deleted))
    report["updated"] = sorted(prefix + p for p in up_modified - mine)
    report["kept"] = sorted(prefix + p for p in kept)
    report["removed"] = sorted(prefix + p for p in up_deleted - mine)


def clear_the_way(target: Path, repo: Path, old: str, new: str) -> list[tuple[Path, Path]]:
    """Rename aside the student's untracked files where upstream adds a folder.

    nbgitpuller renames a file in the way of a new file, not a file (or a
    link) in the way of a new folder: then git refused the merge.
    """
    added = git(
        "diff", "--no-renames", "--name-only", "-z", "--diff-filter=A", old, new, cwd=repo
    ).split("\0")
    tracked = set(git("ls-files", "-z", cwd=target).split("\0"))
    moved: list[tuple[Path, Path]] = []
    for path in filter(None, added):
        parts = path.split("/")
        for k in range(1, len(parts) + 1):
            rel = "/".join(parts[:k])
            p = target / rel
            if p.is_symlink() or (k < len(parts) and p.exists() and not p.is_dir()):
                if rel not in tracked:
                    dst = aside_name(p)
                    p.rename(dst)
                    moved.append((p, dst))
                break
            if not p.is_dir():
                break
    return moved


def undo(
    target: Path,
    old: str,
    moved: list[tuple[Path, Path]],
    deleted: set[str],
    mine: set[str],
) -> str:
    """Put the folder back as the student had it; say how it is now."""
    undone = True
    if (target / ".git" / "MERGE_HEAD").exists():
        try:
            git("merge", "--abort", cwd=target)
        except subprocess.CalledProcessError as exc:
            log.error("git merge --abort in %s failed: %s", target, exc.stderr)
            try:
                git("reset", "--merge", cwd=target)
            except subprocess.CalledProcessError as exc:
                log.error("git reset --merge in %s failed: %s", target, exc.stderr)
                undone = False
    # What the student last merged, as before: the next try then merges
    # (and reports) the same changes again.
    try:
        git("update-ref", f"refs/remotes/origin/{BRANCH}", old, cwd=target)
    except subprocess.CalledProcessError as exc:
        log.error("Could not reset origin/%s in %s: %s", BRANCH, target, exc.stderr)
    # nbgitpuller brings back files the student deleted: they had none.
    for path in deleted:
        f = target / path
        try:
            if f.is_file() and not f.is_symlink():
                f.unlink()
        except OSError as exc:
            log.error("Could not delete %s again: %s", f, exc)
    stuck = []
    for src, dst in reversed(moved):
        try:
            if src.exists() or src.is_symlink():
                raise FileExistsError(src)
            dst.rename(src)
        except OSError:
            stuck.append((src, dst))
    if undone:
        outcome = "Your folder is as you left it"
        if mine:
            outcome += ", with your changes to " + ", ".join(sorted(mine))
        outcome += "."
    else:
        outcome = (
            "git could not undo the half-done merge, so some files may hold both "
            "your text and the course's; nothing of yours was deleted."
        )
    for src, dst in stuck:
        outcome += f" Your file {_rel(src, target)} was kept as {_rel(dst, target)}."
    return outcome


def keep_old_names(target: Path, saved: dict[str, bytes], added: set[str], new: str) -> None:
    """A teacher's rename leaves the student's edited copy under its old name.

    git's merge (ort) detects renames whatever ``merge.renames`` says and
    moves the student's edits to the new name. Then the old file is put
    back with the student's content, and the new one gets the course's.
    """
    changed = []
    for path, data in saved.items():
        f = target / path
        if not f.exists():
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(data)
            changed.append(path)
    if not changed:
        return
    for path in sorted(added):
        theirs = subprocess.run(
            ["git", "cat-file", "blob", f"{new}:{path}"],
            cwd=target,
            capture_output=True,
            check=True,
        ).stdout
        f = target / path
        if f.is_file() and f.read_bytes() != theirs:
            f.write_bytes(theirs)
            changed.append(path)
    log.info("Kept the student's copies of %s under their old names", changed)
    git("add", "--", *changed, cwd=target)
    git(
        *_NBGITPULLER_ID,
        "commit",
        "-q",
        "-m",
        "Keep the student's copies under their old names",
        cwd=target,
    )


def keep_valid_notebook(target: Path, path: str) -> None:
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
        *_NBGITPULLER_ID,
        "commit",
        "-q",
        "-m",
        f"Keep the student's version of {path}",
        "--",
        path,
        cwd=target,
    )
