"""``course-hub``: the command line for teachers and admins.

- ``course-hub hub``: run the local hub (what ``make hub`` calls);
- ``course-hub validate``: check a course folder (manifest, notebooks, presets);
- ``course-hub secrets DIR``: generate a deployment's secrets once (compose);
- ``course-hub health-check URL``: the student journey, timed, with a verdict;
- ``course-hub render-values``: DaskHub values for a registry, a tag, a course.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import CourseError
from .manifest import MANIFEST_NAME, load_manifest


def _validate(args: argparse.Namespace) -> int:
    from .hub.gateway import cluster_options

    root = Path(args.content_dir).resolve()
    try:
        manifest = load_manifest(root / MANIFEST_NAME, root)
        cluster_options(manifest, max_cores=args.max_cores, max_memory_gib=args.max_memory)
    except CourseError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"{root / MANIFEST_NAME}: {exc}", file=sys.stderr)
        return 1
    notebooks = sum(len(s.notebooks) for s in manifest.sessions)
    print(
        f"{root / MANIFEST_NAME}: {manifest.course.title!r} is valid: "
        f"{len(manifest.sessions)} sessions, {notebooks} notebooks"
    )
    for s in manifest.sessions:
        preset = (
            f"{s.cluster.workers} x {s.cluster.worker_cores} cores / {s.cluster.worker_memory} GiB"
            if s.cluster
            else "no cluster"
        )
        print(f"  {s.id:<22} {s.duration:>6}  {len(s.notebooks)} notebook(s)  {preset}")
    return 0


#: Secrets of a containerised hub, each generated once with mode 0600.
DEPLOYMENT_SECRETS = {
    "cookie-secret": "token",
    "proxy-token": "token",
    "gateway-api-token": "token",
    "gateway-encrypt-key": "fernet",
}


def _secrets(args: argparse.Namespace) -> int:
    from .hub import secrets
    from .hub.local import LayoutError, credentials

    folder = Path(args.folder)
    makers = {"token": secrets.token, "fernet": secrets.fernet_key}
    try:
        for name, kind in DEPLOYMENT_SECRETS.items():
            secrets.ensure_secret(folder / name, makers[kind])
        logins = credentials(folder)
    except (LayoutError, ValueError, OSError) as exc:
        print(f"course-hub secrets: {exc}", file=sys.stderr)
        return 2
    if "student" in logins.created:
        print(f"Generated the students' password (shown once): {logins.student_password}")
    if "admin" in logins.created:
        admins = ", ".join(logins.admin_users)
        print(f"Generated the admin password for {admins} (shown once): {logins.admin_password}")
    print(f"Secrets ready in {folder} (each file mode 0600).")
    return 0


def _health_check(args: argparse.Namespace) -> int:
    from .healthcheck import run_health_check

    password = args.password or os.environ.get("COURSE_PASSWORD")
    token = args.admin_token or os.environ.get("JUPYTERHUB_ADMIN_TOKEN")
    if not password and not token:
        print(
            "course-hub health-check: give --password (or COURSE_PASSWORD) "
            "or --admin-token (or JUPYTERHUB_ADMIN_TOKEN)",
            file=sys.stderr,
        )
        return 2
    report = run_health_check(
        args.url,
        user=args.user,
        password=password,
        admin_token=token,
        session=args.session,
        timeout=args.timeout,
    )
    print(report.json() if args.json else report.text())
    return 0 if report.ok else 1


def _hub(args: argparse.Namespace) -> int:
    from .launcher import run

    return run(Path(args.config), state_dir=args.state_dir, port=args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-hub", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    hub = sub.add_parser("hub", help="run the local hub (no Docker) in the foreground")
    hub.add_argument(
        "--config",
        default=os.environ.get("COURSE_HUB_CONFIG", "hub_config/local/jupyterhub_config.py"),
        help="JupyterHub config file (default: %(default)s)",
    )
    hub.add_argument("--state-dir", help="state folder (default: $COURSE_STATE_DIR or .state)")
    hub.add_argument("--port", type=int, help="public port (default: $HUB_PORT or 8000)")
    hub.set_defaults(func=_hub)

    val = sub.add_parser("validate", help="check course.yml, its notebooks and presets")
    val.add_argument(
        "content_dir",
        nargs="?",
        default=os.environ.get("COURSE_CONTENT_DIR", "course"),
        help="folder holding course.yml (default: %(default)s)",
    )
    val.add_argument("--max-cores", type=int, default=4, help="gateway limit per worker")
    val.add_argument("--max-memory", type=float, default=8.0, help="gateway limit per worker, GiB")
    val.set_defaults(func=_validate)

    sec = sub.add_parser("secrets", help="generate a deployment's secrets once (0600 files)")
    sec.add_argument("folder", help="where the secrets live (a private volume)")
    sec.set_defaults(func=_secrets)

    hc = sub.add_parser("health-check", help="log in, server, session, cluster, compute, stop")
    hc.add_argument("url", help="the hub's public URL, e.g. https://hub.example.org")
    hc.add_argument("--user", help="user name to check as (default: healthcheck-<random>)")
    hc.add_argument("--password", help="the course password (default: $COURSE_PASSWORD)")
    hc.add_argument("--admin-token", help="an admin API token instead of a password")
    hc.add_argument("--session", help="session to open (default: the first with a cluster)")
    hc.add_argument("--timeout", type=float, default=300, help="seconds per step")
    hc.add_argument("--json", action="store_true", help="print the report as JSON")
    hc.set_defaults(func=_health_check)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
